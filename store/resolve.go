package store

import (
	"context"
	"time"
)

// Resolved holds the tokens of one request, opened into buffers it owns and reuses: resolving
// tokens that are in the sealed cache allocates nothing once the buffers have grown. Get one with
// new(Resolved) (or from a pool), pass it to ResolveTokens, and Reset it before reuse. Data and
// the other views point into its buffers: they are valid until the next ResolveTokens or Reset,
// and they are plaintext — Reset wipes them.
type Resolved struct {
	Tokens []ResolvedToken
	buf    []byte // opened records, one after another
	aad    []byte
}

// ResolvedToken is one token of a Resolved. Found is false for an unknown or expired id.
type ResolvedToken struct {
	ID    string
	Found bool
	Type  []byte // view
	Data  []byte // view: the token's data JSON (plaintext)
	// Full is the token decoded in full (allocating), for the rare uses that need more than the
	// data (short-lived fields merged, the whole token object). Nil when not needed.
	Full *Token

	containers []byte // the encoded container list, walked by Containers
	ncont      int
}

// Containers calls fn with each container of the token (views), until fn returns false.
func (t *ResolvedToken) Containers(fn func(c []byte) bool) {
	if t.Full != nil {
		for _, c := range t.Full.Containers {
			if !fn([]byte(c)) {
				return
			}
		}
		return
	}
	d := decoder{b: t.containers}
	for i := 0; i < t.ncont && !d.err; i++ {
		if !fn(d.bytes()) {
			return
		}
	}
}

// Reset wipes the plaintext and empties r for reuse.
func (r *Resolved) Reset() {
	clear(r.buf)
	r.buf = r.buf[:0]
	clear(r.Tokens)
	r.Tokens = r.Tokens[:0]
}

// ResolveTokens opens tokens from the sealed cache, reading the rest from Badger.
func (s *badgerStore) ResolveTokens(ctx context.Context, ids []string, r *Resolved) error {
	return s.resolve(ctx, s.cache, s, ids, r)
}

// viewToken reads the fields resolution needs from an opened record into t, without copying.
// A token past its expiry gets Found false. Every proxied token goes through here, so the
// common record — every field before the times under 128 bytes — is read by offsets; any other
// goes through the decoder. t is filled in place: the token is 14 words, and copying it
// through the calls would cost a third of the read.
func viewToken(t *ResolvedToken, rec []byte, now time.Time) bool {
	if !knownVersion(rec) {
		return false
	}
	// id, type, data, mask, fingerprint, fingerprint expression, created by
	var ends [7]int
	i := 1
	for k := range ends {
		if i >= len(rec) || rec[i] >= 0x80 {
			return viewTokenDecoded(t, rec, now)
		}
		i += 1 + int(rec[i])
		ends[k] = i
	}
	if i > len(rec) {
		return false
	}
	t.Type, t.Data = rec[ends[0]+1:ends[1]:ends[1]], rec[ends[1]+1:ends[2]:ends[2]]
	return viewTimesAndContainers(t, rec[i:], now)
}

// viewTokenDecoded is viewToken for any record, field by field through the decoder.
func viewTokenDecoded(t *ResolvedToken, rec []byte, now time.Time) bool {
	d := &decoder{b: rec[1:]}
	d.bytes() // id
	t.Type = d.bytes()
	t.Data = d.bytes()
	for range 4 { // mask, fingerprint, fingerprint expression, created by
		d.bytes()
	}
	if d.err {
		return false
	}
	return viewTimesAndContainers(t, d.b, now)
}

// viewTimesAndContainers reads the rest of viewToken from b, the record after created by: the
// times (only the expiry is read) and the containers.
func viewTimesAndContainers(t *ResolvedToken, b []byte, now time.Time) bool {
	// created and modified, stepped over in place: a presence byte, then two varints if present
	i := 0
	for range 2 {
		if i >= len(b) {
			return false
		}
		i++
		if b[i-1] == 0 {
			continue
		}
		for range 2 {
			n := varintLen(b[i:])
			if n == 0 {
				return false
			}
			i += n
		}
	}
	d := &decoder{b: b[i:]}
	sec, nsec, expires := d.unixTime()
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		return false
	}
	t.containers, t.ncont = d.b, int(n)
	t.Found = !expires || time.Unix(sec, nsec).After(now)
	return true
}
