// Command cg-loadtest measures campusguard's telemetry path end to end: MQTT device
// messages into a real broker → the daemon (a child process) decodes them and
// publishes them on its bus → the telemetry forwarder writes them to a real InfluxDB
// → the points are counted there. It prints points per second and the daemon's peak
// resident memory (VmHWM).
//
//	cg-loadtest -campusguard ./campusguard -broker tcp://127.0.0.1:1883 \
//	    -influx http://127.0.0.1:8086 -n 200000 -qos 0
//
// It sends only to the broker and InfluxDB given (loopback), stops by itself after
// -n messages or -timeout, and removes the daemon's temporary state.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "alarm":
			err = alarmMain(os.Args[2:])
		case "relay":
			err = relayMain(os.Args[2:])
		case "start":
			err = startMain(os.Args[2:])
		default:
			goto telemetry
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cg-loadtest:", err)
			os.Exit(1)
		}
		return
	}
telemetry:
	bin := flag.String("campusguard", "campusguard", "the campusguard binary to run")
	broker := flag.String("broker", "tcp://127.0.0.1:1883", "MQTT broker (loopback)")
	influx := flag.String("influx", "http://127.0.0.1:8086", "InfluxDB 1.8 URL (loopback)")
	n := flag.Int("n", 200000, "messages to send")
	devices := flag.Int("devices", 50, "simulated kitchen cameras")
	qos := flag.Int("qos", 0, "MQTT QoS of the device messages (0 or 1)")
	publishers := flag.Int("publishers", 4, "concurrent publishing clients")
	timeout := flag.Duration("timeout", 3*time.Minute, "give up after this long")
	keep := flag.Bool("keep", false, "keep the daemon's temp directory")
	excl := flag.String("exclude-pids", "", "comma-separated pids that belong to the measurement (broker, InfluxDB): their CPU is not foreign load")
	flag.Parse()
	excludePids = pidList(*excl)
	if err := run(*bin, *broker, *influx, *n, *devices, byte(*qos), *publishers, *timeout, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "cg-loadtest:", err)
		os.Exit(1)
	}
}

const cfgTmpl = `site: {id: load, name: load test}
devices:
%s
state_dir: %s
http: {listen: "%s"}
log: {level: warn}
mqtt:
  brokers:
    - {name: b, url: "%s", client_id: cg-loadtest-gw-%d}
  mappings:
    - name: cam
      broker: b
      topic: school/+/kitchen/+/ai
      kind: kitchen_camera
      qos: %d
      device_id: {topic_level: 3}
      type: {const: detection}
      time: {field: time, format: unix_ms}
      fields:
        - {name: detection, path: event, type: string, required: true}
        - {name: confidence, type: float}
        - {name: channel, type: int}
      rate_limit: {rate: -1}
telemetry:
  enabled: true
  url: "%s"
  bucket: %s
  batch_size: 5000
  flush_interval: 200ms
rules_dir: rules
`

// excludePids are the broker's and the database's: their CPU is not foreign load.
var excludePids []int

func run(bin, broker, influx string, n, devices int, qos byte, publishers int, timeout time.Duration, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "cg-loadtest")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	db := fmt.Sprintf("cgload%d", time.Now().UnixNano())
	if err := influxQuery(ctx, influx, "", "CREATE DATABASE "+db, nil); err != nil {
		return fmt.Errorf("influx: %w", err)
	}
	defer influxQuery(context.Background(), influx, "", "DROP DATABASE "+db, nil)

	var devs strings.Builder
	for i := 0; i < devices; i++ {
		fmt.Fprintf(&devs, "  - {id: cam-%d, kind: kitchen_camera, driver: mqtt, heartbeat: -1s}\n", i)
	}
	httpAddr := "127.0.0.1:" + strconv.Itoa(20000+os.Getpid()%20000)
	cfg := fmt.Sprintf(cfgTmpl, devs.String(), filepath.Join(dir, "state"), httpAddr, broker, os.Getpid(), qos, influx, db)
	cmd, err := startDaemon(ctx, bin, dir, cfg, httpAddr)
	if err != nil {
		return err
	}
	defer stopDaemon(cmd)

	start := time.Now()
	watch := newCPUWatch(append([]int{os.Getpid(), cmd.Process.Pid}, excludePids...)...)
	if err := publishAll(broker, n, devices, qos, publishers); err != nil {
		return err
	}
	pubDur := time.Since(start)
	if err := awaitPoints(ctx, influx, db, n); err != nil {
		return err
	}
	total := time.Since(start)
	hwm := vmHWM(cmd.Process.Pid)
	fmt.Printf("qos=%d messages=%d devices=%d publish=%.2fs end-to-end=%.2fs points/s=%.0f daemon_peak_rss=%s foreign_cpu=%.2f\n",
		qos, n, devices, pubDur.Seconds(), total.Seconds(), float64(n)/total.Seconds(), hwm, watch.Foreign())
	return nil
}

// startDaemon writes cfg (with an empty rules directory) into dir and runs bin on it
// until its /healthz at httpAddr answers.
func startDaemon(ctx context.Context, bin, dir, cfg, httpAddr string) (*exec.Cmd, error) {
	cfgPath, err := writeConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "run", "--config", cfgPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitHealthy(ctx, httpAddr); err != nil {
		stopDaemon(cmd)
		return nil, err
	}
	return cmd, nil
}

// writeConfig writes cfg as dir/campusguard.yaml, beside an empty rules directory, and
// returns its path.
func writeConfig(dir, cfg string) (string, error) {
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	return cfgPath, os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
}

// stopDaemon interrupts a child process and waits for it.
func stopDaemon(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
}

// publishAll sends n kitchen-camera messages over the devices from publishers
// concurrent clients.
func publishAll(broker string, n, devices int, qos byte, publishers int) error {
	payload := func() []byte {
		b, _ := json.Marshal(map[string]any{"event": "no_hat", "confidence": 0.9, "channel": 1, "time": time.Now().UnixMilli()})
		return b
	}
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			o := paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("cg-loadtest-pub-%d-%d", os.Getpid(), p)).
				SetCleanSession(true).SetMaxResumePubInFlight(1000).SetWriteTimeout(10 * time.Second)
			c := paho.NewClient(o)
			if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
				errs <- fmt.Errorf("publisher connect: %v", t.Error())
				return
			}
			defer c.Disconnect(250)
			var last paho.Token
			for i := p; i < n; i += publishers {
				topic := fmt.Sprintf("school/load/kitchen/cam-%d/ai", i%devices)
				last = c.Publish(topic, qos, false, payload())
				if qos > 0 && i%2000 == p {
					last.Wait() // keep the in-flight window bounded
				}
			}
			if last != nil {
				last.Wait()
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

// awaitPoints polls InfluxDB until n event points landed in db.
func awaitPoints(ctx context.Context, influx, db string, n int) error {
	var got int64
	for {
		var resp struct {
			Results []struct {
				Series []struct {
					Values [][]any `json:"values"`
				} `json:"series"`
			} `json:"results"`
		}
		if err := influxQuery(ctx, influx, db, "SELECT count(seq) FROM cg_event", &resp); err == nil &&
			len(resp.Results) > 0 && len(resp.Results[0].Series) > 0 && len(resp.Results[0].Series[0].Values) > 0 {
			if f, ok := resp.Results[0].Series[0].Values[0][1].(float64); ok {
				got = int64(f)
			}
		}
		if got >= int64(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d points arrived before the timeout", got, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitHealthy(ctx context.Context, addr string) error {
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("daemon did not come up on %s", addr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func influxQuery(ctx context.Context, base, db, q string, out any) error {
	v := url.Values{"q": {q}}
	if db != "" {
		v.Set("db", db)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query?"+v.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", q, resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// vmHWM is a process's peak resident memory as /proc shows it ("12345 kB").
func vmHWM(pid int) string {
	if v := procHWM(pid); v > 0 {
		return fmt.Sprintf("%d kB", v)
	}
	return "unknown"
}
