package daemon

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/campusguard/campusguard/alerting/records"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/devhealth"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/patrol/report"
	"github.com/campusguard/campusguard/rules"
	"github.com/campusguard/campusguard/site"
)

// rulesComponent is the rule engine, with its open instances restored from the
// journal. The main loop owns it; a reload hands it the new rules last.
var rulesComponent = &component{
	name: "rules",
	start: func(w *wiring, log *slog.Logger) error {
		p, cfg := w.p, w.cfg
		p.engine = rules.New(cfg.Rules, w.dir, cfg.Site.Location())
		p.ruleSaver = newRuleSaver(p.journal, log)
		w.run("rule-state", func() { p.ruleSaver.run(w.ctx) })
		if b, err := p.journal.GetState(ruleStateKey); err == nil && len(b) > 0 {
			var snap rules.Snapshot
			if err := json.Unmarshal(b, &snap); err != nil {
				log.Warn("rule state in the journal is unreadable; starting fresh", "err", err)
			} else {
				restored, skipped := p.engine.Restore(snap)
				log.Info("rule state restored", "instances", restored, "skipped", skipped)
			}
		}
		// A rule instance that fires without an open alarm was reset by a person just
		// before the last stop: re-arm it, so the next press raises a new alarm.
		for rule, keys := range p.engine.Firing() {
			for _, k := range keys {
				if !p.alerts.IsOpen(rule, k) {
					p.engine.Reset(w.now, rule, k)
					log.Info("rule instance re-armed: its alarm was reset", "rule", rule, "key", k)
				}
			}
		}
		return nil
	},
}

// devhealthComponent consumes the bus and publishes back (offline, online).
var devhealthComponent = &component{
	name:       "devhealth",
	healthName: "devices",
	start: func(w *wiring, log *slog.Logger) error {
		t := devhealth.NewTracker(w.dir, w.now)
		if err := t.Register(w.reg); err != nil {
			return contextOnce("device health", err, "devhealth")
		}
		w.p.health = t
		hr := &devhealth.Runner{Tracker: t, Publisher: w.pub, Clock: w.clock, Logger: log}
		w.run("devhealth", func() { _ = hr.Run(w.ctx, w.hsub.C()) })
		return nil
	},
	setSite: func(p *pipeline, _ *config.Config, dir *site.Directory, now time.Time) { p.health.SetDevices(dir, now) },
	health:  func(p *pipeline, _ *config.Config) health.Reporter { return p.health },
}

// patrolComponent consumes the bus and publishes back (patrol events); a finished
// run goes to telemetry.
var patrolComponent = &component{
	name: "patrol",
	start: func(w *wiring, log *slog.Logger) error {
		p, cfg := w.p, w.cfg
		tr, err := patrol.New(cfg.Patrol, patrol.Options{Site: cfg.Site.ID, Location: cfg.Site.Location(), Days: cfg.ScheduleSet})
		if err != nil {
			return contextOnce("patrol", err)
		}
		var onResult func(patrol.RunResult)
		if p.tele != nil {
			onResult = p.tele.RecordPatrolRun
		}
		pr, err := patrol.NewRunner(tr, patrol.RunnerOptions{Clock: w.clock, Store: p.journal, Publisher: w.pub,
			Registerer: w.reg, Logger: log, OnResult: onResult})
		if err != nil {
			return contextOnce("patrol", err)
		}
		p.patrol = pr
		w.run("patrol", func() { _ = pr.Run(w.ctx, w.psub.C()) })
		w.patrolReport = &report.Handler{Store: p.journal, Location: cfg.Site.Location(), Live: pr.Active, Now: w.clock.Now}
		return nil
	},
	prepare: func(p *pipeline, _, cfg *config.Config, _ *site.Directory) (func() error, error) {
		commit, err := p.patrol.Prepare(cfg.Patrol)
		if err != nil {
			return nil, contextOnce("patrol", err)
		}
		return commit, nil
	},
	health: func(p *pipeline, _ *config.Config) health.Reporter { return p.patrol },
}

// consoleComponent is the duty room's page; it serves the patrol report among its API
// (behind its login).
var consoleComponent = &component{
	name:    "console",
	enabled: func(cfg *config.Config) bool { return cfg.Console.Enabled },
	start: func(w *wiring, log *slog.Logger) error {
		p, cfg, d := w.p, w.cfg, w.d
		con, err := console.New(cfg.Console, console.Deps{Alarms: p.alerts, History: p.journal, Devices: p.health,
			Patrol: w.patrolReport, Live: p.patrol.Active, Site: &cfg.Site, Audit: p.journal},
			console.Options{Clock: w.clock, Registerer: w.reg, Logger: log, Location: cfg.Site.Location(),
				SiteName: cfg.Site.Name, ConfigFS: d.opts.Source.FS, PoliceSink: cfg.PoliceLink.Name})
		if err != nil {
			return contextOnce("console", err)
		}
		p.console = con
		if cfg.Console.Listen == "" {
			w.mux.Handle("/", con.Handler())
		}
		w.run("console", func() { _ = con.Run(w.ctx) })
		return nil
	},
	prepare: func(p *pipeline, _, cfg *config.Config, _ *site.Directory) (func() error, error) {
		commit, err := p.console.Prepare(cfg.Console)
		if err != nil {
			return nil, contextOnce("console", err)
		}
		return commit, nil
	},
	setSite: func(p *pipeline, cfg *config.Config, _ *site.Directory, _ time.Time) { p.console.SetSite(&cfg.Site) },
	health:  func(p *pipeline, _ *config.Config) health.Reporter { return p.console },
}

// toolsComponent serves the gateway's own tools on the HTTP listener.
var toolsComponent = &component{
	name: "tools",
	start: func(w *wiring, _ *slog.Logger) error {
		mux := w.mux
		if !w.cfg.Console.Enabled {
			mux.Handle("GET /api/patrol/report", w.patrolReport)
		}
		// The quarterly test of the alarm path: a device or zone in test for a bounded time.
		mux.Handle("/-/test-mode", loopbackOnly(http.HandlerFunc(w.d.serveTestMode)))
		// Tools on the gateway itself (campusguard patrol report) read it without a login.
		mux.Handle("GET /-/patrol/report", loopbackOnly(w.patrolReport))
		// campusguard records export reads the journal through the daemon that holds it.
		mux.Handle("GET /-/records/export", loopbackOnly(&records.Handler{Source: w.p.journal, Location: w.cfg.Site.Location()}))
		return nil
	},
}
