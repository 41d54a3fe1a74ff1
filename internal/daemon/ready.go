package daemon

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/campusguard/campusguard/health"
)

// inputsWait bounds how long the start waits for the MQTT brokers to acknowledge the
// subscriptions before READY=1: a broker that is down must not keep the GPIO inputs,
// the sirens and the police link from serving.
const inputsWait = 5 * time.Second

// awaitInputs waits, bounded by inputsWait (real time), until every MQTT broker has
// acknowledged its first subscriptions: a device message published after READY=1 and
// /healthz up is then taken, not lost to a subscription still on its way.
// It reports whether there were MQTT inputs and all of them are subscribed.
func (d *Daemon) awaitInputs(ctx context.Context) bool {
	if d.p == nil || d.p.mqtt == nil || len(d.cfg.MQTT.Brokers) == 0 {
		return false
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, inputsWait)
	defer cancel()
	if err := d.p.mqtt.WaitSubscribed(wctx); err != nil {
		if ctx.Err() == nil {
			d.log.Warn("ready without every MQTT subscription; they follow when the brokers answer", "err", err)
		}
		return false
	}
	d.log.Debug("mqtt inputs subscribed", "after", time.Since(start).Round(time.Microsecond))
	return true
}

// startupHealth is Down until the daemon is ready (READY=1), Up from then on.
type startupHealth struct{ done atomic.Bool }

func (s *startupHealth) ready() { s.done.Store(true) }

// Health implements health.Reporter.
func (s *startupHealth) Health() health.Status {
	if s.done.Load() {
		return health.Status{State: health.Up}
	}
	return health.Status{State: health.Down, Reason: "starting: waiting for the MQTT brokers to acknowledge the subscriptions"}
}
