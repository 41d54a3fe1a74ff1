package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// robotServer is a local stand-in for the WeCom, DingTalk and Feishu robot endpoints:
// it checks the URL, the body format and the signature the way the real services
// document it, and answers in their shape (HTTP 200 with an error code).
type robotServer struct {
	*httptest.Server
	kind   Format
	token  string // the key / access_token in the URL
	secret string // signing secret ("" = signing off)
	clock  clockwork.Clock
	limit  int // messages accepted before rate limiting (0 = no limit)

	mu       sync.Mutex
	received []map[string]any // accepted bodies
	headers  []http.Header
}

func newRobotServer(t testing.TB, kind Format, token, secret string, clock clockwork.Clock) *robotServer {
	r := &robotServer{kind: kind, token: token, secret: secret, clock: clock}
	r.Server = httptest.NewServer(http.HandlerFunc(r.handle))
	t.Cleanup(r.Close)
	return r
}

// URL returns the robot URL a user would copy from the chat app.
func (r *robotServer) URL() string {
	switch r.kind {
	case FormatWeCom:
		return r.Server.URL + "/cgi-bin/webhook/send?key=" + r.token
	case FormatDingTalk:
		return r.Server.URL + "/robot/send?access_token=" + r.token
	}
	return r.Server.URL + "/open-apis/bot/v2/hook/" + r.token
}

func (r *robotServer) bodies() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.received...)
}

func (r *robotServer) answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if r.kind == FormatFeishu {
		fmt.Fprintf(w, `{"code":%d,"msg":%q,"data":{}}`, code, msg)
		return
	}
	fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg)
}

func hmacB64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func within(ts time.Time, now time.Time) bool {
	d := now.Sub(ts)
	return d < time.Hour && d > -time.Hour
}

func (r *robotServer) handle(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" && ct != "application/json" {
		http.Error(w, "content type", http.StatusUnsupportedMediaType)
		return
	}
	raw, _ := io.ReadAll(req.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		r.answer(w, 40001, "invalid json")
		return
	}
	now := r.clock.Now()
	q := req.URL.Query()
	switch r.kind {
	case FormatWeCom:
		if req.URL.Path != "/cgi-bin/webhook/send" || q.Get("key") != r.token {
			r.answer(w, 93000, "invalid webhook url")
			return
		}
		md, _ := body["markdown"].(map[string]any)
		content, _ := md["content"].(string)
		switch {
		case body["msgtype"] != "markdown":
			r.answer(w, 40008, "invalid message type")
			return
		case content == "":
			r.answer(w, 44004, "empty content")
			return
		case len(content) > 4096:
			r.answer(w, 40058, "content exceed max length 4096")
			return
		}
	case FormatDingTalk:
		if req.URL.Path != "/robot/send" || q.Get("access_token") != r.token {
			r.answer(w, 300001, "token is not exist")
			return
		}
		if r.secret != "" {
			ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
			if err != nil || !within(time.UnixMilli(ms), now) || q.Get("sign") != hmacB64(r.secret, q.Get("timestamp")+"\n"+r.secret) {
				r.answer(w, 310000, "sign not match")
				return
			}
		}
		md, _ := body["markdown"].(map[string]any)
		if body["msgtype"] != "markdown" || md["title"] == "" || md["text"] == "" {
			r.answer(w, 40035, "缺少参数 markdown")
			return
		}
	case FormatFeishu:
		if req.URL.Path != "/open-apis/bot/v2/hook/"+r.token {
			r.answer(w, 19001, "param invalid: incoming webhook access token invalid")
			return
		}
		if r.secret != "" {
			ts, _ := body["timestamp"].(string)
			sec, err := strconv.ParseInt(ts, 10, 64)
			if err != nil || !within(time.Unix(sec, 0), now) || body["sign"] != hmacB64(ts+"\n"+r.secret, "") {
				r.answer(w, 19021, "sign match fail or timestamp is not within one hour from current time")
				return
			}
		}
		switch body["msg_type"] {
		case "text":
			c, _ := body["content"].(map[string]any)
			if s, _ := c["text"].(string); s == "" {
				r.answer(w, 9499, "Bad Request")
				return
			}
		case "interactive":
			if _, ok := body["card"].(map[string]any); !ok {
				r.answer(w, 11246, "card is empty")
				return
			}
		default:
			r.answer(w, 19002, "params error, msg_type need")
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.limit > 0 && len(r.received) >= r.limit {
		switch r.kind {
		case FormatWeCom:
			r.answer(w, 45009, "api freq out of limit")
		case FormatDingTalk:
			r.answer(w, 130101, "send too fast, exceed 20 times per minute")
		default:
			r.answer(w, 11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]")
		}
		return
	}
	r.received = append(r.received, body)
	r.headers = append(r.headers, req.Header.Clone())
	r.answer(w, 0, "ok")
}
