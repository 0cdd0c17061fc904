package egress

import "net/netip"

// Decision is the verdict of [Classify] on one address. The zero value is
// DecisionInvalid, which is blocked, so a forgotten assignment fails closed.
//
// Every value other than DecisionAllowed is blocked. Its String form is
// stable and meant for logs and metric labels.
type Decision uint8

// The decisions, one per kind of address range.
const (
	DecisionInvalid        Decision = iota // not a valid address (zero netip.Addr)
	DecisionAllowed                        // globally routable unicast
	DecisionUnspecified                    // 0.0.0.0/8, ::
	DecisionLoopback                       // 127.0.0.0/8, ::1
	DecisionPrivate                        // 10/8, 172.16/12, 192.168/16, fc00::/7
	DecisionLinkLocal                      // 169.254/16, fe80::/10
	DecisionSiteLocal                      // fec0::/10 (deprecated site-local)
	DecisionCGNAT                          // 100.64.0.0/10 shared address space
	DecisionMetadata                       // cloud instance metadata endpoints
	DecisionMulticast                      // 224/4, ff00::/8
	DecisionBroadcast                      // 255.255.255.255
	DecisionDocumentation                  // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
	DecisionBenchmarking                   // 198.18/15
	DecisionReserved                       // 240/4, 192.0.0/24, AS112, AMT, 2001::/23 outside Teredo, IPv6 outside 2000::/3
	Decision6to4Relay                      // 192.88.99/24 anycast relays
	DecisionIPv4Mapped                     // ::ffff:0:0/96 embedding a public IPv4 address
	DecisionIPv4Compatible                 // ::/96 embedding a public IPv4 address
	DecisionNAT64                          // 64:ff9b::/96 embedding a public IPv4 address, 64:ff9b:1::/48
	Decision6to4                           // 2002::/16 embedding a public IPv4 address
	DecisionTeredo                         // 2001::/32
	DecisionDiscard                        // 100::/64
)

const numDecisions = DecisionDiscard + 1

var decisionNames = [numDecisions]string{
	DecisionInvalid:        "invalid",
	DecisionAllowed:        "allowed",
	DecisionUnspecified:    "unspecified",
	DecisionLoopback:       "loopback",
	DecisionPrivate:        "private",
	DecisionLinkLocal:      "link-local",
	DecisionSiteLocal:      "site-local",
	DecisionCGNAT:          "cgnat",
	DecisionMetadata:       "metadata",
	DecisionMulticast:      "multicast",
	DecisionBroadcast:      "broadcast",
	DecisionDocumentation:  "documentation",
	DecisionBenchmarking:   "benchmarking",
	DecisionReserved:       "reserved",
	Decision6to4Relay:      "6to4-relay",
	DecisionIPv4Mapped:     "ipv4-mapped",
	DecisionIPv4Compatible: "ipv4-compatible",
	DecisionNAT64:          "nat64",
	Decision6to4:           "6to4",
	DecisionTeredo:         "teredo",
	DecisionDiscard:        "discard",
}

// String returns the stable name of d ("allowed", "loopback", "private",
// "link-local", "cgnat", "metadata", ...), or "unknown" for a value outside
// the enumeration.
func (d Decision) String() string {
	if d < numDecisions {
		return decisionNames[d]
	}
	return "unknown"
}

// Classify says which kind of range ip belongs to. Only DecisionAllowed
// permits a connection (see [Policy] for what AllowPrivate relaxes).
//
// IPv4 is blocked in every special-purpose range of smokescreen,
// code.dny.dev/ssrf and doyensec/safeurl combined. IPv6 is allowed only
// inside 2000::/3 (global unicast), minus the special ranges within it.
// Addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64,
// 6to4) report the embedded address's decision when that one is blocked
// (so ::ffff:127.0.0.1 and 64:ff9b::a9fe:a9fe are "loopback" and
// "metadata"), and their own blocked decision otherwise: they are never
// allowed. A zone is ignored. Classify does not allocate.
func Classify(ip netip.Addr) Decision {
	switch {
	case ip.Is4():
		return classify4(ip.As4())
	case ip.Is4In6():
		if d := classify4(ip.Unmap().As4()); d != DecisionAllowed {
			return d
		}
		return DecisionIPv4Mapped
	case ip.Is6():
		return classify6(ip.As16())
	}
	return DecisionInvalid
}

func classify4(b [4]byte) Decision {
	switch {
	case b[0] == 0:
		return DecisionUnspecified // 0.0.0.0/8 "this network"
	case b[0] == 10:
		return DecisionPrivate
	case b[0] == 100 && b[1]&0xc0 == 64: // 100.64.0.0/10
		if b == [4]byte{100, 100, 100, 200} { // Alibaba Cloud metadata
			return DecisionMetadata
		}
		return DecisionCGNAT
	case b[0] == 127:
		return DecisionLoopback
	case b[0] == 169 && b[1] == 254:
		switch b {
		case [4]byte{169, 254, 169, 254}, // AWS, GCP, Azure, OpenStack, ...
			[4]byte{169, 254, 170, 2},  // AWS ECS task metadata
			[4]byte{169, 254, 170, 23}: // AWS EKS pod identity
			return DecisionMetadata
		}
		return DecisionLinkLocal
	case b[0] == 172 && b[1]&0xf0 == 16: // 172.16.0.0/12
		return DecisionPrivate
	case b[0] == 192 && b[1] == 0 && b[2] == 0:
		return DecisionReserved // 192.0.0.0/24 IETF protocol assignments
	case b[0] == 192 && b[1] == 0 && b[2] == 2:
		return DecisionDocumentation
	case b[0] == 192 && b[1] == 88 && b[2] == 99:
		return Decision6to4Relay
	case b[0] == 192 && b[1] == 168:
		return DecisionPrivate
	case b[0] == 192 && b[1] == 31 && b[2] == 196, // AS112-v4
		b[0] == 192 && b[1] == 52 && b[2] == 193, // AMT
		b[0] == 192 && b[1] == 175 && b[2] == 48: // AS112 direct delegation
		return DecisionReserved
	case b[0] == 198 && b[1]&0xfe == 18: // 198.18.0.0/15
		return DecisionBenchmarking
	case b[0] == 198 && b[1] == 51 && b[2] == 100,
		b[0] == 203 && b[1] == 0 && b[2] == 113:
		return DecisionDocumentation
	case b[0]&0xf0 == 224: // 224.0.0.0/4
		return DecisionMulticast
	case b == [4]byte{255, 255, 255, 255}:
		return DecisionBroadcast
	case b[0]&0xf0 == 240: // 240.0.0.0/4
		return DecisionReserved
	}
	return DecisionAllowed
}

// embedded4 classifies the IPv4 address embedded in an IPv6 one: its
// decision if blocked, else the wrapper's own decision.
func embedded4(v4 [4]byte, wrapper Decision) Decision {
	if d := classify4(v4); d != DecisionAllowed {
		return d
	}
	return wrapper
}

func classify6(b [16]byte) Decision {
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	v4 := [4]byte{b[12], b[13], b[14], b[15]}

	switch {
	case hi == 0 && lo == 0:
		return DecisionUnspecified
	case hi == 0 && lo == 1:
		return DecisionLoopback
	case hi == 0 && lo>>32 == 0: // ::/96 IPv4-compatible
		return embedded4(v4, DecisionIPv4Compatible)
	case hi == 0 && lo>>32 == 0xffff: // ::ffff:0:0/96 (reached only via As16 callers)
		return embedded4(v4, DecisionIPv4Mapped)
	case hi == 0x0064_ff9b_0000_0000 && lo>>32 == 0: // 64:ff9b::/96 NAT64
		return embedded4(v4, DecisionNAT64)
	case hi>>16 == 0x0064_ff9b_0001: // 64:ff9b:1::/48 local-use NAT64
		return DecisionNAT64
	case hi == 0x0100_0000_0000_0000: // 100::/64 discard-only
		return DecisionDiscard
	case hi == 0xfd00_0ec2_0000_0000 && (lo == 0x254 || lo == 0x23): // AWS metadata, fd00:ec2::254 and ::23
		return DecisionMetadata
	case b[0]&0xfe == 0xfc: // fc00::/7 unique local
		return DecisionPrivate
	case b[0] == 0xfe && b[1]&0xc0 == 0x80: // fe80::/10
		return DecisionLinkLocal
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0: // fec0::/10
		return DecisionSiteLocal
	case b[0] == 0xff:
		return DecisionMulticast
	case b[0]&0xe0 != 0x20: // everything outside 2000::/3
		return DecisionReserved
	// Inside 2000::/3 from here on.
	case hi>>32 == 0x2001_0000: // 2001::/32 Teredo
		return DecisionTeredo
	case hi>>41 == 0x2001_0000>>9: // 2001::/23 IETF protocol assignments
		return DecisionReserved
	case hi>>32 == 0x2001_0db8: // 2001:db8::/32
		return DecisionDocumentation
	case hi>>48 == 0x2002: // 2002::/16 6to4, IPv4 in bits 16..47
		return embedded4([4]byte{b[2], b[3], b[4], b[5]}, Decision6to4)
	case hi>>44 == 0x3fff0: // 3fff::/20 documentation (RFC 9637)
		return DecisionDocumentation
	case hi>>16 == 0x2620_004f_8000: // 2620:4f:8000::/48 AS112 direct delegation
		return DecisionReserved
	}
	return DecisionAllowed
}
