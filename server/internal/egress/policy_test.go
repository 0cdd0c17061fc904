package egress

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestCheckURLAccepts(t *testing.T) {
	tests := []struct {
		name     string
		policy   Policy
		raw      string
		wantHost string
		wantRest string // u.RequestURI()
	}{
		{"plain", Policy{}, "https://example.com", "example.com", "/"},
		{"path and query kept", Policy{}, "https://api.example.com/v1/charges?x=1&y=2", "api.example.com", "/v1/charges?x=1&y=2"},
		{"upper case host", Policy{}, "HTTPS://API.Example.COM/X", "api.example.com", "/X"},
		{"port", Policy{}, "https://example.com:8443/", "example.com:8443", "/"},
		{"port leading zeros", Policy{}, "https://example.com:0443/", "example.com:443", "/"},
		{"trailing dot fqdn", Policy{}, "https://example.com./", "example.com.", "/"},
		{"numeric labels before tld", Policy{}, "https://1.2.3.example.com/", "1.2.3.example.com", "/"},
		{"numeric sld", Policy{}, "https://123.com/", "123.com", "/"},
		{"hyphens", Policy{}, "https://a-b.c-d.io/", "a-b.c-d.io", "/"},
		{"punycode", Policy{}, "https://xn--bcher-kva.example/", "xn--bcher-kva.example", "/"},
		{"punycode tld", Policy{}, "https://example.xn--p1ai/", "example.xn--p1ai", "/"},
		{"full-width name", Policy{}, "https://ｅｘａｍｐｌｅ．ＣＯＭ/p", "example.com", "/p"},
		{"ideographic full stop", Policy{}, "https://example。com/", "example.com", "/"},
		{"half-width ideographic full stop", Policy{}, "https://example｡com/", "example.com", "/"},
		{"percent-encoded full-width", Policy{}, "https://%EF%BD%85xample.com/", "example.com", "/"},
		{"63-byte label", Policy{}, "https://" + strings.Repeat("a", 63) + ".com/", strings.Repeat("a", 63) + ".com", "/"},
		{"http with AllowHTTP", Policy{AllowHTTP: true}, "http://example.com/", "example.com", "/"},
		{"https with AllowHTTP", Policy{AllowHTTP: true}, "https://example.com/", "example.com", "/"},
		{"private: ipv4 literal", Policy{AllowPrivate: true}, "https://127.0.0.1:8443/x", "127.0.0.1:8443", "/x"},
		{"private: ipv6 literal", Policy{AllowPrivate: true}, "https://[::1]:8443/", "[::1]:8443", "/"},
		{"private: ipv6 literal canonicalised", Policy{AllowPrivate: true}, "https://[0:0::0001]/", "[::1]", "/"},
		{"private: full-width ipv4", Policy{AllowPrivate: true}, "https://１２７．０．０．１/", "127.0.0.1", "/"},
		{"private: localhost", Policy{AllowPrivate: true}, "https://localhost:9000/", "localhost:9000", "/"},
		{"private: single label", Policy{AllowPrivate: true}, "https://intranet/", "intranet", "/"},
		{"private: .internal", Policy{AllowPrivate: true}, "https://db.internal/", "db.internal", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.policy.CheckURL(tt.raw)
			if err != nil {
				t.Fatalf("CheckURL(%q): %v", tt.raw, err)
			}
			if u.Host != tt.wantHost {
				t.Errorf("Host = %q, want %q", u.Host, tt.wantHost)
			}
			if got := u.RequestURI(); got != tt.wantRest {
				t.Errorf("RequestURI = %q, want %q", got, tt.wantRest)
			}
			// The normalised URL must itself pass unchanged.
			u2, err := tt.policy.CheckURL(u.String())
			if err != nil || u2.String() != u.String() {
				t.Errorf("re-check of %q: %v, %v", u.String(), u2, err)
			}
		})
	}
}

func TestCheckURLRejects(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		raw    string
	}{
		{"http", Policy{}, "http://example.com/"},
		{"ftp", Policy{}, "ftp://example.com/"},
		{"javascript", Policy{}, "javascript:alert(1)"},
		{"file", Policy{}, "file:///etc/passwd"},
		{"gopher", Policy{AllowHTTP: true}, "gopher://example.com/"},
		{"no scheme", Policy{}, "example.com/path"},
		{"scheme-relative", Policy{}, "//example.com/path"},
		{"empty", Policy{}, ""},
		{"leading space", Policy{}, " https://example.com/"},
		{"opaque", Policy{}, "https:example.com"},
		{"no host", Policy{}, "https:///path"},
		{"userinfo", Policy{}, "https://user:pass@example.com/"},
		{"user only", Policy{}, "https://user@example.com/"},
		{"empty userinfo", Policy{}, "https://@example.com/"},
		{"userinfo confusion", Policy{}, "https://example.com@evil.com/"},
		{"backslash confusion", Policy{}, "https://evil.com\\@example.com/"},
		{"port zero", Policy{}, "https://example.com:0/"},
		{"port too big", Policy{}, "https://example.com:65536/"},
		{"port huge", Policy{}, "https://example.com:99999999999999999999/"},
		{"empty port", Policy{}, "https://example.com:/"},
		{"underscore", Policy{}, "https://exa_mple.com/"},
		{"leading hyphen", Policy{}, "https://-a.com/"},
		{"trailing hyphen", Policy{}, "https://a-.com/"},
		{"empty label", Policy{}, "https://a..com/"},
		{"leading dot", Policy{}, "https://.a.com/"},
		{"two trailing dots", Policy{}, "https://a.com../"},
		{"64-byte label", Policy{}, "https://" + strings.Repeat("a", 64) + ".com/"},
		{"254-byte name", Policy{}, "https://" + strings.Repeat("a.", 125) + "co.m/"},
		{"255-byte name", Policy{}, "https://" + strings.Repeat("a.", 126) + "com/"},
		{"tld starts with digit", Policy{}, "https://example.1com/"},
		{"single label", Policy{}, "https://intranet/"},
		{"single label trailing dot", Policy{}, "https://intranet./"},
		{"localhost", Policy{}, "https://localhost/"},
		{"localhost upper", Policy{}, "https://LOCALHOST/"},
		{"localhost trailing dot", Policy{}, "https://localhost./"},
		{"localhost full-width", Policy{}, "https://ｌｏｃａｌｈｏｓｔ/"},
		{"sub.localhost", Policy{}, "https://api.localhost/"},
		{"mdns .local", Policy{}, "https://printer.local/"},
		{".local trailing dot", Policy{}, "https://printer.local./"},
		{".internal", Policy{}, "https://metadata.google.internal/"},
		{".home.arpa", Policy{}, "https://router.home.arpa/"},
		{"non-ascii letter", Policy{}, "https://exämple.com/"},
		{"idn", Policy{}, "https://例え.jp/"},
		{"zero-width joiner", Policy{}, "https://exa\u200dmple.com/"},
		{"small full stop", Policy{}, "https://example\ufe52com/"},
		{"one dot leader", Policy{}, "https://example\u2024com/"},
		{"invalid utf-8 escape", Policy{}, "https://%ff%fe.com/"},
		{"percent in name", Policy{}, "https://a%25b.com/"},
		{"space", Policy{}, "https://exa mple.com/"},
		{"nul", Policy{}, "https://example.com\x00.evil/"},
		{"crlf", Policy{}, "https://example.com\r\nHost: evil/"},
		{"too long", Policy{}, "https://example.com/" + strings.Repeat("a", maxURLLen)},
		{"private: metadata literal", Policy{AllowPrivate: true}, "https://169.254.169.254/latest/meta-data/"},
		{"private: v6 metadata literal", Policy{AllowPrivate: true}, "https://[fd00:ec2::254]/"},
		{"private: zone", Policy{AllowPrivate: true}, "https://[fe80::1%25eth0]/"},
		{"private: bracketed ipv4", Policy{AllowPrivate: true}, "https://[127.0.0.1]/"},
		{"private: http", Policy{AllowPrivate: true}, "http://127.0.0.1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.policy.CheckURL(tt.raw)
			if err == nil {
				t.Fatalf("CheckURL(%q) accepted, host %q", tt.raw, u.Host)
			}
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrBlockedDestination) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			if !strings.HasPrefix(err.Error(), "egress: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestRejectIPLiteralSpellings: every way a resolver (inet_aton,
// getaddrinfo, IDNA/NFKC mapping) could read the host as an IP address is
// refused by the strict policy. With AllowPrivate, only canonical literals
// pass: a non-canonical spelling is neither an IP literal nor a DNS name.
func TestRejectIPLiteralSpellings(t *testing.T) {
	tests := []struct {
		name        string
		host        string
		privateOKAs string // with AllowPrivate: accepted with this Host, "" = still refused
	}{
		{"dotted", "127.0.0.1", "127.0.0.1"},
		{"short two parts", "127.1", ""},
		{"short three parts", "127.0.1", ""},
		{"integer", "2130706433", ""},
		{"hex integer", "0x7f000001", ""},
		{"hex integer upper", "0X7F000001", ""},
		{"hex first octet", "0x7f.0.0.1", ""},
		{"hex every octet", "0x7f.0x0.0x0.0x1", ""},
		{"hex short", "0x7f.1", ""},
		{"octal first octet", "0177.0.0.1", ""},
		{"octal integer", "017700000001", ""},
		{"zero padded", "127.000.000.001", ""},
		{"zero padded last", "127.0.0.01", ""},
		{"trailing dot", "127.0.0.1.", ""},
		{"short trailing dot", "127.1.", ""},
		{"hex last octet", "1.2.3.0x7f", ""},
		{"zero", "0", ""},
		{"unspecified", "0.0.0.0", "0.0.0.0"},
		{"public literal", "8.8.8.8", "8.8.8.8"},
		{"metadata dotted", "169.254.169.254", ""},
		{"metadata integer", "2852039166", ""},
		{"metadata hex", "0xa9fea9fe", ""},
		{"metadata octal", "0251.0376.0251.0376", ""},
		{"alibaba metadata", "100.100.100.200", ""},
		{"ipv6 loopback", "[::1]", "[::1]"},
		{"ipv6 unspecified", "[::]", "[::]"},
		{"ipv6 v4-mapped dotted", "[::ffff:127.0.0.1]", "[::ffff:127.0.0.1]"},
		{"ipv6 v4-mapped hex", "[::ffff:7f00:1]", "[::ffff:127.0.0.1]"},
		{"ipv6 v4-mapped long", "[0:0:0:0:0:ffff:127.0.0.1]", "[::ffff:127.0.0.1]"},
		{"ipv6 v4-compatible", "[::127.0.0.1]", "[::7f00:1]"},
		{"ipv6 nat64", "[64:ff9b::7f00:1]", "[64:ff9b::7f00:1]"},
		{"ipv6 nat64 metadata", "[64:ff9b::169.254.169.254]", ""},
		{"ipv6 aws metadata", "[fd00:ec2::254]", ""},
		{"ipv6 zone", "[fe80::1%25eth0]", ""},
		{"ipv6 zone loopback", "[::1%25lo]", ""},
		{"ipv6 public", "[2606:4700:4700::1111]", "[2606:4700:4700::1111]"},
		{"bracketed ipv4", "[127.0.0.1]", ""},
		{"full-width digits", "１２７．０．０．１", "127.0.0.1"},
		{"full-width digits ascii dots", "１２７.０.０.１", "127.0.0.1"},
		{"mixed width", "１27.0.0.１", "127.0.0.1"},
		{"ideographic full stops", "127。0。0。1", "127.0.0.1"},
		{"half-width ideographic full stops", "127｡0｡0｡1", "127.0.0.1"},
		{"full-width short", "１２７．１", ""},
		{"full-width hex", "０ｘ７ｆ．０．０．１", ""},
		{"full-width integer", "２１３０７０６４３３", ""},
		{"full-width trailing dot", "１２７．０．０．１．", ""},
		{"percent-encoded full-width", "%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1", "127.0.0.1"},
		{"circled digits", "①②⑦.0.0.1", ""},
		{"mathematical digits", "𝟏𝟐𝟕.0.0.1", ""},
		{"arabic-indic digits", "١٢٧.٠.٠.١", ""},
		{"full-width brackets", "［::1］", ""},
		{"localhost", "localhost", "localhost"},
		{"localhost trailing dot", "localhost.", "localhost."},
		{"localhost mixed case", "LocalHost", "localhost"},
		{"localhost full-width", "ｌｏｃａｌｈｏｓｔ", "localhost"},
		{"localhost subdomain", "foo.localhost", "foo.localhost"},
		{"ip with port", "127.0.0.1:443", "127.0.0.1:443"},
		{"ipv6 with port", "[::1]:443", "[::1]:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "https://" + tt.host + "/secret-path"
			if u, err := (Policy{}).CheckURL(raw); err == nil {
				t.Fatalf("strict policy accepted %q as host %q", tt.host, u.Host)
			} else if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("strict policy: %v does not wrap ErrInvalidURL", err)
			} else if strings.Contains(err.Error(), "secret-path") {
				t.Fatalf("error echoes the path: %v", err)
			}

			u, err := (Policy{AllowPrivate: true}).CheckURL(raw)
			switch {
			case tt.privateOKAs == "" && err == nil:
				t.Fatalf("AllowPrivate accepted non-canonical %q as %q", tt.host, u.Host)
			case tt.privateOKAs != "" && err != nil:
				t.Fatalf("AllowPrivate refused %q: %v", tt.host, err)
			case err == nil && u.Host != tt.privateOKAs:
				t.Fatalf("AllowPrivate host = %q, want %q", u.Host, tt.privateOKAs)
			}
		})
	}
}

// TestCheckURLErrorsDoNotLeakURL: URLs may carry secrets in userinfo, path,
// query or fragment; no error text may repeat them.
func TestCheckURLErrorsDoNotLeakURL(t *testing.T) {
	const pan = "4111111111111111"
	for _, raw := range []string{
		"https://user:" + pan + "@example.com/",
		"ftp://example.com/?card=" + pan,
		"https://exa mple.com/" + pan,
		"https://127.0.0.1/" + pan,
		"https://localhost/#" + pan,
		"https://example.com:" + pan + "/",
		"https://%zz/" + pan,
		"https://[::1/" + pan,
		"%" + pan,
		"https://example.com/\x7f" + pan,
	} {
		_, err := Policy{}.CheckURL(raw)
		if err == nil {
			t.Fatalf("CheckURL(%q) accepted", raw)
		}
		if strings.Contains(err.Error(), pan) {
			t.Errorf("error for %q leaks the secret: %v", raw, err)
		}
	}
}

func TestCheckURLErrorKinds(t *testing.T) {
	_, err := Policy{AllowPrivate: true}.CheckURL("https://169.254.169.254/")
	var be *BlockedError
	if !errors.As(err, &be) || be.Decision != DecisionMetadata || !errors.Is(err, ErrBlockedDestination) {
		t.Fatalf("metadata literal: got %v, want *BlockedError(metadata)", err)
	}
	if got, want := err.Error(), `egress: blocked destination "169.254.169.254" (metadata)`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	_, err = Policy{}.CheckURL("https://localhost/")
	if got, want := err.Error(), `egress: invalid destination url: host "localhost" is a special-use name`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestCheckNameDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	p := Policy{}
	allocs := testing.AllocsPerRun(1000, func() {
		name, _ := mapHost("api.payments.example.com")
		if p.checkName(name) != nil {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Fatalf("mapHost+checkName allocate %.1f times per run", allocs)
	}
}

// inetAton reports whether s parses as an IPv4 address under the BSD
// inet_aton rules (1-4 parts; decimal, 0-octal or 0x-hex each), the most
// permissive reading any resolver applies.
func inetAton(s string) bool {
	s = strings.TrimSuffix(s, ".")
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		base := 10
		switch {
		case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base = 8
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return false
		}
		limit := uint64(255)
		if i == len(parts)-1 {
			limit = 1<<(8*(5-len(parts))) - 1
		}
		if n > limit {
			return false
		}
	}
	return true
}

func TestInetAtonOracle(t *testing.T) {
	for s, want := range map[string]bool{
		"127.0.0.1": true, "127.1": true, "2130706433": true, "0x7f.0.0.1": true, "0177.0.0.1": true,
		"1.2.3.0x7f": true, "0x": true, "256.0.0.1": false, "example.com": false, "1.2.3.4.5": false,
		"4294967295": true, "4294967296": false,
	} {
		if got := inetAton(s); got != want {
			t.Errorf("inetAton(%q) = %v, want %v", s, got, want)
		}
	}
}

func urlSeeds() []string {
	return []string{
		"https://example.com/", "https://EXAMPLE.com:443/a?b=c#d", "http://example.com/",
		"https://127.0.0.1/", "https://127.1/", "https://2130706433/", "https://0x7f000001/",
		"https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/",
		"https://[fe80::1%25eth0]/", "https://１２７．０．０．１/", "https://127.0.0.1./", "https://localhost/",
		"https://foo.localhost./", "https://a.local/", "https://x.internal/", "https://user@example.com/",
		"https://@example.com/", "https://example.com:0/", "https://example.com:/", "https:example.com",
		"https:///x", "https://例え.jp/", "https://ｅｘａｍｐｌｅ．ｃｏｍ/", "https://example。com/",
		"https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/", "https://1.2.3.0x7f/", "https://xn--bcher-kva.example/",
		"https://[64:ff9b::7f00:1]:8443/", "https://169.254.169.254/latest/meta-data/", "//example.com",
		"https://exa mple.com/", "https://a..com/", "https://" + strings.Repeat("a", 64) + ".com/",
		"https://①②⑦.0.0.1/", "https://example.com\\@evil.com/", "\x00", "https://%ff/",
	}
}

// FuzzCheckURL: nothing panics, and whatever the strict policy accepts is
// https, has no userinfo, and has a multi-label ASCII DNS host that no
// resolver could read as an IPv4 or IPv6 address.
func FuzzCheckURL(f *testing.F) {
	for _, s := range urlSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, p := range []Policy{{}, {AllowHTTP: true}, {AllowPrivate: true}, {AllowPrivate: true, AllowHTTP: true}} {
			u, err := p.CheckURL(raw)
			if err != nil {
				if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrBlockedDestination) {
					t.Fatalf("%+v: error %v wraps neither sentinel", p, err)
				}
				if !strings.HasPrefix(err.Error(), "egress: ") {
					t.Fatalf("error %q lacks the package prefix", err)
				}
				continue
			}
			if u.Scheme != "https" && !(p.AllowHTTP && u.Scheme == "http") {
				t.Fatalf("%+v accepted scheme %q", p, u.Scheme)
			}
			if u.User != nil {
				t.Fatalf("%+v accepted userinfo", p)
			}
			host := u.Hostname()
			if host == "" {
				t.Fatalf("%+v accepted empty host", p)
			}
			again, err := p.CheckURL(u.String())
			if err != nil || again.Host != u.Host {
				t.Fatalf("%+v: normalised %q does not re-check: %v", p, u.String(), err)
			}
			if ip, err := netip.ParseAddr(host); err == nil {
				if !p.AllowPrivate {
					t.Fatalf("strict policy accepted ip literal %q", host)
				}
				if Classify(ip) == DecisionMetadata {
					t.Fatalf("metadata literal %q accepted", host)
				}
				continue
			}
			name := strings.TrimSuffix(host, ".")
			if inetAton(name) {
				t.Fatalf("%+v accepted %q, an inet_aton IPv4 spelling", p, host)
			}
			for i := 0; i < len(host); i++ {
				c := host[i]
				if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
					t.Fatalf("%+v accepted host %q with byte %q", p, host, c)
				}
			}
			if !p.AllowPrivate {
				if !strings.Contains(name, ".") {
					t.Fatalf("strict policy accepted single-label %q", host)
				}
				if strings.HasSuffix(name, "localhost") || strings.HasSuffix(name, ".local") || strings.HasSuffix(name, ".internal") {
					t.Fatalf("strict policy accepted special-use %q", host)
				}
			}
		}
	})
}

func BenchmarkCheckURL(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{
		{"ascii", "https://api.payments.example.com/v1/charges?expand=card"},
		{"full-width", "https://ａｐｉ．ｅｘａｍｐｌｅ．ｃｏｍ/v1/charges"},
		{"rejected-literal", "https://0x7f.0.0.1/v1/charges"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Policy{}.CheckURL(bc.raw)
			}
		})
		// Baseline: what url.Parse alone costs on the same input.
		b.Run(bc.name+"/baseline-url.Parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = urlParse(bc.raw)
			}
		})
	}
}

var urlParse = func(raw string) (any, error) { return url.Parse(raw) }
