package bench

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/bench/internal/inproc"
	"github.com/sluice-edge/sluice/bench/internal/instr"
	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

// proxyEnv is Sluice, the passthrough baseline and the destination, all in this process on
// in-memory listeners, with the scenarios provisioned. One per test binary: a vault takes a
// while to open, and every benchmark here reads the same tokens.
type proxyEnv struct {
	dest, sluice, passthrough *inproc.Service
	scenarios                 []scenario.Scenario
}

var shared struct {
	once sync.Once
	env  *proxyEnv
	dir  string
	err  error
}

func proxies(tb testing.TB) *proxyEnv {
	tb.Helper()
	shared.once.Do(func() {
		e := &proxyEnv{dest: inproc.StartDest()}
		if shared.dir, shared.err = os.MkdirTemp("", "sluice-bench-vault-"); shared.err != nil {
			return
		}
		if e.sluice, shared.err = inproc.StartSluice(shared.dir, e.dest.Dial); shared.err != nil {
			return
		}
		e.passthrough = inproc.StartPassthrough(e.dest.Dial)
		wasm, _ := os.ReadFile(tinyWasm)
		c := scenario.NewClient("sluice.bench", inproc.AdminKey, e.sluice.Dial)
		e.scenarios, shared.err = scenario.Setup(c, inproc.DestURL, scenario.Modules{Tiny: wasm})
		shared.env = e
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.env
}

// TestMain stops the shared services and removes the vault after every test and benchmark.
func TestMain(m *testing.M) {
	code := m.Run()
	if e := shared.env; e != nil {
		e.sluice.Close()
		e.passthrough.Close()
		e.dest.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sender sends prepared requests over one keep-alive connection, like loadgen at c=1.
type sender struct {
	hc   *fasthttp.HostClient
	reqs []*fasthttp.Request
	resp fasthttp.Response
	i    int
}

func newSender(dial fasthttp.DialFunc, s *scenario.Scenario) *sender {
	sd := &sender{hc: &fasthttp.HostClient{Addr: "proxy.bench", Dial: dial, MaxConns: 1, NoDefaultUserAgentHeader: true,
		ReadBufferSize: 16 << 10, MaxIdemponentCallAttempts: 1}}
	for _, r := range s.Requests {
		req := new(fasthttp.Request)
		req.SetRequestURI("http://proxy.bench" + r.URI)
		req.Header.SetMethod(r.Method)
		for _, h := range r.Header {
			req.Header.Set(h[0], h[1])
		}
		req.SetBody(r.Body)
		sd.reqs = append(sd.reqs, req)
	}
	return sd
}

func (s *sender) send() (int, error) {
	req := s.reqs[s.i]
	if s.i++; s.i == len(s.reqs) {
		s.i = 0
	}
	if err := s.hc.Do(req, &s.resp); err != nil {
		return 0, err
	}
	return s.resp.StatusCode(), nil
}

// benchProxy sends every scenario's requests through the proxy reached with dial, one at a time.
// ns/op, cpu-µs/op and allocs/op cover the whole chain in this process: client, proxy and
// destination; the passthrough benchmark has the same client and destination. gate-instr/op is
// the proxy's own instructions per request from the last make bench-gate, when there is one.
func benchProxy(b *testing.B, target string, dial func(*proxyEnv) fasthttp.DialFunc) {
	e := proxies(b)
	for i := range e.scenarios {
		s := &e.scenarios[i]
		b.Run(s.Key, func(b *testing.B) {
			if s.NA != "" {
				b.Skip("n/a: " + s.NA)
			}
			sd := newSender(dial(e), s)
			if st, err := sd.send(); err != nil || st != 200 {
				b.Fatalf("status %d, %v", st, err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(s.Requests[0].Body)))
			cpu0 := processCPU()
			for b.Loop() {
				if st, err := sd.send(); err != nil || st != 200 {
					b.Fatalf("status %d, %v", st, err)
				}
			}
			// CPU of the whole process per request: unlike ns/op it includes work done on other
			// cores (background journal ingestion, GC), so it compares with the e2e harness.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
			if n, ok := gateInstr(target, s.Key); ok {
				b.ReportMetric(n, "gate-instr/op")
			}
		})
	}
}

// processCPU is the user+system CPU time this process has used (every thread).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProxy: the whole Sluice edge in process — routing, auth, detokenization (scan, vault
// read, audit write with fsync), transforms, BT-ENCRYPTED decryption, forwarding — against the
// benchmark destination over fasthttputil.InmemoryListener.
func BenchmarkProxy(b *testing.B) {
	benchProxy(b, instr.Sluice, func(e *proxyEnv) fasthttp.DialFunc { return e.sluice.Dial })
}

// BenchmarkPassthrough: the baseline, a raw fasthttp reverse proxy on the same requests to the
// same destination. BenchmarkProxy minus this is what Sluice adds.
func BenchmarkPassthrough(b *testing.B) {
	benchProxy(b, instr.Passthrough, func(e *proxyEnv) fasthttp.DialFunc { return e.passthrough.Dial })
}

// TestProxyBenchmarkRequests: every request the proxy benchmarks send gets a 200 through both
// proxies (a broken fixture would otherwise only show when someone runs -bench).
func TestProxyBenchmarkRequests(t *testing.T) {
	e := proxies(t)
	for i := range e.scenarios {
		s := &e.scenarios[i]
		t.Run(s.Key, func(t *testing.T) {
			if s.NA != "" {
				t.Skip("n/a: " + s.NA)
			}
			for name, dial := range map[string]fasthttp.DialFunc{"sluice": e.sluice.Dial, "passthrough": e.passthrough.Dial} {
				sd := newSender(dial, s)
				for range s.Requests {
					if st, err := sd.send(); err != nil || st != 200 {
						t.Fatalf("%s: status %d, %v", name, st, err)
					}
				}
			}
		})
	}
}

// TestPassthroughDoesNotAllocate guards the baseline: a passthrough that allocated per request
// would flatter every ratio measured against it.
func TestPassthroughDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e := proxies(t)
	sd := newSender(e.passthrough.Dial, &e.scenarios[1])
	for range 200 {
		sd.send()
	}
	if n := testing.AllocsPerRun(500, func() {
		if st, err := sd.send(); err != nil || st != 200 {
			t.Fatal(st, err)
		}
	}); n > 0 {
		t.Fatalf("%v allocations per proxied request (client, passthrough and destination)", n)
	}
}
