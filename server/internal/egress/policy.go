package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Sentinel errors; test with errors.Is. Returned errors wrap one of them
// with detail that may name the destination host and nothing else.
var (
	// ErrInvalidURL: the destination URL or dial address is malformed or
	// breaks the policy (scheme, userinfo, IP literal, special-use name).
	ErrInvalidURL = errors.New("egress: invalid destination url")
	// ErrBlockedDestination: the destination is, or resolves to, an address
	// the policy refuses. The error is a *[BlockedError].
	ErrBlockedDestination = errors.New("egress: blocked destination")
)

// BlockedError reports a destination refused because of an address it
// is or resolves to. It wraps [ErrBlockedDestination]; use errors.As to read
// the Decision for logs and metrics. It deliberately omits the address.
type BlockedError struct {
	Host     string   // the host as checked: a normalised DNS name or an IP literal
	Decision Decision // why the (first) refused address was refused
}

func (e *BlockedError) Error() string { return "egress: " + e.Detail() }

// Unwrap makes errors.Is(err, ErrBlockedDestination) hold.
func (e *BlockedError) Unwrap() error { return ErrBlockedDestination }

// Policy is the destination policy. The zero value is the strict production
// policy; the fields relax it for tests and local development.
type Policy struct {
	// AllowPrivate permits IP-literal hosts, single-label and special-use
	// names, and addresses in every blocked range except cloud metadata
	// endpoints (DecisionMetadata) — loopback, private, link-local, ....
	AllowPrivate bool
	// AllowHTTP permits the http scheme besides https.
	AllowHTTP bool
}

// permits says whether p lets a connection go to an address classified d.
func (p Policy) permits(d Decision) bool {
	return d == DecisionAllowed || (p.AllowPrivate && d != DecisionMetadata && d != DecisionInvalid)
}

const (
	maxURLLen  = 32 << 10 // longer destination URLs are refused before parsing
	maxHostLen = 1024     // raw host bytes before mapping (full-width forms take 3 bytes)
)

// CheckURL parses raw and applies the policy to it. On success it returns
// a fresh *url.URL, owned by the caller, whose Host is normalised: lower
// case, full-width forms mapped to ASCII, the port (if any) in plain decimal.
//
// Refused, with an error wrapping [ErrInvalidURL]: a scheme other than https
// (or http with AllowHTTP), a missing host, userinfo (even empty), a port
// outside 1..65535, and — unless AllowPrivate — a host that is not a
// multi-label DNS name: any IP literal in any spelling, localhost and names
// under .localhost, .local, .internal, .home.arpa. A host with non-ASCII
// characters other than full-width ASCII forms and ideographic full stops is
// refused, since it cannot be shown to be safe without full IDNA. With
// AllowPrivate a canonical IPv4 or bracketed IPv6 literal (no zone) is
// accepted unless it is a metadata address (a *[BlockedError]).
//
// CheckURL only looks at the URL; the dial-time check of resolved addresses
// is [Dialer.DialContext]'s job.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLLen {
		return nil, invalid("url too long")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, which may carry secrets: drop it.
		return nil, invalid("malformed url")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return nil, invalid("scheme must be https")
		}
	case "":
		return nil, invalid("missing scheme")
	default:
		return nil, invalid("scheme must be https")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, invalid("missing host")
	}
	if u.User != nil {
		return nil, invalid("userinfo is not allowed")
	}

	hostport := u.Host
	var host, port string
	if hostport[0] == '[' {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return nil, invalid("malformed host")
		}
		host, port = hostport[:end+1], hostport[end+1:]
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i:]
	} else {
		host = hostport
	}
	if port != "" {
		if port[0] != ':' {
			return nil, invalid("malformed host")
		}
		n, ok := parsePort(port[1:])
		if !ok {
			return nil, invalid("port must be 1-65535")
		}
		port = ":" + itoa(n)
	}

	canon, err := p.checkHost(host)
	if err != nil {
		return nil, err
	}
	u.Host = canon + port
	return u, nil
}

// checkHost validates a URL host (IPv6 literals in brackets) and returns
// its canonical form.
func (p Policy) checkHost(host string) (string, error) {
	if host == "" {
		return "", invalid("missing host")
	}
	if host[0] == '[' {
		if !p.AllowPrivate {
			return "", invalidHost("is an ip literal", host)
		}
		ip, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", invalid("malformed ipv6 literal")
		}
		if d := Classify(ip); !p.permits(d) {
			return "", &BlockedError{Host: ip.String(), Decision: d}
		}
		return "[" + ip.String() + "]", nil
	}
	name, ok := mapHost(host)
	if !ok {
		return "", invalid("host is not an ascii dns name")
	}
	if ip, err := netip.ParseAddr(name); err == nil && ip.Is4() {
		if !p.AllowPrivate {
			return "", invalidHost("is an ip literal", name)
		}
		if d := Classify(ip); !p.permits(d) {
			return "", &BlockedError{Host: name, Decision: d}
		}
		return name, nil
	}
	if err := p.checkName(name); err != nil {
		return "", err
	}
	return name, nil
}

// checkName applies the DNS-name rules to an already mapped, lower-case
// host. It does not allocate unless it fails.
func (p Policy) checkName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return invalid("host is not a dns name")
	}
	labels := 0
	last := 0 // start of the last label
	for i := 0; i <= len(n); i++ {
		if i < len(n) && n[i] != '.' {
			continue
		}
		if !ldhLabel(n[last:i]) {
			return invalidHost("is not a dns name", name)
		}
		labels++
		if i < len(n) {
			last = i + 1
		}
	}
	if c := n[last]; c < 'a' || c > 'z' {
		// No TLD starts with a digit; every numeric IPv4 spelling
		// (127.1, 2130706433, 0x7f.1, 0177.0.0.1) ends in a label that does.
		return invalidHost("is not a dns name", name)
	}
	if p.AllowPrivate {
		return nil
	}
	if n == "localhost" || hasLabelSuffix(n, "localhost") || hasLabelSuffix(n, "local") ||
		hasLabelSuffix(n, "internal") || hasLabelSuffix(n, "home.arpa") {
		return invalidHost("is a special-use name", name)
	}
	if labels < 2 {
		// Single labels go through resolver search lists to internal names.
		return invalidHost("is a single-label name", name)
	}
	return nil
}

// ldhLabel reports whether s is a 1-63 byte label of lower-case letters,
// digits and inner hyphens.
func ldhLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func hasLabelSuffix(name, suffix string) bool {
	return len(name) > len(suffix) && name[len(name)-len(suffix)-1] == '.' &&
		name[len(name)-len(suffix):] == suffix
}

// mapHost lower-cases host and maps the compatibility forms that IDNA
// (UTS #46) would map to ASCII: full-width ASCII U+FF01..U+FF5E and the
// ideographic and half-width ideographic full stops U+3002 and U+FF61.
// Any other non-ASCII rune, or invalid UTF-8, makes it fail. It returns
// host itself, without allocating, when there is nothing to map.
func mapHost(host string) (string, bool) {
	if len(host) > maxHostLen {
		return "", false
	}
	plain := true
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return host, true
	}
	b := make([]byte, 0, len(host))
	for i := 0; i < len(host); {
		r, size := utf8.DecodeRuneInString(host[i:])
		i += size
		switch {
		case r == utf8.RuneError:
			return "", false
		case r >= 0xff01 && r <= 0xff5e:
			r -= 0xfee0
		case r == 0x3002 || r == 0xff61:
			r = '.'
		case r >= utf8.RuneSelf:
			return "", false
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b = append(b, byte(r))
	}
	return string(b), true
}

// parsePort parses a decimal port 1..65535; leading zeros are tolerated.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5+8 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

func itoa(n uint16) string {
	var buf [5]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(buf[i:])
}

// InvalidError reports a destination URL or dial address the policy refuses for its form. It
// wraps [ErrInvalidURL].
type InvalidError struct {
	Reason    string // a fixed phrase: "missing host", "scheme must be https", …
	Host      string // the host it is about, when aboutHost
	aboutHost bool
}

func (e *InvalidError) Error() string { return "egress: " + e.Detail() }

// Unwrap makes errors.Is(err, ErrInvalidURL) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalidURL }

// Detail is the refusal without the package prefix: fit for an answer to the caller, it names
// at most the (shortened) host.
func (e *InvalidError) Detail() string {
	if !e.aboutHost {
		return "invalid destination url: " + e.Reason
	}
	return "invalid destination url: host " + quoteHost(e.Host) + " " + e.Reason
}

// Detail is the refusal of [BlockedError] without the package prefix; it omits the address.
func (e *BlockedError) Detail() string {
	return "blocked destination " + quoteHost(e.Host) + " (" + e.Decision.String() + ")"
}

// Detail is the value-free reason err refused a destination, read from the *[BlockedError] or
// *[InvalidError] in its chain; "refused" when it holds neither.
func Detail(err error) string {
	var b *BlockedError
	if errors.As(err, &b) {
		return b.Detail()
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		return inv.Detail()
	}
	return "refused"
}

func invalid(reason string) error { return &InvalidError{Reason: reason} }

func invalidHost(reason, host string) error {
	return &InvalidError{Reason: reason, Host: host, aboutHost: true}
}

// quoteHost quotes a host for an error message, shortened so that a huge
// host cannot bloat logs.
func quoteHost(h string) string {
	const max = 96
	if len(h) > max {
		return fmt.Sprintf("%q...", h[:max])
	}
	return fmt.Sprintf("%q", h)
}
