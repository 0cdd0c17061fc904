package egress

import (
	"net/netip"
	"testing"
)

// TestClassifyAddr walks both edges of every blocked range: the first and
// last address inside, and the neighbours just outside (public where the
// neighbour is public), plus the embedded-IPv4 forms of loopback/metadata.
func TestClassifyAddr(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want Decision
	}{
		// 0.0.0.0/8
		{"this-network first", "0.0.0.0", DecisionUnspecified},
		{"this-network last", "0.255.255.255", DecisionUnspecified},
		{"this-network above", "1.0.0.0", DecisionAllowed},
		// 10.0.0.0/8
		{"10/8 below", "9.255.255.255", DecisionAllowed},
		{"10/8 first", "10.0.0.0", DecisionPrivate},
		{"10/8 last", "10.255.255.255", DecisionPrivate},
		{"10/8 above", "11.0.0.0", DecisionAllowed},
		// 100.64.0.0/10
		{"cgnat below", "100.63.255.255", DecisionAllowed},
		{"cgnat first", "100.64.0.0", DecisionCGNAT},
		{"cgnat last", "100.127.255.255", DecisionCGNAT},
		{"cgnat above", "100.128.0.0", DecisionAllowed},
		{"alibaba metadata", "100.100.100.200", DecisionMetadata},
		{"alibaba metadata neighbour", "100.100.100.201", DecisionCGNAT},
		// 127.0.0.0/8
		{"loopback below", "126.255.255.255", DecisionAllowed},
		{"loopback first", "127.0.0.0", DecisionLoopback},
		{"loopback usual", "127.0.0.1", DecisionLoopback},
		{"loopback last", "127.255.255.255", DecisionLoopback},
		{"loopback above", "128.0.0.0", DecisionAllowed},
		// 169.254.0.0/16
		{"link-local below", "169.253.255.255", DecisionAllowed},
		{"link-local first", "169.254.0.0", DecisionLinkLocal},
		{"link-local last", "169.254.255.255", DecisionLinkLocal},
		{"link-local above", "169.255.0.0", DecisionAllowed},
		{"metadata", "169.254.169.254", DecisionMetadata},
		{"metadata below", "169.254.169.253", DecisionLinkLocal},
		{"metadata above", "169.254.169.255", DecisionLinkLocal},
		{"ecs metadata", "169.254.170.2", DecisionMetadata},
		{"eks pod identity", "169.254.170.23", DecisionMetadata},
		// 172.16.0.0/12
		{"172.16/12 below", "172.15.255.255", DecisionAllowed},
		{"172.16/12 first", "172.16.0.0", DecisionPrivate},
		{"172.16/12 last", "172.31.255.255", DecisionPrivate},
		{"172.16/12 above", "172.32.0.0", DecisionAllowed},
		// 192.0.0.0/24
		{"192.0.0/24 below", "191.255.255.255", DecisionAllowed},
		{"192.0.0/24 first", "192.0.0.0", DecisionReserved},
		{"192.0.0/24 last", "192.0.0.255", DecisionReserved},
		{"192.0.0/24 above", "192.0.1.0", DecisionAllowed},
		// 192.0.2.0/24
		{"test-net-1 below", "192.0.1.255", DecisionAllowed},
		{"test-net-1 first", "192.0.2.0", DecisionDocumentation},
		{"test-net-1 last", "192.0.2.255", DecisionDocumentation},
		{"test-net-1 above", "192.0.3.0", DecisionAllowed},
		// 192.88.99.0/24
		{"6to4 relay below", "192.88.98.255", DecisionAllowed},
		{"6to4 relay first", "192.88.99.0", Decision6to4Relay},
		{"6to4 relay last", "192.88.99.255", Decision6to4Relay},
		{"6to4 relay above", "192.88.100.0", DecisionAllowed},
		// 192.168.0.0/16
		{"192.168/16 below", "192.167.255.255", DecisionAllowed},
		{"192.168/16 first", "192.168.0.0", DecisionPrivate},
		{"192.168/16 last", "192.168.255.255", DecisionPrivate},
		{"192.168/16 above", "192.169.0.0", DecisionAllowed},
		// AS112-v4, AMT, AS112 direct delegation
		{"as112 below", "192.31.195.255", DecisionAllowed},
		{"as112 first", "192.31.196.0", DecisionReserved},
		{"as112 last", "192.31.196.255", DecisionReserved},
		{"as112 above", "192.31.197.0", DecisionAllowed},
		{"amt below", "192.52.192.255", DecisionAllowed},
		{"amt first", "192.52.193.0", DecisionReserved},
		{"amt last", "192.52.193.255", DecisionReserved},
		{"amt above", "192.52.194.0", DecisionAllowed},
		{"as112 dd below", "192.175.47.255", DecisionAllowed},
		{"as112 dd first", "192.175.48.0", DecisionReserved},
		{"as112 dd last", "192.175.48.255", DecisionReserved},
		{"as112 dd above", "192.175.49.0", DecisionAllowed},
		// 198.18.0.0/15
		{"benchmarking below", "198.17.255.255", DecisionAllowed},
		{"benchmarking first", "198.18.0.0", DecisionBenchmarking},
		{"benchmarking last", "198.19.255.255", DecisionBenchmarking},
		{"benchmarking above", "198.20.0.0", DecisionAllowed},
		// 198.51.100.0/24
		{"test-net-2 below", "198.51.99.255", DecisionAllowed},
		{"test-net-2 first", "198.51.100.0", DecisionDocumentation},
		{"test-net-2 last", "198.51.100.255", DecisionDocumentation},
		{"test-net-2 above", "198.51.101.0", DecisionAllowed},
		// 203.0.113.0/24
		{"test-net-3 below", "203.0.112.255", DecisionAllowed},
		{"test-net-3 first", "203.0.113.0", DecisionDocumentation},
		{"test-net-3 last", "203.0.113.255", DecisionDocumentation},
		{"test-net-3 above", "203.0.114.0", DecisionAllowed},
		// 224.0.0.0/4, 240.0.0.0/4, broadcast
		{"multicast below", "223.255.255.255", DecisionAllowed},
		{"multicast first", "224.0.0.0", DecisionMulticast},
		{"multicast last", "239.255.255.255", DecisionMulticast},
		{"class e first", "240.0.0.0", DecisionReserved},
		{"class e last", "255.255.255.254", DecisionReserved},
		{"broadcast", "255.255.255.255", DecisionBroadcast},
		{"public v4", "8.8.8.8", DecisionAllowed},
		{"public v4 2", "1.1.1.1", DecisionAllowed},

		// IPv6 specials
		{"v6 unspecified", "::", DecisionUnspecified},
		{"v6 loopback", "::1", DecisionLoopback},
		// ::/96 IPv4-compatible
		{"v4-compatible public", "::8.8.8.8", DecisionIPv4Compatible},
		{"v4-compatible loopback", "::127.0.0.1", DecisionLoopback},
		{"v4-compatible metadata", "::169.254.169.254", DecisionMetadata},
		{"v4-compatible last", "::255.255.255.254", DecisionReserved},
		{"v4-compatible above", "::1:0:0", DecisionReserved},
		// ::ffff:0:0/96 IPv4-mapped
		{"v4-mapped below", "::fffe:ffff:ffff", DecisionReserved},
		{"v4-mapped first", "::ffff:0.0.0.0", DecisionUnspecified},
		{"v4-mapped public", "::ffff:8.8.8.8", DecisionIPv4Mapped},
		{"v4-mapped loopback", "::ffff:127.0.0.1", DecisionLoopback},
		{"v4-mapped loopback hex", "::ffff:7f00:1", DecisionLoopback},
		{"v4-mapped metadata", "::ffff:169.254.169.254", DecisionMetadata},
		{"v4-mapped private", "::ffff:10.0.0.1", DecisionPrivate},
		{"v4-mapped last", "::ffff:255.255.255.255", DecisionBroadcast},
		{"v4-mapped above", "::1:0:0:0", DecisionReserved},
		{"v4-translated", "::ffff:0:8.8.8.8", DecisionReserved},
		// 64:ff9b::/96 NAT64
		{"nat64 below", "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"nat64 first", "64:ff9b::", DecisionUnspecified},
		{"nat64 public", "64:ff9b::8.8.8.8", DecisionNAT64},
		{"nat64 loopback", "64:ff9b::127.0.0.1", DecisionLoopback},
		{"nat64 metadata", "64:ff9b::a9fe:a9fe", DecisionMetadata},
		{"nat64 private", "64:ff9b::10.1.2.3", DecisionPrivate},
		{"nat64 last", "64:ff9b::ffff:ffff", DecisionBroadcast},
		{"nat64 above", "64:ff9b::1:0:0", DecisionReserved},
		// 64:ff9b:1::/48 local-use NAT64
		{"nat64 local first", "64:ff9b:1::", DecisionNAT64},
		{"nat64 local last", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", DecisionNAT64},
		{"nat64 local above", "64:ff9b:2::", DecisionReserved},
		// 100::/64
		{"discard below", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"discard first", "100::", DecisionDiscard},
		{"discard last", "100::ffff:ffff:ffff:ffff", DecisionDiscard},
		{"discard above", "100:0:0:1::", DecisionReserved},
		// 2000::/3 edges
		{"global below", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"global first", "2000::", DecisionAllowed},
		{"global last", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionAllowed},
		{"global above", "4000::", DecisionReserved},
		// 2001::/32 Teredo and 2001::/23
		{"teredo below", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionAllowed},
		{"teredo first", "2001::", DecisionTeredo},
		{"teredo last", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", DecisionTeredo},
		{"teredo above", "2001:1::", DecisionReserved},
		{"ietf /23 benchmarking", "2001:2::1", DecisionReserved},
		{"ietf /23 last", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"ietf /23 above", "2001:200::", DecisionAllowed},
		// 2001:db8::/32
		{"doc below", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", DecisionAllowed},
		{"doc first", "2001:db8::", DecisionDocumentation},
		{"doc last", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", DecisionDocumentation},
		{"doc above", "2001:db9::", DecisionAllowed},
		// 2002::/16 6to4
		{"6to4 below", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionAllowed},
		{"6to4 first", "2002::", DecisionUnspecified},
		{"6to4 public", "2002:808:808::1", Decision6to4},
		{"6to4 loopback", "2002:7f00:1::1", DecisionLoopback},
		{"6to4 metadata", "2002:a9fe:a9fe::", DecisionMetadata},
		{"6to4 last", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionBroadcast},
		{"6to4 above", "2003::", DecisionAllowed},
		// 3fff::/20 documentation
		{"doc2 below", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionAllowed},
		{"doc2 first", "3fff::", DecisionDocumentation},
		{"doc2 last", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionDocumentation},
		{"doc2 above", "3fff:1000::", DecisionAllowed},
		// 2620:4f:8000::/48 AS112 direct delegation
		{"as112 v6 below", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", DecisionAllowed},
		{"as112 v6 first", "2620:4f:8000::", DecisionReserved},
		{"as112 v6 last", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"as112 v6 above", "2620:4f:8001::", DecisionAllowed},
		// 5f00::/16 SRv6 SIDs, outside 2000::/3
		{"srv6", "5f00::1", DecisionReserved},
		// fc00::/7 ULA and the AWS metadata inside it
		{"ula below", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"ula first", "fc00::", DecisionPrivate},
		{"ula last", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionPrivate},
		{"ula above", "fe00::", DecisionReserved},
		{"aws metadata v6", "fd00:ec2::254", DecisionMetadata},
		{"aws dns v6", "fd00:ec2::23", DecisionMetadata},
		{"aws metadata v6 neighbour", "fd00:ec2::253", DecisionPrivate},
		// fe80::/10, fec0::/10, ff00::/8
		{"link-local v6 below", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionReserved},
		{"link-local v6 first", "fe80::", DecisionLinkLocal},
		{"link-local v6 last", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionLinkLocal},
		{"link-local v6 zone", "fe80::1%eth0", DecisionLinkLocal},
		{"site-local first", "fec0::", DecisionSiteLocal},
		{"site-local last", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionSiteLocal},
		{"multicast v6 first", "ff00::", DecisionMulticast},
		{"multicast v6 last", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DecisionMulticast},
		{"public v6", "2606:4700:4700::1111", DecisionAllowed},
		{"public v6 2", "2a00:1450:4001:82b::200e", DecisionAllowed},
		{"public v6 zone", "2606:4700:4700::1111%eth0", DecisionAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.addr)
			if got := Classify(ip); got != tt.want {
				t.Fatalf("Classify(%s) = %s, want %s", tt.addr, got, tt.want)
			}
			if got := oracleClassify(ip); got != tt.want {
				t.Fatalf("oracle(%s) = %s, want %s (test oracle disagrees with table)", tt.addr, got, tt.want)
			}
		})
	}
	t.Run("zero addr", func(t *testing.T) {
		if got := Classify(netip.Addr{}); got != DecisionInvalid {
			t.Fatalf("Classify(zero) = %s, want invalid", got)
		}
	})
}

func TestDecisionString(t *testing.T) {
	seen := map[string]Decision{}
	for d := Decision(0); d < numDecisions; d++ {
		s := d.String()
		if s == "" || s == "unknown" {
			t.Errorf("Decision(%d) has no name", d)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("Decision(%d) and Decision(%d) share the name %q", prev, d, s)
		}
		seen[s] = d
	}
	if got := Decision(200).String(); got != "unknown" {
		t.Errorf("out of range String() = %q", got)
	}
	// Names are part of the log/metric contract; pin a few.
	for d, want := range map[Decision]string{
		DecisionAllowed: "allowed", DecisionLoopback: "loopback", DecisionPrivate: "private",
		DecisionLinkLocal: "link-local", DecisionCGNAT: "cgnat", DecisionMetadata: "metadata",
	} {
		if d.String() != want {
			t.Errorf("%d.String() = %q, want %q", d, d.String(), want)
		}
	}
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	addrs := []netip.Addr{
		netip.MustParseAddr("8.8.8.8"),
		netip.MustParseAddr("169.254.169.254"),
		netip.MustParseAddr("::ffff:127.0.0.1"),
		netip.MustParseAddr("2606:4700:4700::1111"),
		netip.MustParseAddr("fe80::1%eth0"),
	}
	var sink Decision
	allocs := testing.AllocsPerRun(1000, func() {
		for _, a := range addrs {
			sink += Classify(a)
		}
	})
	if allocs != 0 {
		t.Fatalf("Classify allocates %.1f times per run", allocs)
	}
	_ = sink
}

// oracleClassify is an independent, table-driven restatement of the policy
// written with netip.Prefix, used to cross-check Classify's bit arithmetic.
func oracleClassify(ip netip.Addr) Decision {
	if !ip.IsValid() {
		return DecisionInvalid
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if d := oracleClassify(ip.Unmap()); d != DecisionAllowed {
			return d
		}
		return DecisionIPv4Mapped
	}
	for _, r := range oracleRanges {
		if r.prefix.Contains(ip) {
			if r.embed != nil {
				v4 := r.embed(ip.As16())
				if d := oracleClassify(netip.AddrFrom4(v4)); d != DecisionAllowed {
					return d
				}
			}
			return r.d
		}
	}
	if ip.Is6() {
		return DecisionReserved // outside 2000::/3 (checked in oracleRanges)
	}
	return DecisionAllowed
}

type oracleRange struct {
	prefix netip.Prefix
	d      Decision
	embed  func([16]byte) [4]byte
}

func low32(b [16]byte) [4]byte  { return [4]byte{b[12], b[13], b[14], b[15]} }
func sixto4(b [16]byte) [4]byte { return [4]byte{b[2], b[3], b[4], b[5]} }

// Order matters: the first matching prefix wins, so exact addresses first.
var oracleRanges = func() []oracleRange {
	p := netip.MustParsePrefix
	return []oracleRange{
		{p("169.254.169.254/32"), DecisionMetadata, nil},
		{p("169.254.170.2/32"), DecisionMetadata, nil},
		{p("169.254.170.23/32"), DecisionMetadata, nil},
		{p("100.100.100.200/32"), DecisionMetadata, nil},
		{p("0.0.0.0/8"), DecisionUnspecified, nil},
		{p("10.0.0.0/8"), DecisionPrivate, nil},
		{p("100.64.0.0/10"), DecisionCGNAT, nil},
		{p("127.0.0.0/8"), DecisionLoopback, nil},
		{p("169.254.0.0/16"), DecisionLinkLocal, nil},
		{p("172.16.0.0/12"), DecisionPrivate, nil},
		{p("192.0.0.0/24"), DecisionReserved, nil},
		{p("192.0.2.0/24"), DecisionDocumentation, nil},
		{p("192.88.99.0/24"), Decision6to4Relay, nil},
		{p("192.168.0.0/16"), DecisionPrivate, nil},
		{p("198.18.0.0/15"), DecisionBenchmarking, nil},
		{p("198.51.100.0/24"), DecisionDocumentation, nil},
		{p("203.0.113.0/24"), DecisionDocumentation, nil},
		{p("224.0.0.0/4"), DecisionMulticast, nil},
		{p("255.255.255.255/32"), DecisionBroadcast, nil},
		{p("240.0.0.0/4"), DecisionReserved, nil},
		{p("192.31.196.0/24"), DecisionReserved, nil},
		{p("192.52.193.0/24"), DecisionReserved, nil},
		{p("192.175.48.0/24"), DecisionReserved, nil},

		{p("::/128"), DecisionUnspecified, nil},
		{p("::1/128"), DecisionLoopback, nil},
		{p("::/96"), DecisionIPv4Compatible, low32},
		{p("64:ff9b::/96"), DecisionNAT64, low32},
		{p("64:ff9b:1::/48"), DecisionNAT64, nil},
		{p("100::/64"), DecisionDiscard, nil},
		{p("fd00:ec2::254/128"), DecisionMetadata, nil},
		{p("fd00:ec2::23/128"), DecisionMetadata, nil},
		{p("fc00::/7"), DecisionPrivate, nil},
		{p("fe80::/10"), DecisionLinkLocal, nil},
		{p("fec0::/10"), DecisionSiteLocal, nil},
		{p("ff00::/8"), DecisionMulticast, nil},
		{p("2001::/32"), DecisionTeredo, nil},
		{p("2001::/23"), DecisionReserved, nil},
		{p("2001:db8::/32"), DecisionDocumentation, nil},
		{p("2002::/16"), Decision6to4, sixto4},
		{p("3fff::/20"), DecisionDocumentation, nil},
		{p("2620:4f:8000::/48"), DecisionReserved, nil},
		{p("2000::/3"), DecisionAllowed, nil},
	}
}()

// FuzzClassify checks Classify against the prefix-table oracle, and that
// no IPv4-embedding IPv6 form of any address is ever allowed.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"0.0.0.0", "127.0.0.1", "169.254.169.254", "8.8.8.8", "255.255.255.255", "100.64.0.0",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "64:ff9b::7f00:1", "64:ff9b:1::1",
		"2002:7f00:1::", "2001::1", "2001:db8::1", "fd00:ec2::254", "fe80::1", "ff02::1",
		"2606:4700:4700::1111", "3fff::1", "100::1", "::8.8.8.8", "192.175.48.1", "2620:4f:8000::1",
	} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		got := Classify(ip)
		if !ok {
			if got != DecisionInvalid {
				t.Fatalf("invalid addr classified %s", got)
			}
			return
		}
		if want := oracleClassify(ip); got != want {
			t.Fatalf("Classify(%s) = %s, oracle says %s", ip, got, want)
		}
		if got.String() == "unknown" {
			t.Fatalf("Classify(%s) returned an unnamed decision", ip)
		}
		if !ip.Is4() {
			return
		}
		v4 := ip.As4()
		a, b4, c, d4 := v4[0], v4[1], v4[2], v4[3]
		for _, form := range []struct {
			addr    [16]byte
			wrapper Decision // decision when the embedded address is public
			mirrors bool     // a blocked embedded address passes its decision through
		}{
			{[16]byte{10: 0xff, 11: 0xff, 12: a, 13: b4, 14: c, 15: d4}, DecisionIPv4Mapped, true},
			{[16]byte{12: a, 13: b4, 14: c, 15: d4}, DecisionIPv4Compatible, true},
			{[16]byte{0, 0x64, 0xff, 0x9b, 12: a, 13: b4, 14: c, 15: d4}, DecisionNAT64, true},
			{[16]byte{0x20, 0x02, a, b4, c, d4}, Decision6to4, true},
			{[16]byte{0x20, 0x01, 0, 0, a, b4, c, d4, 12: 1, 13: 2, 14: 3, 15: 4}, DecisionTeredo, false},
		} {
			w := netip.AddrFrom16(form.addr)
			want := form.wrapper
			if form.mirrors && got != DecisionAllowed {
				want = got
			}
			if w == netip.IPv6Loopback() {
				want = DecisionLoopback // ::0.0.0.1 is ::1, loopback in its own right
			}
			if d := Classify(w); d != want {
				t.Fatalf("embedding form %s of %s (%s) = %s, want %s", w, ip, got, d, want)
			}
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	for _, bc := range []struct{ name, addr string }{
		{"v4-public", "8.8.8.8"},
		{"v4-metadata", "169.254.169.254"},
		{"v4-mapped", "::ffff:127.0.0.1"},
		{"v6-public", "2606:4700:4700::1111"},
		{"v6-ula", "fd12:3456::1"},
	} {
		ip := netip.MustParseAddr(bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink Decision
			for b.Loop() {
				sink += Classify(ip)
			}
			_ = sink
		})
	}
}
