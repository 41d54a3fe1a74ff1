package console_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/internal/testenv"
)

var updateNotes = flag.Bool("update-notes", false, "rewrite testdata/notes.golden")

// The English notes and reasons the rule engine and alerting write into the journal,
// as they are written there (rules/engine.go, rules/state.go, alerting/run.go,
// alerting/manager.go), and the console's own (login records).
var journalNotes = []string{
	"resolved by a inactive event",
	"resolved by a released event",
	"resolved by a online event",
	"resolved by a tamper_restore event",
	"no matching event for 30m0s",
	"condition held for 3s",
	"nothing between 21:00 and 21:30",
	"nothing for 1h0m0s",
	"rule removed",
	"rule changed",
	"tier 1: not acknowledged within 2m0s",
	"tier 2: not acknowledged within 1h30m0s",
	"#2",
	"remote 127.0.0.1, role guard",
	"remote ::1",
	"kiosk, remote 10.0.0.8",
	"session 1a2b3c4d ended by an operator",
	"摄像机镜头清洁 [device=kitchen-cam-2] 2026-11-20T13:00:00Z–2026-11-20T15:00:00Z (sil-0a1b2c3d4e5f)",
	"摄像机镜头清洁 [device=kitchen-cam-2,zone=kitchen] (sil-0a1b2c3d4e5f)",
	"已到现场，学生已离开", // a person's note stays as it is
}

// TestTranslateNote: every known English form reads in Chinese (no ASCII sentence
// left) and in English; the golden file holds both.
func TestTranslateNote(t *testing.T) {
	var b strings.Builder
	for _, n := range journalNotes {
		zh := console.TranslateNote("zh", n, shanghai)
		en := console.TranslateNote("en", n, shanghai)
		fmt.Fprintf(&b, "%s\n  zh: %s\n  en: %s\n", n, zh, en)
		if strings.Contains(zh, "{") || strings.Contains(en, "{") {
			t.Errorf("%q: a placeholder is left: %q / %q", n, zh, en)
		}
		if isASCIISentence(zh) {
			t.Errorf("%q is not translated: %q", n, zh)
		}
	}
	golden := filepath.Join("testdata", "notes.golden")
	testenv.Golden(t, golden, []byte(b.String()), *updateNotes)
}

func isASCIISentence(s string) bool {
	for _, r := range s {
		if r > 0x7f {
			return false
		}
	}
	return strings.Count(s, " ") > 0 && strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' }) >= 0
}

func TestHumanDuration(t *testing.T) {
	tests := []struct{ in, zh, en string }{
		{"2m0s", "2分钟", "2 min"},
		{"1h30m0s", "1小时30分钟", "1 h 30 min"},
		{"45s", "45秒", "45 s"},
		{"0s", "0秒", "0 s"},
		{"soon", "soon", "soon"},
	}
	for _, tc := range tests {
		if got := console.HumanDuration("zh", tc.in); got != tc.zh {
			t.Errorf("zh %s = %q, want %q", tc.in, got, tc.zh)
		}
		if got := console.HumanDuration("en", tc.in); got != tc.en {
			t.Errorf("en %s = %q, want %q", tc.in, got, tc.en)
		}
	}
}

// FuzzTranslateNote: any note gives text without panicking, and text that matches no
// known form comes back as it was.
func FuzzTranslateNote(f *testing.F) {
	for _, n := range journalNotes {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, note string) {
		out := console.TranslateNote("zh", note, shanghai)
		if out == "" && note != "" {
			t.Fatalf("%q translated to nothing", note)
		}
	})
}
