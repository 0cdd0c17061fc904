package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// resolverFunc adapts a function to Resolver.
type resolverFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

func (f resolverFunc) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f(ctx, network, host)
}

// staticResolver answers every lookup with addrs.
func staticResolver(addrs ...string) resolverFunc {
	ips := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		ips[i] = netip.MustParseAddr(a)
	}
	return func(context.Context, string, string) ([]netip.Addr, error) { return ips, nil }
}

// countingListener is a real loopback TCP listener that counts accepted
// connections and writes tag to each before closing it.
type countingListener struct {
	ln      net.Listener
	accepts atomic.Int64
	done    chan struct{}
}

func listen(t testing.TB, tag string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(cl.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cl.accepts.Add(1)
			_, _ = c.Write([]byte(tag))
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-cl.done })
	return cl
}

func (cl *countingListener) port() string {
	return strconv.Itoa(cl.ln.Addr().(*net.TCPAddr).Port)
}

func (cl *countingListener) addrPort() netip.AddrPort {
	return cl.ln.Addr().(*net.TCPAddr).AddrPort()
}

// waitAccepts waits until cl has accepted want connections (accepts are
// counted asynchronously) and fails if it saw a different number.
func waitAccepts(t *testing.T, cl *countingListener, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for cl.accepts.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let any stray connection land
	if got := cl.accepts.Load(); got != want {
		t.Fatalf("listener accepted %d connections, want %d", got, want)
	}
}

// The "public" address the rebinding tests hand out. The dial seam connects
// it to listener B; every other address is dialled for real, so a policy
// failure would really reach listener A.
var testPublicIP = netip.MustParseAddr("93.184.215.14")

// TestDNSRebinding: a hostile DNS server alternates a public answer with a
// blocked one, or mixes both in one answer. Over 1,000 dials per shape no
// connection ever reaches the loopback listener behind the blocked answer,
// every dial resolves exactly once, and only the checked IP is ever dialled.
func TestDNSRebinding(t *testing.T) {
	shapes := []struct {
		name    string
		answers [][]string // cycled through, one per lookup
	}{
		{"alternating public then loopback", [][]string{{"93.184.215.14"}, {"127.0.0.1"}}},
		{"alternating loopback then public", [][]string{{"127.0.0.1"}, {"93.184.215.14"}}},
		{"both at once, public first", [][]string{{"93.184.215.14", "127.0.0.1"}}},
		{"both at once, loopback first", [][]string{{"127.0.0.1", "93.184.215.14"}}},
		{"v4-mapped loopback", [][]string{{"93.184.215.14"}, {"::ffff:127.0.0.1"}}},
		{"nat64 loopback", [][]string{{"93.184.215.14"}, {"93.184.215.14", "64:ff9b::7f00:1"}}},
		{"ipv6 loopback", [][]string{{"93.184.215.14"}, {"::1", "93.184.215.14"}}},
		{"metadata", [][]string{{"93.184.215.14"}, {"169.254.169.254"}}},
		{"unspecified", [][]string{{"93.184.215.14"}, {"0.0.0.0"}}},
	}
	const rounds = 1000
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			a := listen(t, "A") // behind the blocked answers
			b := listen(t, "B") // stands in for the public address
			var lookups atomic.Int64
			var i atomic.Int64
			var blockedDials atomic.Int64
			d := &Dialer{
				Resolver: resolverFunc(func(_ context.Context, _, host string) ([]netip.Addr, error) {
					lookups.Add(1)
					if host != "rebind.example.com" {
						t.Errorf("resolved %q", host)
					}
					set := shape.answers[int(i.Add(1)-1)%len(shape.answers)]
					ips := make([]netip.Addr, len(set))
					for k, s := range set {
						ips[k] = netip.MustParseAddr(s)
					}
					return ips, nil
				}),
				Timeout: 5 * time.Second,
			}
			d.dial = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
				var nd net.Dialer
				if ap.Addr() == testPublicIP {
					return nd.DialContext(ctx, "tcp4", b.addrPort().String())
				}
				blockedDials.Add(1)
				return nd.DialContext(ctx, network, ap.String()) // for real: would reach A
			}

			addr := "rebind.example.com:" + a.port()
			successes := int64(0)
			for r := 0; r < rounds; r++ {
				set := shape.answers[r%len(shape.answers)]
				allPublic := true
				for _, s := range set {
					allPublic = allPublic && s == testPublicIP.String()
				}
				conn, err := d.DialContext(context.Background(), "tcp", addr)
				if allPublic {
					if err != nil {
						t.Fatalf("round %d: public answer refused: %v", r, err)
					}
					successes++
					_ = conn.Close()
					continue
				}
				if err == nil {
					_ = conn.Close()
					t.Fatalf("round %d: answer %v was dialled", r, set)
				}
				var be *BlockedError
				if !errors.Is(err, ErrBlockedDestination) || !errors.As(err, &be) || be.Decision == DecisionAllowed {
					t.Fatalf("round %d: err = %v, want a *BlockedError", r, err)
				}
				if be.Host != "rebind.example.com" {
					t.Fatalf("round %d: BlockedError.Host = %q", r, be.Host)
				}
			}
			if got := lookups.Load(); got != rounds {
				t.Errorf("%d lookups for %d dials, want exactly one each", got, rounds)
			}
			if got := blockedDials.Load(); got != 0 {
				t.Errorf("%d dial attempts to blocked addresses", got)
			}
			waitAccepts(t, b, successes)
			waitAccepts(t, a, 0)
		})
	}
}

// TestDNSRebindingDefaultDialer repeats the attack without the dial seam,
// through the production socket path, against a real loopback listener.
func TestDNSRebindingDefaultDialer(t *testing.T) {
	a := listen(t, "A")
	var n atomic.Int64
	d := &Dialer{Resolver: resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) {
		// 192.0.2.1 (documentation) and loopback: both blocked, so nothing
		// at all should be dialled.
		if n.Add(1)%2 == 0 {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("127.0.0.1")}, nil
	})}
	for r := 0; r < 200; r++ {
		conn, err := d.DialContext(context.Background(), "tcp", "rebind.example.com:"+a.port())
		if err == nil {
			conn.Close()
			t.Fatalf("round %d: dialled", r)
		}
		if !errors.Is(err, ErrBlockedDestination) {
			t.Fatalf("round %d: %v", r, err)
		}
	}
	waitAccepts(t, a, 0)
}

// TestAllowPrivateDialsResolvedIP: with AllowPrivate the loopback answer is
// accepted, but the socket goes to the resolved IP, never to the name.
func TestAllowPrivateDialsResolvedIP(t *testing.T) {
	a := listen(t, "A")
	var lookups atomic.Int64
	d := &Dialer{
		Policy: Policy{AllowPrivate: true},
		Resolver: resolverFunc(func(_ context.Context, network, host string) ([]netip.Addr, error) {
			lookups.Add(1)
			if network != "ip" || host != "svc.test" {
				t.Errorf("LookupNetIP(%q, %q)", network, host)
			}
			return []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1")}, nil
		}),
	}
	var dialled []string
	d.dial = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
		dialled = append(dialled, network+" "+ap.String())
		var nd net.Dialer
		return nd.DialContext(ctx, network, ap.String())
	}
	conn, err := d.DialContext(context.Background(), "tcp", "svc.test:"+a.port())
	if err != nil {
		t.Fatal(err)
	}
	readTag(t, conn, "A")
	if want := "tcp4 127.0.0.1:" + a.port(); len(dialled) != 1 || dialled[0] != want {
		t.Fatalf("dialled %q, want [%q]", dialled, want)
	}
	if lookups.Load() != 1 {
		t.Fatalf("%d lookups", lookups.Load())
	}

	// Metadata stays blocked even with AllowPrivate.
	d.Resolver = staticResolver("169.254.169.254")
	if _, err := d.DialContext(context.Background(), "tcp", "svc.test:80"); !errors.Is(err, ErrBlockedDestination) {
		t.Fatalf("metadata with AllowPrivate: %v", err)
	}
	// Production socket path, no seam.
	d.dial = nil
	d.Resolver = staticResolver("127.0.0.1")
	conn, err = d.Dial("svc.test:" + a.port())
	if err != nil {
		t.Fatal(err)
	}
	readTag(t, conn, "A")
}

func readTag(t *testing.T, conn net.Conn, want string) {
	t.Helper()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != want {
		t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
	}
}

// TestHTTPSProxyEnvIgnored: with every proxy variable pointing at a live
// loopback listener, dials go straight to the destination.
func TestHTTPSProxyEnvIgnored(t *testing.T) {
	proxy := listen(t, "P")
	dest := listen(t, "D")
	proxyURL := "http://127.0.0.1:" + proxy.port()
	for _, k := range []string{"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"} {
		t.Setenv(k, proxyURL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	d := &Dialer{Policy: Policy{AllowPrivate: true}, Resolver: staticResolver("127.0.0.1")}
	for _, addr := range []string{"dest.example.com:" + dest.port(), "127.0.0.1:" + dest.port()} {
		conn, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		readTag(t, conn, "D")
		conn, err = d.DialTimeout(addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		readTag(t, conn, "D")
	}
	// The strict policy, with the default resolver, must not fall back to
	// the proxy either when the destination is refused.
	if _, err := (&Dialer{}).Dial("127.0.0.1:" + dest.port()); !errors.Is(err, ErrBlockedDestination) {
		t.Fatalf("strict literal loopback: %v", err)
	}
	waitAccepts(t, dest, 4)
	waitAccepts(t, proxy, 0)
}

// recordingDialer returns a Dialer whose seam records each dial and fails
// it, or succeeds with a pipe for addresses in ok.
func recordingDialer(r Resolver, p Policy, ok ...string) (*Dialer, *[]string) {
	var mu sync.Mutex
	var log []string
	d := &Dialer{Resolver: r, Policy: p}
	d.dial = func(_ context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
		mu.Lock()
		log = append(log, network+" "+ap.String())
		mu.Unlock()
		for _, o := range ok {
			if ap.Addr().String() == o {
				c1, c2 := net.Pipe()
				_ = c2.Close()
				return c1, nil
			}
		}
		return nil, errors.New("test: connection refused")
	}
	return d, &log
}

func TestDialContext(t *testing.T) {
	errLookup := errors.New("test: lookup failed")
	tests := []struct {
		name      string
		policy    Policy
		resolver  Resolver
		network   string
		addr      string
		ok        []string // addresses the seam connects
		wantDials []string
		wantErr   error // nil = success
		wantDec   Decision
	}{
		{name: "public name", resolver: staticResolver("93.184.215.14"), network: "tcp", addr: "example.com:443",
			ok: []string{"93.184.215.14"}, wantDials: []string{"tcp4 93.184.215.14:443"}},
		{name: "public literal", network: "tcp", addr: "8.8.8.8:443", ok: []string{"8.8.8.8"},
			wantDials: []string{"tcp4 8.8.8.8:443"}},
		{name: "public ipv6 literal", network: "tcp", addr: "[2606:4700:4700::1111]:443", ok: []string{"2606:4700:4700::1111"},
			wantDials: []string{"tcp6 [2606:4700:4700::1111]:443"}},
		{name: "v4-mapped public answer is unmapped", resolver: staticResolver("::ffff:93.184.215.14"), network: "tcp",
			addr: "example.com:443", ok: []string{"93.184.215.14"}, wantDials: []string{"tcp4 93.184.215.14:443"}},
		{name: "fallback to second address", resolver: staticResolver("1.1.1.1", "8.8.8.8"), network: "tcp",
			addr: "example.com:443", ok: []string{"8.8.8.8"}, wantDials: []string{"tcp4 1.1.1.1:443", "tcp4 8.8.8.8:443"}},
		{name: "all addresses fail", resolver: staticResolver("1.1.1.1", "8.8.8.8"), network: "tcp",
			addr: "example.com:443", wantDials: []string{"tcp4 1.1.1.1:443", "tcp4 8.8.8.8:443"}, wantErr: errAny},
		{name: "tcp4 skips ipv6", resolver: staticResolver("2606:4700:4700::1111", "8.8.8.8"), network: "tcp4",
			addr: "example.com:443", ok: []string{"8.8.8.8"}, wantDials: []string{"tcp4 8.8.8.8:443"}},
		{name: "tcp6 with only ipv4", resolver: staticResolver("8.8.8.8"), network: "tcp6", addr: "example.com:443",
			wantErr: errAny},
		{name: "full-width name is mapped", resolver: staticResolver("8.8.8.8"), network: "tcp",
			addr: "ｅｘａｍｐｌｅ．ｃｏｍ:443", ok: []string{"8.8.8.8"}, wantDials: []string{"tcp4 8.8.8.8:443"}},

		{name: "loopback literal", network: "tcp", addr: "127.0.0.1:80", wantErr: ErrBlockedDestination, wantDec: DecisionLoopback},
		{name: "ipv6 loopback literal", network: "tcp", addr: "[::1]:80", wantErr: ErrBlockedDestination, wantDec: DecisionLoopback},
		{name: "v4-mapped loopback literal", network: "tcp", addr: "[::ffff:127.0.0.1]:80", wantErr: ErrBlockedDestination, wantDec: DecisionLoopback},
		{name: "nat64 metadata literal", network: "tcp", addr: "[64:ff9b::a9fe:a9fe]:80", wantErr: ErrBlockedDestination, wantDec: DecisionMetadata},
		{name: "metadata literal", network: "tcp", addr: "169.254.169.254:80", wantErr: ErrBlockedDestination, wantDec: DecisionMetadata},
		{name: "unspecified literal", network: "tcp", addr: "0.0.0.0:80", wantErr: ErrBlockedDestination, wantDec: DecisionUnspecified},
		{name: "private answer", resolver: staticResolver("10.0.0.5"), network: "tcp", addr: "example.com:443",
			wantErr: ErrBlockedDestination, wantDec: DecisionPrivate},
		{name: "one bad answer among good", resolver: staticResolver("8.8.8.8", "1.1.1.1", "100.64.0.1"), network: "tcp",
			addr: "example.com:443", wantErr: ErrBlockedDestination, wantDec: DecisionCGNAT},
		{name: "bad ipv6 answer with tcp4", resolver: staticResolver("8.8.8.8", "fd00::1"), network: "tcp4",
			addr: "example.com:443", wantErr: ErrBlockedDestination, wantDec: DecisionPrivate},
		{name: "invalid answer", resolver: staticResolver("8.8.8.8"), network: "tcp", addr: "example.com:443",
			wantErr: ErrBlockedDestination, wantDec: DecisionInvalid},

		{name: "localhost name", network: "tcp", addr: "localhost:80", wantErr: ErrInvalidURL},
		{name: "inet_aton short", network: "tcp", addr: "127.1:80", wantErr: ErrInvalidURL},
		{name: "inet_aton integer", network: "tcp", addr: "2130706433:80", wantErr: ErrInvalidURL},
		{name: "inet_aton hex", network: "tcp", addr: "0x7f.0.0.1:80", wantErr: ErrInvalidURL},
		{name: "single label", network: "tcp", addr: "intranet:80", wantErr: ErrInvalidURL},
		{name: "zone", network: "tcp", addr: "[fe80::1%eth0]:80", wantErr: ErrInvalidURL},
		{name: "zone with AllowPrivate", policy: Policy{AllowPrivate: true}, network: "tcp", addr: "[fe80::1%eth0]:80", wantErr: ErrInvalidURL},
		{name: "no port", network: "tcp", addr: "example.com", wantErr: ErrInvalidURL},
		{name: "named port", network: "tcp", addr: "example.com:https", wantErr: ErrInvalidURL},
		{name: "port zero", network: "tcp", addr: "example.com:0", wantErr: ErrInvalidURL},
		{name: "empty", network: "tcp", addr: "", wantErr: ErrInvalidURL},
		{name: "udp", network: "udp", addr: "example.com:53", wantErr: errAny},
		{name: "unix", network: "unix", addr: "/tmp/x", wantErr: errAny},
		{name: "resolver error", resolver: resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) {
			return nil, errLookup
		}), network: "tcp", addr: "example.com:443", wantErr: errLookup},
		{name: "no answers", resolver: staticResolver(), network: "tcp", addr: "example.com:443", wantErr: errAny},
	}
	// The "invalid answer" case needs a zero netip.Addr in the answer.
	for i := range tests {
		if tests[i].name == "invalid answer" {
			tests[i].resolver = resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) {
				return []netip.Addr{netip.MustParseAddr("8.8.8.8"), {}}, nil
			})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dials := recordingDialer(tt.resolver, tt.policy, tt.ok...)
			if tt.resolver == nil {
				d.Resolver = resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) {
					t.Error("resolver called")
					return nil, errLookup
				})
			}
			conn, err := d.DialContext(context.Background(), tt.network, tt.addr)
			if conn != nil {
				conn.Close()
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("dial succeeded, want %v", tt.wantErr)
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil && err.Error()[:8] != "egress: " {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			if tt.wantErr == ErrBlockedDestination {
				var be *BlockedError
				if !errors.As(err, &be) || be.Decision != tt.wantDec {
					t.Fatalf("error %v, want decision %s", err, tt.wantDec)
				}
			}
			if !equalStrings(*dials, tt.wantDials) {
				t.Fatalf("dials = %q, want %q", *dials, tt.wantDials)
			}
		})
	}
}

var errAny = errors.New("any error")

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDialTimeouts(t *testing.T) {
	hang := resolverFunc(func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	check := func(t *testing.T, dial func() (net.Conn, error)) {
		t.Helper()
		start := time.Now()
		_, err := dial()
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %v", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want DeadlineExceeded", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("error %v is not a net.Error timeout", err)
		}
	}
	t.Run("Dialer.Timeout", func(t *testing.T) {
		d := &Dialer{Resolver: hang, Timeout: 50 * time.Millisecond}
		check(t, func() (net.Conn, error) { return d.Dial("example.com:443") })
	})
	t.Run("DialTimeout argument", func(t *testing.T) {
		d := &Dialer{Resolver: hang}
		check(t, func() (net.Conn, error) { return d.DialTimeout("example.com:443", 50*time.Millisecond) })
	})
	t.Run("context deadline", func(t *testing.T) {
		d := &Dialer{Resolver: hang, Timeout: time.Hour}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		check(t, func() (net.Conn, error) { return d.DialContext(ctx, "tcp", "example.com:443") })
	})
	t.Run("default timeout applies", func(t *testing.T) {
		var got time.Duration
		d := &Dialer{Resolver: resolverFunc(func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
			dl, ok := ctx.Deadline()
			if !ok {
				t.Error("no deadline on resolver context")
			}
			got = time.Until(dl)
			return nil, errors.New("test: stop")
		})}
		_, _ = d.Dial("example.com:443")
		if got <= DefaultTimeout-time.Second || got > DefaultTimeout {
			t.Fatalf("deadline in %v, want about %v", got, DefaultTimeout)
		}
	})
}

// TestControlRejectsBlocked: the connect hook of the default socket dialer
// refuses blocked addresses on its own.
func TestControlRejectsBlocked(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		address string
		wantErr error
	}{
		{"public", Policy{}, "8.8.8.8:443", nil},
		{"public v6", Policy{}, "[2606:4700:4700::1111]:443", nil},
		{"loopback", Policy{}, "127.0.0.1:80", ErrBlockedDestination},
		{"v4-mapped loopback", Policy{}, "[::ffff:127.0.0.1]:80", ErrBlockedDestination},
		{"link-local zone", Policy{}, "[fe80::1%eth0]:80", ErrBlockedDestination},
		{"garbage", Policy{}, "nonsense", errControlAddr},
		{"private allowed", Policy{AllowPrivate: true}, "127.0.0.1:80", nil},
		{"metadata with AllowPrivate", Policy{AllowPrivate: true}, "169.254.169.254:80", ErrBlockedDestination},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.control(context.Background(), "tcp", tt.address, nil)
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("control(%q) = %v, want %v", tt.address, err, tt.wantErr)
			}
		})
	}
	// And through a real net.Dialer, as dialOne builds it.
	a := listen(t, "A")
	nd := net.Dialer{ControlContext: Policy{}.control}
	if c, err := nd.Dial("tcp4", "127.0.0.1:"+a.port()); err == nil {
		c.Close()
		t.Fatal("connect hook let a loopback connection through")
	} else if !errors.Is(err, ErrBlockedDestination) {
		t.Fatalf("connect hook error %v", err)
	}
	waitAccepts(t, a, 0)
}

// FuzzDialContext: for any address and any resolver answer, nothing
// panics, the resolver runs at most once, and no blocked address is ever
// handed to the socket layer.
func FuzzDialContext(f *testing.F) {
	enc := func(addrs ...string) []byte {
		var b []byte
		for _, a := range addrs {
			s := netip.MustParseAddr(a).AsSlice()
			b = append(b, byte(len(s)))
			b = append(b, s...)
		}
		return b
	}
	f.Add("example.com:443", enc("8.8.8.8"))
	f.Add("example.com:443", enc("8.8.8.8", "127.0.0.1"))
	f.Add("example.com:443", enc("::ffff:127.0.0.1"))
	f.Add("example.com:443", enc("64:ff9b::a9fe:a9fe", "2606:4700:4700::1111"))
	f.Add("127.0.0.1:80", []byte{})
	f.Add("[::ffff:169.254.169.254]:80", []byte{})
	f.Add("[fe80::1%eth0]:80", []byte{})
	f.Add("localhost:80", enc("127.0.0.1"))
	f.Add("１２７．０．０．１:80", enc("127.0.0.1"))
	f.Add("2130706433:80", enc("127.0.0.1"))
	f.Add("a.b:65535", []byte{4, 1, 2})
	f.Add(":", []byte{16})
	f.Fuzz(func(t *testing.T, addr string, answer []byte) {
		var ips []netip.Addr
		for len(answer) > 0 {
			n := int(answer[0])
			answer = answer[1:]
			if n > len(answer) {
				n = len(answer)
			}
			ip, _ := netip.AddrFromSlice(answer[:n]) // may be the zero Addr
			ips = append(ips, ip)
			answer = answer[n:]
		}
		var lookups int
		for _, p := range []Policy{{}, {AllowPrivate: true}} {
			lookups = 0
			d := &Dialer{Policy: p, Resolver: resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) {
				lookups++
				return ips, nil
			})}
			var dialled []netip.Addr
			d.dial = func(_ context.Context, _ string, ap netip.AddrPort) (net.Conn, error) {
				dialled = append(dialled, ap.Addr())
				return nil, errors.New("test: refused")
			}
			_, err := d.DialContext(context.Background(), "tcp", addr)
			if lookups > 1 {
				t.Fatalf("%d lookups", lookups)
			}
			if err == nil {
				t.Fatal("dial succeeded although the seam always fails")
			}
			for _, ip := range dialled {
				if ip.Is4In6() || ip.Zone() != "" || !p.permits(Classify(ip)) {
					t.Fatalf("%+v dialled %s (%s)", p, ip, Classify(ip))
				}
			}
			if len(dialled) > 0 && lookups == 1 {
				for _, ip := range ips {
					if !p.permits(Classify(ip.Unmap())) {
						t.Fatalf("%+v dialled although answer %s is blocked", p, ip)
					}
				}
			}
		}
	})
}

func BenchmarkDialContext(b *testing.B) {
	b.Run("policy-only", func(b *testing.B) {
		// Fake resolver and a seam that returns at once: the cost of the
		// checks themselves.
		d, _ := recordingDialer(staticResolver("93.184.215.14", "2606:4700:4700::1111"), Policy{})
		d.dial = func(context.Context, string, netip.AddrPort) (net.Conn, error) { return nil, nil }
		b.ReportAllocs()
		for b.Loop() {
			_, _ = d.DialContext(context.Background(), "tcp", "api.example.com:443")
		}
	})
	ln := listen(b, "")
	b.Run("loopback/egress", func(b *testing.B) {
		d := &Dialer{Policy: Policy{AllowPrivate: true}, Resolver: staticResolver("127.0.0.1")}
		b.ReportAllocs()
		for b.Loop() {
			c, err := d.DialContext(context.Background(), "tcp", "svc.test:"+ln.port())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("loopback/baseline-net.Dialer", func(b *testing.B) {
		var nd net.Dialer
		b.ReportAllocs()
		for b.Loop() {
			c, err := nd.DialContext(context.Background(), "tcp", "127.0.0.1:"+ln.port())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}
