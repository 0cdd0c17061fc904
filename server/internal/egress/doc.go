// Package egress decides where the proxy may connect to and makes the
// connection: it is the edge's only way out to a destination.
//
// Three layers, each sufficient on its own for the case it covers:
//
//   - [Policy.CheckURL] validates a destination URL before anything is
//     resolved: https only (http with [Policy.AllowHTTP]), no userinfo, and a
//     host that is a DNS name. IP literals are refused in every spelling a
//     resolver might accept (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1,
//     bracketed IPv6, zone ids, full-width digits, a trailing dot), as are
//     single-label names and the special-use names localhost, *.localhost,
//     *.local, *.internal and *.home.arpa. The rule that makes this sound is
//     positive, not a list of bad spellings: after mapping full-width forms
//     the host must consist of ASCII letter-digit-hyphen labels and its last
//     label must begin with a letter, which no numeric address form can.
//   - [Dialer.DialContext] resolves the name once, classifies every answer
//     with [Classify], refuses the whole name if any answer is blocked, and
//     then connects to the exact address it checked — never to the name —
//     so a DNS server that changes its answer between check and connect
//     (DNS rebinding) gains nothing.
//   - The default socket dialer re-checks the address in the connect hook
//     (net.Dialer.ControlContext), right before connect(2).
//
// [Classify] names the range an address falls in as a [Decision] whose
// String value is stable, for logs and metric labels.
//
// There is no proxy support of any kind. Nothing in this package reads
// HTTP_PROXY, HTTPS_PROXY, ALL_PROXY or NO_PROXY: connections are made with a
// plain net.Dialer to the checked IP address, and the environment plays no
// part in where they go.
//
// Errors wrap [ErrInvalidURL] or [ErrBlockedDestination]; their text may name
// the destination host but never contains the path, query, userinfo or any
// other part of the URL.
package egress
