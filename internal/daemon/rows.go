package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/alerting/sinks/siren"
	"github.com/campusguard/campusguard/alerting/sinks/webhook"
	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	mqttdrv "github.com/campusguard/campusguard/drivers/mqtt"
	"github.com/campusguard/campusguard/drivers/sim"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/site"
	"github.com/campusguard/campusguard/telemetry"
)

// The rows of the component table (see components), one per component.

var journalComponent = &component{
	name: "journal",
	start: func(w *wiring, log *slog.Logger) error {
		cfg := w.cfg
		j, err := journal.Open(filepath.Join(cfg.StateDir, "journal.db"), journal.Options{
			Retention: cfg.Alerting.Retention, MaxSize: cfg.Alerting.MaxSize, Reserve: cfg.Alerting.JournalReserve,
			Clock: w.clock, Registerer: w.reg, Logger: log,
		})
		if err != nil {
			return contextOnce("journal", err)
		}
		w.p.journal = j
		// Retention per record class (alarm, operator action, patrol, fault), 30 days at
		// least; the history of an open alarm is never compacted.
		rc := cfg.Alerting.RetentionClasses
		ret := journal.Retention{Default: cfg.Alerting.Retention, Alarm: rc.Alarm, Operator: rc.Operator, Patrol: rc.Patrol, Fault: rc.Fault}
		w.run("journal", func() { _ = j.RunRetention(w.ctx, ret) })
		return nil
	},
	health:  func(p *pipeline, _ *config.Config) health.Reporter { return p.journal },
	cleanup: func(p *pipeline) error { return p.journal.Close() },
}

// queuesComponent makes the consumers' queues before any producer starts (the police
// link's path check, a button held at start): no event is published to nobody.
var queuesComponent = &component{
	name: "queues",
	start: func(w *wiring, _ *slog.Logger) error {
		w.p.ruleSub = w.bus.Subscribe("rules", 4096, event.Block)
		w.hsub = w.bus.Subscribe("devhealth", 4096, event.Block)
		w.psub = w.bus.Subscribe("patrol", 1024, event.Block)
		return nil
	},
}

// mqttComponent is built early (the simulator publishes through it) and reads last.
// MQTT input is acknowledged to its broker only once its event is durable (the
// watermark): a crash before the journal commit makes the broker deliver it again.
var mqttComponent = &component{
	name: "mqtt",
	start: func(w *wiring, log *slog.Logger) error {
		md := mqttdrv.New(mqttdrv.Options{Publisher: w.pub, Registerer: w.reg, Logger: log, Clock: w.clock, Durable: w.d.mark})
		if err := md.Apply(w.cfg.MQTT, w.dir); err != nil {
			return contextOnce("mqtt", err)
		}
		w.p.mqtt = md
		return nil
	},
	produce: func(ctx context.Context, w *wiring) { _ = w.p.mqtt.Run(ctx) },
	prepare: func(p *pipeline, _, cfg *config.Config, dir *site.Directory) (func() error, error) {
		commit, err := p.mqtt.Prepare(cfg.MQTT, dir)
		if err != nil {
			return nil, contextOnce("mqtt", err)
		}
		return func() error { commit(); return nil }, nil
	},
	health: func(p *pipeline, cfg *config.Config) health.Reporter {
		if len(cfg.MQTT.Brokers) == 0 {
			return nil
		}
		return p.mqtt
	},
}

// simComponent: simulated devices stand in for hardware in the demo; their GPIO lines
// are gpiotest pins handed to the real GPIO driver.
var simComponent = &component{
	name:    "simulator",
	enabled: func(cfg *config.Config) bool { return cfg.Simulator.Enabled },
	start: func(w *wiring, log *slog.Logger) error {
		cfg := w.cfg
		o := sim.Options{Site: &cfg.Site, Devices: cfg.Devices, GPIO: cfg.GPIO, MQTT: w.p.mqtt, Broker: cfg.Simulator.Broker,
			Interval: cfg.Simulator.Interval, Clock: w.clock, Logger: log, Patrol: sim.DemoPatrol(cfg.Devices, cfg.Patrol)}
		if o.Broker == "" && len(cfg.MQTT.Brokers) > 0 {
			o.Broker = cfg.MQTT.Brokers[0].Name
		}
		s, err := sim.New(o)
		if err != nil {
			return err
		}
		w.p.sim = s
		w.mux.Handle("POST /-/simulate/{scenario}", loopbackOnly(http.HandlerFunc(w.d.serveSimulate)))
		return nil
	},
	produce: func(ctx context.Context, w *wiring) { _ = w.p.sim.Run(ctx, w.cfg.Simulator.Scenarios) },
}

var gpioComponent = &component{
	name:    "gpio",
	enabled: func(cfg *config.Config) bool { return len(cfg.GPIO.Inputs)+len(cfg.GPIO.Outputs) > 0 },
	start: func(w *wiring, log *slog.Logger) error {
		o := gpiodrv.Options{Site: w.cfg.Site.ID, Publisher: w.pub, Clock: w.clock, Logger: log, Registerer: w.reg}
		if w.p.sim != nil {
			o.Source = w.p.sim.PinSource()
		}
		if w.d.opts.Pins != nil {
			o.Source = w.d.opts.Pins
		}
		g, err := gpiodrv.New(o)
		if err != nil {
			return contextOnce("gpio", err)
		}
		if err := g.Apply(w.cfg.GPIO); err != nil {
			return contextOnce("gpio", err)
		}
		w.p.gpio = g
		return nil
	},
	produce: func(ctx context.Context, w *wiring) { _ = w.p.gpio.Run(ctx) },
	prepare: func(p *pipeline, _, cfg *config.Config, _ *site.Directory) (func() error, error) {
		commit, err := p.gpio.Prepare(cfg.GPIO)
		if err != nil {
			return nil, contextOnce("gpio", err)
		}
		return commit, nil
	},
	health: func(p *pipeline, _ *config.Config) health.Reporter { return p.gpio },
}

var sirenComponent = &component{
	name:    "siren",
	enabled: func(cfg *config.Config) bool { return cfg.Sinks.Siren != nil },
	start: func(w *wiring, _ *slog.Logger) error {
		cfg, sc := w.cfg, w.cfg.Sinks.Siren
		outs := map[string]siren.Output{}
		for _, o := range sc.Outputs {
			outs[o.ID] = gpioOutput{p: w.p, id: o.ID}
		}
		var sch alerting.Schedules // not a typed nil: no schedule set means none
		if cfg.ScheduleSet != nil {
			sch = cfg.ScheduleSet
		}
		s, err := siren.New(*sc, outs, siren.Options{Site: &cfg.Site, Clock: w.clock, Registerer: w.reg,
			Logger: w.sinkLog(sc.Name), Schedules: sch})
		if err != nil {
			return contextOnce("siren", err)
		}
		w.p.siren = s
		w.sinks = append(w.sinks, s)
		w.local = siren.Local{S: s}
		return nil
	},
	setSite: func(p *pipeline, cfg *config.Config, _ *site.Directory, _ time.Time) { p.siren.SetSite(&cfg.Site) },
}

var mqttSinkComponent = &component{
	name:    "mqtt-sink",
	enabled: func(cfg *config.Config) bool { return cfg.Sinks.MQTT != nil },
	start: func(w *wiring, _ *slog.Logger) error {
		mc := w.cfg.Sinks.MQTT
		log := w.sinkLog(mc.Name)
		client, err := mqttsink.NewPahoClient(mc.Client, log)
		if err != nil {
			return contextOnce("mqtt sink", err)
		}
		w.run("mqtt-sink-client", func() {
			if err := client.Connect(w.ctx); err != nil && w.ctx.Err() == nil {
				log.Error("mqtt sink: connect", "err", err)
			}
			<-w.ctx.Done()
			client.Close()
		})
		// Staff acks go to the alerting manager, built after the sinks.
		s, err := mqttsink.New(*mc, client, mqttsink.Options{Acker: managerAcker{&w.alerts}, Clock: w.clock,
			Registerer: w.reg, Logger: log})
		if err != nil {
			return contextOnce("mqtt sink", err)
		}
		w.sinks = append(w.sinks, s)
		w.run("mqtt-sink", func() { _ = s.Run(w.ctx) })
		return nil
	},
}

var webhooksComponent = &component{
	name:    "webhooks",
	enabled: func(cfg *config.Config) bool { return len(cfg.Sinks.Webhooks) > 0 },
	start: func(w *wiring, _ *slog.Logger) error {
		for _, wc := range w.cfg.Sinks.Webhooks {
			s, err := webhook.New(wc, webhook.Options{Clock: w.clock, Registerer: w.reg, Logger: w.sinkLog(wc.Name)})
			if err != nil {
				return contextOnce("webhook "+wc.Name, err, "webhook")
			}
			w.sinks = append(w.sinks, s)
		}
		return nil
	},
}

// telemetryComponent is a sink (alarm history) and a consumer of the bus; its status
// points (device health, the gateway's figures) start with the producers.
var telemetryComponent = &component{
	name:    "telemetry",
	enabled: func(cfg *config.Config) bool { return cfg.Telemetry.Enabled },
	start: func(w *wiring, log *slog.Logger) error {
		f, err := telemetry.New(w.cfg.Telemetry, telemetry.Options{Clock: w.clock, Registerer: w.reg, Logger: log,
			Site: w.cfg.Site.ID, Directory: w.dir})
		if err != nil {
			return contextOnce("telemetry", err)
		}
		w.p.tele = f
		w.sinks = append(w.sinks, f)
		sub := w.bus.Subscribe("telemetry", 16384, event.DropOldest)
		w.run("telemetry", func() { _ = f.Run(w.ctx, sub.C()) })
		return nil
	},
	produce: func(ctx context.Context, w *wiring) {
		_ = w.p.tele.RunStatus(ctx, telemetry.StatusSources{Devices: w.p.health, Bus: w.bus, Alarms: w.p.alerts, Started: w.d.started})
	},
	setSite: func(p *pipeline, _ *config.Config, dir *site.Directory, _ time.Time) { p.tele.SetDirectory(dir) },
	health:  func(p *pipeline, _ *config.Config) health.Reporter { return p.tele },
}

// policeReceiverComponent is the demo's stand-in receiving centre: it logs each report
// it takes, decoded, so the demo shows what the police would see.
var policeReceiverComponent = &component{
	name:    "police-receiver",
	enabled: func(cfg *config.Config) bool { return cfg.Simulator.Enabled && cfg.Simulator.PoliceReceiver != "" },
	start: func(w *wiring, log *slog.Logger) error {
		c, err := centre.StartDemo(w.ctx, centre.DemoConfig{Listen: w.cfg.Simulator.PoliceReceiver,
			Key: w.cfg.PoliceLink.Key.Reveal(), KeyEncoding: w.cfg.PoliceLink.KeyEncoding}, log)
		if err != nil {
			return err
		}
		w.run("police-receiver", func() { c.Run(w.ctx) })
		return nil
	},
}

var policeLinkComponent = &component{
	name:    "policelink",
	enabled: func(cfg *config.Config) bool { return cfg.PoliceLink.Enabled },
	start: func(w *wiring, _ *slog.Logger) error {
		cfg := w.cfg
		pl, err := policelink.New(cfg.PoliceLink, policelink.Options{Clock: w.clock, Registerer: w.reg,
			Logger: w.sinkLog(cfg.PoliceLink.Name), Publisher: w.pub, Store: w.p.journal, Directory: w.dir, Site: cfg.Site.ID,
			Location: cfg.Site.Location()})
		if err != nil {
			return contextOnce("police link", err, "policelink")
		}
		w.sinks = append(w.sinks, pl)
		w.p.police = pl
		// `campusguard policelink test` sends through the running link (its sequence
		// counter is in the journal this daemon holds).
		w.mux.Handle("POST /-/policelink/test", loopbackOnly(http.HandlerFunc(pl.ServeTest)))
		w.run("policelink", func() {
			_ = pl.Run(w.ctx)
			pl.Close()
		})
		return nil
	},
	setSite: func(p *pipeline, _ *config.Config, dir *site.Directory, _ time.Time) { p.police.SetDirectory(dir) },
}

var alertingComponent = &component{
	name: "alerting",
	start: func(w *wiring, log *slog.Logger) error {
		cfg, d := w.cfg, w.d
		m, err := alerting.New(alerting.Options{
			Config: cfg.Alerting, Store: w.p.journal, Directory: w.dir, Sinks: w.sinks, Local: w.local,
			Schedules: cfg.ScheduleSet, Clock: w.clock, Registerer: w.reg, Logger: log,
			OnReset: d.resets.add,
		})
		if err != nil {
			return contextOnce("alerting", err)
		}
		w.p.alerts = m
		w.alerts.set(m)
		for name, rep := range m.SinkHealth() {
			d.health.Set("sink/"+name, rep)
		}
		w.run("alerting", func() { _ = m.Run(w.ctx) })
		// Zones follow their arming schedules; a zone that should be armed and is not
		// raises a reminder.
		w.run("arming", func() { _ = m.RunArming(w.ctx) })
		return nil
	},
	prepare: func(p *pipeline, old, cfg *config.Config, _ *site.Directory) (func() error, error) {
		// Routes may name sinks that exist only after a restart: while the sinks
		// changed, the old routes stay (see restartSections).
		if sinksChanged(old, cfg) || reflect.DeepEqual(cfg.Alerting, old.Alerting) {
			return nil, nil
		}
		commit, err := p.alerts.Prepare(cfg.Alerting)
		if err != nil {
			return nil, contextOnce("alerting", err)
		}
		return func() error { commit(); return nil }, nil
	},
	setSite: func(p *pipeline, _ *config.Config, dir *site.Directory, _ time.Time) { p.alerts.SetDirectory(dir) },
	health:  func(p *pipeline, _ *config.Config) health.Reporter { return p.alerts },
}
