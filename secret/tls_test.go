package secret

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/internal/testenv"
)

func TestTLSValidate(t *testing.T) {
	tests := []struct {
		name string
		tls  TLSClient
		want string
	}{
		{"none", TLSClient{}, ""},
		{"ca only, files not read", TLSClient{CAFile: "/nonexistent/ca.pem"}, ""},
		{"cert and key", TLSClient{CertFile: "/c", KeyFile: "/k"}, ""},
		{"cert without key", TLSClient{CertFile: "/c"}, "cert_file: cert_file and key_file go together"},
		{"key without cert", TLSClient{KeyFile: "/k"}, "cert_file: cert_file and key_file go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs cfgerr.List
			tt.tls.Validate(&errs)
			if got := errs.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca, _ := testenv.SelfSigned(t, dir, "ca")
	cert, key := testenv.SelfSigned(t, dir, "client")
	_, otherKey := testenv.SelfSigned(t, dir, "other")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name     string
		tls      TLSClient
		wantErr  string // Config's error contains it; Resolve records "key: ..."
		wantKey  string
		roots    bool
		certs    int
		insecure bool
	}{
		{name: "none"},
		{name: "ca", tls: TLSClient{CAFile: ca}, roots: true},
		{name: "ca with system roots", tls: TLSClient{CAFile: ca, SystemRoots: true}, roots: true},
		{name: "insecure", tls: TLSClient{InsecureSkipVerify: true}, insecure: true},
		{name: "client certificate", tls: TLSClient{CAFile: ca, CertFile: cert, KeyFile: key}, roots: true, certs: 1},
		{name: "missing ca", tls: TLSClient{CAFile: missing}, wantKey: "ca_file", wantErr: missing},
		{name: "ca not PEM", tls: TLSClient{CAFile: notPEM}, wantKey: "ca_file", wantErr: notPEM + " holds no PEM certificate"},
		{name: "missing cert", tls: TLSClient{CertFile: missing, KeyFile: key}, wantKey: "cert_file", wantErr: missing},
		{name: "missing key", tls: TLSClient{CertFile: cert, KeyFile: missing}, wantKey: "key_file", wantErr: missing},
		{name: "key of another cert", tls: TLSClient{CertFile: cert, KeyFile: otherKey}, wantKey: "cert_file", wantErr: cert + " with key " + otherKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.tls.Config()
			var errs cfgerr.List
			tt.tls.Resolve(&errs, Lookup{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), tt.wantKey+": ") {
					t.Fatalf("Config error %v, want %s: ...%s...", err, tt.wantKey, tt.wantErr)
				}
				if errs.Len() != 1 || errs.Errs[0].Key != tt.wantKey || !strings.Contains(errs.Errs[0].Msg, tt.wantErr) {
					t.Fatalf("Resolve recorded %v, want %s: ...%s...", errs.Error(), tt.wantKey, tt.wantErr)
				}
				return
			}
			if err != nil || errs.Len() != 0 {
				t.Fatalf("Config error %v, Resolve recorded %v", err, errs.Error())
			}
			if tc.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion %x", tc.MinVersion)
			}
			if (tc.RootCAs != nil) != tt.roots || len(tc.Certificates) != tt.certs || tc.InsecureSkipVerify != tt.insecure {
				t.Errorf("roots %v certs %d insecure %v", tc.RootCAs != nil, len(tc.Certificates), tc.InsecureSkipVerify)
			}
			if tt.tls.Configured() != (tt.name != "none") {
				t.Errorf("Configured = %v", tt.tls.Configured())
			}
		})
	}
	// A certificate without its key is an error of Config, and of Validate, not of Resolve.
	half := TLSClient{CertFile: cert}
	if _, err := half.Config(); err == nil || !strings.Contains(err.Error(), "cert_file: cert_file and key_file go together") {
		t.Errorf("Config error %v", err)
	}
	var errs cfgerr.List
	if half.Resolve(&errs, Lookup{}); errs.Len() != 0 {
		t.Errorf("Resolve recorded %v", errs.Error())
	}
}
