package event

import (
	"context"
	"sync"
)

// Watermark is the durability point of the bus's sequence numbers: every event with
// Seq <= Durable() has been processed by the alarm path and every journal write it
// caused is on disk. Inputs that acknowledge anything to their source (an MQTT PUBACK)
// wait for the watermark to pass their event before they acknowledge it, so a crash
// between the bus and the journal makes the source deliver again instead of losing.
//
// The main loop owns the writing side (Advance, Hold, Release); any number of inputs
// wait on it. The zero value is not usable: call NewWatermark.
type Watermark struct {
	mu      sync.Mutex
	durable uint64
	held    bool          // a journal write failed: the watermark stays where it is
	changed chan struct{} // closed and replaced at every move
}

// NewWatermark returns a watermark at 0.
func NewWatermark() *Watermark { return &Watermark{changed: make(chan struct{})} }

// Durable is the highest sequence number known to be durable.
func (w *Watermark) Durable() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.durable
}

// Held reports whether the watermark is held back by a failing journal write.
func (w *Watermark) Held() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held
}

// Advance moves the watermark to seq (never back) unless it is held.
func (w *Watermark) Advance(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held || seq <= w.durable {
		return
	}
	w.durable = seq
	close(w.changed)
	w.changed = make(chan struct{})
}

// Hold stops the watermark where it is: events after it are processed but one of the
// writes they caused is not durable yet (the journal cannot write). Inputs stop
// acknowledging, so their sources keep what they sent.
func (w *Watermark) Hold() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

// Release lets the watermark move again and moves it to seq: every write up to seq is
// durable now.
func (w *Watermark) Release(seq uint64) {
	w.mu.Lock()
	w.held = false
	w.mu.Unlock()
	w.Advance(seq)
}

// Wait blocks until the watermark reaches seq or ctx ends.
func (w *Watermark) Wait(ctx context.Context, seq uint64) error {
	for {
		w.mu.Lock()
		if w.durable >= seq {
			w.mu.Unlock()
			return nil
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
