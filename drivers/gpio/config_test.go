package gpio

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{
		Inputs: []InputConfig{
			{Device: "btn", PinRef: PinRef{Pin: "GPIO17"}, Kind: event.KindPanic},
			{Device: "beam", PinRef: PinRef{Pin: "GPIO18"}, Kind: event.KindAntiFall, ActiveLevel: "high",
				Supervision: &SupervisionConfig{PinRef: PinRef{Pin: "GPIO19"}}},
		},
		Outputs: []OutputConfig{{ID: "siren", PinRef: PinRef{Pin: "GPIO20"}}},
	}
	c.SetDefaults(cfgerr.Env{})
	in := c.Inputs[0]
	if in.Contact != "no" || in.ActiveLevel != "low" || in.Pull != "up" || in.Debounce != DefaultDebounce ||
		in.ActiveType != event.TypePressed || in.InactiveType != event.TypeReleased {
		t.Errorf("panic input defaults: %+v", in)
	}
	b := c.Inputs[1]
	if b.Pull != "down" || b.ActiveType != event.TypeActive || b.InactiveType != event.TypeInactive {
		t.Errorf("antifall input defaults: %+v", b)
	}
	if s := b.Supervision; s.TroubleLevel != "high" || s.Pull != "up" || s.Debounce != DefaultDebounce || s.Cause != "line" {
		t.Errorf("supervision defaults: %+v", s)
	}
	o := c.Outputs[0]
	if o.ActiveLevel != "high" || o.Pattern != "steady" || o.MaxOn != DefaultMaxOn || o.ResoundAfter != nil {
		t.Errorf("output defaults: %+v", o)
	}
	if c.Heartbeat != DefaultHeartbeat || c.Retry != DefaultRetry {
		t.Errorf("section defaults: %+v", c)
	}
	var errs cfgerr.List
	c.Validate(&errs)
	if errs.Len() != 0 {
		t.Fatalf("valid config: %v", errs.Err())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		keys []string
	}{
		{"missing device and pin", Config{Inputs: []InputConfig{{}}}, []string{"inputs[0].device", "inputs[0].pin"}},
		{"bad enums", Config{Inputs: []InputConfig{{Device: "b", PinRef: PinRef{Pin: "P1"}, Contact: "x", ActiveLevel: "mid", Pull: "sideways"}}},
			[]string{"inputs[0].active_level", "inputs[0].contact", "inputs[0].pull"}},
		{"pin and chip", Config{Inputs: []InputConfig{{Device: "b", PinRef: PinRef{Pin: "P1", Chip: "gpiochip0"}}}}, []string{"inputs[0].chip"}},
		{"negative line", Config{Inputs: []InputConfig{{Device: "b", PinRef: PinRef{Chip: "gpiochip0", Line: -1}}}}, []string{"inputs[0].line"}},
		{"pin used twice", Config{
			Inputs:  []InputConfig{{Device: "a", PinRef: PinRef{Pin: "P1"}}, {Device: "b", PinRef: PinRef{Pin: "P2"}, Supervision: &SupervisionConfig{PinRef: PinRef{Pin: "P1"}}}},
			Outputs: []OutputConfig{{ID: "s", PinRef: PinRef{Pin: "P2"}}},
		}, []string{"inputs[1].supervision.pin", "outputs[0].pin"}},
		{"device twice", Config{Inputs: []InputConfig{{Device: "a", PinRef: PinRef{Pin: "P1"}}, {Device: "a", PinRef: PinRef{Pin: "P2"}}}}, []string{"inputs[1].device"}},
		{"hold too long", Config{Inputs: []InputConfig{{Device: "a", PinRef: PinRef{Pin: "P1"}, Hold: 2 * time.Minute}}}, []string{"inputs[0].hold"}},
		{"latch true", Config{Inputs: []InputConfig{{Device: "a", PinRef: PinRef{Pin: "P1"}, Latch: ptr(true)}}}, []string{"inputs[0].latch"}},
		{"latch false", Config{Inputs: []InputConfig{{Device: "a", PinRef: PinRef{Pin: "P1"}, Latch: ptr(false)}}}, []string{"inputs[0].latch"}},
		{"resound_after 30s", Config{Outputs: []OutputConfig{{ID: "s", PinRef: PinRef{Pin: "P1"}, ResoundAfter: ptr(30 * time.Second)}}}, []string{"outputs[0].resound_after"}},
		{"resound_after 0s", Config{Outputs: []OutputConfig{{ID: "s", PinRef: PinRef{Pin: "P1"}, ResoundAfter: ptr(time.Duration(0))}}}, []string{"outputs[0].resound_after"}},
		{"bad event type", Config{Inputs: []InputConfig{{Device: "a", PinRef: PinRef{Pin: "P1"}, ActiveType: "Pressed!"}}}, []string{"inputs[0].active_type"}},
		{"output problems", Config{Outputs: []OutputConfig{
			{ID: "s", PinRef: PinRef{Pin: "P1"}, Pattern: "wail", ResoundAfter: ptr(time.Minute)},
			{ID: "s", PinRef: PinRef{Pin: "P2"}, MaxOn: 2 * time.Hour},
		}}, []string{"outputs[0].pattern", "outputs[0].resound_after", "outputs[1].id", "outputs[1].max_on"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			var got []string
			for _, e := range errs.Errs {
				got = append(got, e.Key)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.keys) {
				t.Fatalf("keys %v, want %v\n%v", got, tc.keys, errs.Err())
			}
		})
	}
}

func TestConfigBind(t *testing.T) {
	s := &site.Site{ID: "s01"}
	dir := site.NewDirectory(s, []site.Device{
		{ID: "btn", Kind: event.KindPanic, Driver: "gpio"},
		{ID: "beam", Kind: event.KindAntiFall, Driver: "gpio"},
		{ID: "cam", Kind: event.KindKitchenCamera, Driver: "mqtt"},
	})
	c := Config{Inputs: []InputConfig{
		{Device: "btn", PinRef: PinRef{Pin: "P1"}},
		{Device: "beam", PinRef: PinRef{Pin: "P2"}},
		{Device: "cam", PinRef: PinRef{Pin: "P3"}},
		{Device: "ghost", PinRef: PinRef{Pin: "P4"}},
		{Device: "btn2", PinRef: PinRef{Pin: "P5"}, Kind: event.KindSiren},
	}}
	var errs cfgerr.List
	c.Bind(dir, &errs)
	c.SetDefaults(cfgerr.Env{})
	if c.Inputs[0].Kind != event.KindPanic || c.Inputs[1].Kind != event.KindAntiFall || c.Inputs[1].ActiveType != event.TypeActive {
		t.Fatalf("kinds not bound: %+v", c.Inputs[:2])
	}
	var msgs []string
	for _, e := range errs.Errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{`inputs[2].device: device "cam" uses driver "mqtt", not gpio`, `inputs[3].device: unknown device "ghost"`, `inputs[4].device: unknown device "btn2"`}
	if !reflect.DeepEqual(msgs, want) {
		t.Fatalf("got %q\nwant %q", msgs, want)
	}
}

// TestConfigDecodeYAML: the section decodes from YAML the way viper does it.
func TestConfigDecodeYAML(t *testing.T) {
	const y = `
gpio:
  heartbeat: 30s
  inputs:
    - device: btn-gate
      pin: GPIO17
      contact: nc
      debounce: 30ms
      hold: 500ms
      supervision:
        pin: GPIO27
        cause: cut
    - device: beam-3f
      chip: gpiochip0
      line: 22
      active_level: high
  outputs:
    - id: siren-gate
      pin: GPIO5
      pattern: pulse:500ms/500ms
      max_on: 3m
`
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(y)); err != nil {
		t.Fatal(err)
	}
	var c Config
	err := v.UnmarshalKey("gpio", &c, func(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = true })
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	c.Validate(&errs)
	if errs.Len() > 0 {
		t.Fatal(errs.Err())
	}
	in := c.Inputs[0]
	if in.Pin != "GPIO17" || in.Contact != "nc" || in.Debounce != 30*time.Millisecond || in.Hold != 500*time.Millisecond ||
		in.Latch != nil || in.Supervision == nil || in.Supervision.Pin != "GPIO27" || in.Supervision.Cause != "cut" {
		t.Errorf("input 0: %+v %+v", in, in.Supervision)
	}
	if b := c.Inputs[1]; b.PinRef.Name() != "gpiochip0/22" || b.ActiveLevel != "high" {
		t.Errorf("input 1: %+v", b)
	}
	if o := c.Outputs[0]; o.Pattern != "pulse:500ms/500ms" || o.MaxOn != 3*time.Minute || o.Pin != "GPIO5" {
		t.Errorf("output: %+v", o)
	}
	if c.Heartbeat != 30*time.Second {
		t.Errorf("heartbeat %v", c.Heartbeat)
	}
}

func ptr[T any](v T) *T { return &v }
