package jwe

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// checkDecodeB64WithRoom is checkDecodeB64AgreesWithStdlib with 8 bytes of room after the
// decoded size, so that every whole block of 32 characters goes through decodeB64Blocks where
// the CPU has AVX2; nothing may be written past the room.
func checkDecodeB64WithRoom(t *testing.T, src []byte) {
	t.Helper()
	for _, c := range []struct {
		name string
		t    *b64Dec
		enc  *base64.Encoding
	}{
		{"std", b64StdDec, base64.RawStdEncoding.Strict()},
		{"url", b64URLDec, base64.RawURLEncoding.Strict()},
	} {
		want := make([]byte, c.enc.DecodedLen(len(src)))
		n, err := c.enc.Decode(want, src)
		wantOK := err == nil && !bytes.ContainsAny(src, "\r\n") // decodeB64 refuses line breaks
		want = want[:n]

		size := b64DecodedLen(len(src)) + 8
		guard := bytes.Repeat([]byte{0xa5}, size+8)
		got, ok := decodeB64(guard[:size], src, c.t)
		if ok != wantOK {
			t.Fatalf("%s %q: accepted %v, encoding/base64 %v (%v)", c.name, src, ok, wantOK, err)
		}
		if ok && !bytes.Equal(guard[:got], want) {
			t.Fatalf("%s %q: decoded %x, want %x", c.name, src, guard[:got], want)
		}
		if !bytes.Equal(guard[size:], bytes.Repeat([]byte{0xa5}, 8)) {
			t.Fatalf("%s %q: wrote past the room", c.name, src)
		}
	}
}

// TestDecodeB64BlocksAgreeWithStdlib puts every byte value at every position of two blocks of
// 32 characters followed by a partial one, in both alphabets: a byte outside the alphabet in
// any class boundary (the bytes around 'A', 'Z', 'a', 'z', '0', '9', the 62nd and 63rd
// characters, 0x80 and above) must stop the block, and every byte inside must decode.
func TestDecodeB64BlocksAgreeWithStdlib(t *testing.T) {
	data := []byte("\xfb\xff\xbe\x00\x10\x83any carnal pleasure.\xfa\x7f\x00\x01\x02\x03\xfe\xfd\xfc\xfb sure! \xff\xef\xdf and more\xf0")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		base := []byte(enc.EncodeToString(data))
		if len(base) < 64+4 {
			t.Fatalf("base %d characters, want two blocks and more", len(base))
		}
		for i := range 64 + 4 {
			for c := range 256 {
				s := bytes.Clone(base)
				s[i] = byte(c)
				checkDecodeB64WithRoom(t, s)
			}
		}
	}
}

// TestDecodeB64BlocksTakeWholeBlocks: where the CPU has AVX2, a valid value of n blocks is
// decoded by decodeB64Blocks whole (a change that made it refuse them would only cost time).
func TestDecodeB64BlocksTakeWholeBlocks(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	data := bytes.Repeat([]byte("sluice! "), 12) // 96 bytes: 4 blocks
	for _, c := range []struct {
		t   *b64Dec
		enc *base64.Encoding
	}{{b64StdDec, base64.RawStdEncoding}, {b64URLDec, base64.RawURLEncoding}} {
		src := []byte(c.enc.EncodeToString(data))
		dst := make([]byte, len(data)+8)
		if n := decodeB64Blocks(&dst[0], &src[0], 4, &c.t.vec); n != 4 || !bytes.Equal(dst[:len(data)], data) {
			t.Fatalf("decoded %d blocks: %q", n, dst)
		}
	}
}

// FuzzDecodeB64WithRoomAgreesWithStdlib: with room for the block stores, decodeB64 accepts and
// produces exactly what the strict standard decoders do, and writes nothing past the room.
func FuzzDecodeB64WithRoomAgreesWithStdlib(f *testing.F) {
	for _, s := range []string{
		"", "QUJD", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLw",
		"____----++++////____----++++////____----++++////", "QUJD\nREVGQUJDREVGQUJDREVGQUJDREVGQUJDREVG",
		"QUJDREVGQUJDREVGQUJDREVGQUJDRE\x80GQUJDREVGQUJDREVGQUJDREVGQUJDREVG",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkDecodeB64WithRoom(t, src)
	})
}
