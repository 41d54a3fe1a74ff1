package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/internal/health"
)

// compactChunk bounds the deletions of one transaction, so compaction never holds the
// writer lock (and an alarm's commit) for long.
const compactChunk = 2000

// CompactStats counts what one compaction removed.
type CompactStats struct {
	History    int `json:"history"`
	Alarms     int `json:"alarms"`
	Deliveries int `json:"deliveries"`
	Silences   int `json:"silences"`
}

// Total is the number of records removed.
func (s CompactStats) Total() int { return s.History + s.Alarms + s.Deliveries + s.Silences }

// Compact removes what retention no longer keeps, as of now: history records older
// than the retention period, resolved alarms resolved before it (with their delivery
// records), and silences that ended before it. Open alarms, pending deliveries and
// arming state are never removed. bbolt reuses the freed pages, so the file stops
// growing once retention is reached.
func (j *Journal) Compact(now time.Time) (CompactStats, error) {
	var st CompactStats
	cutoff := now.Add(-j.opt.Retention)
	for {
		n := 0
		err := j.db.Update(func(tx *bolt.Tx) error {
			var err error
			n, err = compactHistory(tx, cutoff, compactChunk, &st)
			if err != nil || n >= compactChunk {
				return err
			}
			m, err := compactAlarms(tx, cutoff, compactChunk-n, &st)
			n += m
			if err != nil || n >= compactChunk {
				return err
			}
			m, err = compactSilences(tx, cutoff, &st)
			n += m
			return err
		})
		if err != nil {
			j.m.errors.Inc()
			return st, fmt.Errorf("journal %s: compact: %w", j.path, err)
		}
		j.m.compacted.Add(float64(n))
		if n < compactChunk {
			break
		}
	}
	j.hmu.Lock()
	j.lastCompact = now
	j.hmu.Unlock()
	j.updateSize()
	return st, nil
}

func compactHistory(tx *bolt.Tx, cutoff time.Time, limit int, st *CompactStats) (int, error) {
	n := 0
	c := tx.Bucket(bHistory).Cursor()
	ah := tx.Bucket(bAlarmHist)
	for k, v := c.First(); k != nil && n < limit; k, v = c.First() {
		var h alerting.HistoryRecord
		if err := json.Unmarshal(v, &h); err != nil {
			return n, err
		}
		if !h.At.Before(cutoff) {
			break
		}
		if err := c.Delete(); err != nil {
			return n, err
		}
		if h.AlarmID != "" {
			if err := ah.Delete(join(h.AlarmID, k)); err != nil {
				return n, err
			}
		}
		n++
		st.History++
	}
	return n, nil
}

func compactAlarms(tx *bolt.Tx, cutoff time.Time, limit int, st *CompactStats) (int, error) {
	n := 0
	al := tx.Bucket(bAlarms)
	var dead [][]byte
	c := tx.Bucket(bAlarmTime).Cursor()
	for k, _ := c.First(); k != nil && n < limit; k, _ = c.Next() {
		if int64(binary.BigEndian.Uint64(k[:8])) >= cutoff.UnixNano() {
			break
		}
		id := k[8:]
		v := al.Get(id)
		if v == nil {
			dead = append(dead, bytes.Clone(k))
			continue
		}
		var r alerting.AlarmRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return n, err
		}
		if r.Alarm.State != alerting.Resolved || !r.Alarm.ResolvedAt.Before(cutoff) {
			continue
		}
		dead = append(dead, bytes.Clone(k))
		n++
	}
	for _, k := range dead {
		id := k[8:]
		if err := tx.Bucket(bAlarmTime).Delete(k); err != nil {
			return n, err
		}
		if al.Get(id) == nil {
			continue
		}
		if err := al.Delete(id); err != nil {
			return n, err
		}
		st.Alarms++
		// its delivery records
		prefix := append(bytes.Clone(id), 0)
		dc := tx.Bucket(bAlarmDlv).Cursor()
		for dk, _ := dc.Seek(prefix); dk != nil && bytes.HasPrefix(dk, prefix); dk, _ = dc.Seek(prefix) {
			rest := dk[len(prefix):]
			if i := bytes.IndexByte(rest, 0); i >= 0 {
				if sb := tx.Bucket(bDeliv).Bucket(rest[:i]); sb != nil {
					seq := rest[i+1:]
					if pb := tx.Bucket(bPending).Bucket(rest[:i]); pb != nil && len(seq) == 8 {
						// a resolved alarm's delivery still pending after the retention
						// period is kept: never drop an undelivered notification
						if v := sb.Get(seq); v != nil {
							var d alerting.Delivery
							if json.Unmarshal(v, &d) == nil && d.State == alerting.Pending {
								if err := dc.Delete(); err != nil {
									return n, err
								}
								continue
							}
						}
					}
					if err := sb.Delete(seq); err != nil {
						return n, err
					}
					st.Deliveries++
				}
			}
			if err := dc.Delete(); err != nil {
				return n, err
			}
		}
		// the alarm's history index entries whose records are gone
		hc := tx.Bucket(bAlarmHist).Cursor()
		for hk, _ := hc.Seek(prefix); hk != nil && bytes.HasPrefix(hk, prefix); hk, _ = hc.Seek(prefix) {
			if err := hc.Delete(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func compactSilences(tx *bolt.Tx, cutoff time.Time, st *CompactStats) (int, error) {
	n := 0
	b := tx.Bucket(bSilences)
	var dead [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var s alerting.Silence
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		if s.End.Before(cutoff) {
			dead = append(dead, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return n, err
		}
		n++
		st.Silences++
	}
	return n, nil
}

// Size returns the file size and the bytes holding data (file minus free pages).
func (j *Journal) Size() (file, used int64) {
	if fi, err := os.Stat(j.path); err == nil {
		file = fi.Size()
	}
	s := j.db.Stats()
	page := j.page
	used = file - int64(s.FreePageN+s.PendingPageN)*page
	if used < 0 {
		used = 0
	}
	return file, used
}

func (j *Journal) updateSize() {
	file, used := j.Size()
	j.m.fileBytes.Set(float64(file))
	j.m.usedBytes.Set(float64(used))
}

// Run compacts at once and then every CompactEvery until ctx ends. Close the journal
// after Run has returned.
func (j *Journal) Run(ctx context.Context) error {
	t := j.clock.NewTicker(j.opt.CompactEvery)
	defer t.Stop()
	for {
		st, err := j.Compact(j.clock.Now())
		if err != nil {
			j.log.Error("journal compaction failed", "err", err)
		} else if st.Total() > 0 {
			j.log.Info("journal compacted", "history", st.History, "alarms", st.Alarms,
				"deliveries", st.Deliveries, "silences", st.Silences)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
	}
}

// Health reports Down after a failed write (until the next good one) and Degraded
// when the data nears (≥ 90 %) or passes MaxSize. Alarms are still written past the
// bound: the operator shortens retention or gives the journal more room.
func (j *Journal) Health() health.Status {
	file, used := j.Size()
	j.hmu.Lock()
	lastErr, lastErrAt, lastCompact, reserveUsed := j.lastErr, j.lastErrAt, j.lastCompact, j.reserveUsed
	j.hmu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"file_bytes": file, "used_bytes": used, "max_bytes": j.opt.MaxSize,
		"retention": j.opt.Retention.String(), "epoch": j.epoch,
	}}
	if !lastCompact.IsZero() {
		st.Detail["last_compaction"] = lastCompact
	}
	switch {
	case used >= j.opt.MaxSize:
		st.State = health.Degraded
		st.Reason = fmt.Sprintf("journal holds %d bytes, over its bound of %d: shorten retention or raise max_size", used, j.opt.MaxSize)
	case float64(used) >= NearFull*float64(j.opt.MaxSize):
		st.State = health.Degraded
		st.Reason = fmt.Sprintf("journal holds %d bytes, near its bound of %d", used, j.opt.MaxSize)
	}
	if reserveUsed {
		st.State = health.Degraded
		st.Reason = reserveReason(j.opt.Reserve)
	}
	if lastErr != nil {
		st.State = health.Down
		st.Reason = lastErr.Error()
		st.Detail["last_error_at"] = lastErrAt
	}
	return st
}
