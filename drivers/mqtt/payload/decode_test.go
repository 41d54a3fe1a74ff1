package payload_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/drivers/mqtt"
	"github.com/campusguard/campusguard/drivers/mqtt/payload"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

const examplesDir = "../../../configs/examples/decoders"

// testNow is the receive time of decode tests: 2026-11-20 21:03:15 in Shanghai.
var testNow = time.Date(2026, 11, 20, 13, 3, 15, 0, time.UTC)

// loadExample reads an example file the way the loader does (viper, unknown keys are
// errors, default decode hooks), adds a broker, applies defaults and validates.
func loadExample(t testing.TB, name string) mqtt.Config {
	t.Helper()
	v := viper.New()
	v.SetConfigFile(filepath.Join(examplesDir, name))
	if err := v.ReadInConfig(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var cfg mqtt.Config
	if err := v.UnmarshalKey("mqtt", &cfg, func(c *mapstructure.DecoderConfig) { c.ErrorUnused = true }); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cfg.Brokers = append(cfg.Brokers, mqtt.BrokerConfig{Name: "campus", URL: "tcp://127.0.0.1:1883"})
	cfg.SetDefaults(cfgerr.Env{SiteID: "s01", StateDir: t.TempDir()})
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

func exampleDecoder(t testing.TB, file, mapping string) *payload.Decoder {
	t.Helper()
	cfg := loadExample(t, file)
	for _, m := range cfg.Mappings {
		if m.Name == mapping {
			d, err := mqtt.NewDecoder(m)
			if err != nil {
				t.Fatalf("%s/%s: %v", file, mapping, err)
			}
			return d
		}
	}
	t.Fatalf("%s has no mapping %q", file, mapping)
	return nil
}

// TestExamples decodes the vendors' sample payloads with the shipped example configs.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if len(files) != 4 {
		t.Fatalf("want 4 example decoder configs, found %v", files)
	}
	tests := []struct {
		file, mapping, topic, payload string
		device                        string
		kind                          event.Kind
		typ                           string
		fields                        event.Fields
		deviceTime                    time.Time
	}{
		{"kitchen_camera.yaml", "kitchen-ai", "school/s01/kitchen/cam-2/ai",
			`{"event":"no_chef_hat","confidence":0.91,"channel":1,"time":1763643792,
     "snapshot":"http://10.0.0.21/snap/8812.jpg","region":"灶台区"}`,
			"cam-2", event.KindKitchenCamera, event.TypeDetection,
			event.Fields{"detection": "no_chef_hat", "confidence": 0.91, "channel": int64(1), "snapshot": "http://10.0.0.21/snap/8812.jpg", "region": "灶台区"},
			time.Unix(1763643792, 0)},
		{"antifall.yaml", "antifall-radar", "school/s01/antifall/radar-b3-2/state",
			`{"occupied":true,"distance_m":0.8,"zone":"B3-2F-east-balcony","ts":1763643792123}`,
			"radar-b3-2", event.KindAntiFall, event.TypeActive,
			event.Fields{"occupied": true, "distance_m": 0.8, "radar_zone": "B3-2F-east-balcony"},
			time.UnixMilli(1763643792123)},
		{"patrol.yaml", "patrol-reader", "school/s01/patrol/reader-3/scan",
			`{"card":"A1B2C3D4","checkpoint":"CP-07","ts":"2026-11-20T21:03:12+08:00","battery":87}`,
			"reader-3", event.KindPatrol, event.TypeScan,
			event.Fields{"card": "A1B2C3D4", "checkpoint": "CP-07", "battery": int64(87)},
			time.Date(2026, 11, 20, 13, 3, 12, 0, time.UTC)},
		{"panic.yaml", "panic-module", "school/s01/panic/box-gate/status",
			`{"pressed":true,"tamper":false,"supply_v":12.1}`,
			"box-gate", event.KindPanic, event.TypePressed,
			event.Fields{"pressed": true, "tamper": false, "supply_v": 12.1},
			time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := exampleDecoder(t, tt.file, tt.mapping)
			e, err := d.Decode(tt.topic, []byte(tt.payload), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if e.DeviceID != tt.device || e.Kind != tt.kind || e.Type != tt.typ || e.Source != payload.Source {
				t.Errorf("got %s/%s %s source %q, want %s/%s %s", e.Kind, e.DeviceID, e.Type, e.Source, tt.kind, tt.device, tt.typ)
			}
			if !e.DeviceTime.Equal(tt.deviceTime) {
				t.Errorf("device time %v, want %v", e.DeviceTime, tt.deviceTime)
			}
			if !e.ReceivedAt.Equal(testNow) {
				t.Errorf("received at %v", e.ReceivedAt)
			}
			if len(e.Fields) != len(tt.fields) {
				t.Errorf("fields %v, want %v", e.Fields, tt.fields)
			}
			for k, want := range tt.fields {
				if got := e.Fields[k]; got != want {
					t.Errorf("field %s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

type goldenInput struct {
	Example string `json:"example"`
	Mapping string `json:"mapping"`
	Topic   string `json:"topic"`
	Payload string `json:"payload"`
}

type goldenOutput struct {
	Event  event.Event `json:"event"`
	Reason string      `json:"reason,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// TestDecodeGolden runs testdata/decode/*.json through the example decoders and
// compares with *.golden (go test -run Golden -update rewrites them).
func TestDecodeGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/decode/*.json")
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var in goldenInput
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			d := exampleDecoder(t, in.Example, in.Mapping)
			e, err := d.Decode(in.Topic, []byte(in.Payload), testNow)
			out := goldenOutput{Event: e}
			if err != nil {
				out.Reason, out.Error = payload.Reason(err), err.Error()
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gf := strings.TrimSuffix(f, ".json") + ".golden"
			testenv.Golden(t, gf, got, *update)
		})
	}
}

func intp(i int) *int { return &i }

// TestDecodeErrors covers the typed errors and the less common mapping options.
func TestDecodeErrors(t *testing.T) {
	base := func() mqtt.MappingConfig {
		return mqtt.MappingConfig{
			Name: "m", Broker: "b", Topic: "site/+/dev/#", Kind: event.KindKitchenCamera,
			DeviceID:   mqtt.DeviceIDConfig{TopicLevel: intp(1)},
			Type:       mqtt.TypeConfig{Field: "kind"},
			Time:       mqtt.TimeConfig{Field: "t", Format: mqtt.TimeUnix},
			Fields:     []mqtt.FieldMap{{Name: "v", Path: "data.value", Type: mqtt.FieldFloat, Required: true}},
			MaxPayload: 64,
		}
	}
	tests := []struct {
		name    string
		mod     func(*mqtt.MappingConfig)
		topic   string
		payload string
		want    error
		check   func(t *testing.T, e event.Event)
	}{
		{name: "ok nested", payload: `{"kind":"state","t":1.5,"data":{"value":3}}`, check: func(t *testing.T, e event.Event) {
			if e.DeviceID != "cam" || e.Type != "state" || e.Fields["v"] != 3.0 || !e.DeviceTime.Equal(time.UnixMilli(1500)) {
				t.Errorf("got %v %v", e, e.DeviceTime)
			}
		}},
		{name: "oversized", payload: `{"kind":"state","data":{"value":3},"pad":"` + strings.Repeat("x", 64) + `"}`, want: payload.ErrOversized},
		{name: "invalid utf8", payload: "{\"kind\":\"\xff\",\"data\":{\"value\":3}}", want: payload.ErrInvalidUTF8},
		{name: "not json", payload: `{"kind":`, want: payload.ErrNotJSON},
		{name: "empty", payload: ``, want: payload.ErrNotJSON},
		{name: "string top level", payload: `"x"`, want: payload.ErrNotJSON},
		{name: "missing required", payload: `{"kind":"state","data":{}}`, want: payload.ErrMissingField},
		{name: "null required", payload: `{"kind":"state","data":{"value":null}}`, want: payload.ErrMissingField},
		{name: "path through a scalar", payload: `{"kind":"state","data":5}`, want: payload.ErrMissingField},
		{name: "wrong type", payload: `{"kind":"state","data":{"value":true}}`, want: payload.ErrWrongType},
		{name: "type object", payload: `{"kind":{},"data":{"value":1}}`, want: payload.ErrWrongType},
		{name: "type missing", payload: `{"data":{"value":1}}`, want: payload.ErrMissingField},
		{name: "type default", mod: func(m *mqtt.MappingConfig) { m.Type.Default = "state" }, payload: `{"data":{"value":1}}`},
		{name: "type not in map", mod: func(m *mqtt.MappingConfig) { m.Type.Map = map[string]string{"a": "b"} }, payload: `{"kind":"zz","data":{"value":1}}`, want: payload.ErrBadValue},
		{name: "type map lower case", mod: func(m *mqtt.MappingConfig) { m.Type.Map = map[string]string{"nohat": "detection"} }, payload: `{"kind":"NoHat","data":{"value":1}}`,
			check: func(t *testing.T, e event.Event) {
				if e.Type != "detection" {
					t.Errorf("type %q", e.Type)
				}
			}},
		{name: "time wrong type", payload: `{"kind":"s","t":true,"data":{"value":1}}`, want: payload.ErrWrongType},
		{name: "time negative", payload: `{"kind":"s","t":-5,"data":{"value":1}}`, want: payload.ErrBadValue},
		{name: "time far future", payload: `{"kind":"s","t":1e300,"data":{"value":1}}`, want: payload.ErrBadValue},
		{name: "time required", mod: func(m *mqtt.MappingConfig) { m.Time.Required = true }, payload: `{"kind":"s","data":{"value":1}}`, want: payload.ErrMissingField},
		{name: "rfc3339 number", mod: func(m *mqtt.MappingConfig) { m.Time.Format = mqtt.TimeRFC3339 }, payload: `{"kind":"s","t":5,"data":{"value":1}}`, want: payload.ErrWrongType},
		{name: "topic too short", topic: "site", payload: `{}`, want: payload.ErrMissingField},
		{name: "device from field", mod: func(m *mqtt.MappingConfig) {
			m.DeviceID = mqtt.DeviceIDConfig{Field: "dev.sn", Prefix: "cam-", Map: map[string]string{"123": "9"}}
		}, payload: `{"dev":{"sn":123},"kind":"s","data":{"value":1}}`, check: func(t *testing.T, e event.Event) {
			if e.DeviceID != "cam-9" {
				t.Errorf("device %q", e.DeviceID)
			}
		}},
		{name: "device field fractional", mod: func(m *mqtt.MappingConfig) { m.DeviceID = mqtt.DeviceIDConfig{Field: "sn"} },
			payload: `{"sn":1.5,"kind":"s","data":{"value":1}}`, want: payload.ErrWrongType},
		{name: "device field empty", mod: func(m *mqtt.MappingConfig) { m.DeviceID = mqtt.DeviceIDConfig{Field: "sn"} },
			payload: `{"sn":"","kind":"s","data":{"value":1}}`, want: payload.ErrBadValue},
		{name: "device from last level", mod: func(m *mqtt.MappingConfig) { m.Topic = "a/+/b/+"; m.DeviceID.TopicLevel = intp(-1) },
			topic: "a/x/b/last", payload: `{"kind":"s","data":{"value":1}}`, check: func(t *testing.T, e event.Event) {
				if e.DeviceID != "last" {
					t.Errorf("device %q", e.DeviceID)
				}
			}},
		{name: "const fields", mod: func(m *mqtt.MappingConfig) { m.Const = map[string]any{"vendor": "hik", "n": 3} },
			payload: `{"kind":"s","data":{"value":1}}`, check: func(t *testing.T, e event.Event) {
				if e.Fields["vendor"] != "hik" || e.Fields["n"] != int64(3) {
					t.Errorf("fields %v", e.Fields)
				}
			}},
		{name: "int from string", mod: func(m *mqtt.MappingConfig) { m.Fields[0].Type = mqtt.FieldInt }, payload: `{"kind":"s","data":{"value":"42"}}`,
			check: func(t *testing.T, e event.Event) {
				if e.Fields["v"] != int64(42) {
					t.Errorf("fields %v", e.Fields)
				}
			}},
		{name: "int too large", mod: func(m *mqtt.MappingConfig) { m.Fields[0].Type = mqtt.FieldInt }, payload: `{"kind":"s","data":{"value":1e300}}`, want: payload.ErrWrongType},
		{name: "bool from 1", mod: func(m *mqtt.MappingConfig) { m.Fields[0].Type = mqtt.FieldBool }, payload: `{"kind":"s","data":{"value":1}}`},
		{name: "status json", mod: func(m *mqtt.MappingConfig) { m.Status = &mqtt.StatusConfig{Field: "st"} }, payload: `{"st":false}`,
			check: func(t *testing.T, e event.Event) {
				if e.Type != event.TypeOffline {
					t.Errorf("type %q", e.Type)
				}
			}},
		{name: "status missing", mod: func(m *mqtt.MappingConfig) { m.Status = &mqtt.StatusConfig{Field: "st"} }, payload: `{}`, want: payload.ErrMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			if tt.mod != nil {
				tt.mod(&m)
			}
			d, err := mqtt.NewDecoder(m)
			if err != nil {
				t.Fatal(err)
			}
			topic := tt.topic
			if topic == "" {
				topic = "site/cam/dev/x"
			}
			e, err := d.Decode(topic, []byte(tt.payload), testNow)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil && payload.Reason(err) == "other" {
				t.Errorf("no reason for %v", err)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

// FuzzDecode feeds arbitrary topics and payloads to the four example decoders: no
// panic, an error always has a reason label, and a decoded event has only field types
// of the event model.
func FuzzDecode(f *testing.F) {
	var decs []*payload.Decoder
	for _, x := range [][2]string{
		{"kitchen_camera.yaml", "kitchen-ai"}, {"kitchen_camera.yaml", "kitchen-ai-status"},
		{"antifall.yaml", "antifall-radar"}, {"patrol.yaml", "patrol-reader"}, {"panic.yaml", "panic-module"},
	} {
		decs = append(decs, exampleDecoder(f, x[0], x[1]))
	}
	files, _ := filepath.Glob("testdata/decode/*.json")
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		var in goldenInput
		if json.Unmarshal(raw, &in) == nil {
			f.Add(in.Topic, []byte(in.Payload))
		}
	}
	f.Add("a/b", []byte("\xff\xfe"))
	f.Add("school/s01/kitchen/cam-2/ai", []byte(`{"event":{"a":[1,2,{"b":null}]},"time":"1e99"}`))
	f.Fuzz(func(t *testing.T, topic string, p []byte) {
		for _, d := range decs {
			e, err := d.Decode(topic, p, testNow)
			if err != nil {
				if payload.Reason(err) == "other" {
					t.Fatalf("%s: error without a reason: %v", d.Name(), err)
				}
				continue
			}
			if e.Type == "" {
				t.Fatalf("%s: event without a type", d.Name())
			}
			for k, v := range e.Fields {
				if n, err := event.Normalize(v); err != nil || n != v {
					t.Fatalf("%s: field %s has type %T", d.Name(), k, v)
				}
			}
		}
	})
}

// BenchmarkDecode measures MQTT payload → Event for the kitchen camera sample.
func BenchmarkDecode(b *testing.B) {
	for _, x := range []struct{ file, mapping, topic, payload string }{
		{"kitchen_camera.yaml", "kitchen-ai", "school/s01/kitchen/cam-2/ai",
			`{"event":"no_chef_hat","confidence":0.91,"channel":1,"time":1763643792,"snapshot":"http://10.0.0.21/snap/8812.jpg","region":"灶台区"}`},
		{"patrol.yaml", "patrol-reader", "school/s01/patrol/reader-3/scan",
			`{"card":"A1B2C3D4","checkpoint":"CP-07","ts":"2026-11-20T21:03:12+08:00","battery":87}`},
		{"panic.yaml", "panic-module", "school/s01/panic/box-gate/status",
			`{"pressed":true,"tamper":false,"supply_v":12.1}`},
	} {
		b.Run(x.mapping, func(b *testing.B) {
			d := exampleDecoder(b, x.file, x.mapping)
			p := []byte(x.payload)
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := d.Decode(x.topic, p, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
