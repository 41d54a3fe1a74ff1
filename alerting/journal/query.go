package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/campusguard/campusguard/alerting"
)

// The journal implements alerting's history contract (alerting/history.go); these are
// its names for the contract's types.
type (
	AlarmDetail = alerting.AlarmDetail
	AlarmQuery  = alerting.AlarmQuery
	AlarmPage   = alerting.AlarmPage
	RecordQuery = alerting.RecordQuery
	RecordPage  = alerting.RecordPage
)

// ErrNotFound is returned for an unknown alarm id (alerting.ErrNoRecord).
var ErrNotFound = alerting.ErrNoRecord

// Active returns the alarms not yet resolved, most urgent first, then oldest first.
func (j *Journal) Active() ([]alerting.Alarm, error) {
	recs, err := j.OpenAlarms()
	if err != nil {
		return nil, err
	}
	out := make([]alerting.Alarm, 0, len(recs))
	for i := range recs {
		if recs[i].Alarm.State != alerting.Resolved {
			out = append(out, recs[i].Alarm)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if ra, rb := out[a].Severity.Rank(), out[b].Severity.Rank(); ra != rb {
			return ra < rb
		}
		return out[a].FiredAt.Before(out[b].FiredAt)
	})
	return out, nil
}

func sortRecords(rs []alerting.AlarmRecord) {
	sort.SliceStable(rs, func(a, b int) bool {
		if !rs[a].Alarm.FiredAt.Equal(rs[b].Alarm.FiredAt) {
			return rs[a].Alarm.FiredAt.Before(rs[b].Alarm.FiredAt)
		}
		return rs[a].Alarm.ID < rs[b].Alarm.ID
	})
}

// Alarm returns the alarm with id, its history (oldest first) and its delivery records.
func (j *Journal) Alarm(id string) (AlarmDetail, error) {
	var d AlarmDetail
	err := j.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAlarms).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("alarm %q: %w", id, alerting.ErrNoRecord)
		}
		var r alerting.AlarmRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		d.Alarm = r.Alarm
		prefix := append([]byte(id), 0)
		hist := tx.Bucket(bHistory)
		c := tx.Bucket(bAlarmHist).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			hv := hist.Get(k[len(prefix):])
			if hv == nil {
				continue // removed by retention
			}
			var h alerting.HistoryRecord
			if err := json.Unmarshal(hv, &h); err != nil {
				return err
			}
			d.History = append(d.History, h)
		}
		dc := tx.Bucket(bAlarmDlv).Cursor()
		for k, _ := dc.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = dc.Next() {
			rest := k[len(prefix):]
			i := bytes.IndexByte(rest, 0)
			if i < 0 || len(rest)-i-1 != 8 {
				continue
			}
			sb := tx.Bucket(bDeliv).Bucket(rest[:i])
			if sb == nil {
				continue
			}
			dv := sb.Get(rest[i+1:])
			if dv == nil {
				continue
			}
			var del alerting.Delivery
			if err := json.Unmarshal(dv, &del); err != nil {
				return err
			}
			d.Deliveries = append(d.Deliveries, del)
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return d, nil
}

// Alarms lists alarms newest first with filters and paging.
func (j *Journal) Alarms(q AlarmQuery) (AlarmPage, error) {
	var p AlarmPage
	limit := pageLimit(q.Limit)
	start, err := decodeCursor(q.Cursor)
	if err != nil {
		return p, err
	}
	err = j.db.View(func(tx *bolt.Tx) error {
		al := tx.Bucket(bAlarms)
		c := tx.Bucket(bAlarmTime).Cursor()
		var k []byte
		switch {
		case start != nil: // inclusive: the cursor is the first key of the page
			k, _ = c.Seek(start)
			if k == nil {
				k, _ = c.Last()
			} else if !bytes.Equal(k, start) {
				k, _ = c.Prev()
			}
		case !q.To.IsZero():
			k, _ = c.Seek(u64(uint64(q.To.UnixNano())))
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		default:
			k, _ = c.Last()
		}
		for ; k != nil; k, _ = c.Prev() {
			ts := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
			if !q.From.IsZero() && ts.Before(q.From) {
				break
			}
			if !q.To.IsZero() && !ts.Before(q.To) {
				continue
			}
			if len(p.Alarms) == limit {
				p.Next = hex.EncodeToString(k)
				break
			}
			v := al.Get(k[8:])
			if v == nil {
				continue
			}
			var r alerting.AlarmRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			a := r.Alarm
			if (q.Severity != "" && a.Severity != q.Severity) || (q.DeviceID != "" && a.DeviceID != q.DeviceID) ||
				(q.Zone != "" && a.Zone != q.Zone) || (q.State != "" && a.State != q.State) {
				continue
			}
			p.Alarms = append(p.Alarms, a)
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return p, nil
}

// Records lists the append-only history newest first with filters and paging.
func (j *Journal) Records(q RecordQuery) (RecordPage, error) {
	var p RecordPage
	limit := pageLimit(q.Limit)
	start, err := decodeCursor(q.Cursor)
	if err != nil {
		return p, err
	}
	err = j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bHistory).Cursor()
		var k, v []byte
		if start != nil {
			k, v = c.Seek(start)
			if k == nil {
				k, v = c.Last()
			} else if !bytes.Equal(k, start) {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil; k, v = c.Prev() {
			if len(p.Records) == limit {
				p.Next = hex.EncodeToString(k)
				break
			}
			var h alerting.HistoryRecord
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			if !q.From.IsZero() && h.At.Before(q.From) {
				break
			}
			if (!q.To.IsZero() && !h.At.Before(q.To)) || (q.AlarmID != "" && h.AlarmID != q.AlarmID) ||
				(q.Action != "" && h.Action != q.Action) || (q.By != "" && h.By != q.By) {
				continue
			}
			p.Records = append(p.Records, h)
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return p, nil
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

func decodeCursor(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 8 {
		return nil, fmt.Errorf("journal: bad cursor %q", s)
	}
	return b, nil
}
