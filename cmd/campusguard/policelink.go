package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/internal/config"
)

// policeLinkTest runs the installer's test report for cfg. The report takes its
// sequence number from the link's persistent counter, so it never repeats a number
// the link used, nor takes one the link will use: through the running daemon when
// it holds the journal (POST /-/policelink/test on http.listen), else with the
// journal opened here. It returns the exit code.
func policeLinkTest(ctx context.Context, cfg *config.Config, opt policelink.TestOptions, stdout, stderr io.Writer) int {
	path := filepath.Join(cfg.StateDir, "journal.db")
	if journalInUse(path) {
		return policeLinkTestDaemon(ctx, cfg, opt, stdout, stderr)
	}
	j, err := openJournalFor(path)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard policelink test: %v\n", err)
		return 1
	}
	defer j.Close()
	opt.Store = j
	if err := policelink.TestReport(ctx, cfg.PoliceLink, stdout, opt); err != nil {
		fmt.Fprintf(stderr, "campusguard policelink test: %v\n", err)
		return 1
	}
	return 0
}

// journalInUse reports whether another process (the daemon) holds the journal.
func journalInUse(path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 300 * time.Millisecond})
	if err != nil {
		return errors.Is(err, bolt.ErrTimeout)
	}
	db.Close()
	return false
}

// openJournalFor opens (creating, with its directory) the journal at path; a new
// file gets the owner of its directory, so that the daemon's user can open it
// after an installer ran the test as root.
func openJournalFor(path string) (*journal.Journal, error) {
	_, statErr := os.Stat(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	j, err := journal.Open(path, journal.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := chownLikeDir(path); err != nil {
			j.Close()
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	return j, nil
}

// policeLinkTestDaemon asks the running daemon to send the test report.
func policeLinkTestDaemon(ctx context.Context, cfg *config.Config, opt policelink.TestOptions, stdout, stderr io.Writer) int {
	q := url.Values{"zone": {strconv.Itoa(opt.Zone)}, "area": {strconv.Itoa(opt.Area)}}
	if opt.Periodic {
		q.Set("periodic", "1")
	}
	u := "http://" + cfg.HTTP.Listen + "/-/policelink/test?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard policelink test: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard policelink test: campusguard holds %s but does not answer on %s: %v\n",
			cfg.StateDir, cfg.HTTP.Listen, err)
		return 1
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusBadGateway:
		fmt.Fprintln(stdout, "(sent by the running campusguard)")
		if _, err := io.Copy(stdout, resp.Body); err != nil {
			fmt.Fprintf(stderr, "campusguard policelink test: %v\n", err)
			return 1
		}
		if resp.StatusCode != http.StatusOK {
			return 1
		}
		return 0
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stderr, "campusguard policelink test: the running campusguard answered %s: %s\n"+
		"  (a daemon without POST /-/policelink/test: stop it for the test, e.g. systemctl stop campusguard)\n",
		resp.Status, strings.TrimSpace(string(b)))
	return 1
}
