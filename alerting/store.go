package alerting

import (
	"time"
)

// AlarmRecord is an alarm as the journal keeps it: the alarm itself plus the
// pipeline's bookkeeping, so a restart resumes exactly where the last run stopped.
type AlarmRecord struct {
	Alarm Alarm `json:"alarm"`
	// Transitions counts the alarm's transitions (1 = fired); notification n of the
	// alarm has the id Alarm.ID + "/" + n.
	Transitions int `json:"transitions"`
	// Tamper is set for tamper, line-fault and transmission-path alarms (GB 50394:
	// they alarm whether the zone is armed or not).
	Tamper bool `json:"tamper,omitempty"`
	// Notified is set once the alarm's fire has been handed to its routes (or grouped).
	// A silenced or inhibited alarm that is still firing when the silence ends is
	// notified then.
	Notified bool `json:"notified,omitempty"`
	// LastNotified is when each route (by path) last notified this alarm (repeat_interval).
	LastNotified map[string]time.Time `json:"last_notified,omitempty"`
	// Sounded is set while the local output (siren) is sounding for the alarm.
	Sounded bool `json:"sounded,omitempty"`
	// QuietAt is when staff last silenced the local output for the alarm (ack, reset):
	// a new trigger sounds it again only more than ResoundAfter later (GB 50394).
	QuietAt time.Time `json:"quiet_at,omitzero"`
	// Groups are the group notifications this alarm waits in (grouped routes). The
	// journal keeps a resolved alarm among the open ones until they are sent.
	Groups []GroupMark `json:"groups,omitempty"`
}

// GroupMark says that transition N of an alarm waits in a notification group.
type GroupMark struct {
	Key        string     `json:"key"`   // group key: route path and group_by values
	Route      string     `json:"route"` // route path
	Sinks      []string   `json:"sinks"`
	N          int        `json:"n"` // the alarm's transition number
	Transition Transition `json:"transition"`
	At         time.Time  `json:"at"`
}

// Pending reports whether the journal must still list the record among the open
// ones: not resolved, or resolved with group notifications not yet sent.
func (r *AlarmRecord) Pending() bool {
	return r.Alarm.State != Resolved || len(r.Groups) > 0
}

// HistoryRecord is one append-only operator or lifecycle record: who did what, when.
// The journal assigns Seq; records are never altered, only removed by retention.
type HistoryRecord struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	AlarmID  string    `json:"alarm,omitempty"`
	Action   string    `json:"action"` // fired, refired, acknowledged, escalated, cleared, resolved, silenced, unsilenced, silence_expired, armed, disarmed
	By       string    `json:"by,omitempty"`
	Note     string    `json:"note,omitempty"`
	State    State     `json:"state,omitempty"`
	Severity Severity  `json:"severity,omitempty"`
	DeviceID string    `json:"device,omitempty"`
	Zone     string    `json:"zone,omitempty"`
}

// History record actions that are not transitions.
const (
	ActionSilenced       = "silenced"
	ActionUnsilenced     = "unsilenced"
	ActionSilenceExpired = "silence_expired"
	ActionArmed          = "armed"
	ActionDisarmed       = "disarmed"
)

// DeliveryState is where a notification is on its way to one sink.
type DeliveryState string

// The delivery states.
const (
	Pending   DeliveryState = "pending"
	Delivered DeliveryState = "delivered"
	Rejected  DeliveryState = "rejected" // the sink returned *Permanent; not retried
)

// Delivery is one notification queued for one sink: the sink's own delivery record.
type Delivery struct {
	Sink string `json:"sink"`
	// Seq orders the sink's deliveries; the journal assigns it at commit.
	Seq uint64 `json:"seq"`
	// Priority is the alarm's severity rank (0 = critical): a sink's worker takes
	// critical notifications before any older, less urgent backlog.
	Priority     int           `json:"priority"`
	Notification Notification  `json:"notification"`
	State        DeliveryState `json:"state"`
	Attempts     int           `json:"attempts"`
	LastError    string        `json:"last_error,omitempty"`
	// Via is the receiver that took it, when the sink says (the police link: path,
	// role and address).
	Via         string    `json:"via,omitempty"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	DoneAt      time.Time `json:"done_at,omitzero"`
}

// ZoneArming is a zone's persisted arming state (GB 50394: restored after a power cut).
type ZoneArming struct {
	Zone  string    `json:"zone"`
	Armed bool      `json:"armed"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at"`
}

// Commit is one atomic journal write: everything in it is durable together or not at
// all.
type Commit struct {
	Alarms     []AlarmRecord     // upserted by id
	History    []HistoryRecord   // appended (Seq assigned)
	Deliveries []Delivery        // appended as pending (Seq assigned per sink)
	Updates    []Delivery        // new states of existing deliveries (by Sink and Seq)
	Silences   []Silence         // upserted by id
	Arming     []ZoneArming      // upserted by zone
	State      map[string][]byte // small named state blobs (nil value deletes)
	AlarmSeq   uint64            // high-water mark of allocated alarm numbers (kept if lower)
}

// Empty reports whether the commit writes nothing.
func (c *Commit) Empty() bool {
	return len(c.Alarms) == 0 && len(c.History) == 0 && len(c.Deliveries) == 0 && len(c.Updates) == 0 &&
		len(c.Silences) == 0 && len(c.Arming) == 0 && len(c.State) == 0 && c.AlarmSeq == 0
}

// Store is the durable journal as the Manager uses it (implemented by
// alerting/journal.Journal).
type Store interface {
	// Epoch is a short id created with the store: alarm ids carry it so a replaced or
	// wiped journal never reuses an id a receiver has already seen.
	Epoch() string
	// AlarmSeq is the highest alarm number committed so far.
	AlarmSeq() uint64
	// Enqueue queues c for the next group commit, in call order, and returns a wait
	// function that blocks until c is durable (fsynced) or failed; its error names the
	// store.
	Enqueue(c Commit) (wait func() error)
	// OpenAlarms returns every alarm whose record is Pending (not resolved, or resolved
	// with group notifications not yet sent).
	OpenAlarms() ([]AlarmRecord, error)
	// Silences returns every stored silence (expired ones until retention drops them).
	Silences() ([]Silence, error)
	// Arming returns the stored arming state of every zone that has one.
	Arming() ([]ZoneArming, error)
	// GetState returns a named state blob (nil, nil when absent).
	GetState(name string) ([]byte, error)
	// NextPending returns the first pending delivery of sink: critical first, then in
	// commit order. ok is false when the sink has none.
	NextPending(sink string) (d Delivery, ok bool, err error)
	// PendingCounts returns the number of pending deliveries of every sink that has any.
	PendingCounts() (map[string]int, error)
	// UpdateDelivery stores d's new state (attempts, error, delivered, rejected).
	UpdateDelivery(d Delivery) error
}
