package console

import (
	"fmt"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/console/auth"
)

// Prepare checks cfg as Apply would (the accounts' password hashes), changing
// nothing, and returns the commit that applies it: the first half of a reload
// transaction.
func (c *Console) Prepare(cfg Config) (commit func() error, err error) {
	check := cfg
	check.SetDefaults(cfgerr.Env{})
	if _, err := auth.NewUsers(check.accounts()); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return func() error { return c.Apply(cfg) }, nil
}
