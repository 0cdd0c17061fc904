package expr

import (
	"errors"
	"strings"
	"testing"
)

// TestFootprintFieldResolution: Footprint's field identifiers are flat keys ("id.first_name"),
// tried as one key before the dotted path; with SetStrictFields a field that is absent is
// ErrMissingField naming it, never an empty string; with SetDefaultToken {{ id.first_name }}
// reads that token.
func TestFootprintFieldResolution(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{
		"fp_flat":   `{"id.first_name":"Flat","id":{"first_name":"Nested","last_name":"Deep"},"card.primary.number":"4242"}`,
		"fp_nested": `{"id":{"first_name":"Jane"},"card":{"primary":{"number":"5555"}}}`,
		"fp_scalar": `"just a string"`,
	})}
	tests := []struct {
		name    string
		dflt    string // x-fp-id; "" for none
		src     string
		want    string
		missing string // the field named by ErrMissingField, when the render must fail
	}{
		{name: "flat key wins over nested path", src: "{{ fp_flat.id.first_name }}", want: "Flat"},
		{name: "nested path when no flat key", src: "{{ fp_flat.id.last_name }}", want: "Deep"},
		{name: "flat key of three segments", src: "{{ fp_flat.card.primary.number }}", want: "4242"},
		{name: "nested path of three segments", src: "{{ fp_nested.card.primary.number }}", want: "5555"},
		{name: "missing flat and nested", src: "{{ fp_nested.id.ssn9 }}", missing: "id.ssn9"},
		{name: "missing inside a longer string", src: "ssn={{ fp_nested.id.ssn9 }};", missing: "id.ssn9"},
		{name: "scalar has no fields", src: "{{ fp_scalar.id.first_name }}", missing: "id.first_name"},
		{name: "missing field then a filter", src: "{{ fp_nested.id.dob | to_uppercase }}", missing: "id.dob"},
		{name: "default token flat", dflt: "fp_flat", src: "{{ id.first_name }}", want: "Flat"},
		{name: "default token nested", dflt: "fp_nested", src: "{{ card.primary.number | suffix(2) }}", want: "55"},
		{name: "default token missing field", dflt: "fp_nested", src: "{{ id.last_name }}", missing: "id.last_name"},
		{name: "default token leaves explicit ids alone", dflt: "fp_nested", src: "{{ fp_flat.id.first_name }}", want: "Flat"},
		{name: "whole token without a path", dflt: "fp_nested", src: "{{ fp_scalar }}", want: "just a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Acquire()
			defer Release(r)
			r.SetStrictFields(true)
			if tc.dflt != "" {
				r.SetDefaultToken([]byte(tc.dflt))
			}
			var ids []string
			if _, err := r.Scan([]byte(tc.src), Text, func(ref Ref) error {
				ids = append(ids, string(ref.ID))
				return nil
			}); err != nil {
				t.Fatalf("scan: %v", err)
			}
			if tc.dflt != "" && strings.HasPrefix(tc.src, "{{ id.") && (len(ids) != 1 || ids[0] != tc.dflt) {
				t.Fatalf("scan reported %q, want the default token %q", ids, tc.dflt)
			}
			out, err := r.Render(nil, []byte(tc.src), Text, env)
			if tc.missing != "" {
				var e *Error
				if !errors.Is(err, ErrMissingField) || !errors.As(err, &e) || !strings.Contains(e.Detail, `"`+tc.missing+`"`) {
					t.Fatalf("got %q, %v; want ErrMissingField naming %q", out, err, tc.missing)
				}
				if len(out) != 0 {
					t.Fatalf("output %q with an error", out)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Fatalf("got %q, %v; want %q", out, err, tc.want)
			}
		})
	}
}

// TestMissingFieldIsNullWithoutStrictFields: Basis Theory's rules (a path that selects nothing
// is null, so `default` can fill it) stay the default; flat keys resolve there too.
func TestMissingFieldIsNullWithoutStrictFields(t *testing.T) {
	env := &testEnv{data: bmap(map[string]string{"t": `{"id.first_name":"Flat"}`})}
	for src, want := range map[string]string{
		"{{ t.id.first_name }}":          "Flat",
		"{{ t.id.ssn9 }}":                "",
		"{{ t.id.ssn9 | default: 'x' }}": "x",
	} {
		if got, err := render(t, src, Text, env); err != nil || got != want {
			t.Fatalf("%s: got %q, %v; want %q", src, got, err, want)
		}
	}
}

// TestFlatKeyLookupAlloc: resolving a Footprint field (flat key first, then the dotted path)
// does not allocate on a warmed-up Renderer.
func TestFlatKeyLookupAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	env := &testEnv{data: bmap(map[string]string{"t": `{"id.first_name":"Flat","id":{"last_name":"Deep"}}`})}
	src := []byte(`{"a":"{{ t.id.first_name }}","b":"{{ t.id.last_name }}"}`)
	r := Acquire()
	defer Release(r)
	r.SetStrictFields(true)
	dst := make([]byte, 0, 256)
	out, err := r.Render(dst, src, JSON, env)
	if err != nil || string(out) != `{"a":"Flat","b":"Deep"}` {
		t.Fatalf("%s %v", out, err)
	}
	if allocs := testing.AllocsPerRun(100, func() { out, err = r.Render(dst[:0], src, JSON, env) }); allocs != 0 {
		t.Fatalf("%v allocs per render", allocs)
	}
}
