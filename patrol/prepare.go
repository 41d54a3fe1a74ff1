package patrol

// Prepare checks cfg as Apply would, changing nothing, and returns the commit that
// applies it: the first half of a reload transaction (the daemon commits only when
// every component prepared).
func (r *Runner) Prepare(cfg Config) (commit func() error, err error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	days := r.tr.days
	r.mu.Unlock()
	if err := checkDays(c, days); err != nil {
		return nil, err
	}
	return func() error { return r.Apply(cfg) }, nil
}
