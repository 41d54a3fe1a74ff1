package centre

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// maxFrame bounds one TCP frame (a DC-09 frame is at most about 4 KiB).
const maxFrame = 64 << 10

// run is one Start..Stop period of a Receiver.
type run struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once every goroutine of the run returned
	wg     sync.WaitGroup
	ln     net.Listener   // nil when TCP is not served
	pc     net.PacketConn // nil when UDP is not served

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

// Start binds the listeners, the first time on 127.0.0.1 with ports chosen by
// the system, afterwards on the same ports (to simulate a restart), and
// serves until ctx is done or Stop is called. It returns once the receiver
// accepts frames.
func (r *Receiver) Start(ctx context.Context) error {
	r.lifecycle.Lock()
	defer r.lifecycle.Unlock()
	r.mu.Lock()
	old, network := r.run, r.cfg.Network
	tcpAddr, udpAddr := r.tcpAddr, r.udpAddr
	r.mu.Unlock()
	if old != nil {
		select {
		case <-old.done: // ended by its context; start afresh
		default:
			return errors.New("centre: receiver already running")
		}
	}
	serveTCP, serveUDP := network == "" || network == "tcp", network == "" || network == "udp"
	if !serveTCP && !serveUDP {
		return fmt.Errorf("centre: network %q, want \"tcp\", \"udp\" or \"\"", network)
	}
	rn := &run{done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	var lc net.ListenConfig
	if serveTCP {
		if tcpAddr == "" {
			tcpAddr = "127.0.0.1:0"
		}
		ln, err := lc.Listen(ctx, "tcp", tcpAddr)
		if err != nil {
			return fmt.Errorf("centre: listen tcp %s: %w", tcpAddr, err)
		}
		rn.ln, tcpAddr = ln, ln.Addr().String()
	}
	if serveUDP {
		if udpAddr == "" {
			udpAddr = "127.0.0.1:0"
		}
		pc, err := lc.ListenPacket(ctx, "udp", udpAddr)
		if err != nil {
			if rn.ln != nil {
				rn.ln.Close()
			}
			return fmt.Errorf("centre: listen udp %s: %w", udpAddr, err)
		}
		rn.pc, udpAddr = pc, pc.LocalAddr().String()
	}
	r.mu.Lock()
	if serveTCP {
		r.tcpAddr = tcpAddr
	}
	if serveUDP {
		r.udpAddr = udpAddr
	}
	r.run = rn
	r.mu.Unlock()

	runCtx, cancel := context.WithCancel(ctx)
	rn.cancel = cancel
	if rn.ln != nil {
		rn.wg.Add(1)
		go r.acceptLoop(rn)
	}
	if rn.pc != nil {
		rn.wg.Add(1)
		go r.udpLoop(rn)
	}
	go func() {
		<-runCtx.Done()
		rn.closeAll()
		rn.wg.Wait()
		close(rn.done)
	}()
	return nil
}

// Stop closes the listeners and all connections and waits for every
// goroutine of the receiver to return. Records, script and addresses are
// kept; Start serves again on the same ports. Stop on a stopped receiver
// returns nil.
func (r *Receiver) Stop() error {
	r.lifecycle.Lock()
	defer r.lifecycle.Unlock()
	r.mu.Lock()
	rn := r.run
	r.run = nil
	r.mu.Unlock()
	if rn == nil {
		return nil
	}
	rn.cancel()
	<-rn.done
	return nil
}

// closeAll closes the listeners and connections of the run; later
// connections are refused by track.
func (rn *run) closeAll() {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.closed = true
	if rn.ln != nil {
		rn.ln.Close()
	}
	if rn.pc != nil {
		rn.pc.Close()
	}
	for c := range rn.conns {
		c.Close()
	}
}

// track registers c for closeAll; false when the run is closing.
func (rn *run) track(c net.Conn) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.closed {
		return false
	}
	rn.conns[c] = struct{}{}
	return true
}

func (rn *run) untrack(c net.Conn) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	delete(rn.conns, c)
}

func (r *Receiver) acceptLoop(rn *run) {
	defer rn.wg.Done()
	for {
		c, err := rn.ln.Accept()
		if err != nil {
			return // closed by closeAll (or a fatal listener error)
		}
		if !rn.track(c) {
			c.Close()
			return
		}
		rn.wg.Add(1) // the loop's own count keeps the group above zero
		go r.serveConn(rn, c)
	}
}

// serveConn answers the frames of one TCP connection, in order.
func (r *Receiver) serveConn(rn *run, c net.Conn) {
	defer rn.wg.Done()
	defer rn.untrack(c)
	defer c.Close()
	from := c.RemoteAddr().String()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), maxFrame)
	sc.Split(dc09.ScanFrames)
	for sc.Scan() {
		reply := r.handle("tcp", from, bytes.Clone(sc.Bytes()))
		if reply == nil {
			continue
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

// udpLoop answers datagrams, one frame each.
func (r *Receiver) udpLoop(rn *run) {
	defer rn.wg.Done()
	buf := make([]byte, maxFrame)
	for {
		n, addr, err := rn.pc.ReadFrom(buf)
		if err != nil {
			return // closed by closeAll (or a fatal socket error)
		}
		reply := r.handle("udp", addr.String(), bytes.Clone(buf[:n]))
		if reply != nil {
			_, _ = rn.pc.WriteTo(reply, addr) // best effort, like UDP itself
		}
	}
}
