package mqttsink_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink/mqttsinktest"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// managerAcker hands the sink's acks to the alerting core, which is built after the
// sink.
type managerAcker struct{ m *alerting.Manager }

func (a *managerAcker) Ack(ctx context.Context, alarmID, by, note string) error {
	return a.m.Ack(ctx, alarmID, by, note)
}

// staffPipeline is the alarm → staff path without a broker: the alerting core on a
// real journal, the MQTT sink on the in-memory client, both running.
type staffPipeline struct {
	fc *mqttsinktest.Client
	m  *alerting.Manager
	j  *journal.Journal
}

const pipelinePrefix = "cg/s01"

func newStaffPipeline(t *testing.T) *staffPipeline {
	t.Helper()
	p := &staffPipeline{fc: mqttsinktest.New()}
	acker := &managerAcker{}
	sink, err := mqttsink.New(mqttsink.Config{Name: "staff", TopicPrefix: pipelinePrefix, Ack: mqttsink.AckForTests()}, p.fc,
		mqttsink.Options{Acker: acker, Logger: mqttsink.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	s := &site.Site{ID: "s01", Zones: []site.Zone{{ID: "guardroom", Number: 1}}}
	dir := site.NewDirectory(s, []site.Device{{ID: "box-gate", Kind: event.KindPanic, Zone: "guardroom", Location: "校门门卫室", Driver: "gpio"}})
	p.m, p.j = startAlerting(t, dir, sink)
	acker.m = p.m
	subscribed := make(chan struct{})
	sink.SetTestHooks(nil, func() { close(subscribed) }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sink.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	await(t, subscribed, "the ack subscription")
	return p
}

// startAlerting runs the alerting core on a real journal in a temporary directory,
// every alarm routed to sink, until the test ends.
func startAlerting(tb testing.TB, dir *site.Directory, sink alerting.Sink) (*alerting.Manager, *journal.Journal) {
	tb.Helper()
	j, err := journal.Open(filepath.Join(tb.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := alerting.New(alerting.Options{Config: alerting.Config{Routes: alerting.Route{Sinks: []string{sink.Name()}}},
		Store: j, Directory: dir, Sinks: []alerting.Sink{sink}, Logger: mqttsink.Quiet})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		if err := j.Close(); err != nil {
			tb.Error(err)
		}
	})
	return m, j
}

// press is the panic rule's trigger for the gate's button.
func (p *staffPipeline) press(t *testing.T, occurrence bool) {
	t.Helper()
	tr := alerting.Trigger{Rule: "panic", Key: "box-gate", DeviceID: "box-gate", Firing: true, Severity: alerting.Critical,
		Message: "门卫室一键报警按钮被按下", Occurrence: occurrence,
		Event: &event.Event{Site: "s01", DeviceID: "box-gate", Kind: event.KindPanic, Type: event.TypePressed}}
	if err := p.m.Handle(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
}

// staffGets waits for the staff notification of transition and checks the two
// messages it is: the alarm's retained state, then the event.
func (p *staffPipeline) staffGets(t *testing.T, transition alerting.Transition) mqttsink.EventMessage {
	t.Helper()
	for {
		ev := p.fc.Take(t) // the event first, then the retained state
		var em mqttsink.EventMessage
		if ev.Topic != pipelinePrefix+"/events" || ev.Retained || ev.QoS != mqttsink.QoS || json.Unmarshal(ev.Payload, &em) != nil {
			t.Fatalf("event %+v %s", ev, ev.Payload)
		}
		st := p.fc.Take(t)
		var sm mqttsink.StateMessage
		if err := json.Unmarshal(st.Payload, &sm); err != nil {
			t.Fatalf("state %s %s: %v", st.Topic, st.Payload, err)
		}
		if sm.Transition != transition {
			continue // another notification (the button released, ...)
		}
		want := pipelinePrefix + "/alarms/" + mqttsink.EscapeLevel(sm.Alarm.ID)
		if st.Topic != want || !st.Retained || st.QoS != mqttsink.QoS || sm.V != mqttsink.SchemaVersion ||
			sm.Alarm.DeviceID != "box-gate" || sm.Alarm.Location != "校门门卫室" || sm.Alarm.Class != alerting.ClassPanic {
			t.Fatalf("state on %s (want %s): %s", st.Topic, want, st.Payload)
		}
		if em.V != mqttsink.SchemaVersion || em.Transition != transition || em.Alarm.ID != sm.Alarm.ID || em.ID != sm.Notification {
			t.Fatalf("event %s for the state %s", ev.Payload, st.Payload)
		}
		return em
	}
}

// TestAlarmToStaffPipeline: the alarm → staff path through the real pipeline, with no
// broker: a panic press is journaled and published to the staff; the staff's signed
// ack on the ack topic is journaled with who (and only then acknowledged to the
// broker) and published; a press after the ack is notified again under the same alarm.
func TestAlarmToStaffPipeline(t *testing.T) {
	p := newStaffPipeline(t)
	p.press(t, false)
	fired := p.staffGets(t, alerting.Fired)
	id := fired.Alarm.ID
	if fired.Alarm.State != alerting.Firing || fired.Alarm.Message != "门卫室一键报警按钮被按下" {
		t.Fatalf("fired %+v", fired.Alarm)
	}

	topic := pipelinePrefix + "/ack"
	ack := mqttsink.AckMessage{AlarmID: id, By: "王师傅", Note: "已到现场", TS: time.Now().Unix()}
	d := p.fc.Deliver(t, topic, mqttsink.Signed(topic, ack))
	await(t, d.Acked(), "the PUBACK of the staff's ack")
	det, err := p.j.Alarm(id)
	if err != nil {
		t.Fatal(err)
	}
	var journaled bool
	for _, h := range det.History {
		journaled = journaled || (h.Action == string(alerting.Acked) && h.By == "王师傅" && h.Note == "已到现场")
	}
	if !journaled || det.Alarm.AckedBy != "王师傅" {
		t.Fatalf("the staff's ack is not journaled with who: %+v", det)
	}
	if acked := p.staffGets(t, alerting.Acked); acked.Alarm.ID != id || acked.Alarm.AckedBy != "王师傅" {
		t.Fatalf("acked %+v", acked.Alarm)
	}

	p.press(t, true)
	again := p.staffGets(t, alerting.Refired)
	if again.Alarm.ID != id || again.Alarm.State != alerting.Firing || again.Alarm.Count != 2 {
		t.Fatalf("press after the ack: %+v", again.Alarm)
	}
}
