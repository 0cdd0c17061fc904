package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host. *net.Resolver implements it;
// network is "ip", "ip4" or "ip6".
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// The shapes of fasthttp's DialFunc and DialFuncWithTimeout.
var (
	_ func(addr string) (net.Conn, error)                        = (*Dialer)(nil).Dial
	_ func(addr string, timeout time.Duration) (net.Conn, error) = (*Dialer)(nil).DialTimeout
)

// DefaultTimeout bounds resolution plus connection when Dialer.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Dialer makes outbound TCP connections that obey a [Policy]. It resolves a
// name once, checks every answer with [Classify], and connects to the exact
// address it checked. The zero value is ready to use with the strict policy
// and net.DefaultResolver. A Dialer must not be changed once in use; it is
// safe for concurrent use.
//
// It never reads HTTP_PROXY, HTTPS_PROXY or any other environment variable:
// there is no proxy support.
type Dialer struct {
	// Resolver resolves destination names; nil means net.DefaultResolver.
	Resolver Resolver
	// Policy decides which resolved addresses may be dialled.
	Policy
	// Timeout bounds resolution plus connection of one dial; zero means
	// DefaultTimeout. A shorter deadline on the context or the DialTimeout
	// argument wins.
	Timeout time.Duration

	// dial connects to one checked address; nil means the default socket
	// dialer. Tests replace it to redirect test addresses to local listeners.
	dial func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error)
}

// Dial connects to addr ("host:port") over TCP; it has the shape of
// fasthttp's DialFunc (HostClient.Dial).
func (d *Dialer) Dial(addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), "tcp", addr)
}

// DialTimeout connects to addr ("host:port") over TCP within timeout (a zero
// or negative timeout means only the Dialer's own); it has the shape of
// fasthttp's DialFuncWithTimeout (HostClient.DialTimeout).
func (d *Dialer) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return d.DialContext(ctx, "tcp", addr)
}

// DialContext connects to addr ("host:port", port numeric) on network "tcp",
// "tcp4" or "tcp6".
//
// An IP-literal host is classified directly. A name must pass the same DNS
// name rules as [Policy.CheckURL]; it is then resolved exactly once, and if
// any answer is blocked the whole name is refused with a *[BlockedError]
// (wrapping [ErrBlockedDestination]) before any connection is attempted.
// Otherwise the checked addresses are tried in the resolver's order, each by
// its IP, never by the name, so a later, different DNS answer is never used.
// IPv4-mapped answers (::ffff:a.b.c.d, which Go's resolver returns for some
// A records) are unmapped and checked and dialled as the IPv4 address.
//
// The returned connection belongs to the caller.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var family string
	switch network {
	case "tcp":
		family = "ip"
	case "tcp4":
		family = "ip4"
	case "tcp6":
		family = "ip6"
	default:
		return nil, fmt.Errorf("egress: unsupported network %q", network)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, invalid("malformed dial address")
	}
	port, ok := parsePort(portStr)
	if !ok {
		return nil, invalid("port must be 1-65535")
	}

	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return nil, invalid("ip zone is not allowed")
		}
		ip = ip.Unmap()
		if dec := Classify(ip); !d.permits(dec) {
			return nil, &BlockedError{Host: host, Decision: dec}
		}
		ips = []netip.Addr{ip}
	} else {
		name, ok := mapHost(host)
		if !ok {
			return nil, invalid("host is not an ascii dns name")
		}
		if err := d.checkName(name); err != nil {
			return nil, err
		}
		host = name
		r := d.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		answers, err := r.LookupNetIP(ctx, family, name)
		if err != nil {
			return nil, fmt.Errorf("egress: resolve %s: %w", quoteHost(name), err)
		}
		ips = make([]netip.Addr, 0, len(answers))
		for _, ip := range answers {
			ip = ip.Unmap()
			if dec := Classify(ip); !d.permits(dec) {
				// One bad answer condemns the name: never pick around it.
				return nil, &BlockedError{Host: name, Decision: dec}
			}
			ips = append(ips, ip)
		}
	}

	var lastErr error
	tried := 0
	for i, ip := range ips {
		if (network == "tcp4" && !ip.Is4()) || (network == "tcp6" && !ip.Is6()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			if lastErr == nil {
				lastErr = err
			}
			break
		}
		tried++
		conn, err := d.dialOne(ctx, netip.AddrPortFrom(ip, port), len(ips)-i)
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	if tried == 0 && lastErr == nil {
		return nil, fmt.Errorf("egress: no %s address for %s", family, quoteHost(host))
	}
	return nil, fmt.Errorf("egress: dial %s: %w", quoteHost(host), lastErr)
}

// dialOne connects to ap, giving it a fair share of the remaining time when
// more addresses are left to try (as net.Dialer does).
func (d *Dialer) dialOne(ctx context.Context, ap netip.AddrPort, left int) (net.Conn, error) {
	if deadline, ok := ctx.Deadline(); ok && left > 1 {
		share := time.Until(deadline) / time.Duration(left)
		const floor = 2 * time.Second
		if share < floor {
			share = floor
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, share)
		defer cancel()
	}
	network := "tcp6"
	if ap.Addr().Is4() {
		network = "tcp4"
	}
	if d.dial != nil {
		return d.dial(ctx, network, ap)
	}
	nd := net.Dialer{ControlContext: d.Policy.control}
	return nd.DialContext(ctx, network, ap.String())
}

// errControlAddr is returned by control for an address it cannot parse.
var errControlAddr = errors.New("egress: unparsable address at connect")

// control re-checks the address right before connect(2): a second guard
// should any path ever hand the socket dialer an unchecked address.
func (p Policy) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return errControlAddr
	}
	ip := ap.Addr().Unmap()
	if dec := Classify(ip); !p.permits(dec) {
		return &BlockedError{Host: ip.WithZone("").String(), Decision: dec}
	}
	return nil
}
