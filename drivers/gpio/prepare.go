package gpio

import (
	"errors"
	"fmt"

	"github.com/campusguard/campusguard/cfgerr"
)

// Prepare checks cfg as Apply would, changing nothing, and returns the commit that
// applies it: the first half of a reload transaction. Once cfg is valid, Apply cannot
// fail but for a stopped driver (lines that cannot be opened become faults of their
// device, reported by health and as fault events).
func (d *Driver) Prepare(cfg Config) (commit func() error, err error) {
	c := cloneConfig(cfg)
	c.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	c.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("gpio config: %w", err)
	}
	d.mu.Lock()
	stopped := d.ran && d.runCtx == nil
	d.mu.Unlock()
	if stopped {
		return nil, errors.New("gpio: driver stopped")
	}
	return func() error { return d.Apply(cfg) }, nil
}
