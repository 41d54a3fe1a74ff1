package webhook

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/secret"
	"github.com/campusguard/campusguard/site"
)

// Format is the body format of a webhook.
type Format string

// The formats.
const (
	FormatJSON     Format = "json"     // the alerting.Notification as JSON
	FormatTemplate Format = "template" // a Go text/template that renders JSON
	FormatWeCom    Format = "wecom"    // 企业微信 group robot, markdown message
	FormatDingTalk Format = "dingtalk" // 钉钉 custom robot, markdown message, optional signed URL
	FormatFeishu   Format = "feishu"   // 飞书 custom bot, text or interactive card, optional signature
)

// Formats lists the valid formats.
var Formats = []Format{FormatJSON, FormatTemplate, FormatWeCom, FormatDingTalk, FormatFeishu}

// Defaults applied by SetDefaults.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultRateLimitBackoff = time.Minute
	DefaultLanguage         = "zh"
	DefaultTimezone         = "Asia/Shanghai"
)

// Config is one webhook sink.
type Config struct {
	Name    string            `mapstructure:"name"`   // sink name (metrics label, health key); required
	URL     string            `mapstructure:"url"`    // endpoint; for robots the URL with its key/access_token
	Method  string            `mapstructure:"method"` // POST (default) or PUT
	Headers map[string]string `mapstructure:"headers"`
	Timeout time.Duration     `mapstructure:"timeout"` // one attempt, connect to last byte (default 5s)
	Format  Format            `mapstructure:"format"`  // json (default), template, wecom, dingtalk, feishu
	// Template is the text/template for format "template"; it must render JSON.
	Template string `mapstructure:"template"`
	// Secret signs the request: DingTalk's 加签 secret (SEC...) or Feishu's 签名校验 key.
	// Give at most one of secret, secret_file and secret_env.
	Secret     secret.Value `mapstructure:"secret"`
	SecretFile string       `mapstructure:"secret_file"` // file holding the secret (trailing newline trimmed)
	SecretEnv  string       `mapstructure:"secret_env"`  // environment variable holding the secret
	Language   string       `mapstructure:"language"`    // zh (default) or en
	Timezone   string       `mapstructure:"timezone"`    // for times in messages (default Asia/Shanghai)
	// FeishuCard sends Feishu messages as interactive cards instead of text.
	FeishuCard bool `mapstructure:"feishu_card"`
	// MentionAll @-mentions everyone in the group for critical alarms (DingTalk and Feishu;
	// WeCom markdown messages cannot mention).
	MentionAll bool `mapstructure:"mention_all"`
	// RateLimitBackoff is the retry delay reported when a robot says it is rate limited
	// (the robots send no Retry-After; default 1m).
	RateLimitBackoff time.Duration `mapstructure:"rate_limit_backoff"`
	// TLS: ca_file is an extra CA bundle (PEM) for a private endpoint, trusted beside the
	// system's roots; cert_file and key_file a client certificate.
	TLS secret.TLSClient `mapstructure:",squash"`
}

// SetDefaults fills unset values; it needs nothing from env.
func (c *Config) SetDefaults(cfgerr.Env) {
	c.TLS.SystemRoots = true
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Format == "" {
		c.Format = FormatJSON
	}
	if c.Language == "" {
		c.Language = DefaultLanguage
	}
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.RateLimitBackoff == 0 {
		c.RateLimitBackoff = DefaultRateLimitBackoff
	}
}

// Validate records every problem; keys are relative to this webhook's section. It
// renders the template with a sample notification; it reads no file and no variable
// (Resolve does, after it).
func (c *Config) Validate(errs *cfgerr.List) {
	if c.Name == "" {
		errs.Add("name", "is required")
	} else if !site.ValidID(c.Name) {
		errs.Add("name", "%q is not a valid sink name (letters, digits, _ . - only)", c.Name)
	}
	if c.URL == "" {
		errs.Add("url", "is required")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "is not an http(s) URL")
	}
	switch strings.ToUpper(c.Method) {
	case http.MethodPost, http.MethodPut:
	default:
		errs.Add("method", "%q is not POST or PUT", c.Method)
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.RateLimitBackoff < 0 {
		errs.Add("rate_limit_backoff", "must not be negative")
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			errs.Add("headers", "%q is not a valid header name", k)
		}
	}
	okFormat := false
	for _, f := range Formats {
		okFormat = okFormat || c.Format == f
	}
	if !okFormat {
		errs.Add("format", "unknown format %q (want one of %v)", c.Format, Formats)
	}
	if c.Format == FormatTemplate {
		if c.Template == "" {
			errs.Add("template", "is required for format template")
		} else if _, err := parseTemplate(c.Template); err != nil {
			errs.Add("template", "%v", err)
		}
	} else if c.Template != "" {
		errs.Add("template", "is only used with format template")
	}
	if c.Language != "zh" && c.Language != "en" {
		errs.Add("language", "%q is not zh or en", c.Language)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs.Add("timezone", "unknown time zone %q", c.Timezone)
	}
	c.Secret.Validate(errs, c.secretSources())
	if c.Secret.Given(c.secretSources()) && c.Format != FormatDingTalk && c.Format != FormatFeishu {
		errs.Add("secret", "only the dingtalk and feishu formats sign requests")
	}
	c.TLS.Validate(errs)
}

func (c *Config) secretSources() secret.Sources {
	return secret.Sources{Key: "secret", File: c.SecretFile, Env: c.SecretEnv}
}

// Resolve reads the signing secret (secret_file, secret_env or secret) and checks the
// TLS files, after Validate. Keys are relative to this webhook's section.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	c.Secret.Resolve(errs, c.secretSources(), l)
	c.TLS.Resolve(errs, l)
}
