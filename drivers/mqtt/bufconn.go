package mqtt

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"
	"os"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// readBufSize is the read buffer under paho: its packet reader asks the socket for one
// byte at a time while it reads a fixed header and remaining length (a read syscall
// each); through the buffer a burst of messages costs a few reads.
const readBufSize = 32 << 10

// bufConn is a connection whose reads go through a buffer.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufferedOpener returns paho's connection opener with a read buffer for the plain TCP
// and TLS schemes, or nil (paho's own) for the others (WebSocket, unix) and when a
// proxy is set in the environment (paho honours it; this opener does not).
func bufferedOpener(rawURL string) paho.OpenConnectionFunc {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	for _, v := range []string{"all_proxy", "ALL_PROXY"} {
		if os.Getenv(v) != "" {
			return nil
		}
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
	default:
		return nil
	}
	return func(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
		d := o.Dialer
		if d == nil {
			d = &net.Dialer{Timeout: o.ConnectTimeout}
		}
		var c net.Conn
		var err error
		switch uri.Scheme {
		case "tcp", "mqtt":
			c, err = d.Dial("tcp", uri.Host)
		default:
			c, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
		}
		if err != nil {
			return nil, err
		}
		return &bufConn{Conn: c, r: bufio.NewReaderSize(c, readBufSize)}, nil
	}
}
