package store

import (
	"context"
	"encoding/binary"
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

// viewToken reads the fields resolution needs from an opened record without copying. A token
// past its expiry is returned with Found false.
func viewToken(rec []byte, now time.Time) (ResolvedToken, bool) {
	var t ResolvedToken
	if !knownVersion(rec) {
		return t, false
	}
	d := &decoder{b: rec[1:]}
	d.bytes() // id
	t.Type = d.bytes()
	t.Data = d.bytes()
	for range 4 { // mask, fingerprint, fingerprint expression, created by
		d.bytes()
	}
	var expires time.Time
	for i := range 3 { // created, modified, expires
		if len(d.b) == 0 {
			return t, false
		}
		present := d.b[0]
		d.b = d.b[1:]
		if present == 0 {
			continue
		}
		sec, n := binary.Varint(d.b)
		if n <= 0 {
			return t, false
		}
		d.b = d.b[n:]
		nsec := d.uvarint()
		if i == 2 {
			expires = time.Unix(sec, int64(nsec))
		}
	}
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		return t, false
	}
	t.containers, t.ncont = d.b, int(n)
	if d.err {
		return t, false
	}
	t.Found = expires.IsZero() || expires.After(now)
	return t, true
}
