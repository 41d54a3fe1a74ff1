package console

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/campusguard/campusguard/console/auth"
)

// StateStore keeps small named blobs durably (implemented by *journal.Journal). The
// console keeps its sessions there, so a restart of the daemon does not log the duty
// room out.
type StateStore interface {
	GetState(name string) ([]byte, error)
	PutState(name string, b []byte) error
}

// sessionsState is the name of the console's blob in the StateStore.
const sessionsState = "console/sessions"

// keptSessions is the blob: the live sessions (token hashes, never tokens) and the key
// that signs known-device cookies.
type keptSessions struct {
	Version   int           `json:"version"`
	DeviceKey []byte        `json:"device_key"`
	Sessions  []auth.Stored `json:"sessions"`
}

// sessionSaver writes the session store to the StateStore after every change.
type sessionSaver struct {
	c     *Console
	store StateStore
	mu    sync.Mutex // one write at a time, each of the whole current store
}

// restoreSessions loads the kept sessions (those of accounts and kiosks that still
// exist with the same role) and starts keeping every change.
func (c *Console) restoreSessions(store StateStore) error {
	if store == nil {
		return nil
	}
	b, err := store.GetState(sessionsState)
	if err != nil {
		return fmt.Errorf("read kept sessions: %w", err)
	}
	if len(b) > 0 {
		var k keptSessions
		if err := json.Unmarshal(b, &k); err != nil {
			c.log.Warn("console: kept sessions unreadable; everyone logs in again", "err", err)
		} else {
			if len(k.DeviceKey) >= 16 {
				c.deviceKey = k.DeviceKey
			}
			n := c.sessions.Import(k.Sessions)
			ended := c.sessions.Keep(c.keepSession(c.config()))
			c.log.Info("console: sessions restored", "sessions", n-ended, "ended", ended)
		}
	}
	s := &sessionSaver{c: c, store: store}
	c.sessions.OnChange(s.save)
	return nil
}

func (s *sessionSaver) save() {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(keptSessions{Version: 1, DeviceKey: s.c.deviceKey, Sessions: s.c.sessions.Export()})
	if err == nil {
		err = s.store.PutState(sessionsState, b)
	}
	if err != nil {
		s.c.log.Error("console: sessions not kept; a restart will log them out", "err", err)
	}
}

// keepSession says which sessions a config keeps: those of users with the same role,
// and those of kiosks whose token did not change.
func (c *Console) keepSession(cfg Config) func(auth.Session) bool {
	users := map[string]auth.Role{}
	for _, u := range cfg.Users {
		users[u.Name] = u.Role
	}
	kiosks := map[string]Kiosk{}
	for _, k := range cfg.Kiosks {
		kiosks[k.Name] = k
	}
	return func(s auth.Session) bool {
		if s.Kiosk != "" {
			k, ok := kiosks[s.User]
			return ok && k.role() == s.Role && s.Kiosk == k.fingerprint()
		}
		r, ok := users[s.User]
		return ok && r == s.Role
	}
}
