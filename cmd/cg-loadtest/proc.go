package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// procHWM is a process's peak resident memory (VmHWM) in KiB, 0 if unknown.
func procHWM(pid int) int64 { return procStatusKiB(pid, "VmHWM:") }

// procRSS is a process's current resident memory (VmRSS) in KiB, 0 if unknown.
func procRSS(pid int) int64 { return procStatusKiB(pid, "VmRSS:") }

// procStatusKiB is the value of key (a /proc/<pid>/status line such as "VmRSS:", in
// KiB), 0 if unknown.
func procStatusKiB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// procCPU is the user+system CPU time a process used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// freeAddr is a free loopback TCP address.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// cpuWatch measures the CPU the machine spent on processes other than ours during a
// run (foreign load), from /proc/stat and our processes' own counters.
type cpuWatch struct {
	pids  []int
	start time.Time
	busy0 time.Duration
	ours0 time.Duration
}

func newCPUWatch(pids ...int) *cpuWatch {
	w := &cpuWatch{pids: pids, start: time.Now()}
	w.busy0, w.ours0 = machineBusy(), w.ours()
	return w
}

func (w *cpuWatch) ours() time.Duration {
	var t time.Duration
	for _, p := range w.pids {
		t += procCPU(p)
	}
	return t
}

// Foreign is the average number of cores busy with other processes since the start.
func (w *cpuWatch) Foreign() float64 {
	el := time.Since(w.start)
	if el <= 0 {
		return 0
	}
	f := (machineBusy() - w.busy0) - (w.ours() - w.ours0)
	return max(float64(f)/float64(el), 0)
}

// machineBusy is the CPU time all cores spent outside idle and iowait.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, s := range f[1:] {
		v, _ := strconv.ParseInt(s, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		busy += v
	}
	return time.Duration(busy) * (time.Second / 100)
}

// pidList parses "1,2,3".
func pidList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	return out
}
