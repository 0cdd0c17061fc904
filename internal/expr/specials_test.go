package expr

import "testing"

// checkStrSpecials walks b with strSpecials in the steps given (each step moves past the found
// byte, plus steps[k] more bytes) and compares every answer with the byte loop.
func checkStrSpecials(t *testing.T, b []byte, steps []byte) {
	t.Helper()
	sp := newStrSpecials(b)
	for i, k := 0, 0; i <= len(b); k++ {
		got := sp.index(i)
		if want := i + byteLoopIndex(b[i:], "\"\\{"); got != want {
			t.Fatalf("index(%d) in %q = %d, want %d", i, b, got, want)
		}
		step := 1
		if len(steps) > 0 {
			step += int(steps[k%len(steps)] % 16)
		}
		if k%3 == 2 {
			i += step // sometimes land before the remembered position, sometimes past it
		} else {
			i = got + step
		}
	}
}

// TestStrSpecialsAgreesWithByteLoop: remembered positions stay exact whether the scan lands on
// them, before them or past them — strings with and without escapes, braces inside and outside
// strings, none at all.
func TestStrSpecialsAgreesWithByteLoop(t *testing.T) {
	for _, s := range []string{
		``, `x`, `"`, `\`, `{`, `{"a":"b"}`, `{"a":"x\"y\\z{{ t }}","b":[1,{"c":"\u00e9"}]}`,
		`"` + string(make([]byte, 300)) + `"`, `\\\\\\\\\\\\\\\\{{{{{{{{{""""""""`,
		`{"description":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`,
	} {
		for _, steps := range [][]byte{nil, {0}, {1, 5}, {15, 0, 3}, {7}} {
			checkStrSpecials(t, []byte(s), steps)
		}
	}
}

// FuzzStrSpecialsAgreesWithByteLoop: the same on any input and any forward steps.
func FuzzStrSpecialsAgreesWithByteLoop(f *testing.F) {
	f.Add([]byte(`{"a":"x\"y\\z{{ t }}","b":[1,{"c":"\u00e9"}]}`), []byte{0, 3})
	f.Add([]byte(`\\\\{{""`), []byte{1})
	f.Fuzz(checkStrSpecials)
}
