package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// startMain measures exec → READY=1 (the daemon's sd_notify, read on a socket of our
// own as systemd would) and the resident memory of the ready daemon after it idled.
// The config is the alarm benchmark's: MQTT panic buttons on the broker, the staff
// MQTT sink; READY=1 comes once the broker acknowledged the subscriptions.
func startMain(args []string) error {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	bin := fs.String("campusguard", "campusguard", "the campusguard binary to run")
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker (loopback)")
	devices := fs.Int("devices", 50, "MQTT panic buttons in the config")
	runs := fs.Int("runs", 5, "starts to measure")
	idle := fs.Duration("idle", 10*time.Second, "idle time before the resident memory is read")
	_ = fs.Parse(args)
	var readies []time.Duration
	var rss []int64
	for i := 0; i < *runs; i++ {
		r, m, err := startOnce(*bin, *broker, *devices, *idle)
		if err != nil {
			return err
		}
		readies, rss = append(readies, r), append(rss, m)
	}
	sort.Slice(readies, func(i, j int) bool { return readies[i] < readies[j] })
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	fmt.Printf("starts=%d devices=%d exec_to_ready_median=%s exec_to_ready_max=%s idle_rss_median=%.1fMiB\n",
		*runs, *devices, ms(readies[len(readies)/2]), ms(readies[len(readies)-1]), float64(rss[len(rss)/2])/1024)
	return nil
}

func startOnce(bin, broker string, devices int, idle time.Duration) (time.Duration, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), idle+time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "cg-start")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	httpAddr, err := freeAddr()
	if err != nil {
		return 0, 0, err
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	cfg := fmt.Sprintf(alarmConfig, panicDevices("p", devices), filepath.Join(dir, "state"), httpAddr, broker, run)
	cfgPath, err := writeConfig(dir, cfg)
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer stopDaemon(cmd)
	buf := make([]byte, 4096)
	var ready time.Duration
	for ready == 0 {
		_ = ln.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, _, err := ln.ReadFromUnix(buf)
		if err != nil {
			return 0, 0, fmt.Errorf("no READY=1: %w", err)
		}
		for _, l := range strings.Split(string(buf[:n]), "\n") {
			if l == "READY=1" {
				ready = time.Since(start)
			}
		}
	}
	time.Sleep(idle)
	return ready, procRSS(cmd.Process.Pid), nil
}
