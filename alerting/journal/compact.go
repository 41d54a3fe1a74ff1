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
	"github.com/campusguard/campusguard/health"
)

// compactChunk bounds the deletions of one transaction, so compaction never holds the
// writer lock (and an alarm's commit) for long.
const compactChunk = 2000

// MinRetention is the floor of every retention period: GB 50394 and the local rules
// keep alarm, operator and patrol records at least 30 days.
const MinRetention = 30 * 24 * time.Hour

// RecordClass is what a journal record is about, for retention.
type RecordClass string

// The record classes.
const (
	RecAlarm    RecordClass = "alarm"    // an alarm and its lifecycle (fired, cleared, resolved by rule)
	RecOperator RecordClass = "operator" // what a person did: acknowledge, reset, silence, arm, log in
	RecPatrol   RecordClass = "patrol"   // patrol alarms (missed, late, unknown card, too few rounds)
	RecFault    RecordClass = "fault"    // device faults, tamper, lost supervision, lost police link
)

// Retention is how long each class of record is kept. A zero period takes Default;
// every period is raised to MinRetention.
type Retention struct {
	Default  time.Duration `json:"default"`
	Alarm    time.Duration `json:"alarm,omitempty"`
	Operator time.Duration `json:"operator,omitempty"`
	Patrol   time.Duration `json:"patrol,omitempty"`
	Fault    time.Duration `json:"fault,omitempty"`
}

// Uniform keeps every class d.
func Uniform(d time.Duration) Retention { return Retention{Default: d} }

// For is the period class is kept: its own, else Default, never under MinRetention.
func (r Retention) For(class RecordClass) time.Duration {
	d := r.Default
	switch class {
	case RecAlarm:
		d = or(r.Alarm, d)
	case RecOperator:
		d = or(r.Operator, d)
	case RecPatrol:
		d = or(r.Patrol, d)
	case RecFault:
		d = or(r.Fault, d)
	}
	if d < MinRetention {
		d = MinRetention
	}
	return d
}

func or(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

// shortest is the shortest period of any class: nothing newer than now minus it is
// ever removed.
func (r Retention) shortest() time.Duration {
	d := r.For(RecAlarm)
	for _, c := range []RecordClass{RecOperator, RecPatrol, RecFault} {
		d = min(d, r.For(c))
	}
	return d
}

// ClassOfAlarm is the retention class of an alarm's records.
func ClassOfAlarm(c alerting.Class) RecordClass {
	switch {
	case c == alerting.ClassPatrol:
		return RecPatrol
	case c.Trouble():
		return RecFault
	}
	return RecAlarm
}

// OperatorAction reports whether a history record is something a person did.
func OperatorAction(h *alerting.HistoryRecord) bool {
	return h.By != "" && h.By != "rule" && h.By != "system"
}

// keep is how long a history record is kept: an operator's action on an alarm is kept
// as long as the longer of the two classes.
func (r Retention) keep(h *alerting.HistoryRecord, alarmClass RecordClass) time.Duration {
	d := r.For(alarmClass)
	if OperatorAction(h) {
		d = max(d, r.For(RecOperator))
	}
	return d
}

// CompactStats counts what one compaction removed.
type CompactStats struct {
	History    int `json:"history"`
	Alarms     int `json:"alarms"`
	Deliveries int `json:"deliveries"`
	Silences   int `json:"silences"`
}

// Total is the number of records removed.
func (s CompactStats) Total() int { return s.History + s.Alarms + s.Deliveries + s.Silences }

// Compact removes what the journal's retention period no longer keeps, as of now (see
// CompactWith).
func (j *Journal) Compact(now time.Time) (CompactStats, error) {
	return j.CompactWith(now, Uniform(j.opt.Retention))
}

// CompactWith removes what retention no longer keeps, as of now: history records older
// than their class's period, resolved alarms resolved before it (with their delivery
// records), and silences that ended before the default period. The history of an alarm
// that is still open is never removed, however old: the record of an alarm stays whole
// until it is resolved. Open alarms, pending deliveries and arming state are never
// removed. bbolt reuses the freed pages, so the file stops growing once retention is
// reached.
func (j *Journal) CompactWith(now time.Time, r Retention) (CompactStats, error) {
	var st CompactStats
	for {
		n := 0
		err := j.db.Update(func(tx *bolt.Tx) error {
			var err error
			n, err = compactHistory(tx, now, r, compactChunk, &st)
			if err != nil || n >= compactChunk {
				return err
			}
			m, err := compactAlarms(tx, now, r, compactChunk-n, &st)
			n += m
			if err != nil || n >= compactChunk {
				return err
			}
			m, err = compactSilences(tx, now.Add(-r.For("")), &st)
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

// alarmInfo is what retention needs of the alarm a history record is about.
type alarmInfo struct {
	class RecordClass
	open  bool
}

func lookupAlarm(tx *bolt.Tx, id string, cache map[string]alarmInfo) (alarmInfo, error) {
	if ai, ok := cache[id]; ok {
		return ai, nil
	}
	ai := alarmInfo{class: RecAlarm}
	if tx.Bucket(bOpen).Get([]byte(id)) != nil {
		ai.open = true
	}
	if v := tx.Bucket(bAlarms).Get([]byte(id)); v != nil {
		var r alerting.AlarmRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return ai, err
		}
		ai.class = ClassOfAlarm(r.Alarm.Class)
		ai.open = ai.open || r.Pending()
	}
	cache[id] = ai
	return ai, nil
}

func compactHistory(tx *bolt.Tx, now time.Time, r Retention, limit int, st *CompactStats) (int, error) {
	horizon := now.Add(-r.shortest()) // nothing at or after it is removed
	c := tx.Bucket(bHistory).Cursor()
	cache := map[string]alarmInfo{}
	type dead struct {
		k     []byte
		alarm string
	}
	var del []dead
	for k, v := c.First(); k != nil && len(del) < limit; k, v = c.Next() {
		var h alerting.HistoryRecord
		if err := json.Unmarshal(v, &h); err != nil {
			return 0, err
		}
		if !h.At.Before(horizon) {
			break
		}
		class := RecAlarm
		if h.AlarmID != "" {
			ai, err := lookupAlarm(tx, h.AlarmID, cache)
			if err != nil {
				return 0, err
			}
			if ai.open {
				continue // an open alarm's record stays whole
			}
			class = ai.class
		} else if OperatorAction(&h) {
			class = RecOperator
		}
		if !h.At.Before(now.Add(-r.keep(&h, class))) {
			continue
		}
		del = append(del, dead{bytes.Clone(k), h.AlarmID})
	}
	b, ah := tx.Bucket(bHistory), tx.Bucket(bAlarmHist)
	for _, d := range del {
		if err := b.Delete(d.k); err != nil {
			return 0, err
		}
		if d.alarm != "" {
			if err := ah.Delete(join(d.alarm, d.k)); err != nil {
				return 0, err
			}
		}
		st.History++
	}
	return len(del), nil
}

func compactAlarms(tx *bolt.Tx, now time.Time, r Retention, limit int, st *CompactStats) (int, error) {
	n := 0
	al := tx.Bucket(bAlarms)
	var dead [][]byte
	horizon := now.Add(-r.shortest())
	c := tx.Bucket(bAlarmTime).Cursor()
	for k, _ := c.First(); k != nil && n < limit; k, _ = c.Next() {
		if int64(binary.BigEndian.Uint64(k[:8])) >= horizon.UnixNano() {
			break
		}
		id := k[8:]
		v := al.Get(id)
		if v == nil {
			dead = append(dead, bytes.Clone(k))
			continue
		}
		var rec alerting.AlarmRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return n, err
		}
		cutoff := now.Add(-r.For(ClassOfAlarm(rec.Alarm.Class)))
		if rec.Alarm.State != alerting.Resolved || !rec.Alarm.ResolvedAt.Before(cutoff) ||
			!rec.Alarm.FiredAt.Before(cutoff) {
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

// Run compacts at once and then every CompactEvery until ctx ends, keeping every
// class of record the journal's retention period. Close the journal after Run has
// returned.
func (j *Journal) Run(ctx context.Context) error {
	return j.RunRetention(ctx, Uniform(j.opt.Retention))
}

// RunRetention is Run with a retention period per record class.
func (j *Journal) RunRetention(ctx context.Context, r Retention) error {
	t := j.clock.NewTicker(j.opt.CompactEvery)
	defer t.Stop()
	for {
		st, err := j.CompactWith(j.clock.Now(), r)
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
