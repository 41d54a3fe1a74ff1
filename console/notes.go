package console

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The rule engine and alerting write their notes and reasons in English, and the
// journal keeps that text as it was. The console shows them in the operator's language
// by pattern: each known English form maps to an i18n key whose {1}, {2} … take the
// pattern's groups, each shown as its Arg says. The page (app.js) applies the same
// table, which it gets in its boot data; TranslateNote is the Go side of it, for tests
// and server-rendered text.

// notePattern is one known English form.
type notePattern struct {
	Re   string   `json:"re"`   // anchored; the same syntax in Go and JavaScript
	Key  string   `json:"key"`  // i18n key
	Args []string `json:"args"` // per group: "" as is, "dur" a Go duration, "event" an event type, "role", "matchers"
}

var notePatterns = []notePattern{
	{`^resolved by a ([a-z_]+) event$`, "note.resolved_by_event", []string{"event"}},
	{`^no matching event for ([0-9hms.]+)$`, "note.no_event_for", []string{"dur"}},
	{`^condition held for ([0-9hms.]+)$`, "note.held_for", []string{"dur"}},
	{`^nothing between ([0-9]{2}:[0-9]{2}) and ([0-9]{2}:[0-9]{2})$`, "note.nothing_between", []string{"", ""}},
	{`^nothing for ([0-9hms.]+)$`, "note.nothing_for", []string{"dur"}},
	{`^rule removed$`, "note.rule_removed", nil},
	{`^rule changed$`, "note.rule_changed", nil},
	{`^tier ([0-9]+): not acknowledged within ([0-9hms.]+)$`, "note.escalated", []string{"", "dur"}},
	{`^#([0-9]+)$`, "note.occurrence", []string{""}},
	{`^remote ([0-9A-Fa-f.:]+), role ([a-z]+)$`, "note.remote_role", []string{"", "role"}},
	{`^remote ([0-9A-Fa-f.:]+)$`, "note.remote", []string{""}},
	{`^kiosk, remote ([0-9A-Fa-f.:]+)$`, "note.kiosk_remote", []string{""}},
	{`^session ([0-9a-f]+) ended by an operator$`, "note.session_ended", []string{""}},
	{`^([^\[]*) \[([^\]]*)\] ([0-9T:+Z-]+)–([0-9T:+Z-]+) \(sil-[0-9a-f]+\)$`, "note.silence", []string{"", "matchers", "time", "time"}},
	{`^([^\[]*) \[([^\]]*)\] \(sil-[0-9a-f]+\)$`, "note.silence_end", []string{"", "matchers"}},
}

var noteREs = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(notePatterns))
	for i, p := range notePatterns {
		out[i] = regexp.MustCompile(p.Re)
	}
	return out
}()

// TranslateNote shows a journal note in lang: a known English form through the
// catalogue, anything else (a person's note) as it is. loc is for times.
func TranslateNote(lang, note string, loc *time.Location) string {
	for i, re := range noteREs {
		m := re.FindStringSubmatch(note)
		if m == nil {
			continue
		}
		p := notePatterns[i]
		out := tr(lang, p.Key)
		for g := 1; g < len(m); g++ {
			arg := ""
			if g-1 < len(p.Args) {
				arg = p.Args[g-1]
			}
			out = strings.ReplaceAll(out, "{"+strconv.Itoa(g)+"}", noteArg(lang, arg, m[g], loc))
		}
		return out
	}
	return note
}

func noteArg(lang, kind, v string, loc *time.Location) string {
	switch kind {
	case "dur":
		return HumanDuration(lang, v)
	case "event":
		return tr(lang, "event."+v)
	case "role":
		return tr(lang, "role."+v)
	case "matchers":
		parts := strings.Split(v, ",")
		for i, kv := range parts {
			if k, val, ok := strings.Cut(kv, "="); ok {
				parts[i] = tr(lang, "field."+k) + "=" + val
			}
		}
		return strings.Join(parts, lang2sep(lang))
	case "time":
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.In(loc).Format("01-02 15:04")
		}
	}
	return v
}

func lang2sep(lang string) string {
	if lang == "zh" {
		return "，"
	}
	return ", "
}

// HumanDuration shows a Go duration ("2m0s", "1h30m0s") in lang: 2分钟, 1小时30分钟.
func HumanDuration(lang, s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return s
	}
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var b strings.Builder
	add := func(n int, key string) {
		if n == 0 {
			return
		}
		if b.Len() > 0 && lang != "zh" {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ReplaceAll(tr(lang, key), "{n}", strconv.Itoa(n)))
	}
	add(h, "unit.hours")
	add(m, "unit.minutes")
	add(sec, "unit.seconds")
	if b.Len() == 0 {
		return strings.ReplaceAll(tr(lang, "unit.seconds"), "{n}", "0")
	}
	return b.String()
}
