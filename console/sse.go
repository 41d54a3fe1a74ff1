package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/auth"
)

// subBuffer is the per-stream buffer of alarm updates; a slower client gets "resync".
const subBuffer = 256

// writeWait bounds each write to a stream, so a client that stopped reading cannot hold
// its handler forever.
const writeWait = 30 * time.Second

// liveAlarm is the data of an "alarm" event: the alarm, and whether this update is a
// new occurrence of it (its first fire or another trigger: the page rings for it even
// when the alarm was muted or acknowledged before).
type liveAlarm struct {
	alerting.Alarm
	Occurrence bool `json:"occurrence,omitempty"`
}

// events is GET /api/events, a Server-Sent Events stream:
//
//	event: ready   — the stream is subscribed: (re)fetch /api/alarms/active now
//	event: alarm   — data is one alarm (alerting.Alarm JSON) that changed
//	event: resync  — updates were dropped: fetch /api/alarms/active again
//	event: logout  — the session ended: the stream closes
//	event: ping    — every 15 s: the link is alive (and proxies keep it open)
//	event: stopping — the daemon is stopping: the stream ends now
//
// The handler ends when the request ends, the session ends or the console stops.
func (c *Console) events(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	select {
	case <-c.stop:
		apiError(w, http.StatusServiceUnavailable, "stopping", "the console is stopping")
		return
	default:
	}
	c.streams.Add(1)
	defer c.streams.Done()
	c.clients.Add(1)
	defer c.clients.Add(-1)

	ck, _ := r.Cookie(sessionCookie)
	token := ""
	if ck != nil {
		token = ck.Value
	}
	sub := c.deps.Alarms.Subscribe(subBuffer)
	defer sub.Close()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	send := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeWait))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	buf.WriteString("retry: 3000\n\nevent: ready\ndata: {}\n\n")
	if !send() {
		return
	}
	tick := c.clock.NewTicker(c.beat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.stop:
			buf.WriteString("event: stopping\ndata: {}\n\n")
			send()
			return
		case u, ok := <-sub.C():
			if !ok {
				return
			}
			if u.Resync {
				buf.WriteString("event: resync\ndata: {}\n\n")
			}
			b, err := json.Marshal(liveAlarm{Alarm: u.Alarm, Occurrence: u.Occurrence})
			if err != nil {
				c.log.Error("console: encode alarm", "alarm", u.Alarm.ID, "err", err)
				continue
			}
			buf.WriteString("event: alarm\ndata: ")
			buf.Write(b) // JSON has no raw newlines: one data line
			buf.WriteString("\n\n")
			if !send() {
				return
			}
		case <-tick.Chan():
			if _, ok := c.sessions.Get(token); !ok {
				buf.WriteString("event: logout\ndata: {}\n\n")
				send()
				return
			}
			// An event, not a comment: the page sees it and knows the link is alive.
			buf.WriteString("event: ping\ndata: {}\n\n")
			if !send() {
				return
			}
		}
	}
}
