package jwe

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzSplitCompactAgreesWithSplittingAtEveryDot: splitting by the first two dots and the IV's
// and tag's lengths, then decoding, accepts exactly the JWEs of four dots, a 16-character IV
// and a 22-character tag whose five parts are canonical base64url, with the same parts.
func FuzzSplitCompactAgreesWithSplittingAtEveryDot(f *testing.F) {
	const iv, tag = "c2x1aWNlLWdvbGQh", "wtC5amVyvF5iQvr7_MpfJw"
	for _, s := range []string{
		"eyJ9.." + iv + ".VO2P." + tag, "eyJ9.." + iv + ".." + tag, "eyJ9.." + iv + ".VO.2P." + tag,
		"eyJ9..." + iv + ".VO2P." + tag, "eyJ9.." + iv + "A.VO2P." + tag, "eyJ9.." + iv + ".VO2P.A" + tag,
		"eyJ9.." + iv + "." + tag, "eyJ9.." + iv + tag, "eyJ9.." + iv + ".VO2PA" + tag, "eyJ9.." + iv + "AVO2P." + tag, "eyJ9.a.b.c.d", "....", ".", "",
		"eyJ9." + iv + "." + iv + ".VO2P." + tag + "." + tag, "eyJ9.." + iv[:15] + "..VO2P." + tag,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		j, ok := splitCompact(in)
		ok = ok && j.decodeParts()
		parts := strings.Split(string(in), ".")
		want := len(parts) == 5 && len(parts[partIV]) == ivEncodedLen && len(parts[partTag]) == tagEncodedLen
		for _, p := range parts {
			_, err := base64.RawURLEncoding.Strict().DecodeString(p)
			want = want && err == nil && !strings.ContainsAny(p, "\r\n")
		}
		if ok != want {
			t.Fatalf("%q: split and decoded %v, want %v", in, ok, want)
		}
		for i := range parts {
			if ok && !bytes.Equal(j.enc[i], []byte(parts[i])) {
				t.Fatalf("%q: part %d %q, want %q", in, i, j.enc[i], parts[i])
			}
		}
	})
}
