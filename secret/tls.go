package secret

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/campusguard/campusguard/cfgerr"
)

// TLSClient is the TLS of a connection the gateway dials (an MQTT broker, InfluxDB, a
// webhook). A section holds it under its own keys: squashed into the section
// (`mapstructure:",squash"`: ca_file beside url) or in a tls: mapping.
type TLSClient struct {
	// CAFile is a PEM bundle of the CAs trusted for the server (default: the system's
	// roots).
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are the client certificate and its key (PEM), both or neither.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// InsecureSkipVerify turns off the server's certificate check (test installations).
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
	// SystemRoots makes CAFile add to the system's roots instead of replacing them
	// (set by the component, not the config: a webhook's extra CA for a private
	// endpoint beside public ones).
	SystemRoots bool `mapstructure:"-"`
}

// Configured reports whether any TLS setting is given.
func (t TLSClient) Configured() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.InsecureSkipVerify
}

// Validate records problems with keys relative to where the TLS keys are ("cert_file").
// It does no I/O: Resolve checks the files.
func (t TLSClient) Validate(errs *cfgerr.List) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs.Add("cert_file", "cert_file and key_file go together")
	}
}

// Resolve reads the files (CA bundle, client certificate and key) as Config would and
// records a problem at the key of the file that has it. A certificate without its key
// is Validate's to report, not again here.
func (t TLSClient) Resolve(errs *cfgerr.List, l Lookup) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		t.CertFile, t.KeyFile = "", ""
	}
	if _, key, err := t.build(l); err != nil {
		errs.Add(key, "%v", err)
	}
}

// Config builds the client's *tls.Config: TLS 1.2 at least, the CA pool of CAFile
// (with the system's roots for SystemRoots; the system's alone without CAFile), the
// client certificate. Its errors name the key and the file.
func (t TLSClient) Config() (*tls.Config, error) {
	tc, key, err := t.build(Lookup{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return tc, nil
}

// build returns the config, or the key of the file at fault and the problem.
func (t TLSClient) build(l Lookup) (*tls.Config, string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // the operator's explicit choice, for test installations
	if t.CAFile != "" {
		pem, err := l.readFile(t.CAFile)
		if err != nil {
			return nil, "ca_file", err // os errors name the file
		}
		pool := x509.NewCertPool()
		if t.SystemRoots {
			if sys, err := x509.SystemCertPool(); err == nil {
				pool = sys
			}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "ca_file", fmt.Errorf("%s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, "cert_file", errors.New("cert_file and key_file go together")
		}
		certPEM, err := l.readFile(t.CertFile)
		if err != nil {
			return nil, "cert_file", err
		}
		keyPEM, err := l.readFile(t.KeyFile)
		if err != nil {
			return nil, "key_file", err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, "cert_file", fmt.Errorf("%s with key %s: %w", t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, "", nil
}
