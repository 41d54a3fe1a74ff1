package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/campusguard/campusguard/telemetry/spool"
)

// Reconnect backoff while InfluxDB is unreachable.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 15 * time.Second
)

// drainer watches the link: while InfluxDB is unreachable it probes (with the oldest
// spooled batch, or a ping) with backoff; while it is reachable it sends spooled batches
// in order at DrainRate.
func (f *Forwarder) drainer(ctx context.Context) {
	backoff := minBackoff
	interval := time.Duration(float64(time.Second) / f.cfg.DrainRate)
	for ctx.Err() == nil {
		if !f.connected.Load() {
			if f.probe(ctx) {
				backoff = minBackoff
				continue
			}
			wait := max(backoff, time.Duration(f.retryAfter.Swap(0)))
			backoff = min(backoff*2, maxBackoff)
			f.sleep(ctx, wait)
			continue
		}
		rec, ok, err := f.spool.Peek()
		if err != nil {
			f.setSpoolErr(err)
			f.sleep(ctx, time.Second)
			continue
		}
		if !ok {
			select {
			case <-f.kick:
			case <-ctx.Done():
			}
			continue
		}
		f.sendSpooled(ctx, rec)
		f.sleep(ctx, interval)
	}
}

func (f *Forwarder) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := f.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
	case <-ctx.Done():
	}
}

// probe tests the link; true when InfluxDB answered.
func (f *Forwarder) probe(ctx context.Context) bool {
	rec, ok, err := f.spool.Peek()
	if err != nil {
		f.setSpoolErr(err)
	}
	if ok {
		return f.sendSpooled(ctx, rec) != failed
	}
	pctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	if _, err := f.client.Ping(pctx); err != nil {
		f.setErr(fmt.Errorf("ping %s: %w", f.cfg.URL, err))
		return false
	}
	f.setConnected(true)
	return true
}

// sendSpooled writes one spooled record and commits it when InfluxDB took it (or
// rejected it for good).
func (f *Forwarder) sendSpooled(ctx context.Context, rec spool.Record) outcome {
	out, kept, _ := f.write(ctx, rec.Data, rec.Points)
	if out != failed {
		if err := f.spool.Commit(rec); err != nil {
			f.setSpoolErr(err)
		}
		f.notifyWritten(kept)
	}
	return out
}

func (f *Forwarder) setConnected(up bool) {
	if f.connected.Swap(up) != up {
		if up {
			f.log.Info("InfluxDB reachable", "url", f.cfg.URL)
		} else {
			f.errMu.Lock()
			last := f.lastErr
			f.errMu.Unlock()
			f.log.Warn("InfluxDB unreachable, spooling telemetry", "url", f.cfg.URL, "err", last)
		}
		select {
		case f.kick <- struct{}{}:
		default:
		}
	}
}
