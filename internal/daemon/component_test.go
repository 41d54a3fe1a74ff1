package daemon

import (
	"errors"
	"testing"
)

// The table's order is the start order: the bus queues exist before any component
// that publishes, the journal before everything that stores, the sinks before the
// alerting manager that delivers through them.
func TestComponentTableOrder(t *testing.T) {
	at := map[string]int{}
	for i, c := range components {
		if _, dup := at[c.name]; dup {
			t.Fatalf("two rows named %s", c.name)
		}
		at[c.name] = i
	}
	before := []struct{ first, then string }{
		{"journal", "queues"},
		{"queues", "mqtt"},
		{"queues", "simulator"},
		{"queues", "gpio"},
		{"queues", "policelink"},
		{"queues", "devhealth"},
		{"queues", "patrol"},
		{"mqtt", "simulator"}, // the simulator publishes through the MQTT driver
		{"simulator", "gpio"}, // its pins are the GPIO driver's source
		{"siren", "alerting"},
		{"mqtt-sink", "alerting"},
		{"webhooks", "alerting"},
		{"telemetry", "alerting"},
		{"policelink", "alerting"},
		{"alerting", "rules"}, // the engine's restore asks which alarms are open
		{"telemetry", "patrol"},
		{"patrol", "console"},
		{"patrol", "tools"},
	}
	for _, b := range before {
		i, ok1 := at[b.first]
		j, ok2 := at[b.then]
		if !ok1 || !ok2 {
			t.Fatalf("no row %s or %s", b.first, b.then)
		}
		if i >= j {
			t.Errorf("%s starts at %d, not before %s (%d)", b.first, i, b.then, j)
		}
	}
}

func TestContextOnce(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		what string
		also []string
		err  error
		want string
	}{
		{"telemetry", nil, base, "telemetry: boom"},
		{"telemetry", nil, errors.New("telemetry: no spool_dir"), "telemetry: no spool_dir"},
		{"telemetry", nil, errors.New("telemetry ca_file: missing"), "telemetry ca_file: missing"},
		{"police link", []string{"policelink"}, errors.New("policelink key_file: missing"), "policelink key_file: missing"},
		{"webhook duty", []string{"webhook"}, errors.New("webhook duty: no url"), "webhook duty: no url"},
		{"gpio", nil, errors.New("gpiochip0: busy"), "gpio: gpiochip0: busy"},
	}
	for _, tt := range tests {
		got := contextOnce(tt.what, tt.err, tt.also...)
		if got.Error() != tt.want {
			t.Errorf("contextOnce(%q, %q) = %q, want %q", tt.what, tt.err, got, tt.want)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("contextOnce(%q, %q) lost the error", tt.what, tt.err)
		}
	}
}
