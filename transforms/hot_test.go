package transforms

import (
	"context"
	"sync"
	"testing"
	"time"
)

// More callers than instances: every release must reach a caller waiting for an instance,
// whether it goes to the hot slot or the channel. A lost hand-over would leave a caller
// waiting for the whole CallTimeout (an hour here) while the instance idles.
func TestWaitingCallersGetEveryReleasedInstance(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Hour, PoolSize: 1, MaxInstances: 1})
	id := compile(t, e, testdata(t, "tiny"))
	const callers, calls = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				ex := AcquireExchange()
				_, err := e.OnRequest(context.Background(), id, ex)
				ReleaseExchange(ex)
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a bound on finishing at all: the calls take well under a second
		t.Fatal("a caller still waits for an instance: a release did not reach it")
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Calls != callers*calls || s.Instantiations != 1 {
		t.Fatalf("calls = %d, instantiations = %d; want %d, 1", s.Calls, s.Instantiations, callers*calls)
	}
}

// blockingLog holds a call in its first Log until release is closed.
type blockingLog struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingLog) Tokenize(context.Context, string, []byte) (string, error) { return "", nil }
func (b *blockingLog) Log([]byte) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
}

// The one instance is busy while a second caller starts waiting; the release that follows
// must hand it to that caller, which looked at the hot slot before it was filled.
func TestReleaseHandsTheInstanceToACallerAlreadyWaiting(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Hour, PoolSize: 1, MaxInstances: 1})
	id := compile(t, e, testdata(t, "stdout"))
	m, err := e.lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		held := &blockingLog{entered: make(chan struct{}), release: make(chan struct{})}
		first := make(chan error, 1)
		go func() {
			_, err := e.OnRequest(context.Background(), id, &Exchange{Services: held})
			first <- err
		}()
		<-held.entered
		second := make(chan error, 1)
		go func() {
			_, err := e.OnRequest(context.Background(), id, &Exchange{Services: &blockingLog{entered: make(chan struct{}), release: closedChan()}})
			second <- err
		}()
		for m.waiting.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		close(held.release)
		for _, c := range []chan error{first, second} {
			select {
			case err := <-c:
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			case <-time.After(time.Minute): // a bound on finishing at all
				t.Fatalf("round %d: the waiting caller never got the released instance", round)
			}
		}
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
