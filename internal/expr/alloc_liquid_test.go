package expr

import (
	"encoding/json"
	"testing"
)

// TestLiquidFilterAlloc: the Liquid filters do not allocate either (split
// fused or built, array reads, arithmetic, date).
func TestLiquidFilterAlloc(t *testing.T) {
	skipAllocUnderRace(t)
	src := []byte(`{"a":"{{ dash | split: '-' | last }}","b":{{ dash | split: '-' }},"c":"{{ name.list | first }}",` +
		`"d":"{{ name.list | last | json: '$.x' }}","e":{{ name | size }},"f":"{{ name.list | join: ', ' }}",` +
		`"g":"{{ hello | truncate: 8 | capitalize | url_encode }}","h":"{{ name.dec | times: 2.5 | round: 2 }}",` +
		`"i":"{{ num | modulo: 7 | plus: 1 }}","j":"{{ dt | date: '%B %e, %Y' }}","k":"{{ hello | replace_first: 'l', 'L' | strip }}",` +
		`"l":"{{ name.dec | divided_by: 3 | abs }}","m":"{{ hello | split: '' | join: '.' }}","n":"{{ name.list | join }}",` +
		`"o":"{{ hello | split: ', ' | join }}","p":"{{ invalid | size }}"}`)
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	dst := make([]byte, 0, 4096)
	out, err := r.Render(dst, src, JSON, env)
	if err != nil || !json.Valid(out) {
		t.Fatalf("%v %s", err, out)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, err = r.Render(dst[:0], src, JSON, env)
	})
	if err != nil || allocs != 0 {
		t.Fatalf("Render with Liquid filters: %v allocs/op, err %v; %s", allocs, err, out)
	}
}
