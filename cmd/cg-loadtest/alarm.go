package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// alarmConfig is the daemon under test for the alarm path: distinct MQTT panic
// buttons (QoS 1, acknowledged once durable) → built-in panic rule → journal (fsync) →
// the staff MQTT sink (QoS 1).
const alarmConfig = `site: {id: load, zones: [{id: school, number: 1}]}
devices:
%[1]sstate_dir: %[2]s
http: {listen: "%[3]s"}
log: {level: warn}
rules_dir: rules
mqtt:
  brokers: [{name: b, url: "%[4]s", client_id: "cg-alarmload-%[5]s"}]
  mappings:
    - name: panic
      broker: b
      topic: cgl/%[5]s/panic/+/status
      kind: panic
      qos: 1
      device_id: {topic_level: 3}
      type: {field: pressed, map: {"true": pressed, "false": released}}
      fields: [{name: pressed, type: bool, required: true}]
      rate_limit: {rate: -1}
alerting:
  routes: {sinks: [staff]}
  delivery: {timeout: 5s, backoff_min: 100ms, backoff_max: 1s}
sinks:
  mqtt:
    name: staff
    topic_prefix: cgl/%[5]s/alarms
    client: {url: "%[4]s", client_id: "cg-alarmload-staff-%[5]s"}
`

// alarmRun is one alarm-path measurement.
type alarmRun struct {
	target  string // "campusguard" or "relay"
	bin     string // the campusguard binary, or this tool for the relay
	broker  string
	n       int
	rate    float64
	timeout time.Duration
	keep    bool
	warmup  int
	verbose bool  // print the daemon's journal and handle metrics after the run
	exclude []int // other processes of the measurement (broker, database): not foreign load
}

// alarmResult is what one run measured.
type alarmResult struct {
	Target   string
	N, Got   int
	Rate     float64
	P50, P99 time.Duration
	Max      time.Duration
	// Lag is the last quarter's median latency minus the first quarter's: a queue
	// that grows during the run shows as a positive lag.
	Lag     time.Duration
	PeakRSS int64 // KiB
	CPU     time.Duration
	Foreign float64 // cores busy with other processes during the run
}

func (r alarmResult) String() string {
	return fmt.Sprintf("target=%s alarms=%d/%d rate=%.0f/s p50=%s p99=%s max=%s queue_growth=%s peak_rss=%.1fMiB cpu_per_alarm=%s foreign_cpu=%.2f",
		r.Target, r.Got, r.N, r.Rate, ms(r.P50), ms(r.P99), ms(r.Max), ms(r.Lag), float64(r.PeakRSS)/1024,
		ms(time.Duration(int64(r.CPU)/int64(max(r.Got, 1)))), r.Foreign)
}

// printMetrics prints the daemon's metric lines that start with one of prefixes.
func printMetrics(addr string, prefixes ...string) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) && !strings.Contains(l, "_bucket") {
				fmt.Println("  ", l)
				break
			}
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }

func alarmMain(args []string) error {
	fs := flag.NewFlagSet("alarm", flag.ExitOnError)
	a := alarmRun{}
	fs.StringVar(&a.target, "target", "campusguard", "what to measure: campusguard, or relay (the zero-work MQTT relay, the floor)")
	fs.StringVar(&a.bin, "campusguard", "campusguard", "the campusguard binary to run")
	fs.StringVar(&a.broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker (loopback)")
	fs.IntVar(&a.n, "n", 2000, "distinct panic alarms to raise (one device each)")
	fs.Float64Var(&a.rate, "rate", 200, "presses per second")
	fs.DurationVar(&a.timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.BoolVar(&a.keep, "keep", false, "keep the daemon's temp directory")
	fs.IntVar(&a.warmup, "warmup", 20, "uncounted presses (devices of their own) sent one at a time before the measurement")
	excl := fs.String("exclude-pids", "", "comma-separated pids that belong to the measurement (the broker): their CPU is not foreign load")
	fs.BoolVar(&a.verbose, "v", false, "print the daemon's journal, handle and delivery metrics after the run")
	_ = fs.Parse(args)
	a.exclude = pidList(*excl)
	res, err := a.run()
	if err != nil {
		return err
	}
	fmt.Println(res)
	return nil
}

func (a alarmRun) run() (alarmResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "cg-alarmload")
	if err != nil {
		return alarmResult{}, err
	}
	if !a.keep {
		defer os.RemoveAll(dir)
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	inTopic := func(dev string) string { return "cgl/" + run + "/panic/" + dev + "/status" }
	outFilter := "cgl/" + run + "/alarms/events"

	cmd, httpAddr, err := a.startTarget(ctx, dir, run, outFilter)
	if err != nil {
		return alarmResult{}, err
	}
	defer stopDaemon(cmd)

	st := newStaff(a.n, a.verbose)
	sub, err := st.subscribe(a.broker, run, outFilter)
	if err != nil {
		return alarmResult{}, err
	}
	defer sub.Disconnect(100)

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(a.broker).SetClientID("cgl-devices-" + run).
		SetCleanSession(true).SetMaxResumePubInFlight(1000))
	if t := pub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return alarmResult{}, fmt.Errorf("devices connect: %v", t.Error())
	}
	defer pub.Disconnect(100)
	if err := a.warmUp(pub, inTopic, st.warm); err != nil {
		return alarmResult{}, err
	}
	cpu0 := procCPU(cmd.Process.Pid)
	watch := newCPUWatch(append([]int{os.Getpid(), cmd.Process.Pid}, a.exclude...)...)
	a.press(pub, inTopic, st)
	select {
	case <-st.done:
	case <-ctx.Done():
	}
	res := alarmResult{Target: a.target, N: a.n, Rate: a.rate, PeakRSS: procHWM(cmd.Process.Pid)}
	if httpAddr != "" && a.verbose {
		printMetrics(httpAddr, "campusguard_journal_", "campusguard_alarm_handle_seconds_sum", "campusguard_alarm_handle_seconds_count", "campusguard_sink_delivery_seconds_sum", "campusguard_sink_delivery_seconds_count")
	}
	res.CPU = procCPU(cmd.Process.Pid) - cpu0
	res.Foreign = watch.Foreign()
	return st.result(res)
}

// startTarget starts what is measured: the daemon (its HTTP address returned once it
// is healthy) or the relay (once it subscribed).
func (a alarmRun) startTarget(ctx context.Context, dir, run, outFilter string) (cmd *exec.Cmd, httpAddr string, err error) {
	switch a.target {
	case "campusguard":
		httpAddr, err = freeAddr()
		if err != nil {
			return nil, "", err
		}
		devs := panicDevices("p", a.n) + panicDevices("w", a.warmup)
		cfg := fmt.Sprintf(alarmConfig, devs, filepath.Join(dir, "state"), httpAddr, a.broker, run)
		cmd, err = startDaemon(ctx, a.bin, dir, cfg, httpAddr)
		return cmd, httpAddr, err
	case "relay":
		self, err := os.Executable()
		if err != nil {
			return nil, "", err
		}
		cmd = exec.CommandContext(ctx, self, "relay", "-broker", a.broker,
			"-in", "cgl/"+run+"/panic/+/status", "-out", outFilter)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, "", err
		}
		if err := cmd.Start(); err != nil {
			return nil, "", err
		}
		if err := waitLine(ctx, out, "subscribed"); err != nil {
			stopDaemon(cmd)
			return nil, "", err
		}
		return cmd, "", nil
	}
	return nil, "", fmt.Errorf("unknown target %q", a.target)
}

// warmUp sends the uncounted presses, one at a time: first connections and first
// writes (the broker's as much as the daemon's) are not what is measured.
func (a alarmRun) warmUp(pub paho.Client, inTopic func(string) string, warm <-chan struct{}) error {
	for i := 0; i < a.warmup; i++ {
		pub.Publish(inTopic(fmt.Sprintf("w%05d", i)), 1, false, `{"pressed":true}`)
		select {
		case <-warm:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("warm-up press %d came back in no 10 s", i)
		}
	}
	return nil
}

// press sends one press of each measured device, paced at a.rate.
func (a alarmRun) press(pub paho.Client, inTopic func(string) string, st *staff) {
	st.mu.Lock()
	st.t0 = time.Now()
	st.mu.Unlock()
	iv := time.Duration(float64(time.Second) / a.rate)
	start := time.Now()
	for i := 0; i < a.n; i++ {
		due := start.Add(time.Duration(i) * iv)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		dev := fmt.Sprintf("p%05d", i)
		st.mu.Lock()
		st.sent[dev] = time.Now()
		st.mu.Unlock()
		pub.Publish(inTopic(dev), 1, false, `{"pressed":true}`)
	}
}

// staff is the staff app: it reads the alarm messages back and times them by device.
type staff struct {
	n       int
	verbose bool
	warm    chan struct{} // a warm-up press came back
	done    chan struct{} // every measured press came back

	mu    sync.Mutex
	t0    time.Time
	sent  map[string]time.Time
	lat   []time.Duration
	order []time.Duration // in send order of the device numbers, for the lag
	seen  map[string]bool
}

func newStaff(n int, verbose bool) *staff {
	return &staff{n: n, verbose: verbose, warm: make(chan struct{}, 1), done: make(chan struct{}),
		t0: time.Now(), sent: make(map[string]time.Time, n), lat: make([]time.Duration, 0, n),
		order: make([]time.Duration, 0, n), seen: map[string]bool{}}
}

// subscribe connects the staff app and subscribes to the alarm messages.
func (st *staff) subscribe(broker, run, outFilter string) (paho.Client, error) {
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("cgl-staff-" + run).SetCleanSession(true))
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("staff connect: %v", t.Error())
	}
	t := sub.Subscribe(outFilter, 1, func(_ paho.Client, m paho.Message) { st.received(m) })
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		sub.Disconnect(100)
		return nil, fmt.Errorf("staff subscribe: %v", t.Error())
	}
	return sub, nil
}

// received times one alarm message (the first per device).
func (st *staff) received(m paho.Message) {
	now := time.Now()
	dev := deviceOf(m.Topic(), m.Payload())
	if strings.HasPrefix(dev, "w") {
		select {
		case st.warm <- struct{}{}:
		default:
		}
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	at, ok := st.sent[dev]
	if !ok || st.seen[dev] {
		return
	}
	st.seen[dev] = true
	d := now.Sub(at)
	if st.verbose && d > 10*time.Millisecond {
		fmt.Printf("   slow: %s at +%s\n", ms(d), at.Sub(st.t0).Round(time.Millisecond))
	}
	st.lat = append(st.lat, d)
	st.order = append(st.order, d)
	if len(st.lat) == st.n {
		close(st.done)
	}
}

// result adds the latencies to res; an error when alarms did not come back.
func (st *staff) result(res alarmResult) (alarmResult, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	lat, order := st.lat, st.order
	res.Got = len(lat)
	if len(lat) == 0 {
		return res, errors.New("no alarm message came back")
	}
	q := len(order) / 4
	if q > 0 {
		res.Lag = median(order[len(order)-q:]) - median(order[:q])
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.P50, res.P99, res.Max = pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1]
	if res.Got < res.N {
		return res, fmt.Errorf("only %d of %d alarms came back: %s", res.Got, res.N, res)
	}
	return res, nil
}

// panicDevices is the config's list of n MQTT panic buttons prefix00000, prefix00001...
func panicDevices(prefix string, n int) string {
	var devs strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&devs, "  - {id: %s%05d, kind: panic, zone: school, number: %d, driver: mqtt, heartbeat: -1s}\n", prefix, i, i%999+1)
	}
	return devs.String()
}

// deviceOf finds the pressing device of an alarm message: the relay forwards the
// device's topic in its payload; campusguard's event names the alarm's device.
func deviceOf(topic string, payload []byte) string {
	var m struct {
		Transition string `json:"transition"`
		Alarm      struct {
			DeviceID string `json:"device"`
		} `json:"alarm"`
		Topic string `json:"topic"`
	}
	if json.Unmarshal(payload, &m) != nil {
		return ""
	}
	if m.Topic != "" {
		parts := strings.Split(m.Topic, "/")
		if len(parts) >= 4 {
			return parts[3]
		}
	}
	if m.Transition != "fired" {
		return ""
	}
	return m.Alarm.DeviceID
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return sorted[i]
}
