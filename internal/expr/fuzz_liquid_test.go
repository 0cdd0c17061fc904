package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// refSplit is Ruby's String#split with a string pattern, written plainly.
func refSplit(s, sep string) []string {
	var parts []string
	switch sep {
	case " ":
		return strings.FieldsFunc(s, func(r rune) bool { return r < utf8.RuneSelf && isASCIISpace(byte(r)) })
	case "":
		for i := 0; i < len(s); {
			_, n := utf8.DecodeRuneInString(s[i:])
			parts = append(parts, s[i:i+n])
			i += n
		}
	default:
		parts = strings.Split(s, sep)
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// FuzzSplitAgreesWithReference: the splitter, built or fused, gives Ruby's
// pieces for any text and separator.
func FuzzSplitAgreesWithReference(f *testing.F) {
	for _, s := range [][2]string{{"a,b,,", ","}, {",a", ","}, {",,,", ","}, {"baaa", "aa"}, {"aaa", "aa"},
		{" a \t b\n", " "}, {"héllo\xff", ""}, {"", ","}, {"a\x00 b", " "}, {"abab", "ab"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, sep string) {
		want := refSplit(s, sep)
		var got []string
		sp := newSplitter([]byte(s), []byte(sep))
		for p, ok := sp.next(); ok; p, ok = sp.next() {
			got = append(got, string(p))
			if len(got) > len(s)+1 {
				t.Fatalf("%q split by %q: runaway", s, sep)
			}
		}
		if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") || len(got) != len(want) {
			t.Fatalf("%q split by %q: got %q, want %q", s, sep, got, want)
		}
		if int64(len(got)) > splitPieces(int64(len(s)), []byte(sep)) {
			t.Fatalf("%q split by %q: %d pieces over the bound", s, sep, len(got))
		}
	})
}

// FuzzMembersAgreeWithGJSON: the member walk of first, last, size and join
// sees what gjson sees in any valid array or object, and refuses the rest.
func FuzzMembersAgreeWithGJSON(f *testing.F) {
	for _, s := range []string{`[]`, `{}`, `[1,"a\"]",{"k":[1,{}]},null,true]`, `{"a":1,"b\"":[2]}`, ` [ 1 , 2 ] `, `[`, `{"a"}`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		m, ok := newMembers([]byte(doc))
		var got []string
		for e, more := m.next(); more; e, more = m.next() {
			got = append(got, string(e))
		}
		res := gjson.Parse(doc)
		valid := gjson.Valid(doc) && (res.IsArray() || res.IsObject())
		if ok != valid {
			t.Fatalf("%q: walk %v, gjson %v", doc, ok, valid)
		}
		if !ok {
			if len(got) != 0 {
				t.Fatalf("%q: members of an invalid document", doc)
			}
			return
		}
		var want []string
		res.ForEach(func(_, v gjson.Result) bool { want = append(want, v.Raw); return true })
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q: got %q, want %q", doc, got, want)
		}
	})
}

// FuzzParseNumAgreesWithParseFloat: a number Liquid's arithmetic reads has
// the value ParseFloat reads, and its printed form reads back the same.
func FuzzParseNumAgreesWithParseFloat(f *testing.F) {
	for _, s := range []string{"0", "-0", "183.357", "1e2", "+1", ".5", "007", "9223372036854775808", "1e-30", "0e999999999", "1.5E+3", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseNum([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || n.float() != want {
			t.Fatalf("%q: %v (%+v), ParseFloat %v %v", s, n.float(), n, want, err)
		}
		out := appendNum(nil, n)
		back, err := strconv.ParseFloat(string(out), 64)
		if err != nil || back != want || len(out) > maxNumLen || !validNumber(out) {
			t.Fatalf("%q printed %q", s, out)
		}
	})
}

// FuzzLiquidDate: date never panics on any text, gives a valid date or the
// value back, and stays within its bound.
func FuzzLiquidDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2024-03-05T14:07:09.5-07:00", "Tue, 05 Mar 2024 14:07:09 GMT", "1700000000", "now", ":Z", "+0000", "-1", "a:.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src := "{{ x | date: '%A %B %e %j %F %T %p' }}"
		env := &testEnv{data: bmap(map[string]string{"x": jsonString(s)})}
		out, err := render(t, src, Text, env)
		if err != nil && utf8.ValidString(s) {
			t.Fatalf("%q: %v", s, err)
		}
		if err == nil && int64(len(out)) > max(int64(len(jsonString(s))), 256) {
			t.Fatalf("%q: %d bytes", s, len(out))
		}
	})
}

// FuzzStrftimeWithinRatio: any output format Scan accepts prints at most
// maxStrftimeRatio bytes per byte of format, for any date in years 0–9999.
func FuzzStrftimeWithinRatio(f *testing.F) {
	for _, s := range []string{"%s", "%-d%-m%-y", "%A %B %j %F %T %p", "%l%k%P%L%u%w", "%-", "%%s", "%D%R%e"} {
		f.Add(s, int64(253402300799))
		f.Add(s, int64(-62167219200))
	}
	f.Fuzz(func(t *testing.T, format string, unix int64) {
		if checkStrftime([]byte(format), true) != "" || unix < -62167219200 || unix > 253402300799 {
			return
		}
		tm := time.Unix(unix, 0).UTC()
		d := date{year: tm.Year(), month: int(tm.Month()), day: tm.Day(), hour: tm.Hour(), min: tm.Minute(), sec: tm.Second()}
		if out := appendStrftime(nil, []byte(format), d); len(out) > maxStrftimeRatio*len(format) {
			t.Fatalf("%q on %v: %d bytes", format, tm, len(out))
		}
	})
}

// FuzzArithAgreesWithBigRat: Liquid's arithmetic on exact inputs matches
// exact rational arithmetic with Ruby's rules: integers exactly (floor
// division, divisor-signed modulo), decimals to the nearest float, and a
// result that overflowed to a float within rounding.
func FuzzArithAgreesWithBigRat(f *testing.F) {
	for _, s := range [][2]string{{"183.357", "12"}, {"-7", "2"}, {"9223372036854775807", "1"}, {"0.1", "0.2"},
		{"-9223372036854775808", "-1"}, {"5", "0"}, {"1e18", "1e-18"}, {"123456789.123456789", "-3.5"}} {
		for op := range 5 {
			f.Add(s[0], s[1], uint8(op))
		}
	}
	ops := []filterOp{fPlus, fMinus, fTimes, fDividedBy, fModulo}
	f.Fuzz(func(t *testing.T, as, bs string, o uint8) {
		op := ops[int(o)%len(ops)]
		a, ok1 := parseNum([]byte(as))
		b, ok2 := parseNum([]byte(bs))
		if !ok1 || !ok2 || a.kind == nFloat || b.kind == nFloat {
			return
		}
		ra, _ := new(big.Rat).SetString(strings.TrimSpace(as))
		rb, _ := new(big.Rat).SetString(strings.TrimSpace(bs))
		res, ok := arith(op, a, b)
		if rb.Sign() == 0 && (op == fDividedBy || op == fModulo) {
			if ok {
				t.Fatalf("%s %v %s: %+v, want null", as, op, bs, res)
			}
			return
		}
		want := new(big.Rat)
		ints := a.kind == nInt && b.kind == nInt
		switch op {
		case fPlus:
			want.Add(ra, rb)
		case fMinus:
			want.Sub(ra, rb)
		case fTimes:
			want.Mul(ra, rb)
		case fDividedBy, fModulo:
			q := new(big.Rat).Quo(ra, rb)
			if ints || op == fModulo {
				// floor(q), then a - b*floor(q) for modulo
				fl := floorRat(q)
				if op == fDividedBy {
					want.SetInt(fl)
				} else {
					want.Sub(ra, new(big.Rat).Mul(rb, new(big.Rat).SetInt(fl)))
				}
			} else {
				want.Set(q)
			}
		}
		if !ok {
			wf, _ := want.Float64()
			if !math.IsInf(wf, 0) {
				t.Fatalf("%s %v %s: null, want %v", as, op, bs, want.FloatString(20))
			}
			return
		}
		got, _ := new(big.Rat).SetString(string(appendNum(nil, res)))
		if res.kind == nInt && ints {
			if got.Cmp(want) != 0 {
				t.Fatalf("%s %v %s: %s, want %s", as, op, bs, appendNum(nil, res), want.RatString())
			}
			return
		}
		gf, _ := got.Float64()
		wf, _ := want.Float64()
		exact := res.kind == nDec && op != fDividedBy
		if exact && gf != wf || !exact && math.Abs(gf-wf) > 1e-12*math.Max(1, math.Abs(wf)) {
			t.Fatalf("%s %v %s: %s (%v), want %v", as, op, bs, appendNum(nil, res), res.kind, wf)
		}
	})
}

// floorRat is the largest integer not above q.
func floorRat(q *big.Rat) *big.Int {
	// Euclidean division by a positive denominator is floor division.
	fl, _ := new(big.Int).DivMod(q.Num(), q.Denom(), new(big.Int))
	return fl
}

// FuzzRoundAgreesWithBigRat: round on an exact input is the exact value
// rounded half away from zero at the digits (an integer without digits).
func FuzzRoundAgreesWithBigRat(f *testing.F) {
	for _, s := range []string{"2.675", "-2.5", "183.357", "15", "9223372036854775807", "0.000000000000000005", "-0.5"} {
		for _, d := range []int8{0, 2, -1, -19, 19} {
			f.Add(s, d)
		}
	}
	f.Fuzz(func(t *testing.T, s string, digits int8) {
		x, ok := parseNum([]byte(s))
		if !ok || x.kind == nFloat {
			return
		}
		d := max(-maxScale, min(maxScale, int(digits)))
		res, ok := roundNum(x, int(digits))
		if !ok {
			t.Fatalf("%s round %d: null", s, digits)
		}
		r, _ := new(big.Rat).SetString(strings.TrimSpace(s))
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(d))), nil))
		if d >= 0 {
			r.Mul(r, p)
		} else {
			r.Quo(r, p)
		}
		neg := r.Sign() < 0
		r.Abs(r)
		r.Add(r, big.NewRat(1, 2))
		q := new(big.Rat).SetInt(floorRat(r))
		if neg {
			q.Neg(q)
		}
		if d >= 0 {
			q.Quo(q, p)
		} else {
			q.Mul(q, p)
		}
		if digits == 0 && res.kind == nDec {
			t.Fatalf("%s round 0: %s is not an integer", s, appendNum(nil, res))
		}
		got, _ := new(big.Rat).SetString(string(appendNum(nil, res)))
		if res.kind == nInt {
			if got.Cmp(q) != 0 {
				t.Fatalf("%s round %d: %s, want %s", s, digits, appendNum(nil, res), q.RatString())
			}
			return
		}
		gf, _ := got.Float64()
		wf, _ := q.Float64()
		if gf != wf && (res.kind == nDec || math.Abs(gf-wf) > 1e-12*math.Max(1, math.Abs(wf))) {
			t.Fatalf("%s round %d: %s (%v), want %v", s, digits, appendNum(nil, res), res.kind, wf)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
