package server

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// edgeListener is the public listener as fasthttp sees it. It keeps the edge serving when the
// process runs out of file descriptors: fasthttp's Serve returns on any accept error that is
// not a timeout, and Serve returning stops the edge. So:
//   - Accept waits and tries again on EMFILE, ENFILE, ENOBUFS and ENOMEM (5 ms doubling to 1 s,
//     as net/http does); the connections meanwhile wait in the kernel's backlog.
//   - Connections over the cap (total, and per client address when set) are answered 503 with
//     an RFC 7807 body and closed at once, so that descriptors remain for the vault, the
//     destinations and the admin listener.
//
// Every connection it hands out is a coarseConn that gives its slot back when closed.
type edgeListener struct {
	net.Listener
	log   *slog.Logger
	max   int64 // open connections at most
	perIP int   // per client address; 0: no cap

	conns    connSet // the admitted connections
	open     atomic.Int64
	mu       sync.Mutex
	byIP     map[netip.Addr]int // only with perIP
	lastWarn atomic.Int64       // UnixNano of the last "out of descriptors" line
}

func newEdgeListener(l net.Listener, log *slog.Logger, max, perIP int) *edgeListener {
	return &edgeListener{Listener: l, log: log, max: int64(max), perIP: perIP, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the caps.
func (l *edgeListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !outOfResources(err) {
				return nil, err
			}
			wait = min(max(2*wait, 5*time.Millisecond), time.Second)
			l.warnExhausted(err)
			time.Sleep(wait)
			continue
		}
		wait = 0
		ip, ok := l.admit(c)
		if !ok {
			refuseConn(c)
			continue
		}
		cc := &coarseConn{Conn: c, set: &l.conns, owner: l, ip: ip}
		l.conns.add(cc)
		return cc, nil
	}
}

// outOfResources reports whether an accept failed for want of descriptors or kernel memory: a
// condition that passes when connections close.
func outOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// warnExhausted logs that accepting waits, at most once every 10 s.
func (l *edgeListener) warnExhausted(err error) {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(10*time.Second) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	var errno syscall.Errno
	errors.As(err, &errno)
	l.log.Warn("accept: out of file descriptors or memory; waiting for connections to close",
		"error", errno.Error(), "open_connections", l.open.Load())
}

// admit takes a slot for c, or reports that c is over a cap.
func (l *edgeListener) admit(c net.Conn) (netip.Addr, bool) {
	if l.open.Add(1) > l.max {
		l.open.Add(-1)
		return netip.Addr{}, false
	}
	if l.perIP <= 0 {
		return netip.Addr{}, true
	}
	ip := remoteIP(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip] >= l.perIP {
		l.open.Add(-1)
		return netip.Addr{}, false
	}
	l.byIP[ip]++
	return ip, true
}

// release gives back the slot of a connection admitted with ip.
func (l *edgeListener) release(ip netip.Addr) {
	l.open.Add(-1)
	if l.perIP <= 0 {
		return
	}
	l.mu.Lock()
	if n := l.byIP[ip] - 1; n > 0 {
		l.byIP[ip] = n
	} else {
		delete(l.byIP, ip)
	}
	l.mu.Unlock()
}

func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// refusal is the whole answer to a connection over a cap.
var refusal = func() []byte {
	body := `{"title":"Service Unavailable","status":503,"detail":"too many open connections; try again"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body)
}()

// refuseConn answers c 503 and closes it. The write goes into an empty socket buffer; the
// deadline only guards against a kernel that thinks otherwise.
func refuseConn(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(refusal)
	c.Close()
}
