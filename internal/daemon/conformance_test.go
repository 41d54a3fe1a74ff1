package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"periph.io/x/conn/v3/gpio"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/internal/config"
)

// Each scenario is named after the clause of GB 50394 it proves or the field finding
// it keeps fixed, and reads as what the officer does and what the gateway must show.

// An officer presses the gate button, acknowledges, the button is pressed again,
// the alarm is reset, and the button is pressed once more: every press is a record,
// every press after the acknowledgement reaches staff and police again, the reset
// closes the alarm, and the press after the reset raises a new alarm.
func TestScenario_PressAckPressAgainResetPress(t *testing.T) {
	h := newHarness(t, harnessOpt{})

	h.pressGate()
	fired := h.staffGets(alerting.Fired, "builtin-panic", 1)
	a := fired.Alarm
	if a.Class != alerting.ClassPanic || a.Severity != alerting.Critical || !a.Latched || a.Zone != "gate" {
		t.Fatalf("panic alarm = %+v", a)
	}
	if got := h.policeGot(1); got[0].String() != "120/1 zone 11" {
		t.Fatalf("police got %v, want a panic (120) in zone 11", got)
	}
	if !h.sirenOn() {
		t.Fatal("siren silent after a panic press")
	}

	h.ack(a.ID, "张伟")
	h.staffGets(alerting.Acked, "builtin-panic", 1)
	h.releaseGate()
	h.staffGets(alerting.ConditionEnd, "builtin-panic", 1)

	// Pressed again while acknowledged: an occurrence of its own, to staff and police.
	h.pressGate()
	again := h.staffGets(alerting.Refired, "builtin-panic", 1)
	if again.Alarm.ID != a.ID || again.Alarm.Count != 2 || again.Alarm.State != alerting.Firing {
		t.Fatalf("second press: %+v (want the same alarm, count 2, firing again)", again.Alarm)
	}
	if got := h.policeGot(2); got[1].String() != "120/1 zone 11" {
		t.Fatalf("police got %v, want the second press as a new panic", got)
	}
	if hist := h.history(a.ID); !slices.Contains(hist, alerting.ActionOccurrence) {
		t.Fatalf("history %v has no occurrence record", hist)
	}

	h.reset(a.ID, "张伟")
	h.staffGets(alerting.ResolvedT, "builtin-panic", 1)
	if got := h.policeGot(3); got[2].String() != "120/3 zone 11" {
		t.Fatalf("police got %v, want the restore after the reset", got)
	}
	h.settle()
	if h.sirenOn() {
		t.Fatal("siren still sounding after the reset")
	}

	// The button was never released after the second press: release, press again.
	h.releaseGate()
	h.pressGate()
	second := h.staffGets(alerting.Fired, "builtin-panic", 2)
	if second.Alarm.ID == a.ID {
		t.Fatal("the press after the reset did not raise a new alarm")
	}
	if got := h.policeGot(4); got[3].String() != "120/1 zone 11" {
		t.Fatalf("police got %v, want a new panic after the reset", got)
	}
}

// Finding: a latched GPIO panic button was dead after its first alarm was reset.
// Pressed three times with resets between, it raises three alarms.
func TestScenario_LatchedGPIOPanicPressedThreeTimes(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	var ids []string
	for i := 1; i <= 3; i++ {
		h.pressGate()
		m := h.staffGets(alerting.Fired, "builtin-panic", i)
		ids = append(ids, m.Alarm.ID)
		h.releaseGate()
		h.reset(m.Alarm.ID, "值班员")
		h.staffGets(alerting.ResolvedT, "builtin-panic", i)
		h.settle()
	}
	if ids[0] == ids[1] || ids[1] == ids[2] {
		t.Fatalf("alarm ids %v: each press after a reset is a new alarm", ids)
	}
	got := h.policeGot(6)
	var panics int
	for _, c := range got {
		if c.Code == 120 && c.Qualifier == 1 {
			panics++
		}
	}
	if panics != 3 {
		t.Fatalf("police got %v, want three panics", got)
	}
}

// Finding: an MQTT panic module sends only "pressed". A reset by a person re-arms the
// rule, so the next press without any release raises a new alarm.
func TestScenario_MQTTPanicResetThenPressWithoutRelease(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressDorm()
	first := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	if first.DeviceID != "panic-dorm" || first.Zone != "dorm" {
		t.Fatalf("alarm %+v", first)
	}
	h.reset(first.ID, "李强")
	h.staffGets(alerting.ResolvedT, "builtin-panic", 1)
	h.settle()
	h.pressDorm()
	second := h.staffGets(alerting.Fired, "builtin-panic", 2).Alarm
	if second.ID == first.ID {
		t.Fatal("no new alarm after the reset")
	}
	if got := h.policeGot(3); got[2].String() != "120/1 zone 21" {
		t.Fatalf("police got %v", got)
	}
}

// Finding: a rule's renotify timer raised a new alarm, siren and police report half
// an hour after a reset, with no press at all. Now renotify only repeats the
// notification of an open alarm; after a reset the interval passes and nothing fires.
func TestScenario_RenotifyAfterResetInventsNothing(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.mqttDevice("cf/radar/radar-east/state", `{"occupied":true}`)
	a := h.staffGets(alerting.Fired, "balcony-intrusion", 1).Alarm
	if a.Class != alerting.ClassIntrusion || !a.Latched {
		t.Fatalf("intrusion alarm %+v", a)
	}
	if !h.strobeOn() {
		t.Fatal("no light on site for an intrusion")
	}
	h.reset(a.ID, "王芳")
	h.staffGets(alerting.ResolvedT, "balcony-intrusion", 1)
	h.settle()
	police := h.policeCount()
	for i := 0; i < 4; i++ {
		h.advance(16 * time.Minute)
	}
	if n := h.staffCount(alerting.Fired, "") + h.staffCount(alerting.Refired, ""); n != 1 {
		t.Fatalf("%d fire/refire messages after the reset: %s", n, describeStaff(h.staff))
	}
	if len(h.open()) != 0 {
		t.Fatalf("open alarms after the renotify interval: %+v", h.open())
	}
	if h.policeCount() != police {
		t.Fatal("a police report without a trigger")
	}
	if h.strobeOn() || h.sirenOn() {
		t.Fatal("an output sounds without a trigger")
	}
}

// Renotify of an open alarm nobody acknowledged repeats its staff message only.
func TestScenario_RenotifyRepeatsOpenAlarmOnly(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.mqttDevice("cf/radar/radar-east/state", `{"occupied":true}`)
	a := h.staffGets(alerting.Fired, "balcony-intrusion", 1).Alarm
	police := h.policeCount()
	for i := 0; i < 2; i++ {
		h.advance(16 * time.Minute)
	}
	re := h.staffGets(alerting.Refired, "balcony-intrusion", 1)
	if re.Alarm.ID != a.ID || re.Alarm.Count != 1 {
		t.Fatalf("renotify %+v", re.Alarm)
	}
	if h.policeCount() != police {
		t.Fatal("renotify sent a police report")
	}
}

// GB 50394 §5.2.4: tamper and a cut detector line are alarms whether the zone is
// armed or not. Finding: a panic button's cut cable was reported as a panic (120).
// In a disarmed zone it is a tamper alarm, reported with the tamper code.
func TestScenario_GB50394_TamperOnPanicDeviceInDisarmedZone(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	if err := h.d.p.alerts.Disarm(context.Background(), "gate", "管理员"); err != nil {
		t.Fatal(err)
	}
	h.cutGateCable()
	m := h.staffGets(alerting.Fired, "device-tamper", 1)
	if m.Alarm.Class != alerting.ClassTamper || m.Alarm.Disarmed {
		t.Fatalf("tamper alarm %+v: want class tamper, notified although disarmed", m.Alarm)
	}
	got := h.policeGot(1)
	if got[0].Code != 144 || got[0].Zone != 11 {
		t.Fatalf("police got %v, want tamper 144 in zone 11 (not a panic)", got)
	}
	// The panic zone is never disarmable: a press in the disarmed zone alarms too.
	h.pressGate()
	p := h.staffGets(alerting.Fired, "builtin-panic", 1)
	if p.Alarm.Disarmed || p.Alarm.Class != alerting.ClassPanic {
		t.Fatalf("panic in a disarmed zone %+v", p.Alarm)
	}
	if got := h.policeGot(2); got[1].String() != "120/1 zone 11" {
		t.Fatalf("police got %v", got)
	}
}

// GB 50394 §5.2.3: alarms that arrive together are each recorded and shown (at
// least 10 at once).
func TestScenario_GB50394_SimultaneousAlarmsEachKept(t *testing.T) {
	var devs strings.Builder
	devs.WriteString("devices:")
	for i := 0; i < 12; i++ {
		devs.WriteString("\n  - {id: btn-" + string(rune('a'+i)) + ", kind: panic, name: 教室一键报警, location: 教室, zone: dorm, driver: mqtt, heartbeat: -1s}")
	}
	h := newHarness(t, harnessOpt{confd: map[string]string{"more.yaml": devs.String() + "\n"}})
	for i := 0; i < 12; i++ {
		h.mqttDevice("cf/panic/btn-"+string(rune('a'+i))+"/status", `{"pressed":true}`)
	}
	h.staffGets(alerting.Fired, "builtin-panic", 12)
	if n := len(h.open()); n != 12 {
		for _, a := range h.open() {
			t.Logf("open: %s %s %s", a.Rule, a.DeviceID, a.Message)
		}
		t.Fatalf("%d open alarms, want 12", n)
	}
	if got := h.policeGot(12); len(got) < 12 {
		t.Fatalf("police got %d reports", len(got))
	}
}

// Finding: panic alarming depended on an operator's rule file. With no rule files at
// all, a press still raises the critical, latched panic alarm and reaches the police.
func TestScenario_PanicWithoutAnyRuleFile(t *testing.T) {
	none := ""
	h := newHarness(t, harnessOpt{rules: &none})
	h.pressDorm()
	m := h.staffGets(alerting.Fired, "builtin-panic", 1)
	if m.Alarm.Severity != alerting.Critical || !m.Alarm.Latched {
		t.Fatalf("panic %+v", m.Alarm)
	}
	if got := h.policeGot(1); got[0].Code != 120 {
		t.Fatalf("police got %v", got)
	}
}

// GB 50394: after the siren was silenced by a person, a new trigger more than 30 s
// later sounds it again. Finding: an alarm clearing (or the max-on cut-off) armed
// that 30 s guard too, so the next press stayed silent while the log said sounding.
func TestScenario_GB50394_SirenResoundsAfter30s(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	if !h.sirenOn() {
		t.Fatal("siren silent")
	}
	// The max-on cut-off (2 min) turns it off without a person.
	h.advance(2*time.Minute + time.Second)
	h.awaitSiren(false) // past its max-on time
	// A new press 5 s later sounds it at once: no person silenced it.
	h.releaseGate()
	h.advance(5 * time.Second)
	h.pressGate()
	h.staffGets(alerting.Refired, "builtin-panic", 1)
	if !h.sirenOn() {
		t.Fatal("the press after a max-on cut-off stayed silent")
	}
	// A person resets: off; within 30 s a new alarm stays silent only if it is the
	// same alarm — a reset closes it, so the next press is a new alarm and sounds.
	h.reset(a.ID, "张伟")
	h.settle()
	if h.sirenOn() {
		t.Fatal("siren on after the reset")
	}
	h.releaseGate()
	h.advance(31 * time.Second)
	h.pressGate()
	h.staffGets(alerting.Fired, "builtin-panic", 2)
	if !h.sirenOn() {
		t.Fatal("a new trigger more than 30 s after the silence stayed silent")
	}
}

// Finding: active-low outputs switched on for a moment at start-up. The first level
// written to the active-low strobe is its off level (high).
func TestScenario_OutputsComeUpOff(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	w := h.pins["GPIO6"].Writes()
	if len(w) == 0 || w[0] != gpio.High {
		t.Fatalf("active-low strobe writes %v: the first must be high (off)", w)
	}
	s := h.pins["GPIO5"].Writes()
	if len(s) == 0 || s[0] != gpio.Low {
		t.Fatalf("active-high siren writes %v: the first must be low (off)", s)
	}
}

// GB 50394: after a power cut the system restores its arming state and keeps its
// records; an open alarm is still open and its siren sounds again.
func TestScenario_GB50394_StateSurvivesRestart(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	if err := h.d.p.alerts.Disarm(context.Background(), "balcony", "管理员"); err != nil {
		t.Fatal(err)
	}
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.stop()
	h.pins["GPIO5"].Out(gpio.Low) // the power cut turned the siren off
	h.start()
	if h.d.p.alerts.Armed("balcony") {
		t.Fatal("arming state lost")
	}
	if got := h.openOf("builtin-panic"); got.ID != a.ID {
		t.Fatalf("open after restart %+v", got)
	}
	h.settle()
	if !h.sirenOn() {
		t.Fatal("siren of the open alarm silent after the restart")
	}
	// The button is still held at start: the level read at start is no new alarm.
	if n := len(h.open()); n != 1 {
		t.Fatalf("%d open alarms after restart", n)
	}
}

// GB 50394: loss of the transmission path is an alarm whether armed or not. Finding:
// the shipped config raised nothing when the police path was lost (only /healthz
// turned 503). With no receiving centre for the whole scenario, a panic press raises
// the built-in police-link alarm for the staff, critical, with no operator rule.
func TestScenario_GB50394_PolicePathDownIsAnAlarm(t *testing.T) {
	none := ""
	h := newHarness(t, harnessOpt{noPolice: true, rules: &none})
	h.pressGate()
	h.staffGets(alerting.Fired, "builtin-panic", 1)
	// The path is found down by its first check at start, which may come before this
	// test's watcher subscribed to the staff's events: take the alarm from the core and
	// the staff's copy from the sink's retained state on the broker.
	link := staffRetained(h, h.awaitOpen("builtin-police-path").ID)
	if link.Alarm.Class != alerting.ClassLink || link.Alarm.Severity != alerting.Critical || link.Transition != alerting.Fired {
		t.Fatalf("police path alarm %+v", link)
	}
	if _, err := h.d.p.journal.Alarm(link.Alarm.ID); err != nil {
		t.Fatalf("path alarm not journaled: %v", err)
	}
	// Disarming every zone changes nothing for it.
	for _, z := range []string{"gate", "dorm", "balcony"} {
		if err := h.d.p.alerts.Disarm(context.Background(), z, "管理员"); err != nil {
			t.Fatal(err)
		}
	}
	if a := h.openOf("builtin-police-path"); a.Disarmed || a.Silenced {
		t.Fatalf("path alarm muted: %+v", a)
	}
}

// tmpfsStateDir mounts a small tmpfs as the scenario's state dir (a disk that can
// really fill up). It skips where mounting is not allowed (not root).
func tmpfsStateDir(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" && os.Geteuid() == 0 {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Skipf("a disk-full scenario needs a tmpfs mount (root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillDisk writes a filler file until the file system is full; it returns the
// filler's path (remove it to free the disk).
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	// The last few bytes too.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	return p
}

// GB 50394 / finding: a full disk silenced the police link and the staff for new
// panics. The journal keeps a reserve beside its file: when telemetry or logs fill
// the disk, it gives the reserve back and goes on recording; health says why.
func TestScenario_DiskFullTheJournalUsesItsReserve(t *testing.T) {
	state := tmpfsStateDir(t, "24m")
	h := newHarness(t, harnessOpt{stateDir: state, journalReserve: "1048576"})
	h.settle()
	fillDisk(t, state)
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	if got := h.policeGot(1); got[0].Code != 120 {
		t.Fatalf("police got %v", got)
	}
	if _, err := h.d.p.journal.Alarm(a.ID); err != nil {
		t.Fatalf("the panic is not in the journal: %v", err)
	}
	if st := h.d.p.journal.Health(); !strings.Contains(st.Reason, "reserve") {
		t.Fatalf("journal health %+v: want the reserve named", st)
	}
}

// Past the reserve (none configured here), the journal cannot write: the alarm still
// sounds and reaches the police and staff from memory, input is no longer
// acknowledged (the watermark holds), health says why; once space is freed the retry
// records it, with its deliveries marked done (no second report to the police).
func TestScenario_DiskFullDuringAPanicThePoliceStillGetIt(t *testing.T) {
	state := tmpfsStateDir(t, "16m")
	h := newHarness(t, harnessOpt{stateDir: state, journalReserve: "-1"})
	h.pressGate()
	h.staffGets(alerting.Fired, "builtin-panic", 1)
	h.policeGot(1)
	filler := fillDisk(t, state)
	// Each press after a release is a new occurrence, reported to the police; keep
	// pressing until a journal write fails (the file grows into the full disk).
	failed := false
	for i := 0; i < 400 && !failed; i++ {
		h.releaseGate()
		h.settle()
		before := h.policeCount()
		h.pressGate()
		h.settle()
		failed = h.d.p.alerts.Failing()
		// Whatever the disk did, this press reaches the police.
		h.policeGot(before + 1)
	}
	if !failed {
		t.Fatal("the journal never failed to write on a full disk")
	}
	if !h.d.mark.Held() {
		t.Fatal("input still acknowledged while the journal cannot write")
	}
	if st := h.d.p.alerts.Health(); !strings.Contains(st.Reason, "journal") {
		t.Fatalf("alerting health %+v: want the journal named", st)
	}
	if !h.sirenOn() {
		t.Fatal("siren silent while the journal cannot write")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	awaitJournalRetried(h)
	h.settle()
	if h.d.mark.Held() {
		t.Fatal("input not acknowledged again once the journal writes")
	}
	a := h.openOf("builtin-panic")
	var det journal.AlarmDetail
	for i := 0; i < 100; i++ {
		var err error
		if det, err = h.d.p.journal.Alarm(a.ID); err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, d := range det.Deliveries {
			if d.Sink == "police" && d.State == alerting.Pending {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		h.advance(time.Second) // a send cut short is retried after its back-off
	}
	if det.Alarm.Count != a.Count {
		t.Fatalf("journal has count %d, memory %d", det.Alarm.Count, a.Count)
	}
	// Every police notification of the alarm is recorded once and was sent once: the
	// ones sent from memory are marked delivered by the retried commit.
	ids := map[string]bool{}
	for _, d := range det.Deliveries {
		if d.Sink == "police" {
			if d.State != alerting.Delivered {
				t.Fatalf("police delivery %s is %s", d.Notification.ID, d.State)
			}
			n := d.Notification
			if n.Transition == alerting.Fired || n.Transition == alerting.ResolvedT || (n.Transition == alerting.Refired && n.Occurrence) {
				ids[n.ID] = true // the link reports these; acks and clears it does not carry
			}
		}
	}
	if n := h.policeCount(); n != len(ids) {
		t.Fatalf("the centre got %d reports for %d reportable police notifications: one was sent twice or lost", n, len(ids))
	}
}

// Finding: a chattering or spoofed device hid real presses: the per-device rate
// limit dropped every message. A flood of repeats from the dorm's panic module with
// ten real presses inside it: each press reaches the alarm (the first raises it, the
// others are occurrences of it), and the flood itself raises a device fault.
func TestScenario_FloodOfRepeatsHidesNoPress(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	presses := 0
	for i := 0; i < 1000; i++ {
		if i%100 == 50 {
			h.pressDorm()
			presses++
			continue
		}
		h.mqttDevice("cf/panic/panic-dorm/status", `{"pressed":false}`)
	}
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	if a.DeviceID != "panic-dorm" {
		t.Fatalf("alarm %+v", a)
	}
	fault := h.staffGets(alerting.Fired, "device-fault", 1).Alarm
	if fault.Class != alerting.ClassFault || fault.DeviceID != "panic-dorm" {
		t.Fatalf("flood fault %+v", fault)
	}
	h.settle()
	got := h.openOf("builtin-panic")
	if got.Count != presses {
		t.Fatalf("the alarm counts %d presses, want %d", got.Count, presses)
	}
}

// Findings: a reload that failed while applying left the daemon half changed, and
// after a reload the police link kept the devices it had at start (50 devices added
// by reload were all reported as zone 001). A reload is one transaction: a step that
// fails changes nothing; a good one reaches every reader of the site at once.
func TestScenario_ReloadIsOneTransaction(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	b, err := os.ReadFile(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	lab := "  - {id: panic-lab, kind: panic, name: 实验室一键报警, location: 实验楼二楼, zone: dorm, number: 41, driver: mqtt, heartbeat: -1s}\n"
	text := strings.Replace(string(b), "state_dir:", lab+"state_dir:", 1)
	h.write("campusguard.yaml", text)

	// The last step of the reload refuses: nothing may change.
	h.d.testPrepare = func(*config.Config) error { return errors.New("the last step refused") }
	if err := h.d.Reload(context.Background(), "test"); err == nil {
		t.Fatal("the reload did not fail")
	}
	h.mqttDevice("cf/panic/panic-lab/status", `{"pressed":true}`)
	h.settle()
	for _, a := range h.open() {
		if a.DeviceID == "panic-lab" {
			t.Fatalf("a device of the refused reload raised an alarm: %+v", a)
		}
	}
	h.pressDorm() // the running config still works
	h.staffGets(alerting.Fired, "builtin-panic", 1)

	// The same config without the refusal: the new device is everywhere at once.
	h.d.testPrepare = nil
	if err := h.d.Reload(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	h.mqttDevice("cf/panic/panic-lab/status", `{"pressed":true}`)
	m := h.staffGets(alerting.Fired, "builtin-panic", 2)
	if m.Alarm.DeviceID != "panic-lab" || m.Alarm.Location != "实验楼二楼" {
		t.Fatalf("alarm %+v", m.Alarm)
	}
	if got := h.policeGot(2); got[1].String() != "120/1 zone 41" {
		t.Fatalf("police got %v: the reloaded device's own zone number", got)
	}
}

// A panic button already pressed when the gateway starts (it was pressed during a
// power cut) raises its alarm: inputs read their level at start.
func TestScenario_PanicHeldAtStartAlarms(t *testing.T) {
	h := newHarness(t, harnessOpt{heldAtStart: true})
	m := h.staffGets(alerting.Fired, "builtin-panic", 1)
	if m.Alarm.DeviceID != "panic-gate" {
		t.Fatalf("alarm %+v", m.Alarm)
	}
	if got := h.policeGot(1); got[0].String() != "120/1 zone 11" {
		t.Fatalf("police got %v", got)
	}
}

// The 30 s re-sound rule belongs to the alarm a person silenced: a different, new
// alarm on the same siren within those 30 s sounds at once.
func TestScenario_GB50394_NewAlarmSoundsRightAfterASilence(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.reset(a.ID, "张伟")
	h.settle()
	if h.sirenOn() {
		t.Fatal("siren on after the reset")
	}
	h.advance(5 * time.Second)
	h.pressDorm() // another button on the same siren
	h.staffGets(alerting.Fired, "builtin-panic", 2)
	h.settle()
	if !h.sirenOn() {
		t.Fatal("a new alarm 5 s after a person silenced another stayed silent")
	}
}

// The quarterly test of the alarm path (announced to the police): an operator puts
// the gate button in test for an hour; its press reaches the police as a test (601)
// and the staff read it as a test; the window is journaled; after it ends a press is
// a real panic again.
func TestScenario_TestModeReportsTests(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	ctx := context.Background()
	// From the gateway itself, as the operator's tool does.
	resp, err := http.Post("http://"+h.d.HTTPAddr()+"/-/test-mode", "application/json",
		strings.NewReader(`{"device":"panic-gate","for":"1h","by":"管理员","reason":"季度联网测试，已告知接警中心"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /-/test-mode: %s", resp.Status)
	}
	h.pressGate()
	m := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	if !m.Test || !strings.HasPrefix(m.Message, "【测试】") {
		t.Fatalf("test alarm %+v", m)
	}
	if got := h.policeGot(1); got[0].Code != 601 {
		t.Fatalf("police got %v, want a test report (601)", got)
	}
	h.releaseGate()
	h.reset(m.ID, "管理员")
	h.settle()
	if err := h.d.p.alerts.EndTest(ctx, "panic-gate", "", "管理员"); err != nil {
		t.Fatal(err)
	}
	h.pressGate()
	real := h.staffGets(alerting.Fired, "builtin-panic", 2).Alarm
	if real.Test {
		t.Fatalf("alarm after the test window %+v", real)
	}
	got := h.policeGot(2)
	if last := got[len(got)-1]; last.Code != 120 {
		t.Fatalf("police got %v, want a real panic after the test", got)
	}
	page, err := h.d.p.journal.Records(journal.RecordQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range page.Records {
		actions = append(actions, r.Action)
	}
	if !slices.Contains(actions, alerting.ActionTestStarted) || !slices.Contains(actions, alerting.ActionTestEnded) {
		t.Fatalf("history %v: the test window is not journaled", actions)
	}
}

// GB 50394 §5.2.3: emergency (panic) zones are never disarmable. With its zone
// disarmed and a maintenance silence over it, a press is still journaled, sounds the
// siren and reaches the police; only the staff notification may be muted.
func TestScenario_GB50394_PanicNeverDisarmable(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	ctx := context.Background()
	if err := h.d.p.alerts.Disarm(ctx, "gate", "管理员"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.d.p.alerts.Silence(ctx, alerting.Silence{Matchers: alerting.Matchers{"zone": "gate"},
		End: h.clock.Now().Add(time.Hour), By: "管理员", Reason: "门卫室检修"}); err != nil {
		t.Fatal(err)
	}
	h.pressGate()
	if got := h.policeGot(1); got[0].String() != "120/1 zone 11" {
		t.Fatalf("police got %v", got)
	}
	h.settle()
	a := h.openOf("builtin-panic")
	if a.Disarmed {
		t.Fatalf("panic marked disarmed: %+v", a)
	}
	if _, err := h.d.p.journal.Alarm(a.ID); err != nil {
		t.Fatalf("panic not journaled: %v", err)
	}
	if !h.sirenOn() {
		t.Fatal("siren silent for a panic in a disarmed, silenced zone")
	}
}

// GB 50394 §5.2.4: an alarm latches: it stays, with its zone, until a person resets
// it; the button returning to normal does not clear it by itself.
func TestScenario_GB50394_AlarmLatchesUntilReset(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.releaseGate()
	h.staffGets(alerting.ConditionEnd, "builtin-panic", 1)
	h.advance(time.Hour)
	got := h.openOf("builtin-panic")
	if got.ID != a.ID || got.State == alerting.Resolved || !got.Cleared || got.Zone != "gate" {
		t.Fatalf("after the release and an hour: %+v", got)
	}
	h.reset(a.ID, "张伟")
	h.staffGets(alerting.ResolvedT, "builtin-panic", 1)
	if len(h.open()) != 0 {
		t.Fatalf("open after the reset: %+v", h.open())
	}
	det, err := h.d.p.journal.Alarm(a.ID)
	if err != nil || det.Alarm.ResolvedBy != "张伟" {
		t.Fatalf("journal: who reset it? %+v %v", det.Alarm, err)
	}
}

// The duty card shows by which path the police got the alarm: the delivery record
// names the receiver that acknowledged it (read from the journal after a clean stop,
// which writes every delivery outcome still queued).
func TestScenario_PoliceDeliveryNamesItsPath(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.policeGot(1)
	// The receiving centre has the frame; the sink records the delivery once its ACK
	// is back. Stopping before that would leave it pending (sent again at the next
	// start, as it should be): wait for the record.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, pending, err := h.d.p.journal.NextPending("police")
		if err != nil {
			t.Fatal(err)
		}
		if !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the police delivery was never recorded")
		}
		<-time.After(5 * time.Millisecond)
	}
	h.stop()
	j, err := journal.Open(filepath.Join(h.dir, "state", "journal.db"), journal.Options{Reserve: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	det, err := j.Alarm(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range det.Deliveries {
		if d.Sink == "police" && d.Notification.Transition == alerting.Fired {
			if d.State != alerting.Delivered || !strings.HasPrefix(d.Via, "main primary 127.0.0.1:") {
				t.Fatalf("police delivery %s via %q", d.State, d.Via)
			}
			return
		}
	}
	t.Fatalf("no police delivery of the fire in %+v", det.Deliveries)
}

// The staff's app acknowledges over MQTT (signed): the acknowledgement is journaled
// with who, every app sees it, and a press after it is notified and reported again.
func TestScenario_StaffAckOverMQTTThenPressAgain(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.policeGot(1)
	h.ackOverMQTT(a.ID, "王师傅")
	acked := h.staffGets(alerting.Acked, "builtin-panic", 1)
	if acked.Alarm.AckedBy != "王师傅" {
		t.Fatalf("acked by %q", acked.Alarm.AckedBy)
	}
	if hist := h.history(a.ID); !slices.Contains(hist, string(alerting.Acked)) {
		t.Fatalf("history %v: the MQTT acknowledgement is not journaled", hist)
	}
	h.releaseGate()
	h.pressGate()
	if again := h.staffGets(alerting.Refired, "builtin-panic", 1); again.Alarm.ID != a.ID || again.Alarm.State != alerting.Firing {
		t.Fatalf("press after the MQTT ack: %+v", again.Alarm)
	}
	if got := h.policeGot(2); got[1].String() != "120/1 zone 11" {
		t.Fatalf("police got %v", got)
	}
}

// awaitJournalRetried moves the fake clock a second at a time until alerting retried
// its failed journal commits and they went through. The retry runs on alerting's tick,
// on alerting's own goroutine: after each second it gets up to 200 ms (real) to take
// the tick and commit, since nothing signals that it did.
func awaitJournalRetried(h *harness) {
	h.t.Helper()
	for i := 0; i < 50 && h.d.p.alerts.Failing(); i++ {
		h.advance(time.Second)
		for j := 0; j < 20 && h.d.p.alerts.Failing(); j++ {
			<-time.After(10 * time.Millisecond)
		}
	}
	if h.d.p.alerts.Failing() {
		h.t.Fatal("the journal write was not retried once space was freed")
	}
}

// staffRetained waits for the staff sink's retained state of alarm id on the broker.
func staffRetained(h *harness, id string) mqttsink.StateMessage {
	h.t.Helper()
	got := make(chan mqttsink.StateMessage, 1)
	opts := paho.NewClientOptions().AddBroker("tcp://" + h.broker).SetClientID(fmt.Sprintf("cf-retained-%d", time.Now().UnixNano())).SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		h.t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.Subscribe("cg/cf/alarms/"+mqttsink.EscapeLevel(id), 1, func(_ paho.Client, m paho.Message) {
		var sm mqttsink.StateMessage
		if json.Unmarshal(m.Payload(), &sm) == nil {
			select {
			case got <- sm:
			default:
			}
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		h.t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case sm := <-got:
		return sm
	case <-time.After(20 * time.Second):
		h.t.Fatalf("the staff never got alarm %s", id)
		return mqttsink.StateMessage{}
	}
}
