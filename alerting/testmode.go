package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// The alarm path is tested once a quarter with the police told beforehand: an operator
// puts a device or a zone in test for a bounded time. Its alarms are raised as usual
// (journaled, shown, sounded as the siren's sound_tests says) but marked as tests: the
// police link reports them as tests (Contact ID 601) and the staff see them as such.

// MaxTestWindow bounds a test window: a forgotten test never hides real alarms for long.
const MaxTestWindow = 8 * time.Hour

// testStateKey is the journal state blob holding the test windows.
const testStateKey = "alerting/tests"

// History actions of test windows.
const (
	ActionTestStarted = "test_started"
	ActionTestEnded   = "test_ended"
)

// TestWindow puts one device or one zone in test until Until.
type TestWindow struct {
	Device string    `json:"device,omitempty"`
	Zone   string    `json:"zone,omitempty"`
	Until  time.Time `json:"until"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

func (w TestWindow) key() string {
	if w.Device != "" {
		return "device:" + w.Device
	}
	return "zone:" + w.Zone
}

func (w TestWindow) what() string {
	if w.Device != "" {
		return "device " + w.Device
	}
	return "zone " + w.Zone
}

// StartTest puts a device or a zone in test for d (at most MaxTestWindow), with who
// and why; it is journaled. Starting it again moves its end.
func (m *Manager) StartTest(ctx context.Context, w TestWindow, d time.Duration) error {
	switch {
	case w.By == "":
		return fmt.Errorf("test mode: %w", ErrNoPerson)
	case w.Reason == "":
		return errors.New("test mode: a reason is required (e.g. the quarterly test announced to the police)")
	case (w.Device == "") == (w.Zone == ""):
		return errors.New("test mode: name one device or one zone")
	case d <= 0 || d > MaxTestWindow:
		return fmt.Errorf("test mode: the duration must be between 1s and %s", MaxTestWindow)
	}
	m.mu.Lock()
	dir := m.dir
	m.mu.Unlock()
	if w.Device != "" && dir != nil && dir.Device(w.Device) == nil {
		return fmt.Errorf("test mode: unknown device %q", w.Device)
	}
	if w.Zone != "" && dir != nil && dir.Site != nil && dir.Site.Zone(w.Zone) == nil {
		return fmt.Errorf("test mode: %w %q", ErrUnknownZone, w.Zone)
	}
	now := m.clock.Now()
	w.At, w.Until = now, now.Add(d)
	m.mu.Lock()
	m.tests[w.key()] = w
	c := Commit{State: map[string][]byte{testStateKey: m.testsBlob()}, History: []HistoryRecord{{At: now, Action: ActionTestStarted,
		By: w.By, DeviceID: w.Device, Zone: w.Zone, Note: fmt.Sprintf("%s until %s: %s", w.what(), w.Until.Format(time.RFC3339), w.Reason)}}}
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return m.settle(&c, wait)
}

// EndTest ends a device's or a zone's test window now.
func (m *Manager) EndTest(ctx context.Context, device, zone, by string) error {
	if by == "" {
		return fmt.Errorf("test mode: %w", ErrNoPerson)
	}
	w := TestWindow{Device: device, Zone: zone}
	now := m.clock.Now()
	m.mu.Lock()
	cur, ok := m.tests[w.key()]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("test mode: %s is not in test", w.what())
	}
	delete(m.tests, w.key())
	c := Commit{State: map[string][]byte{testStateKey: m.testsBlob()}, History: []HistoryRecord{{At: now, Action: ActionTestEnded,
		By: by, DeviceID: device, Zone: zone, Note: cur.what() + ": ended by hand"}}}
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return m.settle(&c, wait)
}

// Tests returns the test windows not yet over.
func (m *Manager) Tests() []TestWindow {
	now := m.clock.Now()
	m.mu.Lock()
	out := make([]TestWindow, 0, len(m.tests))
	for _, w := range m.tests {
		if now.Before(w.Until) {
			out = append(out, w)
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// inTest reports whether an alarm of device in zone is raised in test mode (m.mu held).
func (m *Manager) inTest(device, zone string, now time.Time) bool {
	for _, k := range []string{"device:" + device, "zone:" + zone} {
		if w, ok := m.tests[k]; ok && now.Before(w.Until) {
			return true
		}
	}
	return false
}

// expireTests ends the windows that are over, journaled (m.mu held).
func (m *Manager) expireTests(now time.Time, c *Commit) {
	var ended []string
	for k, w := range m.tests {
		if !now.Before(w.Until) {
			ended = append(ended, k)
			c.History = append(c.History, HistoryRecord{At: now, Action: ActionTestEnded, By: w.By, DeviceID: w.Device,
				Zone: w.Zone, Note: w.what() + ": window over"})
		}
	}
	if len(ended) == 0 {
		return
	}
	slices.Sort(ended)
	for _, k := range ended {
		delete(m.tests, k)
	}
	if c.State == nil {
		c.State = map[string][]byte{}
	}
	c.State[testStateKey] = m.testsBlob()
}

func (m *Manager) testsBlob() []byte {
	ws := make([]TestWindow, 0, len(m.tests))
	for _, w := range m.tests {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].key() < ws[j].key() })
	b, _ := json.Marshal(ws)
	return b
}

func (m *Manager) restoreTests() error {
	b, err := m.store.GetState(testStateKey)
	if err != nil || len(b) == 0 {
		return err
	}
	var ws []TestWindow
	if err := json.Unmarshal(b, &ws); err != nil {
		m.log.Warn("test windows in the journal are unreadable; none restored", "err", err)
		return nil
	}
	for _, w := range ws {
		m.tests[w.key()] = w
	}
	return nil
}
