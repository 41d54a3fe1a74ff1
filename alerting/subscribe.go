package alerting

// Update is one live change for a subscriber (the console's SSE stream).
type Update struct {
	Alarm Alarm `json:"alarm"`
	// Resync is set on the first update after some were dropped because the subscriber
	// was slow: it should fetch Active() again.
	Resync bool `json:"resync,omitempty"`
	// Occurrence is set when the update is a new trigger of the alarm: its first fire
	// or another press of an open one (Alarm.Count went up), acknowledged, silenced or
	// not. A duty screen rings for every occurrence of a critical alarm, even when the
	// previous one was muted.
	Occurrence bool `json:"occurrence,omitempty"`
}

// Subscription receives alarm changes. It never slows the Manager: when its buffer is
// full, updates are dropped and the next one carries Resync.
type Subscription struct {
	m      *Manager
	ch     chan Update
	resync bool // guarded by m.mu
}

// Subscribe returns a subscription with a buffer of size updates (at least 1).
func (m *Manager) Subscribe(size int) *Subscription {
	s := &Subscription{m: m, ch: make(chan Update, max(size, 1))}
	m.mu.Lock()
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	return s
}

// C is the updates channel; it is closed by Close.
func (s *Subscription) C() <-chan Update { return s.ch }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, ok := s.m.subs[s]; ok {
		delete(s.m.subs, s)
		close(s.ch)
	}
}

// publish sends a to every subscriber without blocking (m.mu held).
func (m *Manager) publish(a Alarm) { m.send(Update{Alarm: a}) }

// publishOccurrence sends a new trigger of a (its first fire or another one).
func (m *Manager) publishOccurrence(a Alarm) { m.send(Update{Alarm: a, Occurrence: true}) }

func (m *Manager) send(u Update) {
	for s := range m.subs {
		u.Resync = s.resync
		select {
		case s.ch <- u:
			s.resync = false
		default:
			s.resync = true
			m.met.subDrops.Inc()
		}
	}
}
