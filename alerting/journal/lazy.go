package journal

import (
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// LazyFlushAfter is how long a lazy delivery update may wait for a group commit to
// ride on before it is written on its own.
const LazyFlushAfter = 20 * time.Millisecond

// lazyKey names one delivery record.
type lazyKey struct {
	sink string
	seq  uint64
}

// lazyEntry is a delivery's newest state not yet written; gen tells a newer update
// of the same delivery from the one a batch wrote.
type lazyEntry struct {
	d   alerting.Delivery
	gen uint64
}

// UpdateDeliveryLater queues a delivery's new state without waiting for the disk. It
// is written with the next group commit (an alarm's, usually: no fsync of its own) or
// after LazyFlushAfter on its own, so a sink worker's bookkeeping never holds up an
// alarm's commit. Until it is written, NextPending reads the queued state: a delivered
// notification is not handed out again. A crash before the write sends it again
// (delivery is at least once, same notification id).
func (j *Journal) UpdateDeliveryLater(d alerting.Delivery) {
	j.qmu.Lock()
	if j.lazy == nil {
		j.lazy = map[lazyKey]lazyEntry{}
	}
	j.lazyGen++
	j.lazy[lazyKey{d.Sink, d.Seq}] = lazyEntry{d: d, gen: j.lazyGen}
	arm := j.lazyTimer == nil && !j.closed
	if arm {
		j.lazyTimer = time.AfterFunc(LazyFlushAfter, j.flushLazy)
	}
	j.qmu.Unlock()
}

// flushLazy writes the queued delivery updates when no group commit took them.
func (j *Journal) flushLazy() {
	j.qmu.Lock()
	j.lazyTimer = nil
	n := len(j.lazy)
	closed := j.closed
	j.qmu.Unlock()
	if n == 0 || closed {
		return
	}
	_ = j.Commit(alerting.Commit{}) // the leader takes the lazy updates with the batch
}

// takeLazy returns the queued updates for a batch; called with qmu held. They stay
// readable (NextPending) until the batch is written.
func (j *Journal) takeLazy() []lazyEntry {
	if len(j.lazy) == 0 {
		return nil
	}
	out := make([]lazyEntry, 0, len(j.lazy))
	for _, e := range j.lazy {
		out = append(out, e)
	}
	return out
}

// lazyWritten forgets the updates a batch wrote, unless a newer one came meanwhile;
// after a failed batch they stay queued and are retried.
func (j *Journal) lazyWritten(es []lazyEntry, err error) {
	if len(es) == 0 {
		return
	}
	j.qmu.Lock()
	defer j.qmu.Unlock()
	if err != nil {
		if j.lazyTimer == nil && !j.closed {
			j.lazyTimer = time.AfterFunc(time.Second, j.flushLazy)
		}
		return
	}
	for _, e := range es {
		k := lazyKey{e.d.Sink, e.d.Seq}
		if cur, ok := j.lazy[k]; ok && cur.gen == e.gen {
			delete(j.lazy, k)
		}
	}
	j.m.deliveryUpd.Add(float64(len(es)))
}

// lazyOf returns the queued (unwritten) states of sink's deliveries.
func (j *Journal) lazyOf(sink string) map[uint64]alerting.Delivery {
	j.qmu.Lock()
	defer j.qmu.Unlock()
	if len(j.lazy) == 0 {
		return nil
	}
	var out map[uint64]alerting.Delivery
	for k, e := range j.lazy {
		if k.sink == sink {
			if out == nil {
				out = map[uint64]alerting.Delivery{}
			}
			out[k.seq] = e.d
		}
	}
	return out
}
