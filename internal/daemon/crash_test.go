package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/internal/testenv"
)

const crashDevices = 12

const crashConfig = `site: {id: crash, zones: [{id: kitchen, number: 3}]}
devices:
%s
state_dir: %s
http: {listen: "%s"}
broker: {enabled: true, listen: "%s"}
rules_dir: rules
mqtt:
  brokers: [{name: b, url: "tcp://%s"}]
  mappings:
    - name: cam
      broker: b
      topic: school/+/kitchen/+/ai
      kind: kitchen_camera
      device_id: {topic_level: 3}
      type: {const: detection}
      fields: [{name: detection, path: event, type: string, required: true}]
alerting:
  routes: {sinks: [hook]}
  delivery: {timeout: 2s, backoff_min: 100ms, backoff_max: 500ms}
sinks:
  webhooks:
    - {name: hook, url: "%s", format: json, timeout: 2s}
`

const crashRules = `rules:
  - name: kitchen-stranger
    severity: major
    select: {kinds: [kitchen_camera]}
    when: type == "detection" && fields.detection == "stranger"
    resolve_after: 1h
    message: "stranger"
`

// TestCrashLosesNoAlarm (issue 5): alarms raised while the webhook receiver is down
// are journaled; the daemon is killed with SIGKILL, restarted, the receiver comes up,
// and every alarm arrives — duplicates only with the same alarm id.
func TestCrashLosesNoAlarm(t *testing.T) {
	var up atomic.Bool
	var mu sync.Mutex
	got := map[string]int{}            // alarm id → fired deliveries
	arrived := make(chan struct{}, 64) // a fired notification arrived
	tried := make(chan struct{}, 1)    // the daemon tried a delivery (down or up)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case tried <- struct{}{}:
		default:
		}
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var n struct {
			Transition string `json:"transition"`
			Alarm      struct {
				ID string `json:"id"`
			} `json:"alarm"`
			Group []struct {
				ID string `json:"id"`
			} `json:"group"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		if n.Transition == "fired" {
			got[n.Alarm.ID]++
			for _, g := range n.Group[min(1, len(n.Group)):] {
				got[g.ID]++
			}
		}
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}))
	defer hook.Close()

	dir := t.TempDir()
	httpAddr, brokerAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	var devs strings.Builder
	for i := 0; i < crashDevices; i++ {
		fmt.Fprintf(&devs, "  - {id: cam-%d, kind: kitchen_camera, zone: kitchen, driver: mqtt, heartbeat: -1s}\n", i)
	}
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	cfg := fmt.Sprintf(crashConfig, devs.String(), filepath.Join(dir, "state"), httpAddr, brokerAddr, brokerAddr, hook.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules", "kitchen.yaml"), []byte(crashRules), 0o600); err != nil {
		t.Fatal(err)
	}

	c := startChild(t, cfgPath, httpAddr)
	// READY (awaited by startChild) comes once the gateway's subscription is in place:
	// the broker keeps nothing for a session that does not exist yet.
	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("crash-test-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	for i := 0; i < crashDevices; i++ {
		tok := pub.Publish(fmt.Sprintf("school/crash/kitchen/cam-%d/ai", i), 1, false, `{"event":"stranger"}`)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	pub.Disconnect(100)
	// Every alarm is journaled (raised) while the receiver is down. A raised alarm's
	// delivery is tried again and again (back-off at most 500 ms): each try is the
	// moment to read the gauge again.
	awaitMetric(t, httpAddr, "campusguard_alarms_active", crashDevices, tried)

	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("deliveries while the receiver was down: %v", got)
	}
	mu.Unlock()

	up.Store(true)
	startChild(t, cfgPath, httpAddr)
	deadline := time.After(60 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == crashDevices {
			break
		}
		select {
		case <-arrived:
		case <-deadline:
			mu.Lock()
			t.Fatalf("after the restart %d of %d alarms were delivered: %v", n, crashDevices, got)
		}
	}
	// Each of the 12 alarm ids arrived (duplicates are allowed only under the same id:
	// got is keyed by id, so a re-raised alarm would have shown as a 13th id).
}

// awaitMetric reads /metrics until the gauge reaches want: now and each time again
// signals.
func awaitMetric(t *testing.T, addr, name string, want int, again <-chan struct{}) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	last := "unread"
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, name+" "); ok {
					if v == fmt.Sprint(want) {
						return
					}
					last = v
				}
			}
		}
		select {
		case <-again:
		case <-deadline:
			t.Fatalf("%s did not reach %d (last %s)", name, want, last)
		}
	}
}
