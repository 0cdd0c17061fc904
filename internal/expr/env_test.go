package expr

import (
	"bytes"
	"errors"
	"testing"
)

// testEnv is an allocation-free Env over maps (map lookups keyed by
// string(b) do not allocate).
type testEnv struct {
	data map[string][]byte
	obj  map[string][]byte
	cfg  map[string][]byte
	enc  []byte
}

func (e *testEnv) Token(id []byte) ([]byte, []byte, bool) {
	d, ok := e.data[string(id)]
	return d, e.obj[string(id)], ok
}

func (e *testEnv) Config(name []byte) ([]byte, bool) {
	v, ok := e.cfg[string(name)]
	return v, ok
}

func (e *testEnv) Encrypted() ([]byte, bool) { return e.enc, e.enc != nil }

// anyEnv answers every id with the same value: data is the JSON string of
// value, the object wraps it, config values are value itself.
type anyEnv struct {
	data, obj, cfg, enc []byte
}

func newAnyEnv(value string) *anyEnv {
	d := appendJSONEscaped([]byte(`"`), []byte(value))
	d = append(d, '"')
	o := append(append([]byte(`{"id":"x","type":"token","data":`), d...), '}')
	enc := append(append([]byte(`{"type":"token","data":`), d...), '}')
	return &anyEnv{data: d, obj: o, cfg: []byte(value), enc: enc}
}

func (e *anyEnv) Token([]byte) ([]byte, []byte, bool) { return e.data, e.obj, true }
func (e *anyEnv) Config([]byte) ([]byte, bool)        { return e.cfg, true }
func (e *anyEnv) Encrypted() ([]byte, bool)           { return e.enc, true }

func bmap(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// fixtureEnv is the Env of the filter tables.
func fixtureEnv() *testEnv {
	card := `{"number":"3622720627165567","expiration_month":10,"expiration_year":2028,"cvc":"123"}`
	return &testEnv{
		data: bmap(map[string]string{
			"num":     `"4242424242424242"`,
			"dash":    `"3622-7206-2716-5567"`,
			"short":   `"36227206271667"`,
			"ten":     `"1234567890"`,
			"card":    card,
			"m3card":  `{"number":"4242424242424242","expiration_month":"3","expiration_year":"2025"}`,
			"s1234":   `"1234"`,
			"name":    `{"first":"Jöhn","last":"Ünïcodé","nick":null,"empty":"","flag":false,"n":42,"dec":"3.14159","t":"true","bools":"FALSE","list":[1,2,{"x":"y"}],"weird key.x":"w","quote":"a\"b\u00e9"}`,
			"date":    `"2024-02-29"`,
			"baddate": `"2023-02-29"`,
			"dt":      `"2024-03-05 14:07:09"`,
			"text":    `"secretText"`,
			"hello":   `"Hello, World"`,
			"lead0":   `"007"`,
			"plus":    `" +1 "`,
			"street":  `"Straße Œuvre Ł 北"`,
			"pretty":  "{\n  \"a\" : [ 1, 2 ],\n  \"b\" : \"x y\"\n}",
			"invalid": `{"a":`,
			"noobj":   `"x"`,
		}),
		obj: bmap(map[string]string{
			"card": `{"id":"card","type":"card","data":` + card + `,"metadata":{"k":"v"}}`,
		}),
		cfg: bmap(map[string]string{"KEY": "secretKeyValue", "HEX": "6b6579", "NAME": "Acme", "BADHEX": "zz"}),
		enc: []byte(`{"type":"card","data":{"number":"4111111111111111","expiration_month":12,"expiration_year":2030},"tokenA":{"type":"token","data":{"number":"5555"}}}`),
	}
}

// render renders src in ctx with env on a fresh Renderer.
func render(t testing.TB, src string, ctx Context, env Env) (string, error) {
	t.Helper()
	r := Acquire()
	defer Release(r)
	out, err := r.Render(nil, []byte(src), ctx, env)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if len(out) != 0 {
			t.Fatalf("output %q returned with error", out)
		}
	}
	return string(out), err
}

func mustContainNone(t testing.TB, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && bytes.Contains([]byte(s), []byte(sec)) {
			t.Fatalf("%q contains secret %q", s, sec)
		}
	}
}
