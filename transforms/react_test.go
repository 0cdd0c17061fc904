package transforms

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Reactors: validation, the args and result of sluice_on_react, and
// hostile reactors that fail alone.

func TestReactorModulesAreToldApartFromTransforms(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	reactor, err := e.Compile(context.Background(), testdata(t, "reactloop"))
	if err != nil {
		t.Fatal(err)
	}
	if !reactor.Reactor() || reactor.Transform() || strings.Join(reactor.Exports, ",") != "sluice_on_react" {
		t.Fatalf("reactor info = %+v", reactor)
	}
	transform, err := e.Compile(context.Background(), testdata(t, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if transform.Reactor() || !transform.Transform() {
		t.Fatalf("transform info = %+v", transform)
	}
	if _, err := e.OnRequest(context.Background(), reactor.ID, &Exchange{}); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("reactor as a transform: %v", err)
	}
	if _, err := e.OnReact(context.Background(), transform.ID, &ReactExchange{}); !errors.Is(err, ErrInvalidModule) ||
		!strings.Contains(err.Error(), "sluice_on_react") {
		t.Fatalf("transform as a reactor: %v", err)
	}
	_, err = e.Compile(context.Background(), testdata(t, "badreact"))
	if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), `"sluice_on_react" with the wrong signature`) {
		t.Fatalf("bad signature: %v", err)
	}
}

func TestReactResultMembers(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "reactecho"))
	tests := []struct {
		name, args, raw, tokenize string
	}{
		{"raw and tokenize", `{"raw":{"status":201},"tokenize":{"card":"4242424242424242"}}`, `{"status":201}`, `{"card":"4242424242424242"}`},
		{"raw only", ` { "raw" : [1, "a"] } `, `[1, "a"]`, ""},
		{"tokenize only", `{"tokenize":"secret"}`, "", `"secret"`},
		{"null raw is present", `{"raw":null}`, "null", ""},
		{"empty", `{}`, "", ""},
		{"escaped key", `{"r\u0061w":true}`, "true", ""},
	}
	var rx ReactExchange // reused: nothing leaks from one call to the next
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx.Args = []byte(tt.args)
			o, err := e.OnReact(context.Background(), id, &rx)
			if err != nil || o.Ended {
				t.Fatalf("%+v %v", o, err)
			}
			if string(o.Raw) != tt.raw || string(o.Tokenize) != tt.tokenize ||
				(tt.raw == "") != (o.Raw == nil) || (tt.tokenize == "") != (o.Tokenize == nil) {
				t.Fatalf("raw %q tokenize %q, want %q %q", o.Raw, o.Tokenize, tt.raw, tt.tokenize)
			}
		})
	}
}

// A hostile or broken reactor's result is refused with a code (the echo
// guest returns it as its result), and the call fails alone.
func TestRejectMalformedOrOversizeReactResult(t *testing.T) {
	t.Parallel()
	const limit = 1024
	e := newEngine(t, Config{MaxBodyBytes: limit})
	id := compile(t, e, testdata(t, "reactecho"))
	tests := []struct {
		name, args string
		code       int
	}{
		{"unknown member", `{"raw":1,"headers":{}}`, -1},
		{"duplicate member", `{"raw":1,"raw":2}`, -1},
		{"array", `[{"raw":1}]`, -1},
		{"string", `"raw"`, -1},
		{"not JSON", `{"raw":}`, -1},
		{"trailing data", `{"raw":1} {}`, -1},
		{"over the body limit", `{"raw":"` + strings.Repeat("x", limit) + `"}`, -5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.OnReact(context.Background(), id, &ReactExchange{Args: []byte(tt.args)})
			if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "returned "+strconv.Itoa(tt.code)) {
				t.Fatalf("err = %v, want the guest to see %d", err, tt.code)
			}
			assertReactorWorks(t, e)
		})
	}
}

func TestTransformHasNoReactArgs(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "reactecho"))
	_, err := e.OnRequest(context.Background(), id, &Exchange{})
	if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "returned -2") {
		t.Fatalf("read(args) in a transform: %v", err)
	}
}

func TestHostileReactorLoopIsStoppedByDeadline(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 50 * time.Millisecond})
	id := compile(t, e, testdata(t, "reactloop"))
	for i := 0; i < 3; i++ {
		_, err := e.OnReact(context.Background(), id, &ReactExchange{Args: []byte(`{}`)})
		if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	assertReactorWorks(t, e)
}

// assertReactorWorks runs the echo reactor on e.
func assertReactorWorks(t *testing.T, e *Engine) {
	t.Helper()
	id := compile(t, e, testdata(t, "reactecho"))
	o, err := e.OnReact(context.Background(), id, &ReactExchange{Args: []byte(`{"raw":"ok"}`)})
	if err != nil || string(o.Raw) != `"ok"` {
		t.Fatalf("echo reactor after a hostile one: %+v %v", o, err)
	}
}
