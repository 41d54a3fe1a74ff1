package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/devhealth"
	"github.com/campusguard/campusguard/patrol"
)

// Limits of operator input.
const (
	maxNote        = 500
	maxSilence     = 31 * 24 * time.Hour
	maxMatchers    = 10
	activeListSize = 1000
)

// alarmList is GET /api/alarms/active. Deliveries (with ?deliveries=1) are each
// alarm's notification records by alarm id, for the cards' police-link status.
type alarmList struct {
	Alarms     []alerting.Alarm               `json:"alarms"`
	Deliveries map[string][]alerting.Delivery `json:"deliveries,omitempty"`
}

// apiActive lists the open alarms, most urgent first (byUrgency).
func (c *Console) apiActive(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	select {
	case <-c.stop:
		// Stopping: alerting may already be down, and an empty list would tell the duty
		// room that nothing is open.
		apiError(w, http.StatusServiceUnavailable, "stopping", "the console is stopping")
		return
	default:
	}
	out := alarmList{Alarms: byUrgency(c.deps.Alarms.Active())}
	if r.URL.Query().Get("deliveries") == "1" && c.deps.History != nil {
		out.Deliveries = map[string][]alerting.Delivery{}
		for i, a := range out.Alarms {
			if i >= maxCardDeliveries {
				break
			}
			if d, err := c.deps.History.Alarm(a.ID); err == nil && len(d.Deliveries) > 0 {
				out.Deliveries[a.ID] = d.Deliveries
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// maxCardDeliveries bounds the journal reads of one active-list answer.
const maxCardDeliveries = 50

// apiAlarms is the alarm history with filters (see parseAlarmQuery) and paging.
func (c *Console) apiAlarms(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if c.deps.History == nil {
		apiError(w, http.StatusServiceUnavailable, "unavailable", "the alarm journal is not available")
		return
	}
	q, err := parseAlarmQuery(r.URL.Query(), c.loc)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	p, err := c.deps.History.Alarms(q)
	if err != nil {
		c.journalError(w, err)
		return
	}
	if p.Alarms == nil {
		p.Alarms = []alerting.Alarm{}
	}
	writeJSON(w, http.StatusOK, p)
}

// alarmDetail is GET /api/alarms/{id}: the journal's record with history (the audit
// trail) and deliveries; Open says whether the alarm is still open.
type alarmDetail struct {
	alerting.AlarmDetail
	Open bool `json:"open"`
}

func (c *Console) apiAlarm(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	id := r.PathValue("id")
	live, open := c.deps.Alarms.Alarm(id)
	var d alarmDetail
	if c.deps.History != nil {
		jd, err := c.deps.History.Alarm(id)
		switch {
		case err == nil:
			d.AlarmDetail = jd
		case errors.Is(err, alerting.ErrNoRecord) && open:
			// raised but its commit not yet readable: show the live state
		case errors.Is(err, alerting.ErrNoRecord):
			apiError(w, http.StatusNotFound, "not_found", "no such alarm")
			return
		default:
			c.journalError(w, err)
			return
		}
	} else if !open {
		apiError(w, http.StatusNotFound, "not_found", "no such open alarm")
		return
	}
	if open {
		d.Alarm = live // the live state is never older than the journal's
	}
	if d.History == nil {
		d.History = []alerting.HistoryRecord{}
	}
	if d.Deliveries == nil {
		d.Deliveries = []alerting.Delivery{}
	}
	d.Open = open
	writeJSON(w, http.StatusOK, d)
}

// noteRequest is the body of ack and resolve.
type noteRequest struct {
	Note string `json:"note"`
}

func (c *Console) apiAck(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	c.alarmAction(w, r, s, "ack", c.deps.Alarms.Ack)
}

func (c *Console) apiResolve(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	c.alarmAction(w, r, s, "resolve", c.deps.Alarms.Resolve)
}

func (c *Console) alarmAction(w http.ResponseWriter, r *http.Request, s *auth.Session, action string,
	op func(ctx context.Context, id, by, note string) error) {
	id := r.PathValue("id")
	var req noteRequest
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	note, err := cleanText(req.Note, maxNote)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "note: "+err.Error())
		return
	}
	err = op(r.Context(), id, s.User, note)
	switch {
	case err == nil:
	case errors.Is(err, alerting.ErrNotFound):
		c.met.actions.WithLabelValues(action, "not_found").Inc()
		apiError(w, http.StatusNotFound, "not_found", "no such open alarm")
		return
	case errors.Is(err, alerting.ErrAlreadyAcked):
		c.met.actions.WithLabelValues(action, "conflict").Inc()
		apiError(w, http.StatusConflict, "already_acknowledged", "the alarm is already acknowledged")
		return
	default:
		// The change is made in memory; alerting retries the journal write.
		c.met.actions.WithLabelValues(action, "error").Inc()
		c.log.Error("console: "+action, "alarm", id, "by", s.User, "err", err)
		apiError(w, http.StatusInternalServerError, "journal", err.Error())
		return
	}
	c.met.actions.WithLabelValues(action, "ok").Inc()
	c.log.Info("console: "+action, "alarm", id, "by", s.User, "note", note)
	a, open := c.deps.Alarms.Alarm(id)
	if !open && c.deps.History != nil {
		if d, err := c.deps.History.Alarm(id); err == nil {
			a = d.Alarm
		}
	}
	writeJSON(w, http.StatusOK, a)
}

// cleanText trims s and refuses text that is too long or not UTF-8; control characters
// other than newline and tab are dropped.
func cleanText(s string, limit int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > limit {
		return "", errors.New("longer than " + strconv.Itoa(limit) + " characters")
	}
	return s, nil
}

func (c *Console) apiRecords(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if c.deps.History == nil {
		apiError(w, http.StatusServiceUnavailable, "unavailable", "the alarm journal is not available")
		return
	}
	q, err := parseRecordQuery(r.URL.Query(), c.loc)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	p, err := c.deps.History.Records(q)
	if err != nil {
		c.journalError(w, err)
		return
	}
	if p.Records == nil {
		p.Records = []alerting.HistoryRecord{}
	}
	writeJSON(w, http.StatusOK, p)
}

func (c *Console) journalError(w http.ResponseWriter, err error) {
	if strings.Contains(err.Error(), "bad cursor") {
		apiError(w, http.StatusBadRequest, "bad_request", "bad cursor")
		return
	}
	c.log.Error("console: journal read", "err", err)
	apiError(w, http.StatusInternalServerError, "journal", "the journal could not be read")
}

// deviceList is GET /api/devices.
type deviceList struct {
	Devices []devhealth.DeviceState `json:"devices"`
	Counts  map[string]int          `json:"counts"` // online, offline, unknown, tamper, fault, low_battery
}

// LowBattery is the battery percentage below which a device is counted as low.
const LowBattery = 20

func (c *Console) apiDevices(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if c.deps.Devices == nil {
		apiError(w, http.StatusServiceUnavailable, "unavailable", "device supervision is not available")
		return
	}
	devs := c.deps.Devices.Snapshot()
	if devs == nil {
		devs = []devhealth.DeviceState{}
	}
	counts := map[string]int{"online": 0, "offline": 0, "unknown": 0, "tamper": 0, "fault": 0, "low_battery": 0}
	for _, d := range devs {
		counts[string(d.Status)]++
		if d.Tamper {
			counts["tamper"]++
		}
		if d.Fault {
			counts["fault"]++
		}
		if d.Battery != nil && *d.Battery < LowBattery {
			counts["low_battery"]++
		}
	}
	writeJSON(w, http.StatusOK, deviceList{Devices: devs, Counts: counts})
}

func (c *Console) apiPatrolReport(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if c.deps.Patrol == nil {
		apiError(w, http.StatusServiceUnavailable, "unavailable", "patrol is not configured")
		return
	}
	c.deps.Patrol.ServeHTTP(w, r)
}

// runList is GET /api/patrol/live.
type runList struct {
	Runs []patrol.RunResult `json:"runs"`
}

func (c *Console) apiPatrolLive(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	runs := []patrol.RunResult{}
	if c.deps.Live != nil {
		runs = append(runs, c.deps.Live()...)
	}
	writeJSON(w, http.StatusOK, runList{Runs: runs})
}

// silenceList is GET /api/silences.
type silenceList struct {
	Silences   []alerting.Silence `json:"silences"`
	Attributes []string           `json:"attributes"` // what a matcher may name besides labels
}

func (c *Console) apiSilences(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sils := c.deps.Alarms.Silences()
	if sils == nil {
		sils = []alerting.Silence{}
	}
	writeJSON(w, http.StatusOK, silenceList{Silences: sils, Attributes: alerting.Attributes})
}

// silenceRequest is the body of POST /api/silences: matchers, a reason, and the end
// (an RFC 3339 time, or a duration from the start such as "2h"). Start defaults to now.
type silenceRequest struct {
	Matchers alerting.Matchers `json:"matchers"`
	Reason   string            `json:"reason"`
	Start    time.Time         `json:"start,omitzero"`
	End      time.Time         `json:"end,omitzero"`
	Duration string            `json:"duration,omitempty"`
}

// silenceCreated is the answer to POST /api/silences.
type silenceCreated struct {
	ID string `json:"id"`
}

func (c *Console) apiSilence(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	var req silenceRequest
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	sil, err := c.checkSilence(req, s.User)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	id, err := c.deps.Alarms.Silence(r.Context(), sil)
	if err != nil {
		c.met.actions.WithLabelValues("silence", "error").Inc()
		if id == "" {
			apiError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		c.log.Error("console: silence", "by", s.User, "err", err)
		apiError(w, http.StatusInternalServerError, "journal", err.Error())
		return
	}
	c.met.actions.WithLabelValues("silence", "ok").Inc()
	c.log.Info("console: silence", "id", id, "by", s.User, "matchers", sil.Matchers.String(), "end", sil.End)
	writeJSON(w, http.StatusCreated, silenceCreated{ID: id})
}

// checkSilence validates a silence request into an alerting.Silence.
func (c *Console) checkSilence(req silenceRequest, by string) (alerting.Silence, error) {
	now := c.clock.Now()
	var sil alerting.Silence
	if len(req.Matchers) == 0 {
		return sil, errors.New("matchers: at least one is required (device, zone, rule, severity...)")
	}
	if len(req.Matchers) > maxMatchers {
		return sil, errors.New("matchers: at most " + strconv.Itoa(maxMatchers))
	}
	m := alerting.Matchers{}
	for k, v := range req.Matchers {
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" || v == "" || len(k) > 64 || len(v) > 128 || !utf8.ValidString(k+v) {
			return sil, errors.New("matchers: names and values must be non-empty (at most 64 and 128 bytes)")
		}
		m[k] = v
	}
	reason, err := cleanText(req.Reason, maxNote)
	if err != nil {
		return sil, errors.New("reason: " + err.Error())
	}
	if reason == "" {
		return sil, errors.New("reason: is required")
	}
	start := req.Start
	if start.IsZero() {
		start = now
	}
	end := req.End
	if req.Duration != "" {
		if !end.IsZero() {
			return sil, errors.New("give end or duration, not both")
		}
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			return sil, errors.New("duration: want a positive duration such as 30m or 2h")
		}
		end = start.Add(d)
	}
	switch {
	case end.IsZero():
		return sil, errors.New("end or duration is required")
	case !end.After(start) || !end.After(now):
		return sil, errors.New("end must be after start and in the future")
	case end.Sub(start) > maxSilence:
		return sil, errors.New("a silence lasts at most 31 days")
	}
	return alerting.Silence{Matchers: m, Reason: reason, Start: start, End: end, By: by}, nil
}

func (c *Console) apiUnsilence(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	id := r.PathValue("id")
	if !slices.ContainsFunc(c.deps.Alarms.Silences(), func(x alerting.Silence) bool { return x.ID == id }) {
		apiError(w, http.StatusNotFound, "not_found", "no such active silence")
		return
	}
	if err := c.deps.Alarms.Unsilence(r.Context(), id, s.User); err != nil {
		c.met.actions.WithLabelValues("unsilence", "error").Inc()
		c.log.Error("console: unsilence", "id", id, "by", s.User, "err", err)
		apiError(w, http.StatusInternalServerError, "journal", err.Error())
		return
	}
	c.met.actions.WithLabelValues("unsilence", "ok").Inc()
	c.log.Info("console: unsilence", "id", id, "by", s.User)
	w.WriteHeader(http.StatusNoContent)
}

// zoneState is one zone's arming state in GET /api/zones.
type zoneState struct {
	Zone  string    `json:"zone"`
	Name  string    `json:"name,omitempty"`
	Armed bool      `json:"armed"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at,omitzero"`
	// Schedule is the zone's arming schedule ("" = armed and disarmed by hand);
	// Should is what it says now; Override is a person's override in force; Panic
	// marks a zone of panic buttons only (never disarmed).
	Schedule string             `json:"schedule,omitempty"`
	Should   bool               `json:"should"`
	Override *alerting.Override `json:"override,omitempty"`
	Panic    bool               `json:"panic,omitempty"`
}

type zoneList struct {
	Zones []zoneState `json:"zones"`
}

func (c *Console) apiZones(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	byZone := map[string]*zoneState{}
	var order []string
	if st := c.siteModel(); st != nil {
		for _, z := range st.Zones {
			byZone[z.ID] = &zoneState{Zone: z.ID, Name: z.Name, Armed: true}
			order = append(order, z.ID)
		}
	}
	for _, a := range c.deps.Alarms.ZoneStatuses() {
		z := byZone[a.Zone]
		if z == nil {
			z = &zoneState{Zone: a.Zone}
			byZone[a.Zone] = z
			order = append(order, a.Zone)
		}
		z.Armed, z.By, z.At = a.Armed, a.By, a.At
		z.Schedule, z.Should, z.Override, z.Panic = a.Schedule, a.Should, a.Override, a.Panic
	}
	out := zoneList{Zones: make([]zoneState, 0, len(order))}
	for _, id := range order {
		out.Zones = append(out.Zones, *byZone[id])
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) apiArm(armed bool) apiHandler {
	action := map[bool]string{true: "arm", false: "disarm"}[armed]
	return func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
		zone := r.PathValue("zone")
		var err error
		if armed {
			err = c.deps.Alarms.Arm(r.Context(), zone, s.User)
		} else {
			err = c.deps.Alarms.Disarm(r.Context(), zone, s.User)
		}
		switch {
		case errors.Is(err, alerting.ErrUnknownZone):
			apiError(w, http.StatusNotFound, "not_found", "no such zone")
			return
		case errors.Is(err, alerting.ErrNoReason), errors.Is(err, alerting.ErrTooLong), errors.Is(err, alerting.ErrPanicZone):
			// a zone with an arming schedule is disarmed with a reason (POST .../arming)
			apiError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		case err != nil:
			c.met.actions.WithLabelValues(action, "error").Inc()
			c.log.Error("console: "+action, "zone", zone, "by", s.User, "err", err)
			apiError(w, http.StatusInternalServerError, "journal", err.Error())
			return
		}
		c.met.actions.WithLabelValues(action, "ok").Inc()
		c.log.Info("console: "+action, "zone", zone, "by", s.User)
		w.WriteHeader(http.StatusNoContent)
	}
}
