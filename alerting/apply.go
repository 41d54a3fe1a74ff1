package alerting

import (
	"fmt"
	"reflect"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
)

// Apply takes a reloaded config's routes, escalation, inhibition, static silences and
// local-alarm severities without a restart. Open alarms, pending deliveries and groups
// carry over (a group already waiting keeps the settings it started with). The sinks,
// delivery settings, mandatory sinks, retention and size bound are fixed when the
// Manager is built: if those differ, Apply changes nothing and says so (the daemon
// then names them as needing a restart).
func (m *Manager) Apply(cfg Config) error {
	commit, err := m.Prepare(cfg)
	if err != nil {
		return err
	}
	commit()
	return nil
}

// Prepare checks and compiles cfg as Apply would, changing nothing, and returns the
// commit that swaps it in: the first half of a reload transaction.
func (m *Manager) Prepare(cfg Config) (commit func(), err error) {
	cfg.SetDefaults(cfgerr.Env{})
	m.mu.Lock()
	cur := m.cfg
	m.mu.Unlock()
	if cfg.Delivery != cur.Delivery || !reflect.DeepEqual(cfg.MandatorySinks, cur.MandatorySinks) ||
		cfg.Retention != cur.Retention || cfg.MaxSize != cur.MaxSize || cfg.JournalReserve != cur.JournalReserve {
		return nil, fmt.Errorf("alerting: delivery, mandatory_sinks, retention, max_size and journal_reserve change only at a restart")
	}
	root, err := compileRoute(&cfg.Routes, "routes", nil)
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	var cerrs cfgerr.List
	cfg.ValidateSinks(m.names, &cerrs)
	if err := cerrs.Err(); err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	requireAck := map[Severity]bool{}
	for _, s := range cfg.Escalation.RequireAck {
		requireAck[s] = true
	}
	sounding := map[Severity]bool{}
	for _, s := range cfg.Local.Severities {
		sounding[s] = true
	}
	var static []staticSilence
	for _, s := range cfg.Silences {
		ss := staticSilence{StaticSilence: s}
		ss.start, _ = time.Parse(time.RFC3339, s.Start)
		ss.end, _ = time.Parse(time.RFC3339, s.End)
		static = append(static, ss)
	}
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		// Field by field: the delivery workers read m.cfg.Delivery without the lock.
		m.cfg.Routes, m.cfg.Escalation, m.cfg.Inhibit = cfg.Routes, cfg.Escalation, cfg.Inhibit
		m.cfg.Silences, m.cfg.Local = cfg.Silences, cfg.Local
		m.root, m.requireAck, m.sounding, m.static = root, requireAck, sounding, static
	}, nil
}
