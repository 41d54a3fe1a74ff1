package daemon

import (
	"context"
	"reflect"
	"strings"

	"github.com/campusguard/campusguard/internal/config"
)

// applyPipeline hands a validated config to the running components as one
// transaction: every component prepares its new state first (checks, compiles, builds
// new clients) without changing what runs; only when all of them prepared are all
// committed. A failure in any prepare changes nothing. Drivers keep the lines and
// sessions whose config did not change; rules keep unchanged rules' state; every
// reader of the site directory takes the new one in the same step.
func (d *Daemon) applyPipeline(ctx context.Context, cfg *config.Config) error {
	p := d.p
	dir := cfg.Directory()
	type step struct {
		name   string
		commit func() error
	}
	var steps []step
	for _, c := range p.running {
		if c.prepare == nil {
			continue
		}
		commit, err := c.prepare(p, d.cfg, cfg, dir)
		if err != nil {
			return err
		}
		if commit != nil {
			steps = append(steps, step{c.name, commit})
		}
	}
	if d.testPrepare != nil {
		if err := d.testPrepare(cfg); err != nil {
			return err
		}
	}

	// Everything prepared: commit. A commit error after this point is a component's
	// fault (its prepare said yes): logged, and the others still take the new config.
	for _, s := range steps {
		if err := s.commit(); err != nil {
			d.log.Error("reload: a component failed to take its prepared config", "component", s.name, "err", err)
		}
	}
	// One live site directory: every reader takes the new one in the same step.
	now := d.clock.Now()
	for _, c := range p.running {
		if c.setSite != nil {
			c.setSite(p, cfg, dir, now)
		}
	}
	d.handleChanges(ctx, p.engine.Reload(cfg.Rules, dir))
	if restart := restartSections(d.cfg, cfg); len(restart) > 0 {
		d.log.Warn("these sections changed and take effect at the next restart", "sections", strings.Join(restart, ", "))
	}
	return nil
}

// sinksChanged reports whether the sinks changed: they are built at start only.
func sinksChanged(old, cfg *config.Config) bool {
	return !reflect.DeepEqual(cfg.Sinks, old.Sinks) || !reflect.DeepEqual(cfg.PoliceLink, old.PoliceLink) ||
		cfg.Telemetry.Enabled != old.Telemetry.Enabled
}

// restartSections names the changed sections a reload cannot apply: they take effect
// at the next restart.
func restartSections(old, cfg *config.Config) []string {
	var restart []string
	if sinksChanged(old, cfg) {
		// Routes may name sinks that exist only after a restart: the old routes stay.
		restart = append(restart, "sinks (and with them alerting routes)")
	}
	if !reflect.DeepEqual(cfg.Telemetry, old.Telemetry) {
		restart = append(restart, "telemetry")
	}
	if cfg.Console.Enabled != old.Console.Enabled || cfg.Console.Listen != old.Console.Listen || cfg.Console.TLS != old.Console.TLS {
		restart = append(restart, "console listener")
	}
	if cfg.HTTP != old.HTTP || cfg.StateDir != old.StateDir || cfg.Broker != old.Broker || !reflect.DeepEqual(cfg.Simulator, old.Simulator) {
		restart = append(restart, "http/state_dir/broker/simulator")
	}
	return restart
}

// doReload is the reload transaction: load everything into new structs, validate,
// and swap in one step; on any error nothing changes.
func (d *Daemon) doReload(ctx context.Context, reason string, result chan<- error) {
	d.opts.Notify("RELOADING=1")
	defer d.opts.Notify("READY=1")
	cfg, err := loadConfig(d.opts)
	if err == nil {
		err = d.apply(ctx, cfg)
	}
	gen := d.info.Load().Generation
	if err != nil {
		d.metrics.reloads.WithLabelValues("rejected").Inc()
		d.log.Error("config reload rejected; the running config stays", "reason", reason, "err", err)
		i := *d.info.Load()
		i.LastError = err.Error()
		d.info.Store(&i)
	} else {
		d.metrics.reloads.WithLabelValues("ok").Inc()
		d.cfg = cfg
		d.setInfo(cfg, gen+1, "")
		d.log.Info("config reloaded", "reason", reason, "generation", gen+1, "devices", len(cfg.Devices))
	}
	if result != nil {
		result <- err
	}
	d.notifyStatus()
}

// apply hands a validated config to the components. Parts whose config did not
// change keep running untouched.
func (d *Daemon) apply(ctx context.Context, cfg *config.Config) error {
	return d.applyPipeline(ctx, cfg)
}
