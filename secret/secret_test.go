package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
)

const hunter = "hunter2-Qm7vT2xK9pLw4RzD"

// holder is how components hold a secret: an exported field of a config struct.
type holder struct {
	Name     string
	Password Value
	Ptr      *Value
	List     []Value
	Map      map[string]Value
}

// TestRedaction: no way of printing, logging or encoding a Value shows the secret.
func TestRedaction(t *testing.T) {
	v := Inline(hunter)
	h := holder{Name: "campus", Password: v, Ptr: &v, List: []Value{v}, Map: map[string]Value{"k": v}}
	var text, js bytes.Buffer
	tl := slog.New(slog.NewTextHandler(&text, nil))
	jl := slog.New(slog.NewJSONHandler(&js, nil))
	tl.Info("msg", "password", v, "holder", h)
	jl.Info("msg", "password", v, "holder", h)
	tl.Info("group", slog.Group("g", slog.Any("p", v)))
	jl.Info("attr", slog.Any("p", &v))

	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", v),
		"%+v":        fmt.Sprintf("%+v", v),
		"%#v":        fmt.Sprintf("%#v", v),
		"%s":         fmt.Sprintf("%s", v),
		"%q":         fmt.Sprintf("%q", v),
		"%x":         fmt.Sprintf("%x", v),
		"%X":         fmt.Sprintf("%X", v),
		"%10.3s":     fmt.Sprintf("%10.3s", v),
		"struct %v":  fmt.Sprintf("%v", h),
		"struct %+v": fmt.Sprintf("%+v", h),
		"struct %#v": fmt.Sprintf("%#v", h),
		"ptr %v":     fmt.Sprintf("%v", &v),
		"Sprint":     fmt.Sprint(v, h),
		"Sprintln":   fmt.Sprintln(v),
		"Errorf %w":  fmt.Errorf("wrap: %w", errors.New(fmt.Sprint(v))).Error(),
		"slog text":  text.String(),
		"slog json":  js.String(),
		"String":     v.String(),
		"GoString":   v.GoString(),
	}
	if b, err := json.Marshal(h); err != nil {
		t.Fatal(err)
	} else {
		outputs["json.Marshal"] = string(b)
	}
	if b, err := json.Marshal(map[Value]Value{v: v}); err != nil {
		t.Fatal(err)
	} else {
		outputs["json map key"] = string(b)
	}
	if b, err := yaml.Marshal(h); err != nil {
		t.Fatal(err)
	} else {
		outputs["yaml.Marshal"] = string(b)
	}
	if b, err := v.MarshalText(); err != nil {
		t.Fatal(err)
	} else {
		outputs["MarshalText"] = string(b)
	}
	for name, out := range outputs {
		if strings.Contains(out, hunter) || strings.Contains(out, "hunter2") ||
			strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", hunter)) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) && name != "%x" && name != "%X" && name != "%10.3s" {
			t.Errorf("%s does not say %s: %s", name, Redacted, out)
		}
	}
	if v.Reveal() != hunter {
		t.Errorf("Reveal = %q", v.Reveal())
	}
}

// TestRedactionUnset: a missing secret shows as empty, not as a secret.
func TestRedactionUnset(t *testing.T) {
	var v Value
	tests := []struct{ name, got, want string }{
		{"%v", fmt.Sprintf("%v", v), ""},
		{"%q", fmt.Sprintf("%q", v), `""`},
		{"%#v", fmt.Sprintf("%#v", v), `secret.Value("")`},
		{"json", func() string { b, _ := json.Marshal(v); return string(b) }(), `""`},
		{"set %q", fmt.Sprintf("%q", Inline("x")), `"[redacted]"`},
		{"set %#v", fmt.Sprintf("%#v", Inline("x")), `secret.Value("[redacted]")`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	if !v.IsZero() || Inline("x").IsZero() {
		t.Error("IsZero")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		inline Value
		src    Sources
		want   string // "" = no problem
	}{
		{"inline", Inline("x"), Sources{Key: "password"}, ""},
		{"file", Value{}, Sources{Key: "password", File: "/f"}, ""},
		{"env", Value{}, Sources{Key: "secret", Env: "V"}, ""},
		{"none", Value{}, Sources{Key: "secret"}, ""},
		{"override does not count", Inline("x"), Sources{Key: "key", Override: []string{"K"}}, ""},
		{"inline and file", Inline("x"), Sources{Key: "brokers[1].password", File: "/f"},
			"brokers[1].password: password and password_file are both given; give one"},
		{"all three", Inline("x"), Sources{Key: "ack.secret", File: "/f", Env: "V"},
			"ack.secret: secret, secret_file and secret_env are all given; give one"},
		{"file and env", Value{}, Sources{Key: "secret", File: "/f", Env: "V"},
			"secret: secret_file and secret_env are both given; give one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs cfgerr.List
			tt.inline.Validate(&errs, tt.src)
			if got := errs.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	files := map[string]string{
		"/s/pw":    "s3cret\n",
		"/s/crlf":  "s3cret\r\n",
		"/s/space": " s3 cret \n\n",
		"/s/empty": "\n",
	}
	env := map[string]string{"A": "from-a", "B": "from-b", "SECRET": "from-secret"}
	l := Lookup{
		Getenv: func(k string) string { return env[k] },
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
	}
	tests := []struct {
		name    string
		inline  Value
		src     Sources
		want    string
		wantErr string
	}{
		{"inline stays", Inline("x"), Sources{Key: "password"}, "x", ""},
		{"nothing", Value{}, Sources{Key: "password"}, "", ""},
		{"file trims the newline", Value{}, Sources{Key: "password", File: "/s/pw"}, "s3cret", ""},
		{"file trims CRLF", Value{}, Sources{Key: "password", File: "/s/crlf"}, "s3cret", ""},
		{"file keeps spaces", Value{}, Sources{Key: "password", File: "/s/space"}, " s3 cret ", ""},
		{"missing file", Value{}, Sources{Key: "brokers[0].password", File: "/s/none"}, "",
			"brokers[0].password_file: open /s/none: file does not exist"},
		{"empty file", Value{}, Sources{Key: "token", File: "/s/empty"}, "", "token_file: /s/empty is empty"},
		{"env", Value{}, Sources{Key: "secret", Env: "SECRET"}, "from-secret", ""},
		{"env not set", Value{}, Sources{Key: "secret", Env: "NOPE"}, "", "secret_env: environment variable NOPE is not set"},
		{"override wins over inline", Inline("x"), Sources{Key: "key", Override: []string{"A"}}, "from-a", ""},
		{"override wins over a missing file", Value{}, Sources{Key: "key", File: "/s/none", Override: []string{"A"}}, "from-a", ""},
		{"first override set", Value{}, Sources{Key: "token", Override: []string{"UNSET", "B", "A"}}, "from-b", ""},
		{"override unset", Inline("x"), Sources{Key: "key", Override: []string{"UNSET"}}, "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.inline
			var errs cfgerr.List
			v.Resolve(&errs, tt.src, l)
			if got := errs.Error(); got != tt.wantErr {
				t.Errorf("errors %q, want %q", got, tt.wantErr)
			}
			if v.Reveal() != tt.want {
				t.Errorf("value %q, want %q", v.Reveal(), tt.want)
			}
			// Validating the resolved value again finds what it found before.
			var before, after cfgerr.List
			tt.inline.Validate(&before, tt.src)
			v.Validate(&after, tt.src)
			if before.Error() != after.Error() {
				t.Errorf("Validate after Resolve: %q, before: %q", after.Error(), before.Error())
			}
		})
	}
}
