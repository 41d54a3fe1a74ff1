package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	mqttdrv "github.com/campusguard/campusguard/drivers/mqtt"
	mqttpayload "github.com/campusguard/campusguard/drivers/mqtt/payload"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/site"
)

// cmdMQTT: mqtt watch MAPPING.
func cmdMQTT(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "watch" {
		fmt.Fprintln(stderr, "usage: campusguard mqtt watch MAPPING [--config FILE] [--topic T --payload JSON]")
		return 2
	}
	return mqttWatch(ctx, args[1:], stdout, stderr)
}

// mqttWatch decodes live messages (or one given message) with a mapping of the config,
// exactly as the daemon's MQTT driver does, and prints each event or why the message
// is rejected.
func mqttWatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mqtt watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/campusguard/campusguard.yaml", "main config file")
	topic := fs.String("topic", "", "decode this one message instead of watching the broker (with --payload)")
	payload := fs.String("payload", "", "the message payload for --topic")
	count := fs.Int("n", 0, "stop after this many messages (0: until Ctrl-C)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: campusguard mqtt watch MAPPING [--config FILE] [--topic T --payload JSON] [-n N]")
		fs.PrintDefaults()
	}
	// The mapping name may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	if name == "" {
		fs.Usage()
		return 2
	}
	cfg, code := loadConfig("mqtt watch", config.DiskSource(*cfgPath), config.Options{}, stderr)
	if cfg == nil {
		return code
	}
	var m *mqttdrv.MappingConfig
	var names []string
	for i := range cfg.MQTT.Mappings {
		names = append(names, cfg.MQTT.Mappings[i].Name)
		if cfg.MQTT.Mappings[i].Name == name {
			m = &cfg.MQTT.Mappings[i]
		}
	}
	if m == nil {
		fmt.Fprintf(stderr, "campusguard mqtt watch: no mapping %q in the config (mappings: %s)\n", name, strings.Join(names, ", "))
		return 2
	}
	dec, err := mqttdrv.NewDecoder(*m)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard mqtt watch: mapping %s: %v\n", name, err)
		return 3
	}
	w := &watcher{out: stdout, dec: dec, dir: cfg.Directory()}
	if *topic != "" {
		if !w.show(*topic, []byte(*payload), time.Now()) {
			return 1
		}
		return 0
	}
	var b *mqttdrv.BrokerConfig
	for i := range cfg.MQTT.Brokers {
		if cfg.MQTT.Brokers[i].Name == m.Broker {
			b = &cfg.MQTT.Brokers[i]
		}
	}
	if b == nil {
		fmt.Fprintf(stderr, "campusguard mqtt watch: mapping %s names broker %q, which the config lacks\n", name, m.Broker)
		return 3
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *count > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		w.limit, w.done = *count, cancel
	}
	return watchBroker(ctx, *b, m.Topic, w, stderr)
}

// watchBroker subscribes to topic on the broker with a client of its own (a clean
// session and its own client id, so the daemon's persistent session is untouched)
// until ctx ends.
func watchBroker(ctx context.Context, b mqttdrv.BrokerConfig, topic string, w *watcher, stderr io.Writer) int {
	o := paho.NewClientOptions()
	o.AddBroker(b.URL)
	o.SetClientID(fmt.Sprintf("campusguard-watch-%d", os.Getpid()))
	o.SetUsername(b.Username)
	o.SetPassword(b.Password.Reveal())
	o.SetCleanSession(true)
	o.SetAutoReconnect(true)
	o.SetConnectTimeout(10 * time.Second)
	tc, err := b.TLS.Config()
	if err != nil {
		fmt.Fprintf(stderr, "campusguard mqtt watch: broker %s: %v\n", b.Name, err)
		return 1
	}
	o.SetTLSConfig(tc)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		fmt.Fprintf(stderr, "campusguard mqtt watch: cannot connect to %s (%s): %v\n", b.Name, b.URL, tok.Error())
		return 1
	}
	defer c.Disconnect(250)
	st := c.Subscribe(topic, 0, func(_ paho.Client, msg paho.Message) {
		w.show(msg.Topic(), msg.Payload(), time.Now())
	})
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		fmt.Fprintf(stderr, "campusguard mqtt watch: subscribe %s: %v\n", topic, st.Error())
		return 1
	}
	fmt.Fprintf(stderr, "watching %s on %s (%s); Ctrl-C stops\n", topic, b.Name, b.URL)
	<-ctx.Done()
	return 0
}

// watcher prints what the mapping makes of each message.
type watcher struct {
	mu    sync.Mutex
	out   io.Writer
	dec   *mqttpayload.Decoder
	dir   *site.Directory
	seen  int
	limit int
	done  func()
}

// show decodes one message and prints the event, or the reason the daemon would drop
// it; it reports whether the daemon would take it.
func (w *watcher) show(topic string, payload []byte, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	ok := w.print(topic, payload, now)
	w.seen++
	if w.limit > 0 && w.seen >= w.limit && w.done != nil {
		w.done()
	}
	return ok
}

func (w *watcher) print(topic string, payload []byte, now time.Time) bool {
	ts := now.Format("15:04:05.000")
	e, err := w.dec.Decode(topic, payload, now)
	if err != nil {
		fmt.Fprintf(w.out, "%s  %s\n  rejected (%s): %v\n  payload: %s\n", ts, topic, mqttpayload.Reason(err), err, clipPayload(payload))
		return false
	}
	dev := w.dir.Device(e.DeviceID)
	switch {
	case dev == nil:
		fmt.Fprintf(w.out, "%s  %s\n  rejected (unknown_device): device %q is not in devices (add it, or fix device_id)\n", ts, topic, e.DeviceID)
		return false
	case dev.Kind != e.Kind:
		fmt.Fprintf(w.out, "%s  %s\n  rejected (kind_mismatch): device %q is a %s, the mapping makes %s events\n", ts, topic, e.DeviceID, dev.Kind, e.Kind)
		return false
	}
	var fields []string
	for k, v := range e.Fields {
		fields = append(fields, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(fields)
	line := fmt.Sprintf("%s  %s\n  event: device=%s kind=%s type=%s", ts, topic, e.DeviceID, e.Kind, e.Type)
	if !e.DeviceTime.IsZero() {
		line += " device_time=" + e.DeviceTime.Format(time.RFC3339)
	}
	if len(fields) > 0 {
		line += " " + strings.Join(fields, " ")
	}
	fmt.Fprintln(w.out, line)
	return true
}

func clipPayload(p []byte) string {
	const max = 200
	if len(p) > max {
		return string(p[:max]) + "…"
	}
	return string(p)
}
