package harness

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/dest"
	"github.com/sluice-edge/sluice/bench/internal/loadgen"
	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

func sample(scen, target string, c, round int, reqs int64, cpu time.Duration) Sample {
	return Sample{Scenario: scen, Target: target, Concurrency: c, Round: round, Requests: reqs, CPU: cpu,
		RPS: float64(reqs), P50: time.Duration(reqs) * time.Microsecond, P99: 2 * time.Duration(reqs) * time.Microsecond}
}

func TestSummarize(t *testing.T) {
	all := []Sample{
		sample("s", Sluice, 1, 1, 1000, 100*time.Millisecond), // 100 µs/req
		sample("s", Sluice, 1, 2, 1000, 300*time.Millisecond), // 300
		sample("s", Sluice, 1, 3, 1000, 200*time.Millisecond), // 200
		sample("s", Sluice, 32, 1, 1000, 50*time.Millisecond),
		sample("s", Passthrough, 1, 1, 1000, 80*time.Millisecond),
		sample("s", Passthrough, 1, 2, 3000, 120*time.Millisecond), // 40
	}
	all[1].Errors = 2
	tests := []struct {
		name          string
		scen, target  string
		c             int
		ok            bool
		cpu, min, max float64
		rounds        int
		errors        int64
		rps           float64
	}{
		{"odd rounds: middle value", "s", Sluice, 1, true, 200, 100, 300, 3, 2, 1000},
		{"even rounds: mean of the middle two", "s", Passthrough, 1, true, 60, 40, 80, 2, 0, 2000},
		{"one round", "s", Sluice, 32, true, 50, 50, 50, 1, 0, 1000},
		{"unknown", "x", Sluice, 1, false, 0, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Summarize(all, tt.scen, tt.target, tt.c)
			if ok != tt.ok {
				t.Fatalf("ok %v", ok)
			}
			if !ok {
				return
			}
			if s.CPU != tt.cpu || s.CPUMin != tt.min || s.CPUMax != tt.max || s.Rounds != tt.rounds || s.Errors != tt.errors || s.RPS != tt.rps {
				t.Fatalf("%+v", s)
			}
		})
	}
}

func TestCPUPerRequestWithoutRequests(t *testing.T) {
	s := Sample{CPU: time.Second}
	if s.CPUPerRequest() != 0 {
		t.Fatal(s.CPUPerRequest())
	}
}

func TestWriteTable(t *testing.T) {
	ss := []scenario.Scenario{
		{Key: "a", Name: "A scenario"},
		{Key: "w", Name: "W scenario", NA: "no wasm"},
	}
	all := []Sample{
		sample("a", Passthrough, 1, 1, 1000, 50*time.Millisecond),
		sample("a", Sluice, 1, 1, 1000, 75*time.Millisecond),
	}
	var b strings.Builder
	WriteTable(&b, ss, all, []int{1}, []string{Passthrough, Sluice, Nginx})
	out := b.String()
	for _, want := range []string{
		"| A scenario | 1 | passthrough | 1000 | 1.00 ms | 2.00 ms | 50.0 (50.0–50.0) |  |",
		"| A scenario | 1 | sluice | 1000 | 1.00 ms | 2.00 ms | 75.0 (75.0–75.0) | 1.50× (+25.0 µs) |",
		"| W scenario | 1 | sluice | n/a |",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "nginx") {
		t.Fatal("a target without samples got a row")
	}
}

func TestParseConcurrency(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"1,32", []int{1, 32}},
		{" 4 ", []int{4}},
		{"0", nil},
		{"1,,2", nil},
		{"x", nil},
		{"5000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseConcurrency(tt.in)
			if (err != nil) != (tt.want == nil) || len(got) != len(tt.want) {
				t.Fatalf("%v %v", got, err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("%v", got)
				}
			}
		})
	}
}

// TestMeasure drives a real loopback destination and reads the CPU of a stand-in process.
func TestMeasure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ds := dest.Server()
	go ds.Serve(ln)
	defer ds.Shutdown()
	p, err := startProc("sleeper", t.TempDir()+"/sleep.log", nil, mustLook(t, "sleep"), "30")
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(time.Second)
	s := &scenario.Scenario{Key: "k", Requests: []loadgen.Request{{Method: "POST", URI: "/charge", Body: []byte("{}")}}}
	smp, err := measure(context.Background(), p, ln.Addr().String(), s, 2, 50*time.Millisecond, 200*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if smp.Requests == 0 || smp.Errors != 0 || smp.RPS <= 0 || smp.P50 <= 0 || smp.P99 < smp.P50 || smp.CPU < 0 ||
		smp.Scenario != "k" || smp.Concurrency != 2 || smp.Tail > 900*time.Millisecond {
		t.Fatalf("%+v", smp)
	}
	p.stop(time.Second)
	if _, err := measure(context.Background(), p, ln.Addr().String(), s, 1, 0, 10*time.Millisecond, time.Second); err == nil {
		t.Fatal("measuring an exited process succeeded")
	}
}

func TestSettle(t *testing.T) {
	idle, err := startProc("sleeper", t.TempDir()+"/sleep.log", nil, mustLook(t, "sleep"), "30")
	if err != nil {
		t.Fatal(err)
	}
	defer idle.stop(time.Second)
	if d, err := idle.settle(context.Background(), 5*time.Second); err != nil || d > 2*time.Second {
		t.Fatalf("an idle process took %v to settle: %v", d, err)
	}
	busy, err := startProc("spinner", t.TempDir()+"/spin.log", nil, mustLook(t, "sh"), "-c", "while :; do :; done")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.stop(time.Second)
	before, _ := busy.cpu()
	d, err := busy.settle(context.Background(), 700*time.Millisecond)
	if err != nil || d > 3*time.Second {
		t.Fatalf("a busy process settled after %v: %v", d, err)
	}
	if d < 700*time.Millisecond {
		// Settling early is right only if the spinner really sat idle for a window: a machine
		// loaded by other processes can starve it. Judge by the CPU it actually got.
		after, _ := busy.cpu()
		if got := after - before; got > d/2 {
			t.Fatalf("a busy process (%v of CPU in %v) settled after %v", got, d, d)
		}
		t.Logf("the spinner was starved by the machine (settled after %v); not judged", d)
	}
	busy.stop(time.Second)
	if _, err := busy.settle(context.Background(), time.Second); err == nil {
		t.Fatal("settling an exited process succeeded")
	}
}

func TestProcStopAndWait(t *testing.T) {
	p, err := startProc("sleeper", t.TempDir()+"/sleep.log", nil, mustLook(t, "sleep"), "30")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.stop(5 * time.Second)
	if !p.exited() || time.Since(start) > 4*time.Second {
		t.Fatal("SIGTERM did not stop the process")
	}
	if err := p.waitHTTP(context.Background(), "http://127.0.0.1:1/", time.Second); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("waitHTTP on an exited process: %v", err)
	}
}

func mustLook(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skip(name, "not found")
	}
	return p
}

func TestNginxConf(t *testing.T) {
	c := nginxConf("/tmp/x", "127.0.0.1:1", "127.0.0.1:2")
	for _, want := range []string{"daemon off;", "listen 127.0.0.1:1;", "server 127.0.0.1:2;", "keepalive 64;",
		"proxy_http_version 1.1;", `proxy_set_header Connection "";`, "pid /tmp/x/nginx.pid;"} {
		if !strings.Contains(c, want) {
			t.Fatalf("config lacks %q", want)
		}
	}
}
