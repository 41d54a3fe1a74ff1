package mqtt

import (
	"path/filepath"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/drivers/mqtt/payload"
	"github.com/campusguard/campusguard/event"
)

const examplesDir = "../../configs/examples/decoders"

// loadExample reads an example file the way the loader does (viper, unknown keys are
// errors, default decode hooks), adds a broker, applies defaults and validates.
func loadExample(t testing.TB, name string) Config {
	t.Helper()
	v := viper.New()
	v.SetConfigFile(filepath.Join(examplesDir, name))
	if err := v.ReadInConfig(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var cfg Config
	if err := v.UnmarshalKey("mqtt", &cfg, func(c *mapstructure.DecoderConfig) { c.ErrorUnused = true }); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cfg.Brokers = append(cfg.Brokers, BrokerConfig{Name: "campus", URL: "tcp://127.0.0.1:1883"})
	cfg.SetDefaults(cfgerr.Env{SiteID: "s01", StateDir: t.TempDir()})
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

func intp(i int) *int { return &i }

// TestNewDecoderValidates: a mapping the config would refuse builds no decoder, and the
// config's format and type names are the decoder's.
func TestNewDecoderValidates(t *testing.T) {
	m := MappingConfig{Name: "m", Topic: "a/+", Kind: event.KindPanic, Type: TypeConfig{Const: "pressed"}}
	if _, err := NewDecoder(m); err == nil {
		t.Error("a mapping without a device id built a decoder")
	}
	m.DeviceID.TopicLevel = intp(1)
	if _, err := NewDecoder(m); err != nil {
		t.Errorf("valid mapping: %v", err)
	}
	for _, c := range [][2]string{
		{TimeRFC3339, payload.TimeRFC3339}, {TimeUnix, payload.TimeUnix}, {TimeUnixMS, payload.TimeUnixMS}, {TimeNone, payload.TimeNone},
		{FieldString, payload.FieldString}, {FieldFloat, payload.FieldFloat}, {FieldInt, payload.FieldInt}, {FieldBool, payload.FieldBool},
	} {
		if c[0] != c[1] {
			t.Errorf("config name %q, decoder name %q", c[0], c[1])
		}
	}
}
