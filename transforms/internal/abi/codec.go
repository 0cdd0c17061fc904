package abi

import "encoding/binary"

// Encodings. All integers are little-endian uint32.
//
//	bytes         = u32 len, len bytes
//	headers block = u32 count, count × (bytes name, bytes value)
//	head          = bytes method, bytes path, bytes query, u32 status, headers block
//	messages      = u32 count, count × bytes
//	custom        = u32 status, headers block, body (all remaining bytes)
//	http request  = bytes method, bytes url, headers block, body (all remaining bytes)
//	http response = u32 status, headers block, body (all remaining bytes) — as custom
//
// The headers block is the suffix of the head, so a guest that only wants to
// append a header can patch the count and append to the buffer it read.

// Reader decodes the encodings above from a byte slice. It never panics and
// never allocates; results are views into the slice given to NewReader.
type Reader struct {
	b   []byte
	bad bool
}

// NewReader returns a Reader over b. The Reader does not copy b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// U32 reads one uint32; ok is false when fewer than 4 bytes remain.
func (r *Reader) U32() (v uint32, ok bool) {
	if r.bad || len(r.b) < 4 {
		r.bad = true
		return 0, false
	}
	v = binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, true
}

// Bytes reads a length-prefixed byte string and returns a view of it.
func (r *Reader) Bytes() (v []byte, ok bool) {
	n, ok := r.U32()
	if !ok {
		return nil, false
	}
	if uint64(n) > uint64(len(r.b)) {
		r.bad = true
		return nil, false
	}
	v = r.b[:n:n]
	r.b = r.b[n:]
	return v, true
}

// Rest returns the bytes not yet read.
func (r *Reader) Rest() []byte { return r.b }

// Failed reports whether a read ran past the end.
func (r *Reader) Failed() bool { return r.bad }

// PutU32 writes v at b[0:4] and returns b[4:]. b must have room.
func PutU32(b []byte, v uint32) []byte {
	binary.LittleEndian.PutUint32(b, v)
	return b[4:]
}

// PutBytes writes a length-prefixed s at the start of b and returns the rest.
// b must have room for 4+len(s) bytes.
func PutBytes[T ~string | ~[]byte](b []byte, s T) []byte {
	b = PutU32(b, uint32(len(s)))
	n := copy(b, s)
	return b[n:]
}

// AppendU32 appends v to dst.
func AppendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// AppendBytes appends a length-prefixed s to dst.
func AppendBytes[T ~string | ~[]byte](dst []byte, s T) []byte {
	dst = AppendU32(dst, uint32(len(s)))
	return append(dst, s...)
}
