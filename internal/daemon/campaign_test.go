package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/internal/testenv"
)

// campaignDevices and campaignKills size the crash campaign: distinct QoS 1 panic
// presses from a real broker, and the SIGKILLs at random points while they are taken.
const (
	campaignDevices = 300
	campaignKills   = 20
)

const campaignConfig = `site: {id: crash, zones: [{id: school, number: 1}]}
devices:
%[1]sstate_dir: %[2]s
http: {listen: "%[3]s"}
log: {level: info}
rules_dir: rules
mqtt:
  brokers: [{name: b, url: "%[4]s", client_id: "cg-campaign-%[5]s"}]
  mappings:
    - name: panic
      broker: b
      topic: cgc/%[5]s/panic/+/status
      kind: panic
      device_id: {topic_level: 3}
      type: {field: pressed, map: {"true": pressed, "false": released}}
      fields: [{name: pressed, type: bool, required: true}]
      rate_limit: {rate: 1000, burst: 1000}
alerting:
  routes: {sinks: [staff]}
  delivery: {timeout: 2s, backoff_min: 100ms, backoff_max: 500ms}
sinks:
  mqtt:
    name: staff
    topic_prefix: cgc/%[5]s/alarms
    client: {url: "%[4]s", client_id: "cg-campaign-staff-%[5]s"}
policelink:
  enabled: true
  account: "4321"
  key: ABCDABCDABCDABCDABCDABCDABCDABCD
  key_encoding: hex
  transport: tcp
  timeout: 2s
  main: {primary: "%[6]s"}
  supervision: {main: 1h}
  periodic_test: {disabled: true}
  mappings:
    - {match: {class: panic}, code: 120, restore: true}
`

// TestCrashCampaignLosesNoPress: 300 distinct QoS 1 panic presses from a real
// Mosquitto while the daemon is killed with SIGKILL at 20 random points of progress
// (mid-burst, mid-commit, mid-delivery) and restarted each time. Afterwards every press is an
// alarm in the journal, delivered to the staff over MQTT and to the police receiving
// centre: lost = 0; duplicates only under the same alarm id.
func TestCrashCampaignLosesNoPress(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash campaign kills and restarts the daemon 20 times")
	}
	brokerURL := testenv.MQTTURL(t) // CAMPUSGUARD_TEST_MQTT, or a Mosquitto of the test's own
	run := fmt.Sprintf("%x", time.Now().UnixNano())

	key, err := dc09.ParseKey("ABCDABCDABCDABCDABCDABCDABCDABCD", dc09.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	police := centre.New(centre.Config{Network: "tcp", Key: key})
	if err := police.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer police.Stop()

	// The staff's app: a persistent QoS 1 subscriber to the alarm messages.
	var smu sync.Mutex
	staff := map[string]map[string]bool{} // device → alarm ids fired
	staffMore := make(chan struct{})      // closed (and made anew) when a press reaches the staff first
	arrived := make(chan struct{}, 1)     // a staff message or a police frame arrived
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID("cgc-staff-" + run).SetCleanSession(false))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("staff connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("cgc/"+run+"/alarms/events", 1, func(_ paho.Client, m paho.Message) {
		var n alerting.Notification
		if json.Unmarshal(m.Payload(), &n) != nil || n.Transition != alerting.Fired {
			return
		}
		smu.Lock()
		if staff[n.Alarm.DeviceID] == nil {
			staff[n.Alarm.DeviceID] = map[string]bool{}
			close(staffMore)
			staffMore = make(chan struct{})
		}
		staff[n.Alarm.DeviceID][n.Alarm.ID] = true
		smu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("staff subscribe: %v", tok.Error())
	}

	dir := t.TempDir()
	httpAddr := testenv.FreeAddr(t)
	var devs strings.Builder
	for i := 1; i <= campaignDevices; i++ {
		fmt.Fprintf(&devs, "  - {id: p%03d, kind: panic, zone: school, number: %d, driver: mqtt, heartbeat: -1s}\n", i, i)
	}
	state := filepath.Join(dir, "state")
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	cfg := fmt.Sprintf(campaignConfig, devs.String(), state, httpAddr, brokerURL, run, police.TCPAddr())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}

	// The first start makes the gateway's persistent session: from then on the broker
	// keeps every press the gateway has not acknowledged.
	c := startChild(t, cfgPath, httpAddr)
	// READY comes once the MQTT subscriptions are acknowledged: publish now.

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID("cgc-devices-" + run))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("devices connect: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	// delivered waits until at least n presses reached the staff (false after d).
	delivered := func(n int, d time.Duration) bool {
		deadline := time.After(d)
		for {
			smu.Lock()
			got, more := len(staff), staffMore
			smu.Unlock()
			if got >= n {
				return true
			}
			select {
			case <-more:
			case <-deadline:
				return false
			}
		}
	}
	// The scenario's pacing: the presses come in bursts of 10, a burst once the staff
	// got all but 20 of those before it, so that presses keep coming in while the
	// kills happen (and while the daemon is down).
	sent := 0
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 1; i <= campaignDevices; i++ {
			if i%10 == 1 && !delivered(i-1-20, 60*time.Second) {
				return
			}
			tok := pub.Publish(fmt.Sprintf("cgc/%s/panic/p%03d/status", run, i), 1, false, `{"pressed":true}`)
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				sent++
			}
		}
	}()

	// The scenario: each kill comes once a random number of further presses reached
	// the staff, at distinct points spread over the whole campaign: mid-burst, right
	// after a journal commit, between a commit and its delivery, or (when the staff
	// got several at once) at once after the restart, while the daemon recovers.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	at := rng.Perm(campaignDevices - 1)[:campaignKills]
	slices.Sort(at)
	atRestart, rightAfterRestart := 0, 0 // staff count at the last restart; kills with none since
	for k := 0; k < campaignKills; k++ {
		if !delivered(at[k]+1, 60*time.Second) {
			smu.Lock()
			got := len(staff)
			smu.Unlock()
			t.Fatalf("kill %d: the staff got %d presses, not %d, within 60 s", k+1, got, at[k]+1)
		}
		smu.Lock()
		if len(staff) == atRestart {
			rightAfterRestart++
		}
		smu.Unlock()
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_, _ = c.cmd.Process.Wait()
		c = startCampaignChild(t, cfgPath)
		smu.Lock()
		atRestart = len(staff)
		smu.Unlock()
	}
	<-published
	if sent != campaignDevices {
		t.Fatalf("the broker took %d of %d presses", sent, campaignDevices)
	}

	// The last run takes the rest: every press journaled, to staff and to the police.
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	go func() { // a signal per frame the receiving centre takes
		for n := 1; ; n++ {
			if _, err := police.Wait(wctx, n); err != nil {
				return
			}
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	}()
	deadline := time.After(90 * time.Second)
	var policeZones map[int]int
	for {
		policeZones = map[int]int{}
		for _, r := range police.Received() {
			if r.Message.ID != dc09.TokenADMCID {
				continue
			}
			if _, cid, err := dc09.ParseCID(r.Message.Data); err == nil && cid.Code == 120 && cid.Qualifier == 1 {
				policeZones[cid.Zone]++
			}
		}
		smu.Lock()
		staffN := len(staff)
		smu.Unlock()
		if len(policeZones) == campaignDevices && staffN == campaignDevices {
			break
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("after the campaign: police has %d of %d panics, staff %d", len(policeZones), campaignDevices, staffN)
		}
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = c.cmd.Process.Wait()

	j, err := journal.Open(filepath.Join(state, "journal.db"), journal.Options{Reserve: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	open, err := j.OpenAlarms()
	if err != nil {
		t.Fatal(err)
	}
	journaled := map[string][]string{}
	for _, r := range open {
		journaled[r.Alarm.DeviceID] = append(journaled[r.Alarm.DeviceID], r.Alarm.ID)
	}
	dupPolice := 0
	for i := 1; i <= campaignDevices; i++ {
		dev := fmt.Sprintf("p%03d", i)
		if len(journaled[dev]) != 1 {
			t.Errorf("%s: journaled alarms %v, want exactly one", dev, journaled[dev])
			continue
		}
		smu.Lock()
		ids := staff[dev]
		smu.Unlock()
		if len(ids) != 1 || !ids[journaled[dev][0]] {
			t.Errorf("%s: staff got alarm ids %v, want only %s", dev, ids, journaled[dev][0])
		}
		dupPolice += policeZones[i] - 1
	}
	t.Logf("crash campaign: SIGKILLs after %v presses reached the staff (%d of them before any press since the restart)", at, rightAfterRestart)
	t.Logf("crash campaign: sent %d, SIGKILLs %d, journaled %d, delivered to staff %d, to the police %d (police frames repeated after a kill: %d), lost %d",
		sent, campaignKills, len(journaled), len(staff), len(policeZones), dupPolice, campaignDevices-len(journaled))
}

// startCampaignChild starts the daemon again after a kill; it does not wait for the
// subscription (the broker holds the session's messages meanwhile).
func startCampaignChild(t *testing.T, cfgPath string) *child {
	t.Helper()
	return spawnChild(t, cfgPath, "", true)
}
