package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"text/template"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

// Size limits of the robots' messages (bytes of UTF-8).
const (
	wecomMaxContent = 4096
	robotMaxContent = 18000
)

// TemplateData is what a "template" body template sees: the notification's fields
// (.ID, .Transition, .Alarm, .Group, .Count, .At, .Tier) plus the rendered texts.
// Functions: json (any value as a JSON literal: {"text": {{json .Text}}}), time (a
// time.Time in the sink's time zone, "2006-01-02 15:04:05"), severity (the localized
// severity word).
type TemplateData struct {
	alerting.Notification
	Title    string // 【紧急】一键报警 校门门卫室 2026-11-20 21:03:12 已触发
	Text     string // title and detail lines, plain text
	Markdown string // title and detail lines, markdown
	Snapshot string // snapshot URL of a camera alarm ("" if none)
}

func templateFuncs(t *texter) template.FuncMap {
	return template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"time":     func(ts time.Time) string { return t.time(ts) },
		"severity": func(s alerting.Severity) string { return t.severity(s) },
	}
}

// parseTemplate parses src and renders it once with a sample notification, checking
// that the result is JSON.
func parseTemplate(src string) (*template.Template, error) {
	loc, _ := time.LoadLocation(DefaultTimezone)
	if loc == nil {
		loc = time.UTC
	}
	t := &texter{w: &zh, loc: loc}
	tpl, err := template.New("body").Option("missingkey=error").Funcs(templateFuncs(t)).Parse(src)
	if err != nil {
		return nil, err
	}
	if _, err := renderTemplate(tpl, t, SampleNotification()); err != nil {
		return nil, fmt.Errorf("rendering a sample notification: %w", err)
	}
	return tpl, nil
}

func renderTemplate(tpl *template.Template, t *texter, n alerting.Notification) ([]byte, error) {
	d := TemplateData{Notification: n, Title: t.Title(&n), Text: t.Text(&n), Markdown: t.Markdown(&n), Snapshot: snapshot(&n.Alarm)}
	var b bytes.Buffer
	if err := tpl.Execute(&b, d); err != nil {
		return nil, err
	}
	if !json.Valid(b.Bytes()) {
		return nil, errors.New("the template did not produce valid JSON (quote values with {{json .X}})")
	}
	return b.Bytes(), nil
}

// SampleNotification is the notification templates are checked with at load.
func SampleNotification() alerting.Notification {
	at := time.Date(2026, 11, 20, 13, 3, 12, 0, time.UTC)
	a := alerting.Alarm{
		ID: "s01-panic-box-gate-1", Rule: "panic", Key: "box-gate", Site: "s01", DeviceID: "box-gate",
		DeviceKind: event.KindPanic, Zone: "guardroom", Location: "校门门卫室", Severity: alerting.Critical,
		Labels: map[string]string{"building": "gate"}, Message: "门卫室一键报警按钮被按下",
		Fields: event.Fields{"snapshot_url": "http://10.0.0.21/snap/8812.jpg"}, State: alerting.Firing,
		Latched: true, Count: 1, FiredAt: at, LastAt: at,
	}
	return alerting.Notification{ID: "s01-panic-box-gate-1/fired", Transition: alerting.Fired, Alarm: a, Count: 1, At: at}
}

// robot bodies (the public APIs' JSON shapes).

type wecomBody struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

type dingtalkBody struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	At struct {
		IsAtAll bool `json:"isAtAll"`
	} `json:"at"`
}

type feishuBody struct {
	Timestamp string `json:"timestamp,omitempty"`
	Sign      string `json:"sign,omitempty"`
	MsgType   string `json:"msg_type"`
	Content   *struct {
		Text string `json:"text"`
	} `json:"content,omitempty"`
	Card *feishuCard `json:"card,omitempty"`
}

type feishuCard struct {
	Header struct {
		Title struct {
			Tag     string `json:"tag"`
			Content string `json:"content"`
		} `json:"title"`
		Template string `json:"template"`
	} `json:"header"`
	Elements []feishuElement `json:"elements"`
}

type feishuElement struct {
	Tag  string `json:"tag"`
	Text struct {
		Tag     string `json:"tag"`
		Content string `json:"content"`
	} `json:"text"`
}

var cardColour = map[alerting.Severity]string{
	alerting.Critical: "red", alerting.Major: "orange", alerting.Minor: "yellow", alerting.Info: "blue",
}

// body renders n in the sink's format; for signed robots it also returns the query
// parameters to add to the URL.
func (s *Sink) body(n alerting.Notification, now time.Time) ([]byte, url.Values, error) {
	t := s.text
	switch s.cfg.Format {
	case FormatTemplate:
		b, err := renderTemplate(s.tpl, t, n)
		return b, nil, err
	case FormatWeCom:
		var b wecomBody
		b.MsgType = "markdown"
		b.Markdown.Content = truncate(t.Markdown(&n), wecomMaxContent)
		out, err := marshal(b)
		return out, nil, err
	case FormatDingTalk:
		var b dingtalkBody
		b.MsgType = "markdown"
		b.Markdown.Title = t.Title(&n)
		b.Markdown.Text = truncate(t.Markdown(&n), robotMaxContent)
		b.At.IsAtAll = s.cfg.MentionAll && n.Alarm.Severity == alerting.Critical
		out, err := marshal(b)
		var q url.Values
		if s.secret != "" {
			ts, sign := DingTalkSign(s.secret, now)
			q = url.Values{"timestamp": {ts}, "sign": {sign}}
		}
		return out, q, err
	case FormatFeishu:
		var b feishuBody
		if s.secret != "" {
			b.Timestamp, b.Sign = FeishuSign(s.secret, now)
		}
		if s.cfg.FeishuCard {
			c := &feishuCard{}
			c.Header.Title.Tag, c.Header.Title.Content = "plain_text", t.Title(&n)
			c.Header.Template = cardColour[n.Alarm.Severity]
			if c.Header.Template == "" {
				c.Header.Template = "blue"
			}
			e := feishuElement{Tag: "div"}
			e.Text.Tag, e.Text.Content = "lark_md", truncate(t.MarkdownDetails(&n), robotMaxContent)
			if s.cfg.MentionAll && n.Alarm.Severity == alerting.Critical {
				e.Text.Content += "\n<at id=all></at>"
			}
			c.Elements = []feishuElement{e}
			b.MsgType, b.Card = "interactive", c
		} else {
			text := truncate(t.Text(&n), robotMaxContent)
			if s.cfg.MentionAll && n.Alarm.Severity == alerting.Critical {
				text += "\n<at user_id=\"all\">所有人</at>"
			}
			b.MsgType = "text"
			b.Content = &struct {
				Text string `json:"text"`
			}{text}
		}
		out, err := marshal(b)
		return out, nil, err
	}
	out, err := json.Marshal(n)
	if err != nil { // a field value JSON cannot hold (NaN): send the rest
		n.Alarm.Fields = nil
		g := make([]alerting.Alarm, len(n.Group))
		for i, a := range n.Group {
			a.Fields = nil
			g[i] = a
		}
		n.Group = g
		out, err = json.Marshal(n)
	}
	return out, nil, err
}

// marshal is json.Marshal without HTML escaping (Feishu's <at> tags stay readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// DingTalkSign is DingTalk's 加签: timestamp in milliseconds and
// base64(HMAC-SHA256(key=secret, msg=timestamp+"\n"+secret)); both go in the URL query
// (url.Values encodes the signature).
func DingTalkSign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + secret))
	return timestamp, base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// FeishuSign is Feishu's 签名校验: timestamp in seconds and
// base64(HMAC-SHA256(key=timestamp+"\n"+secret, msg=empty)); both go in the body.
func FeishuSign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return timestamp, base64.StdEncoding.EncodeToString(m.Sum(nil))
}
