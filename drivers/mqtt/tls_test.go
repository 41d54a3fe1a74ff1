package mqtt

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/secret"
)

// TestTLSClientCertAndPassword: ssl:// with a private CA, a client certificate and a
// password taken from the environment override, against a real Mosquitto.
func TestTLSClientCertAndPassword(t *testing.T) {
	if _, err := os.Stat("/usr/bin/mosquitto_passwd"); err != nil {
		testenv.Unavailable(t, "mosquitto_passwd is not installed")
	}
	dir := t.TempDir()
	now := time.Now()
	ca, caKey := testenv.WriteCert(t, dir, "ca", &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	testenv.WriteCert(t, dir, "server", &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, caKey)
	testenv.WriteCert(t, dir, "client", &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "gateway"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, caKey)
	pwfile := filepath.Join(dir, "passwd")
	if out, err := exec.Command("/usr/bin/mosquitto_passwd", "-c", "-b", pwfile, "gw", "pa55").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	m := testenv.StartMosquitto(t, "cafile "+filepath.Join(dir, "ca.crt")+"\ncertfile "+filepath.Join(dir, "server.crt")+
		"\nkeyfile "+filepath.Join(dir, "server.key")+"\nrequire_certificate true\npassword_file "+pwfile+"\nallow_anonymous false\n")

	cfg := kitchenConfig(t, m.URL("ssl"), t.TempDir())
	b := &cfg.Brokers[0]
	b.Username = "gw"
	b.PasswordFile = filepath.Join(dir, "wrong-password")
	if err := os.WriteFile(b.PasswordFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.TLS = secret.TLSClient{CAFile: filepath.Join(dir, "ca.crt"), CertFile: filepath.Join(dir, "client.crt"), KeyFile: filepath.Join(dir, "client.key")}
	env := map[string]string{EnvPasswordVar("campus"): "pa55"} // the override wins over the file
	var errs cfgerr.List
	if cfg.Resolve(&errs, secret.Lookup{Getenv: func(k string) string { return env[k] }}); errs.Len() > 0 {
		t.Fatal(errs.Error())
	}
	h := startDriver(t, cfg)
	if err := h.d.Publish(t.Context(), "campus", "school/s01/kitchen/cam-1/ai", 1, false, []byte(detection(3))); err != nil {
		t.Fatal(err)
	}
	if e := h.next(); e.DeviceID != "cam-1" || e.Fields["channel"] != int64(3) {
		t.Fatalf("got %v", e)
	}
}
