package bench

import (
	"sync"

	"github.com/sluice-edge/sluice/bench/internal/instr"
)

// gateResults is what the last `make bench-gate` in this tree measured (bench/out/gate.json,
// written by bench/cmd/gate), or nil.
var gateResults = sync.OnceValue(func() *instr.Results {
	r, err := instr.Load("out/gate.json")
	if err != nil {
		return nil
	}
	return r
})

// gateInstr is the instructions per request the last gate run counted for target on scenario.
func gateInstr(target, scenario string) (float64, bool) {
	r := gateResults()
	if r == nil {
		return 0, false
	}
	return r.Get(target, scenario)
}
