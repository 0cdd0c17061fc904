package expr

import (
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
