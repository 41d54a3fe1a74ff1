package telemetry

import (
	"errors"
	"fmt"

	"github.com/campusguard/campusguard/telemetry/spool"
)

func (f *Forwarder) newBatch(c spool.Class) *batch {
	if b, ok := f.pool.Get().(*batch); ok {
		b.class, b.n, b.buf = c, 0, b.buf[:0]
		return b
	}
	return &batch{class: c, buf: make([]byte, 0, 64*1024)}
}

func (f *Forwarder) release(b *batch) {
	if b.done != nil || cap(b.buf) > 16<<20 {
		return
	}
	f.pool.Put(b)
}

// submit hands a batch to the writer without waiting: when the writer's queue is full
// (InfluxDB slow) the batch goes to the spool instead.
func (f *Forwarder) submit(b *batch) {
	f.stopMu.RLock()
	if !f.stopped {
		q := f.live
		if b.class == classAlarm {
			q = f.urgent
		}
		select {
		case q <- b:
			f.stopMu.RUnlock()
			return
		default:
		}
	}
	f.stopMu.RUnlock()
	f.toSpool(b)
}

func (f *Forwarder) flushStatus() {
	f.mu.Lock()
	b := f.status
	f.status = nil
	f.mu.Unlock()
	if b != nil && b.n > 0 {
		f.submit(b)
	}
}

// addStatus appends one status point through fn.
func (f *Forwarder) addStatus(fn func([]byte) []byte) {
	f.mu.Lock()
	if f.status == nil {
		f.status = f.newBatch(classStatus)
	}
	b := f.status
	b.buf = fn(b.buf)
	b.n++
	full := b.n >= f.cfg.BatchSize
	if full {
		f.status = nil
	}
	f.mu.Unlock()
	if full {
		f.submit(b)
	}
}

// RecordDeviceHealth queues a device health snapshot (never blocks).
func (f *Forwarder) RecordDeviceHealth(h DeviceHealth) {
	now, u := f.clock.Now(), f.uniq.Add(1)
	f.addStatus(func(b []byte) []byte { return f.enc.appendDeviceHealth(b, &h, now, u) })
}

// RecordPatrol queues a patrol result (never blocks).
func (f *Forwarder) RecordPatrol(p PatrolResult) {
	now := f.clock.Now()
	f.addStatus(func(b []byte) []byte { return f.enc.appendPatrol(b, &p, now) })
}

// RecordGateway queues the gateway's stats, with the forwarder's own added (fields
// telemetry_spool_bytes, telemetry_spool_points, telemetry_points_written,
// telemetry_points_dropped). Never blocks.
func (f *Forwarder) RecordGateway(g GatewayStats) {
	now, u := f.clock.Now(), f.uniq.Add(1)
	st := f.spool.Stats()
	extra := map[string]float64{
		"telemetry_spool_bytes":    float64(st.Bytes),
		"telemetry_spool_points":   float64(st.Points),
		"telemetry_points_written": float64(f.written.Load()),
		"telemetry_points_dropped": float64(f.dropped.Load()),
	}
	f.addStatus(func(b []byte) []byte { return f.enc.appendGateway(b, &g, extra, now, u) })
}

// finish reports a batch's outcome to whoever waits for it and recycles it.
func (f *Forwarder) finish(b *batch, err error) {
	if b.done != nil {
		b.done <- err
		return
	}
	f.release(b)
}

// toSpool puts a batch into the spool (fsynced for alarms).
func (f *Forwarder) toSpool(b *batch) {
	err := f.spool.Append(b.class, b.n, b.buf)
	if err == nil && b.class == classAlarm {
		err = f.spool.Sync()
	}
	switch {
	case errors.Is(err, spool.ErrTooLarge):
		// counted by OnDrop
		err = fmt.Errorf("telemetry: %w", err)
	case errors.Is(err, spool.ErrClosed):
		f.drop("stopped", b.n)
		err = errors.New("telemetry: forwarder stopped")
	case err != nil:
		f.drop("spool_error", b.n)
		f.setSpoolErr(err)
		f.log.Error("telemetry spool write failed, batch lost", "points", b.n, "err", err)
	default:
		f.setSpoolErr(nil)
	}
	n := b.n // finish may recycle b
	f.finish(b, err)
	if f.onSpooled != nil {
		f.onSpooled(n)
	}
	select {
	case f.kick <- struct{}{}:
	default:
	}
}
