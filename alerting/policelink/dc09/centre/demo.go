package centre

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// DemoConfig is the demo's stand-in receiving centre (simulator.police_receiver).
type DemoConfig struct {
	Listen string // the address the police link reports to
	// Key and KeyEncoding are the police link's key, as configured ("" = clear text).
	Key, KeyEncoding string
}

// Demo is the demo's stand-in receiving centre: it acknowledges every report and logs
// it decoded, so the demo shows what the police would see.
type Demo struct {
	r   *Receiver
	log *slog.Logger
}

// StartDemo listens on cfg.Listen; Run then logs the reports until its context ends.
func StartDemo(ctx context.Context, cfg DemoConfig, log *slog.Logger) (*Demo, error) {
	if log == nil {
		log = slog.Default()
	}
	rc := Config{Listen: cfg.Listen, NoTimeCheck: true}
	if cfg.Key != "" {
		enc, err := dc09.ParseKeyEncoding(cfg.KeyEncoding)
		if err != nil {
			return nil, fmt.Errorf("simulated receiving centre: %w", err)
		}
		k, err := dc09.ParseKey(cfg.Key, enc)
		if err != nil {
			return nil, fmt.Errorf("simulated receiving centre: %w", err)
		}
		rc.Key = k
	}
	r := New(rc)
	if err := r.Start(ctx); err != nil {
		return nil, fmt.Errorf("simulated receiving centre: %w", err)
	}
	log.Info("simulated police receiving centre listening", "addr", cfg.Listen)
	return &Demo{r: r, log: log}, nil
}

// Run logs each report the centre takes (link tests, NULL, are not logged) until ctx
// ends, then stops the centre.
func (d *Demo) Run(ctx context.Context) {
	defer d.r.Stop()
	for n := 1; ; n++ {
		got, err := d.r.Wait(ctx, n)
		if err != nil {
			return
		}
		g := got[n-1]
		if g.Message.ID == dc09.TokenNULL {
			continue
		}
		d.log.Info("simulated receiving centre got a report", "token", string(g.Message.ID), "account", g.Message.Account,
			"data", g.Message.Data, "encrypted", g.Message.Encrypted, "answer", g.Answer.String())
	}
}
