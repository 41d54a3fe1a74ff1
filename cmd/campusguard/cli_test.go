package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/internal/testenv"
)

func TestFailureExitCodes(t *testing.T) {
	problems := &cfgerr.List{}
	problems.Add("site.id", "is required")
	tests := []struct {
		name     string
		err      error
		code     int
		contains string
	}{
		{"config problems", problems, 3, "the config has 1 problem(s):"},
		{"wrapped config problems", errors.Join(errors.New("load"), problems), 3, "site.id"},
		{"anything else", errors.New("disk on fire"), 1, "campusguard tool: disk on fire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := failure(&out, "campusguard tool", "the config has ", tc.err); code != tc.code {
				t.Fatalf("exit code %d, want %d", code, tc.code)
			}
			if !strings.Contains(out.String(), tc.contains) {
				t.Fatalf("said %q, want it to contain %q", out.String(), tc.contains)
			}
		})
	}
}

func TestGetFromDaemon(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/-/ok" {
			http.Error(w, "no such tool", http.StatusNotFound)
			return
		}
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, addr, path string
		want, wantErr    string
	}{
		{"answered", addr, "/-/ok", "body", ""},
		{"refused", addr, "/-/other", "", "404 Not Found: no such tool"},
		{"no daemon", testenv.FreeAddr(t), "/-/ok", "", "connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := getFromDaemon(context.Background(), tc.addr, tc.path, time.Minute)
			if tc.wantErr == "" {
				if err != nil || string(b) != tc.want {
					t.Fatalf("got %q, %v; want %q", b, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
