package alerting_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fileSink appends each delivered notification id to a file (fsynced), like a
// receiver that logs what it took; the fsync per line keeps it behind the alarms.
type fileSink struct {
	mu sync.Mutex
	f  *os.File
}

func (s *fileSink) Name() string { return "staff" }
func (s *fileSink) Deliver(ctx context.Context, n alerting.Notification) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintln(s.f, n.ID); err != nil {
		return err
	}
	return s.f.Sync()
}

func appendFile(t testing.TB, path string) *os.File {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// crashManager opens the journal in dir and a manager delivering to a fileSink;
// recorded (if set) is called after the worker stored a delivery's outcome.
func crashManager(t testing.TB, dir string, recorded func(alerting.Delivery)) (*alerting.Manager, *journal.Journal, *os.File) {
	j, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var store alerting.Store = j
	if recorded != nil {
		store = recordingStore{j, recorded}
	}
	f := appendFile(t, filepath.Join(dir, "delivered.log"))
	m, err := alerting.New(alerting.Options{Config: alerting.Config{Routes: alerting.Route{Sinks: []string{"staff"}}},
		Store: store, Directory: testDirectory(), Sinks: []alerting.Sink{&fileSink{f: f}}})
	if err != nil {
		t.Fatal(err)
	}
	return m, j, f
}

// journaledPrefix starts each line the child prints on stdout once Handle returned.
const journaledPrefix = "journaled "

// crashChild raises alarms until it is killed, printing each number on stdout once
// Handle returned.
func crashChild(t *testing.T, dir string) {
	m, _, _ := crashManager(t, dir, nil)
	go func() { _ = m.Run(context.Background()) }()
	for i := 0; ; i++ {
		tr := alerting.Trigger{Rule: "crash", Key: fmt.Sprint(i), Firing: true, Severity: alerting.Major, Message: "crash test"}
		if err := m.Handle(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(os.Stdout, "%s%d\n", journaledPrefix, i); err != nil {
			t.Fatal(err)
		}
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TestCrashResume kills a child process raising alarms with SIGKILL, reopens its
// journal and resumes: every journaled alarm is delivered, each id at least once
// (exactly once after the receiver drops duplicates by id).
func TestCrashResume(t *testing.T) {
	if dir := os.Getenv("CAMPUSGUARD_CRASH_CHILD"); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashResume$")
	cmd.Env = append(os.Environ(), "CAMPUSGUARD_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read the child's progress; kill it (SIGKILL: no clean shutdown) at the 300th
	// journaled alarm, then count what it printed before it died.
	counted := make(chan int, 1)
	killed := make(chan error, 1)
	ended := make(chan struct{}) // stdout closed: the child died or exited
	go func() {
		defer close(ended)
		n := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), journaledPrefix) {
				n++
				if n == 300 {
					killed <- cmd.Process.Kill()
				}
			}
		}
		counted <- n
	}()
	select {
	case err := <-killed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ended: // before the 300th alarm, unless killed just now: checked below
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
	}
	journaled := <-counted // EOF: the child is dead
	_ = cmd.Wait()
	if journaled < 300 {
		t.Fatalf("child raised too few alarms: %d", journaled)
	}
	beforeRestart := len(lines(t, filepath.Join(dir, "delivered.log")))

	recorded := make(chan struct{}, 1)
	m, j, f := crashManager(t, dir, func(alerting.Delivery) { wake(recorded) })
	defer f.Close()
	defer j.Close()
	pending, err := j.PendingCounts()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	// Outcomes are stored lazily: a commit writes what the worker recorded.
	awaitRecorded(t, recorded, "every pending delivery done", func() bool {
		if err := j.Commit(alerting.Commit{}); err != nil {
			t.Fatal(err)
		}
		c, err := j.PendingCounts()
		return err == nil && len(c) == 0
	})
	cancel()
	<-done

	seen := map[string]int{}
	for _, id := range lines(t, filepath.Join(dir, "delivered.log")) {
		seen[id]++
	}
	all := 0
	q := alerting.AlarmQuery{Limit: 1000}
	for {
		p, err := j.Alarms(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alarms {
			all++
			if seen[a.ID+"/1"] == 0 {
				t.Errorf("alarm %s journaled but never delivered", a.ID)
			}
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	if all < journaled {
		t.Fatalf("journal holds %d alarms, child saw %d committed", all, journaled)
	}
	if len(seen) != all {
		t.Fatalf("%d distinct ids delivered for %d alarms", len(seen), all)
	}
	t.Logf("alarms %d (child logged %d), delivered before kill %d, pending at restart %v, duplicates %d (dropped by id at the receiver)",
		all, journaled, beforeRestart, pending, dups)
}

// TestNotificationGolden pins the JSON sinks receive for a fired panic.
func TestNotificationGolden(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.handle(panicTrigger("box-gate", true))
	n := e.sinks["police"].recv(t)
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(string(b), e.j.Epoch(), "EPOCH") + "\n"
	path := filepath.Join("testdata", "panic_fired.golden.json")
	testenv.Golden(t, path, []byte(got), *update)
}
