package store

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"time"
)

// The token record inside its envelope is a compact binary encoding, not JSON: every proxied
// request opens one per token, and json.Unmarshal (with its validation of Data) was most of the
// cost of a cached read. Layout, after a version byte: id, type, data, mask, fingerprint,
// fingerprint expression, created by (each uvarint length + bytes), created at, modified at,
// expires at (a presence byte, then varint Unix seconds and uvarint nanoseconds), containers and metadata (uvarint count, then
// strings / key-value pairs). Version 3 appends modified by, the search index expressions
// (count, strings) and the keyed hashes of their values (count, bytes); version 2 records end
// before them and still decode. Fields only ever go at the end: the proxy's viewToken reads a
// prefix of every version.

const (
	tokenCodecVersion   = 3
	tokenCodecVersionV2 = 2
)

var errCodec = errors.New("store: malformed token record")

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, v string) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendTime(b []byte, t *time.Time) []byte {
	if t == nil || t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// encodeToken appends t's record to b.
func encodeToken(b []byte, t *Token) []byte {
	b = append(b, tokenCodecVersion)
	for _, s := range []string{t.ID, t.Type} {
		b = appendString(b, s)
	}
	b = appendBytes(b, t.Data)
	b = appendBytes(b, t.Mask)
	for _, s := range []string{t.Fingerprint, t.FingerprintExpression, t.CreatedBy} {
		b = appendString(b, s)
	}
	b = appendTime(b, &t.CreatedAt)
	b = appendTime(b, t.ModifiedAt)
	b = appendTime(b, t.ExpiresAt)
	b = binary.AppendUvarint(b, uint64(len(t.Containers)))
	for _, c := range t.Containers {
		b = appendString(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Metadata)))
	for k, v := range t.Metadata {
		b = appendString(appendString(b, k), v)
	}
	b = appendString(b, t.ModifiedBy)
	b = binary.AppendUvarint(b, uint64(len(t.SearchIndexes)))
	for _, x := range t.SearchIndexes {
		b = appendString(b, x)
	}
	b = binary.AppendUvarint(b, uint64(len(t.searchTags)))
	for _, tag := range t.searchTags {
		b = appendBytes(b, tag)
	}
	return b
}

// knownVersion says whether rec starts with a version of the record this node reads.
func knownVersion(rec []byte) bool {
	return len(rec) > 0 && (rec[0] == tokenCodecVersion || rec[0] == tokenCodecVersionV2)
}

// count reads a count of items that take at least a byte each.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		return 0
	}
	return int(n)
}

type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	if len(d.b) > 0 && d.b[0] < 0x80 { // one byte: lengths and counts under 128
		v := uint64(d.b[0])
		d.b = d.b[1:]
		return v
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a view of the next field (not a copy).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) time() *time.Time {
	sec, nsec, ok := d.unixTime()
	if !ok {
		return nil
	}
	t := time.Unix(sec, nsec).UTC()
	return &t
}

// varintLen is the length of the varint that starts b (it ends at its first byte under 0x80),
// 0 if b holds no valid one. Read a word at a time when b has eight bytes, as a record's times do.
func varintLen(b []byte) int {
	if len(b) >= 8 {
		if m := ^binary.LittleEndian.Uint64(b) & 0x8080808080808080; m != 0 {
			return bits.TrailingZeros64(m)/8 + 1
		}
	}
	for i := 0; i < len(b) && i < binary.MaxVarintLen64; i++ {
		if b[i] < 0x80 {
			return i + 1
		}
	}
	return 0
}

// unixTime reads a time as Unix seconds and nanoseconds; ok is false when it is absent (or
// malformed: then d.err is set).
func (d *decoder) unixTime() (sec, nsec int64, ok bool) {
	if len(d.b) == 0 {
		d.err = true
		return 0, 0, false
	}
	present := d.b[0]
	d.b = d.b[1:]
	if present == 0 {
		return 0, 0, false
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0, 0, false
	}
	d.b = d.b[n:]
	ns := d.uvarint()
	if ns >= 1e9 {
		d.err = true
		return 0, 0, false
	}
	return sec, int64(ns), true
}

// decodeToken decodes a record. The returned token's Data and Mask are views into rec: the
// caller gives rec to the token (and must not wipe it while the token is used).
func decodeToken(rec []byte) (*Token, error) {
	if !knownVersion(rec) {
		return nil, errCodec
	}
	d := &decoder{b: rec[1:]}
	t := &Token{ID: d.string(), Type: d.string(), Data: d.bytes()}
	if m := d.bytes(); len(m) > 0 {
		t.Mask = m
	}
	t.Fingerprint, t.FingerprintExpression, t.CreatedBy = d.string(), d.string(), d.string()
	if c := d.time(); c != nil {
		t.CreatedAt = *c
	}
	t.ModifiedAt, t.ExpiresAt = d.time(), d.time()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, errCodec
	}
	if n > 0 {
		t.Containers = make([]string, n)
		for i := range t.Containers {
			t.Containers[i] = d.string()
		}
	}
	n = d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, errCodec
	}
	if n > 0 {
		t.Metadata = make(map[string]string, n)
		for i := uint64(0); i < n && !d.err; i++ {
			k := d.string()
			t.Metadata[k] = d.string()
		}
	}
	if rec[0] >= 3 {
		t.ModifiedBy = d.string()
		if n := d.count(); n > 0 {
			t.SearchIndexes = make([]string, n)
			for i := range t.SearchIndexes {
				t.SearchIndexes[i] = d.string()
			}
		}
		if n := d.count(); n > 0 {
			t.searchTags = make([][]byte, n)
			for i := range t.searchTags {
				t.searchTags[i] = d.bytes()
			}
		}
	}
	if d.err || len(d.b) != 0 {
		return nil, errCodec
	}
	return t, nil
}
