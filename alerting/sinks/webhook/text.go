package webhook

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

// words are the fixed words of a message in one language.
type words struct {
	sev        map[alerting.Severity]string
	kind       map[event.Kind]string
	transition map[alerting.Transition]string
	test       string
	labels     map[string]string
	more       string // "…and %d more"
	total      string // "%d alarms"
	snapshot   string
	sep        string // between label and value
}

var zh = words{
	sev: map[alerting.Severity]string{alerting.Critical: "紧急", alerting.Major: "重要", alerting.Minor: "一般", alerting.Info: "提示"},
	kind: map[event.Kind]string{
		event.KindPanic: "一键报警", event.KindAntiFall: "防坠落", event.KindPatrol: "电子巡查",
		event.KindKitchenCamera: "明厨亮灶", event.KindSiren: "声光报警", event.KindSystem: "系统",
	},
	transition: map[alerting.Transition]string{
		alerting.Fired: "已触发", alerting.Refired: "再次触发", alerting.Acked: "已确认",
		alerting.Escalated: "已升级", alerting.ResolvedT: "已解除", alerting.ConditionEnd: "已恢复（待复位）",
	},
	test: "【测试】",
	labels: map[string]string{
		"severity": "级别", "location": "位置", "time": "时间", "message": "内容", "device": "设备",
		"count": "触发次数", "acked": "确认", "note": "备注", "resolved": "解除", "escalation": "升级",
		"id": "编号", "group": "告警数", "tier": "通知级别",
	},
	more:     "……另有 %d 条",
	total:    "%d 条",
	snapshot: "抓拍图片",
	sep:      "：",
}

var en = words{
	sev: map[alerting.Severity]string{alerting.Critical: "CRITICAL", alerting.Major: "MAJOR", alerting.Minor: "MINOR", alerting.Info: "INFO"},
	kind: map[event.Kind]string{
		event.KindPanic: "Panic button", event.KindAntiFall: "Anti-fall", event.KindPatrol: "Patrol",
		event.KindKitchenCamera: "Kitchen camera", event.KindSiren: "Siren", event.KindSystem: "System",
	},
	transition: map[alerting.Transition]string{
		alerting.Fired: "fired", alerting.Refired: "fired again", alerting.Acked: "acknowledged",
		alerting.Escalated: "escalated", alerting.ResolvedT: "resolved", alerting.ConditionEnd: "cleared (awaiting reset)",
	},
	test: "[TEST] ",
	labels: map[string]string{
		"severity": "Severity", "location": "Location", "time": "Time", "message": "Message", "device": "Device",
		"count": "Triggers", "acked": "Acknowledged", "note": "Note", "resolved": "Resolved", "escalation": "Escalation",
		"id": "ID", "group": "Alarms", "tier": "Tier",
	},
	more:     "…and %d more",
	total:    "%d alarms",
	snapshot: "snapshot",
	sep:      ": ",
}

// SnapshotFields are the alarm fields, in order, that may hold a camera snapshot URL.
var SnapshotFields = []string{"snapshot_url", "snapshot", "image_url", "picture_url"}

const timeLayout = "2006-01-02 15:04:05"

// maxGroupLines is how many alarms of a group a message lists.
const maxGroupLines = 10

// texter renders the human text of notifications.
type texter struct {
	w   *words
	loc *time.Location
}

func (t *texter) time(ts time.Time) string {
	if ts.IsZero() {
		return ""
	}
	return ts.In(t.loc).Format(timeLayout)
}

func (t *texter) severity(s alerting.Severity) string {
	if v, ok := t.w.sev[s]; ok {
		return v
	}
	return string(s)
}

func (t *texter) what(a *alerting.Alarm) string {
	if v, ok := t.w.kind[a.DeviceKind]; ok {
		return v
	}
	if a.Rule != "" {
		return a.Rule
	}
	return string(a.DeviceKind)
}

func location(a *alerting.Alarm) string {
	switch {
	case a.Location != "":
		return oneLine(a.Location)
	case a.Zone != "":
		return oneLine(a.Zone)
	}
	return oneLine(a.DeviceID)
}

// when is the notification's time: the transition's, else the alarm's last trigger.
func when(n *alerting.Notification) time.Time {
	switch {
	case !n.At.IsZero():
		return n.At
	case !n.Alarm.LastAt.IsZero():
		return n.Alarm.LastAt
	}
	return n.Alarm.FiredAt
}

// snapshot returns the alarm's snapshot URL ("" when none is an http(s) URL).
func snapshot(a *alerting.Alarm) string {
	for _, k := range SnapshotFields {
		v := a.Fields.String(k)
		if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
			return oneLine(v)
		}
	}
	return ""
}

// Title is the one-line summary: 【紧急】一键报警 校门门卫室 2026-11-20 21:03:12 已触发.
func (t *texter) Title(n *alerting.Notification) string {
	a := &n.Alarm
	var b strings.Builder
	if a.Test {
		b.WriteString(t.w.test)
	}
	if t.w == &zh {
		fmt.Fprintf(&b, "【%s】", t.severity(a.Severity))
	} else {
		fmt.Fprintf(&b, "[%s] ", t.severity(a.Severity))
	}
	b.WriteString(t.what(a))
	if loc := location(a); loc != "" {
		b.WriteString(" ")
		b.WriteString(loc)
	}
	if n.Count > 1 {
		b.WriteString(" ")
		b.WriteString(fmt.Sprintf(t.w.total, n.Count))
	}
	if ts := t.time(when(n)); ts != "" {
		b.WriteString(" ")
		b.WriteString(ts)
	}
	if tr, ok := t.w.transition[n.Transition]; ok {
		b.WriteString(" ")
		b.WriteString(tr)
	}
	return b.String()
}

// lines are the label/value lines of the body, in order.
func (t *texter) lines(n *alerting.Notification) [][2]string {
	a := &n.Alarm
	l := t.w.labels
	out := [][2]string{{l["severity"], t.severity(a.Severity)}}
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{l[k], v})
		}
	}
	add("location", location(a))
	add("time", t.time(when(n)))
	add("message", oneLine(a.Message))
	add("device", oneLine(a.DeviceID))
	if a.Count > 1 {
		add("count", fmt.Sprint(a.Count))
	}
	if n.Count > 1 {
		add("group", fmt.Sprint(n.Count))
	}
	if a.AckedBy != "" {
		add("acked", strings.TrimSpace(oneLine(a.AckedBy)+" "+t.time(a.AckedAt)))
		add("note", oneLine(a.AckNote))
	}
	if a.State == alerting.Resolved || n.Transition == alerting.ResolvedT {
		add("resolved", strings.TrimSpace(oneLine(a.ResolvedBy)+" "+t.time(a.ResolvedAt)+" "+oneLine(a.Reason)))
	}
	if a.Escalation > 0 {
		add("escalation", fmt.Sprint(a.Escalation))
	}
	add("id", a.ID)
	return out
}

// group lists the alarms of a grouped notification (at most maxGroupLines).
func (t *texter) group(n *alerting.Notification) []string {
	if len(n.Group) < 2 {
		return nil
	}
	var out []string
	for i := range n.Group {
		if i == maxGroupLines {
			out = append(out, fmt.Sprintf(t.w.more, len(n.Group)-i))
			break
		}
		g := &n.Group[i]
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", location(g), t.time(g.LastAt), oneLine(g.Message))))
	}
	return out
}

// Text is the plain-text body (title, then one "label：value" line each).
func (t *texter) Text(n *alerting.Notification) string {
	var b strings.Builder
	b.WriteString(t.Title(n))
	for _, l := range t.lines(n) {
		b.WriteString("\n" + l[0] + t.w.sep + l[1])
	}
	for i, g := range t.group(n) {
		fmt.Fprintf(&b, "\n%d. %s", i+1, g)
	}
	if u := snapshot(&n.Alarm); u != "" {
		b.WriteString("\n" + t.w.snapshot + t.w.sep + u)
	}
	return b.String()
}

// Markdown is the body for the robots' markdown messages: a heading with the title,
// then the details.
func (t *texter) Markdown(n *alerting.Notification) string {
	return "### " + t.Title(n) + "\n\n" + t.MarkdownDetails(n)
}

// MarkdownDetails is Markdown without the heading (for Feishu cards, whose header holds
// the title and whose lark_md has no headings).
func (t *texter) MarkdownDetails(n *alerting.Notification) string {
	var b strings.Builder
	for i, l := range t.lines(n) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("- **" + l[0] + "**" + t.w.sep + l[1])
	}
	if g := t.group(n); len(g) > 0 {
		b.WriteString("\n")
		for i, s := range g {
			fmt.Fprintf(&b, "\n%d. %s", i+1, s)
		}
	}
	if u := snapshot(&n.Alarm); u != "" {
		b.WriteString("\n\n[" + t.w.snapshot + "](" + u + ")")
	}
	return b.String()
}

// oneLine folds line breaks so a value cannot break the message's layout.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
