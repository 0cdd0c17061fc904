// Package harness is the end-to-end benchmark of Sluice (cmd/e2e): it runs Sluice, the
// passthrough baseline and optionally nginx as separate processes on loopback, drives each with
// the same requests, interleaved, measures throughput, latency and the proxy's CPU time per
// request from /proc (RunInstr: instructions per request under callgrind, the gate's measure).
package harness

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/scenario"
)

// Target names.
const (
	Sluice      = "sluice"
	Passthrough = "passthrough"
	Nginx       = "nginx"
)

// Sample is one measured run of one target on one scenario at one concurrency.
type Sample struct {
	Scenario    string        `json:"scenario"`
	Target      string        `json:"target"`
	Concurrency int           `json:"concurrency"`
	Round       int           `json:"round"`
	Requests    int64         `json:"requests"`
	Errors      int64         `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	RPS         float64       `json:"rps"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	CPU         time.Duration `json:"cpu_ns"`  // the target's user+system CPU during the run and its tail
	Tail        time.Duration `json:"tail_ns"` // how long after the load the target took to go idle
}

// CPUPerRequest is the target's CPU time per successful request, in µs.
func (s *Sample) CPUPerRequest() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.CPU) / float64(time.Microsecond) / float64(s.Requests)
}

// Summary is the median over rounds of each metric of one (scenario, target, concurrency).
type Summary struct {
	Rounds         int
	RPS            float64
	P50, P99       time.Duration
	CPU            float64 // µs per request, median
	CPUMin, CPUMax float64 // spread over rounds
	Errors         int64   // total
}

// Summarize returns the Summary of the samples of (scen, target, conc), ok=false if none.
func Summarize(all []Sample, scen, target string, conc int) (Summary, bool) {
	var rps, cpu []float64
	var p50, p99 []time.Duration
	var s Summary
	for i := range all {
		x := &all[i]
		if x.Scenario != scen || x.Target != target || x.Concurrency != conc {
			continue
		}
		s.Rounds++
		s.Errors += x.Errors
		rps = append(rps, x.RPS)
		cpu = append(cpu, x.CPUPerRequest())
		p50 = append(p50, x.P50)
		p99 = append(p99, x.P99)
	}
	if s.Rounds == 0 {
		return s, false
	}
	s.RPS, s.CPU = median(rps), median(cpu)
	s.P50, s.P99 = median(p50), median(p99)
	s.CPUMin, s.CPUMax = slices.Min(cpu), slices.Max(cpu)
	return s, true
}

// median returns the middle value (the mean of the two middle values for an even count).
func median[T ~int64 | ~float64](v []T) T {
	c := slices.Clone(v)
	slices.Sort(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// WriteTable writes the results as a Markdown table: per scenario and concurrency, each target's
// median requests/s, p50, p99 and CPU µs per request, and Sluice's CPU against the passthrough.
func WriteTable(w io.Writer, ss []scenario.Scenario, all []Sample, concs []int, targets []string) {
	fmt.Fprintln(w, "| scenario | c | target | req/s | p50 | p99 | CPU µs/req (min–max) | vs passthrough |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|")
	for _, s := range ss {
		for _, c := range concs {
			if s.NA != "" {
				fmt.Fprintf(w, "| %s | %d | sluice | n/a | | | | |\n", s.Name, c)
				continue
			}
			base, hasBase := Summarize(all, s.Key, Passthrough, c)
			for _, t := range targets {
				m, ok := Summarize(all, s.Key, t, c)
				if !ok {
					continue
				}
				vs := ""
				if t != Passthrough && hasBase && base.CPU > 0 {
					vs = fmt.Sprintf("%.2f× (%+.1f µs)", m.CPU/base.CPU, m.CPU-base.CPU)
				}
				errs := ""
				if m.Errors > 0 {
					errs = fmt.Sprintf(" (%d errors)", m.Errors)
				}
				fmt.Fprintf(w, "| %s | %d | %s | %.0f%s | %s | %s | %.1f (%.1f–%.1f) | %s |\n",
					s.Name, c, t, m.RPS, errs, fmtDur(m.P50), fmtDur(m.P99), m.CPU, m.CPUMin, m.CPUMax, vs)
			}
		}
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}
