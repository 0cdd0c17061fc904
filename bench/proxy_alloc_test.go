package bench

import (
	"testing"
)

// sluiceAllocs is what a proxied request whose answer fits the first read still allocates:
// fasthttp's client four objects for a streamed response body (transport.RoundTrip), its server
// an io.LimitReader when it drains the streamed request body (requestStream.discard), and with
// tokens the edge one string for all the request's token ids (collect).
var sluiceAllocs = map[string]float64{"tokens=0": 5, "tokens=5": 6}

// TestSluiceProxyAllocations guards the edge's own part of a proxied request: nothing per
// request beyond fasthttp's, with tokens or without (every allocation is work under the gate).
func TestSluiceProxyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e := proxies(t)
	for _, i := range []int{0, 1} { // tokens=0, tokens=5
		s := &e.scenarios[i]
		t.Run(s.Key, func(t *testing.T) {
			sd := newSender(e.sluice.Dial, s)
			for range 200 {
				sd.send()
			}
			if n := testing.AllocsPerRun(500, func() {
				if st, err := sd.send(); err != nil || st != 200 {
					t.Fatal(st, err)
				}
			}); n > sluiceAllocs[s.Key] {
				t.Fatalf("%v allocations per proxied request, want at most %v", n, sluiceAllocs[s.Key])
			}
		})
	}
}
