package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// nastyValues are token values built to break out of where they land.
var nastyValues = []string{
	`plain`,
	`quote " inside`,
	`","admin":true,"x":"`,
	`backslash \ and \" and \\`,
	`trailing backslash \`,
	`}} and {{ and {{ other }}`,
	"line\nfeed\r\nand\ttab",
	"nul\x00byte and \x01\x1f controls and \x7f",
	"u2028 \u2028 u2029 \u2029 end",
	"invalid utf8 \xff\xfe \xc3 end",
	`</script><script>alert(1)</script>`,
	`&a=b&c=d+e%20f%zz=`,
	"X-Evil: 1",
	``,
	`{"looks":"like json"}`,
	`🙂 emoji`,
}

// jsonDecoded is what encoding/json yields for s after we escaped it: each
// invalid UTF-8 byte becomes U+FFFD.
func jsonDecoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func TestJSONStringBreakout(t *testing.T) {
	body := `{"a":"{{ t }}","b":"pre {{ t }} post","c":["{{t}}","{{ t | prepend: 'x' }}"],` +
		`"key_{{ t }}":"k","d":{"e":"{{ token: t | json: '$.data' }}","f":"{{ config: X }}{{ encrypted.data }}"}}`
	for _, v := range nastyValues {
		t.Run(strings.ToValidUTF8(v, "?"), func(t *testing.T) {
			out, err := render(t, body, JSON, newAnyEnv(v))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("rendered body is not JSON: %v\n%s", err, out)
			}
			d := jsonDecoded(v)
			want := map[string]any{
				"a":        d,
				"b":        "pre " + d + " post",
				"c":        []any{d, "x" + d},
				"key_" + d: "k",
				"d":        map[string]any{"e": d, "f": d + d},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
		})
	}
}

// TestJSONWholeStringTyping pins what replaces `"{{ … }}"` when the
// expression is the entire JSON string (Basis Theory's proxy behaviour).
func TestJSONWholeStringTyping(t *testing.T) {
	env := fixtureEnv()
	tests := []struct{ name, body, want string }{
		{"object replaces the quotes", `{"card":"{{ card }}"}`, `{"card":` + cardJSON + `}`},
		{"array replaces the quotes", `{"l":"{{ name.list }}"}`, `{"l":[1,2,{"x":"y"}]}`},
		{"string stays a string", `{"n":"{{ num }}"}`, `{"n":"4242424242424242"}`},
		{"number from data stays a string (BT proxy docs)", `{"m":"{{ card | json: '$.expiration_month' }}"}`, `{"m":"10"}`},
		{"to_number makes a number", `{"m":"{{ card.expiration_month | to_number }}"}`, `{"m":10}`},
		{"to_number on a string", `{"m":"{{ name.dec | to_number }}"}`, `{"m":3.14159}`},
		{"to_boolean makes a boolean", `{"b":"{{ name.t | to_boolean }}"}`, `{"b":true}`},
		{"cast then string filter is a string", `{"b":"{{ name.n | to_number | append: '' }}"}`, `{"b":"42"}`},
		{"bool from data stays a string", `{"b":"{{ name.flag }}"}`, `{"b":"false"}`},
		{"null replaces the quotes", `{"x":"{{ card.missing }}"}`, `{"x":null}`},
		{"stringify keeps a string", `{"c":"{{ name.list | json_stringify }}"}`, `{"c":"[1,2,{\"x\":\"y\"}]"}`},
		{"object inside a longer string is escaped text", `{"c":"card={{ card.number }};{{ name.list }}"}`, `{"c":"card=3622720627165567;[1,2,{\"x\":\"y\"}]"}`},
		{"null inside a longer string is empty", `{"c":"<{{ card.missing }}>"}`, `{"c":"<>"}`},
		{"top-level whole string", `"{{ card }}"`, cardJSON},
		{"array element", `["{{ card.cvc }}","{{ name.list }}"]`, `["123",[1,2,{"x":"y"}]]`},
		{"object key is always a string", `{"{{ name.list }}":1}`, `{"[1,2,{\"x\":\"y\"}]":1}`},
		{"second key after comma is a string", `{"a":1,"{{ card.expiration_month | to_number }}":2}`, `{"a":1,"10":2}`},
		{"outside string: string quoted", `{"n":{{ num }}}`, `{"n":"4242424242424242"}`},
		{"outside string: number", `{"n":{{ card.expiration_month }}}`, `{"n":10}`},
		{"outside string: object", `{"n":{{ card.number | default: 1 }},"o":{{ name.list }}}`, `{"n":"3622720627165567","o":[1,2,{"x":"y"}]}`},
		{"outside string: null", `[{{ name.nick }}]`, `[null]`},
		{"outside string in key position", `{ {{ name.list }} : 1}`, `{ "[1,2,{\"x\":\"y\"}]" : 1}`},
		{"whitespace around string is kept", "{\"a\" : \n \"{{ s1234 }}\" }", "{\"a\" : \n \"1234\" }"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.body, JSON, env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
}

func TestJSONKeyPositionNeverRaw(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{"o": `{"a":"b"}`})}
	for _, body := range []string{`{"{{o}}":1}`, `{"x":{"y":2,"{{o}}":1}}`, `[{"{{o}}":"{{o}}"}]`} {
		out, err := render(t, body, JSON, env)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("%s → invalid JSON %s", body, out)
		}
	}
}

// TestJSONDeepNestingFallsBackToStrings: past the tracked depth, positions
// are unknown and values are inserted as strings, never raw.
func TestJSONDeepNestingFallsBackToStrings(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{"o": `{"a":"b"}`})}
	depth := stackWords*64 + 10
	body := strings.Repeat(`{"k":`, depth) + `"{{o}}"` + strings.Repeat("}", depth)
	out, err := render(t, body, JSON, env)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(out)) || !strings.Contains(out, `"{\"a\":\"b\"}"`) {
		t.Fatalf("deep value not inserted as a string: %s", out[len(out)/2-40:len(out)/2+40])
	}
	// And shallow nesting after coming back up is tracked again.
	body = strings.Repeat("[", depth) + strings.Repeat("]", depth) + `` // valid on its own
	if out, err := render(t, `[`+body+`,"{{o}}"]`, JSON, env); err != nil || !json.Valid([]byte(out)) || !strings.HasSuffix(out, `,{"a":"b"}]`) {
		t.Fatalf("after deep nesting: %v %s", err, out[len(out)-30:])
	}
}

func TestJSONInvalidTokenDataNeverInsertedRaw(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{
		"bad":    `{"a":1,"b":}`,
		"badstr": `"unterminated`,
		"badnum": `12abc`,
		"ctl":    "\"a\nb\"",
	})}
	for _, body := range []string{`{"x":"{{bad}}"}`, `{"x":{{bad}}}`, `{"x":"{{badstr}}"}`, `{"x":"{{badnum}}"}`, `{"x":"{{ctl}}"}`} {
		_, err := render(t, body, JSON, env)
		if !errors.Is(err, ErrValue) {
			t.Fatalf("%s: got %v, want ErrValue", body, err)
		}
	}
}

func TestFormEncodingInjection(t *testing.T) {
	for _, v := range nastyValues {
		out, err := render(t, `a={{ t }}&b=2&c=x%7B%7B+t+%7C+prepend%3A+%27%3D%27+%7D%7Dy`, Form, newAnyEnv(v))
		if err != nil {
			t.Fatal(err)
		}
		q, err := url.ParseQuery(out)
		if err != nil {
			t.Fatalf("%q: rendered form does not parse: %v (%s)", v, err, out)
		}
		d := jsonDecoded(v) // the token data is a JSON string: invalid UTF-8 became U+FFFD
		want := url.Values{"a": {d}, "b": {"2"}, "c": {"x=" + d + "y"}}
		if !reflect.DeepEqual(q, want) {
			t.Fatalf("%q: got %v, want %v", v, q, want)
		}
	}
}

func TestQueryEncodingInjection(t *testing.T) {
	for _, v := range nastyValues {
		out, err := render(t, `card={{t}}&x=1&y={{%20t%20|%20last4%20}}`, Query, newAnyEnv(v))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(out, " \r\n#") {
			t.Fatalf("%q: raw separator in query %q", v, out)
		}
		q, err := url.ParseQuery(out)
		if err != nil {
			t.Fatalf("%q: rendered query does not parse: %v", v, err)
		}
		d := jsonDecoded(v)
		last4 := string(lastRunes([]byte(d), 4))
		want := url.Values{"card": {d}, "x": {"1"}, "y": {last4}}
		if !reflect.DeepEqual(q, want) {
			t.Fatalf("%q: got %v, want %v", v, q, want)
		}
	}
}

func TestHeaderInjectionCRLF(t *testing.T) {
	for _, v := range []string{"a\r\nX-Evil: 1", "a\nX-Evil: 1", "a\rb", "a\x00b", "\r\n"} {
		_, err := render(t, "Bearer {{ t }}", Header, newAnyEnv(v))
		if !errors.Is(err, ErrHeaderInjection) {
			t.Fatalf("%q: got %v, want ErrHeaderInjection", v, err)
		}
		mustContainNone(t, err.Error(), "X-Evil", v)
	}
	// Anything else passes untouched.
	for _, v := range []string{"tab\there", `quote " \ }}`, "ünïcode", "\x7f"} {
		out, err := render(t, "Bearer {{ t }}", Header, newAnyEnv(v))
		if err != nil || out != "Bearer "+v {
			t.Fatalf("%q: got %q, %v", v, out, err)
		}
	}
}

// TestValueIsNeverReexpanded: a token value that contains an expression is
// inserted as data, never evaluated (which would detokenize another token).
func TestValueIsNeverReexpanded(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{
		"a":      `"{{ secret }}"`,
		"secret": `"TOPSECRET"`,
	})}
	for _, ctx := range []Context{Text, JSON, Header, Form, Query} {
		out, err := render(t, `x={{ a }}`, ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		mustContainNone(t, out, "TOPSECRET")
	}
}

// TestErrorsNeverContainValues renders failing expressions over secret data
// and checks that no error message carries the data.
func TestErrorsNeverContainValues(t *testing.T) {
	const pan = "4111111111111111"
	env := &testEnv{
		data: bmap(map[string]string{
			"pan": `"` + pan + `"`,
			"obj": `{"number":"` + pan + `"}`,
			"bad": `{"number":"` + pan + `",}`,
			"hdr": `"` + pan + `\r\n"`,
		}),
		cfg: bmap(map[string]string{"K": pan, "KX": pan + "x"}),
	}
	cases := []struct {
		ctx  Context
		body string
	}{
		{JSON, `{"a":"{{ bad }}"}`},
		{Header, "{{ hdr }}"},
		{Text, "{{ pan | append: config.NOPE }}"},
	}
	for _, c := range cases {
		_, err := render(t, c.body, c.ctx, env)
		if err == nil {
			t.Fatalf("%s: no error", c.body)
		}
		mustContainNone(t, err.Error(), pan, "411111")
		if e := new(Error); errors.As(err, &e) {
			mustContainNone(t, e.Expr+e.ID+e.Detail, pan)
		}
	}
}

func TestErrorRedactsHMACKeys(t *testing.T) {
	const key = "deadbeefcafe0123"
	for _, body := range []string{
		"{{ t | hmac: 'sha-256', '" + key + "' | nope }}",
		"{{ t | hmac_sha256('" + key + "') | nope }}",
		"{{ t | hmac_sha256(" + key + ") | nope }}",
		`{{ t | hmac: "` + key + `" }}`,
		"{{ t | hmac: '" + key,
	} {
		_, err := Scan([]byte(body), Text, nil)
		if err == nil {
			t.Fatalf("%s: no error", body)
		}
		mustContainNone(t, err.Error(), key, key[:8])
	}
}

// TestUnterminatedErrorQuotesLittle: for an unterminated expression the rest
// of the body (caller data) is not copied into the error.
func TestUnterminatedErrorQuotesLittle(t *testing.T) {
	body := `{"a":"{{ t ", "pan":"4111111111111111"}`
	_, err := Scan([]byte(body), Text, nil)
	if !errors.Is(err, ErrUnterminated) {
		t.Fatalf("got %v", err)
	}
	mustContainNone(t, err.Error(), "4111111111111111")
}

// TestRepeatedLargeTokenIsBounded: a small body repeating a large token can
// neither explode the output nor make the engine read the token over and
// over without bound (CPU amplification).
func TestRepeatedLargeTokenIsBounded(t *testing.T) {
	big := `{"x":"` + strings.Repeat("a", 1<<20) + `"}`
	env := &testEnv{data: bmap(map[string]string{"big": big})}
	r := Acquire()
	defer Release(r)
	r.SetLimits(Limits{MaxExpansion: 8 << 20})
	for _, body := range []string{strings.Repeat("{{ big.x }}", 20), strings.Repeat("{{ big.missing }}", 20), strings.Repeat("{{ big | json: '$.y' | default: 1 }}", 20)} {
		if _, err := r.Render(nil, []byte(body), Text, env); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%.20s…: got %v, want ErrTooLarge", body, err)
		}
	}
	if out, err := r.Render(nil, []byte(strings.Repeat("{{ big.missing }}", 7)), Text, env); err != nil || len(out) != 0 {
		t.Fatalf("under the limit: %v", err)
	}
}

// TestReleaseWipesPlaintext: after Release no scratch buffer of the Renderer
// holds token plaintext or a decoded hmac key.
func TestReleaseWipesPlaintext(t *testing.T) {
	const pan = "4111111111111111"
	env := &testEnv{data: bmap(map[string]string{"pan": `"` + pan + `"`})}
	r := Acquire()
	body := []byte(`{"a":"{{ pan | upcase | prepend: 'x' }}","b":"{{ pan | hmac_sha256('6b657931323334') | upcase }}"}`)
	if _, err := r.Render(nil, body, JSON, env); err != nil {
		t.Fatal(err)
	}
	var sr bytes.Buffer
	if _, err := r.Stream(&sr, bytes.NewReader(body), JSON, env); err != nil {
		t.Fatal(err)
	}
	Release(r)
	for name, b := range map[string][]byte{
		"bufs0": r.bufs[0][:cap(r.bufs[0])], "bufs1": r.bufs[1][:cap(r.bufs[1])],
		"hbuf": r.hbuf[:cap(r.hbuf)], "stream out": r.sr.out[:cap(r.sr.out)], "stream in": r.sr.in,
		"text": r.text[:], "args": r.argBuf[:cap(r.argBuf)],
	} {
		if bytes.Contains(b, []byte(pan)) || bytes.Contains(b, []byte("key1234")) {
			t.Fatalf("%s still holds plaintext after Release", name)
		}
	}
}

// TestRenderErrorClearsPartialOutput: when a later expression fails, the
// values already rendered into dst's spare capacity are zeroed.
func TestRenderErrorClearsPartialOutput(t *testing.T) {
	const pan = "4111111111111111"
	env := &testEnv{data: bmap(map[string]string{"pan": `"` + pan + `"`})}
	r := Acquire()
	defer Release(r)
	dst := make([]byte, 0, 256)
	out, err := r.Render(dst, []byte(`{{ pan }} then {{ missing }}`), Text, env)
	if !errors.Is(err, ErrUnknownToken) || len(out) != 0 {
		t.Fatalf("got %q, %v", out, err)
	}
	if bytes.Contains(dst[:cap(dst)], []byte(pan)) {
		t.Fatal("partial plaintext left in dst")
	}
}

// TestObjectsAreCompactedInEveryContext: a pretty-printed token object is
// emitted compact, so its newlines never reach a header, form or query.
func TestObjectsAreCompactedInEveryContext(t *testing.T) {
	env := fixtureEnv() // "pretty" is stored with newlines and spaces
	want := `{"a":[1,2],"b":"x y"}`
	for _, tc := range []struct {
		ctx        Context
		body, want string
	}{
		{Text, "{{ pretty }}", want},
		{Header, "{{ pretty }}", want},
		{JSON, `{"o":"{{ pretty }}","s":"<{{ pretty }}>"}`, `{"o":` + want + `,"s":"<{\"a\":[1,2],\"b\":\"x y\"}>"}`},
		{Form, "o={{ pretty }}", "o=" + url.QueryEscape(want)},
	} {
		got, err := render(t, tc.body, tc.ctx, env)
		if err != nil || got != tc.want {
			t.Fatalf("%v: got %q, %v; want %q", tc.ctx, got, err, tc.want)
		}
	}
}
