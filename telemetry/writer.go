package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/campusguard/campusguard/alerting"
)

// writer sends live batches while InfluxDB answers, and spools them while it does not.
func (f *Forwarder) writer(ctx context.Context) {
	for {
		var b *batch
		select {
		case b = <-f.urgent:
		default:
			select {
			case b = <-f.urgent:
			case b = <-f.live:
			case <-ctx.Done():
				return
			}
		}
		if !f.connected.Load() {
			f.toSpool(b)
			continue
		}
		switch out, kept, err := f.write(ctx, b.buf, b.n); out {
		case sent:
			f.finish(b, nil)
			f.notifyWritten(kept)
		case rejected:
			f.finish(b, &alerting.Permanent{Err: err})
			f.notifyWritten(kept)
		default:
			f.toSpool(b)
		}
	}
}

type outcome int

const (
	sent     outcome = iota // InfluxDB took the batch
	rejected                // InfluxDB refused (some of) its points for good
	failed                  // not written: keep it and retry
)

var droppedRe = regexp.MustCompile(`dropped=(\d+)`)

// notifyWritten calls Options.Written when InfluxDB kept points.
func (f *Forwarder) notifyWritten(kept int) {
	if f.onWritten != nil && kept > 0 {
		f.onWritten(kept)
	}
}

// write sends one batch and classifies the outcome, keeping the link state, metrics
// and logs; kept is the number of points InfluxDB took. When InfluxDB refuses a batch as a whole for a bad point (a field type
// conflict inside the batch), the batch is split in halves and each half written, so
// only the bad points are dropped. Writing a half twice is harmless: points are unique
// and overwrite themselves.
func (f *Forwarder) write(ctx context.Context, data []byte, points int) (out outcome, kept int, err error) {
	out, err, bad := f.post(ctx, data, points)
	switch out {
	case sent:
		return sent, points, nil
	case failed:
		return failed, 0, err
	}
	if bad < 0 && points > 1 {
		if i := splitLines(data, points/2); i > 0 && i < len(data) {
			o1, k1, err1 := f.write(ctx, data[:i], points/2)
			if o1 == failed {
				return failed, k1, err1
			}
			o2, k2, err2 := f.write(ctx, data[i:], points-points/2)
			switch {
			case o2 == failed:
				return failed, k1 + k2, err2
			case o1 == rejected:
				return rejected, k1 + k2, err1
			case o2 == rejected:
				return rejected, k1 + k2, err2
			}
			return sent, k1 + k2, nil
		}
	}
	if bad < 0 {
		bad = points
	}
	bad = min(bad, points)
	f.written.Add(uint64(points - bad))
	f.m.written.Add(float64(points - bad))
	f.drop("rejected", bad)
	f.log.Error("InfluxDB rejected points, dropped", "dropped", bad, "err", err, "point", badPoint(err.Error(), data))
	return rejected, points - bad, err
}

// splitLines returns the offset after the n-th line of data.
func splitLines(data []byte, n int) int {
	off := 0
	for range n {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	return off
}

// post is one write request. For a rejection, bad is the number of points InfluxDB
// says it dropped, or -1 when it refused the whole batch without saying.
func (f *Forwarder) post(ctx context.Context, data []byte, points int) (outcome, error, int) {
	wctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	err := f.wapi.WriteRecord(wctx, string(data))
	cancel()
	if err == nil {
		f.written.Add(uint64(points))
		f.m.written.Add(float64(points))
		f.setConnected(true)
		return sent, nil, 0
	}
	code := 0
	var he *http2.Error
	if errors.As(err, &he) {
		code = he.StatusCode
		if he.RetryAfter > 0 {
			f.retryAfter.Store(int64(time.Duration(he.RetryAfter) * time.Second))
		}
	}
	label := "network"
	if code != 0 {
		label = strconv.Itoa(code)
	}
	f.m.failed.WithLabelValues(label).Inc()
	err = fmt.Errorf("influx write %s: %w", f.cfg.URL, err)
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		// Bad points: never taken, whatever we do.
		f.setConnected(true)
		msg := err.Error()
		if m := droppedRe.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1]) // a partial write: the good points are in
			return rejected, err, n
		}
		if c := strings.Count(msg, "unable to parse"); c > 0 && strings.Contains(msg, "partial write") {
			return rejected, err, c
		}
		return rejected, err, -1
	}
	if ctx.Err() == nil {
		f.setErr(err)
		f.setConnected(false)
		if code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound {
			f.log.Error("InfluxDB refuses the writes: check url, org, bucket and token; spooling meanwhile", "status", code, "err", err)
		}
	}
	return failed, err, 0
}

// badPoint picks the point to log for a rejection: the line InfluxDB quotes, else the
// batch's first line.
func badPoint(msg string, data []byte) string {
	if i := strings.Index(msg, "unable to parse '"); i >= 0 {
		rest := msg[i+len("unable to parse '"):]
		if j := strings.Index(rest, "': "); j >= 0 {
			return rest[:j]
		}
	}
	line := string(data)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if len(line) > 1024 {
		line = line[:1024]
	}
	return line
}
