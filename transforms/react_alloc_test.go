package transforms

import (
	"context"
	"testing"
)

// A pooled react call allocates nothing on the host side: the args go to
// guest memory, the result is checked in place and kept in the
// ReactExchange's buffer. Not parallel: AllocsPerRun counts every goroutine's allocations.
func TestPooledReactCallAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	floor := wazeroCallAllocs(t)
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "reactecho"))
	rx := &ReactExchange{Args: []byte(`{"raw":{"status":201,"id":"ch_1"},"tokenize":{"n":"4242"}}`)}
	run := func() {
		if o, err := e.OnReact(context.Background(), id, rx); err != nil || o.Raw == nil {
			t.Fatal(o, err)
		}
	}
	run()
	if got := testing.AllocsPerRun(1000, run); got > floor {
		t.Errorf("react call allocates %.1f per call, wazero's floor is %.1f", got, floor)
	}
}
