package expr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestFiltersLenient: a filter that cannot convert its value gives null (empty
// in Text, null in a JSON value) instead of failing, so whether a request
// fails never depends on a token's contents.
func TestFiltersLenient(t *testing.T) {
	env := fixtureEnv()
	tests := []struct{ name, expr string }{
		{"to_number not a number", "{{ name.first | to_number }}"},
		{"to_number inf", "{{ hello | replace: 'Hello, World', 'Inf' | to_number }}"},
		{"to_number after prepend", "{{ num | prepend: 'x' | to_number }}"},
		{"to_number on object", "{{ card | to_number }}"},
		{"to_boolean not a boolean", "{{ name.first | to_boolean }}"},
		{"to_boolean on object", "{{ card | to_boolean }}"},
		{"to_string on object", "{{ card | to_string }}"},
		{"upcase on object", "{{ card | upcase }}"},
		{"slice on array", "{{ name.list | slice: 0, 1 }}"},
		{"replace on object", "{{ card | replace: 'a', 'b' }}"},
		{"card_bin not a card", "{{ dash | card_bin }}"},
		{"card_bin too short", "{{ s1234 | card_bin }}"},
		{"card_exp on a string", "{{ num | card_exp: 'MM' }}"},
		{"card_exp missing fields", "{{ name | card_exp: 'MM' }}"},
		{"date_format invalid date", "{{ baddate | date_format('%Y-%m-%d', '%D') }}"},
		{"date_format mismatch", "{{ hello | date_format('%Y-%m-%d', '%D') }}"},
		{"to_base64 null", "{{ name.nick | to_base64 }}"},
		{"to_base16 null", "{{ name.nick | to_base16 }}"},
		{"hmac null", "{{ name.nick | hmac: 'k' | to_base64 }}"},
		{"hmac_sha256 null", "{{ name.nick | hmac_sha256('6b6579') }}"},
		{"hmac_sha256 configured key not hex", "{{ num | hmac_sha256: config.BADHEX }}"},
		{"json below a string", "{{ num | json: '$.a' }}"},
		{"slice then json", "{{ card | slice: 0, 1 | json: '$.a' }}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render(t, tc.expr, Text, env)
			if err != nil || out != "" {
				t.Fatalf("text %s: got %q, %v; want empty", tc.expr, out, err)
			}
			out, err = render(t, `{"a":"`+tc.expr+`"}`, JSON, env)
			if err != nil || out != `{"a":null}` {
				t.Fatalf("json %s: got %q, %v; want null", tc.expr, out, err)
			}
		})
	}
}

// TestOracleProbesAnswerAlike runs the binary-search probes of the error
// oracle (slice/replace/to_number, replace into a size cap, a configuration
// argument used only on some values) over values that differ only in the
// probed character: each probe must end the same way for both.
func TestOracleProbesAnswerAlike(t *testing.T) {
	probes := []struct {
		name string
		ctx  Context
		src  string
		lim  Limits
	}{
		{"to_number", Text, "{{ pan | slice: 0, 1 | replace: '4', 'x' | to_number }}", Limits{}},
		{"to_boolean", Text, "{{ pan | slice: 0, 1 | replace: '4', 'true' | to_boolean }}", Limits{}},
		{"card_bin", Text, "{{ pan | slice: 0, 1 | replace: '4', '424242424' | card_bin }}", Limits{}},
		{"date_format", Text, "{{ pan | slice: 0, 1 | replace: '4', '2024' | date_format('%Y', '%Y') }}", Limits{}},
		{"default config", Text, "{{ pan | slice: 0, 1 | replace: '4', '' | default: config.NOPE }}", Limits{}},
		{"replace into expansion cap", Text, "{{ pan | replace: '4', '" + strings.Repeat("x", 200) + "' }}", Limits{MaxExpansion: 1500}},
		{"json escaping into expansion cap", JSON, `{"a":"{{ pan | replace: '4', '` + strings.Repeat(`\"`, 100) + `' }}"}`, Limits{MaxExpansion: 1500}},
		{"replace into value cap", Text, "{{ pan | slice: 0, 1 | replace: '4', '" + strings.Repeat("x", 2049) + "'" + strings.Repeat(" | to_base16", 13) + " }}", Limits{}},
		{"header control literal", Header, "{{ pan | slice: 0, 1 | replace: '4', '\x00' }}", Limits{}},
	}
	values := []string{`"4242424242424242"`, `"5242424242424242"`}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			var answers [2]string
			for i, v := range values {
				env := &testEnv{data: bmap(map[string]string{"pan": v})}
				r := Acquire()
				r.SetLimits(p.lim)
				_, err := r.Render(nil, []byte(p.src), p.ctx, env)
				Release(r)
				answers[i] = "ok"
				if err != nil {
					answers[i] = err.Error()
				}
			}
			if answers[0] != answers[1] {
				t.Fatalf("the answer depends on the value:\n  %s\n  %s", answers[0], answers[1])
			}
		})
	}
}

// TestFilterAmplificationRefusedAtParse: a chain whose worst case is over the
// value limit is refused by Scan, before any value exists.
func TestFilterAmplificationRefusedAtParse(t *testing.T) {
	amp := "{{ t | pad_left: 4096, 'x'" + strings.Repeat(" | to_base16", 12) + " }}"
	tests := []struct {
		name, src string
		ok        bool
	}{
		{"pad then base16 twelve times", amp, false},
		{"pad and base16 eight times", "{{ t" + strings.Repeat(" | pad_left: 4096, 'x' | to_base16", 8) + " }}", false},
		{"base16 three times", "{{ t | to_base16 | to_base16 | to_base16 }}", false},
		{"replace one byte by many", "{{ t | replace: '4', '" + strings.Repeat("x", 16) + "' }}", false},
		{"configured replacement", "{{ t | replace: '4', config.X }}", false},
		{"base16 twice", "{{ t | to_base16 | to_base16 }}", true},
		{"slice first then grow", "{{ t | slice: 0, 4 | replace: '4', '" + strings.Repeat("x", 3000) + "' | to_base16 | to_base16 }}", true},
		{"pad after last4", "{{ t | last4 | pad_left: 4096, 'é' | to_base64 }}", true},
		{"case and ascii", "{{ t | to_ascii | downcase | upcase | pad_left: 12, '*' }}", true},
		{"configured append", "{{ t | append: config.X }}", true},
		{"config source", "{{ config: X | to_base16 | to_base16 | to_base16 }}", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan([]byte(tc.src), Text, nil)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge at parse", err)
			}
		})
	}
}

// TestChainBoundCoversOutput: the static bound of each filter is never below
// what it actually builds, on values chosen to make each grow most.
func TestChainBoundCoversOutput(t *testing.T) {
	values := []string{"", "4", "4444", "ɐɐɐɐ", "ßæ©…", "\xff\xfe", "a\"b\\c", "2024-12-31 23:59:59", "0001-01-01",
		`{"expiration_month":12,"expiration_year":2030}`, "4242-4242-4242-4242", "Straße Œuvre Ł 北", ".5", "+1e5",
		`[1,"a\u0001",{"k":"v"},null,[]]`, "a,,b,", "\x01\x01\x01", "1700000000", "-9223372036854775808", "1e300", "  ǆ x  ", "%zz%41+"}
	exprs := []string{
		"{{ t | upcase }}", "{{ t | downcase }}", "{{ t | to_ascii }}", "{{ t | to_base64 }}", "{{ t | to_base16 }}",
		"{{ t | reveal: 1, 1, 'é' }}", "{{ t | reveal_last: 2, '北' }}", "{{ t | card_mask: true, true, '𝄞', '-' }}",
		"{{ t | replace: '4', 'xyzw' }}", "{{ t | pad_right: 9, 'é' }}", "{{ t | prefix: 3 }}", "{{ t | suffix: 3 }}",
		"{{ t | slice: -2, 2 }}", "{{ t | to_number }}", "{{ t | to_boolean }}", "{{ t | card_bin: '-' }}",
		"{{ t | date_format('%Y-%m-%d %H:%M:%S', '%A %B %F %T %j %p') }}", "{{ t | date_format('%F', '%F%F') }}",
		"{{ t | default: 'a long default value' }}", "{{ t | hmac_sha256('6b6579') }}", "{{ t | hmac: 'sha-512', 'k' | to_base16 }}",
		"{{ t | json: '$.expiration_month' }}", "{{ t | card_exp: 'YYYY-MM' }}", "{{ t | stringify | last4 }}",
		"{{ t | split: ',' }}", "{{ t | split: '' }}", "{{ t | split: ' ' }}", "{{ t | split: '4' | join: 'xy' }}",
		"{{ t | split: '' | join: '--' }}", "{{ t | split: '-' | first }}", "{{ t | split: '-' | last }}",
		"{{ t | split: '' | size }}", "{{ t | first }}", "{{ t | last }}", "{{ t | size }}", "{{ t | join: '+++' }}",
		"{{ t | strip }}", "{{ t | lstrip }}", "{{ t | rstrip }}", "{{ t | truncate: 3, 'éé' }}", "{{ t | capitalize }}",
		"{{ t | replace_first: '4', 'xyzw' }}", "{{ t | url_encode }}", "{{ t | url_decode }}", "{{ t | plus: 1.5 }}",
		"{{ t | times: 99999999999 }}", "{{ t | divided_by: 3.0 }}", "{{ t | modulo: -7 }}", "{{ t | round: 3 }}",
		"{{ t | round: -2 }}", "{{ t | abs }}", "{{ t | date: '%A %B %j %F' }}", "{{ t | date: '%e %s %-d %l %P %L' }}", "{{ t | date: '%s%s%s' }}",
		"{{ t | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + testECHex + "') }}",
		"{{ t | encrypt('rsa_pkcs1v15', '" + testRSAHex + "') }}",
	}
	for _, e := range exprs {
		for _, v := range values {
			doc, _ := json.Marshal(v)
			if json.Valid([]byte(v)) && (strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[")) {
				doc = []byte(v)
			}
			r := Acquire()
			r.p = parser{s: []byte(e[2 : len(e)-2]), buf: r.argBuf[:0]}
			if pe := r.p.parse(&r.ex); pe != nil {
				t.Fatalf("%s: %s", e, pe.detail)
			}
			bound, _, _ := r.ex.chainBound(int64(len(doc)), staticArgLen)
			Release(r)
			out, err := render(t, e, Text, &testEnv{data: bmap(map[string]string{"t": string(doc)})})
			if err != nil {
				t.Fatalf("%s on %q: %v", e, v, err)
			}
			if int64(len(out)) > bound {
				t.Fatalf("%s on %q: %d bytes, bound %d", e, v, len(out), bound)
			}
		}
	}
}

// TestCaseAndASCIIGrowth: upcase, downcase and to_ascii never make a
// character more than 3/2 its UTF-8 length, the ratio the bounds assume.
func TestCaseAndASCIIGrowth(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		n := utf8.RuneLen(r)
		for _, m := range [][]byte{appendCase(nil, utf8.AppendRune(nil, r), true), appendCase(nil, utf8.AppendRune(nil, r), false), appendASCII(nil, utf8.AppendRune(nil, r))} {
			if 2*len(m) > 3*n {
				t.Fatalf("U+%04X: %d bytes become %d", r, n, len(m))
			}
		}
	}
}

// TestConfigArgumentsResolvedWhateverTheValue: an unknown configuration
// value is an error even when the filter that names it would not use it.
func TestConfigArgumentsResolvedWhateverTheValue(t *testing.T) {
	for _, v := range []string{`""`, `"x"`, `null`} {
		env := &testEnv{data: bmap(map[string]string{"t": v})}
		for _, src := range []string{"{{ t | default: config.NOPE }}", "{{ t | replace: config.NOPE, 'a' }}", "{{ t | hmac: config.NOPE | to_base64 }}", "{{ t | hmac_sha256: config.NOPE }}"} {
			if _, err := render(t, src, Text, env); !errors.Is(err, ErrUnknownConfig) {
				t.Fatalf("%s on %s: got %v, want ErrUnknownConfig", src, v, err)
			}
		}
	}
}

// TestHeaderRefusesControlLiterals: in a header, a literal argument holding a
// control character is refused by Scan (it could only ever end in a refusal
// that depends on the value).
func TestHeaderRefusesControlLiterals(t *testing.T) {
	for _, c := range []string{"\x0b", "\x0c", "\x7f", "\x00", "\x1b", "\u0085", "\u009f"} {
		src := "{{ t | replace: '4', 'a" + c + "' }}"
		if _, err := Scan([]byte(src), Header, nil); !errors.Is(err, ErrArgs) {
			t.Fatalf("%q: got %v, want ErrArgs", c, err)
		}
		if _, err := Scan([]byte(src), Text, nil); err != nil {
			t.Fatalf("%q in a body: %v", c, err)
		}
	}
	if _, err := Scan([]byte("{{ t | append: 'a\tb\u00a0é' }}"), Header, nil); err != nil {
		t.Fatalf("tab refused: %v", err)
	}
}

// docOf makes a token document of v: v itself when it is JSON, else v as a
// JSON string.
func docOf(v string) string {
	if json.Valid([]byte(v)) {
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzFilterErrorsIgnoreValue: the same expression over two values (a
// token's data, its token object, a configuration value, the encrypted
// payload) either renders for both or fails for both with the same error.
// Only a header's refusal of a control character in the value itself may
// differ: that refusal is the point of it. In Text, what renders is never
// more than what was charged for it before the filters ran.
func FuzzFilterErrorsIgnoreValue(f *testing.F) {
	chains := []string{
		"v | slice: 0, 1 | replace: '4', 'x' | to_number",
		"v | slice: 0, 1 | replace: '4', 'true' | to_boolean",
		"v | slice: 0, 1 | replace: '4', '424242424' | card_bin",
		"v | slice: 0, 1 | replace: '4', '' | default: config.NOPE",
		"v | replace: '4', '" + strings.Repeat("x", 400) + "' | to_base16",
		"config: S | slice: 0, 1 | replace: 's', '2024' | date_format('%Y', '%Y')",
		"config: S | hmac_sha256: config.S",
		"token: v | json: '$.data' | card_exp: 'MM/YY'",
		"encrypted | json: '$.a' | to_string | upcase",
		"v | json: '$.a' | json_stringify | to_base64",
		"v | card_mask: true, true, '#', '-' | pad_left: 30, '*'",
		"v | to_ascii | downcase | reveal: 2, 2, 'é'",
		"v.a.b | hmac: 'sha-1', config.S | to_base16",
		"v | slice: 0, 1 | replace: '4', '8' | plus: 1 | divided_by: 0",
		"v | split: '4' | size | times: 3",
		"v | split: '' | join: '" + strings.Repeat("x", 300) + "'",
		"v | split: ','",
		"v | first | url_encode | truncate: 5",
		"v | date: '%F' | capitalize",
		"config: S | split: ' ' | last | strip | round: 2",
		"v | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + testECHex + "')",
	}
	values := []string{"4242424242424242", "5242424242424242", "", "null", "true", "12.5e3", `{"a":{"b":"x"}}`, `[1,2]`,
		`{"expiration_month":12,"expiration_year":2030}`, "2024", "secret", "\x00\n", "\xff", "ß北"}
	for i, c := range chains {
		f.Add(c, values[i%len(values)], values[(i+1)%len(values)], uint8(i))
	}
	f.Fuzz(func(t *testing.T, chain, a, b string, c uint8) {
		ctx := Context(c % 5)
		src := []byte("{{ " + chain + " }}")
		if ctx == JSON {
			src = []byte(`{"k":` + string(src) + `,"s":"` + string(src) + `"}`)
		}
		if _, err := Scan(src, ctx, nil); err != nil {
			return
		}
		answer := func(v string) (string, bool) {
			doc := docOf(v)
			env := &testEnv{
				data: bmap(map[string]string{"v": doc}),
				obj:  bmap(map[string]string{"v": `{"id":"v","data":` + doc + `}`}),
				cfg:  bmap(map[string]string{"S": v}),
				enc:  []byte(doc),
			}
			r := Acquire()
			defer Release(r)
			out, err := r.Render(nil, src, ctx, env)
			if err == nil && ctx == Text && int64(len(out)) > r.expansion {
				t.Fatalf("%q over %q: %d bytes rendered, %d charged", src, v, len(out), r.expansion)
			}
			if err == nil {
				return "ok", false
			}
			return err.Error(), errors.Is(err, ErrHeaderInjection)
		}
		x, hx := answer(a)
		y, hy := answer(b)
		if x != y && !hx && !hy {
			t.Fatalf("%q: the answer depends on the value:\n  %q → %s\n  %q → %s", src, a, x, b, y)
		}
	})
}
