package transforms

import (
	"context"
	"errors"
	"testing"
)

// TestCallAfterRemoveOfTheModuleCalledLast: the module a call found last (kept to skip hashing
// its id on the next call) is forgotten by Remove and Close, so a call right after either fails
// as for a module never compiled, and another module's call is not answered by it.
func TestCallAfterRemoveOfTheModuleCalledLast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEngine(t, Config{})
	nop := compile(t, e, testdata(t, "nop"))
	tiny := compile(t, e, testdata(t, "tiny"))
	for _, id := range []string{nop, tiny, nop} {
		if _, err := e.OnRequest(ctx, id, &Exchange{}); err != nil {
			t.Fatalf("call %s…: %v", id[:8], err)
		}
	}
	e.Remove(nop)
	if _, err := e.OnRequest(ctx, nop, &Exchange{}); !errors.Is(err, ErrUnknownModule) {
		t.Fatalf("call after Remove: %v, want ErrUnknownModule", err)
	}
	if _, err := e.OnRequest(ctx, tiny, &Exchange{}); err != nil {
		t.Fatalf("the other module after Remove: %v", err)
	}
	e.Close(ctx)
	if _, err := e.OnRequest(ctx, tiny, &Exchange{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
}
