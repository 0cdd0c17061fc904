// Package harness is the end-to-end benchmark of Sluice (cmd/e2e): it runs Sluice, the
// passthrough baseline and optionally nginx as separate processes on loopback, drives each with
// the same requests, interleaved, measures throughput, latency and the proxy's CPU time per
// request from /proc, and checks the CPU budgets.
package harness

import (
	"fmt"
	"io"
	"slices"
	"strings"
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

// Verdict is the budget check of one scenario at one concurrency.
type Verdict struct {
	Scenario    string
	Concurrency int
	Budget      scenario.Budget
	Sluice      float64 // µs/request, median
	Base        float64 // passthrough µs/request, median
	OK          bool
	NA          string // not measured, and why
}

// Ratio is Sluice's CPU per request over the passthrough's.
func (v Verdict) Ratio() float64 {
	if v.Base == 0 {
		return 0
	}
	return v.Sluice / v.Base
}

func (v Verdict) String() string {
	if v.NA != "" {
		return fmt.Sprintf("%s c=%d: n/a (%s)", v.Scenario, v.Concurrency, v.NA)
	}
	word := "ok"
	if !v.OK {
		word = "MISSED"
	}
	return fmt.Sprintf("%s c=%d: %s — sluice %.1f µs/req vs passthrough %.1f µs/req (%.2f×, %+.1f µs), budget %s",
		v.Scenario, v.Concurrency, word, v.Sluice, v.Base, v.Ratio(), v.Sluice-v.Base, v.Budget)
}

// Evaluate checks every scenario's budget at every concurrency. A scenario without samples (n/a,
// or errors in every run) gets NA set; a run with errors fails its verdict.
func Evaluate(ss []scenario.Scenario, all []Sample, concs []int) []Verdict {
	var out []Verdict
	for _, s := range ss {
		for _, c := range concs {
			v := Verdict{Scenario: s.Key, Concurrency: c, Budget: s.Budget}
			sl, ok1 := Summarize(all, s.Key, Sluice, c)
			pt, ok2 := Summarize(all, s.Key, Passthrough, c)
			switch {
			case s.NA != "":
				v.NA = s.NA
			case !ok1 || !ok2:
				v.NA = "not measured"
			default:
				v.Sluice, v.Base = sl.CPU, pt.CPU
				v.OK = sl.Errors == 0 && pt.Errors == 0 && s.Budget.Allows(sl.CPU, pt.CPU)
			}
			out = append(out, v)
		}
	}
	return out
}

// WriteTable writes the results as a Markdown table: per scenario and concurrency, each target's
// median requests/s, p50, p99 and CPU µs per request, and Sluice's CPU against the passthrough.
func WriteTable(w io.Writer, ss []scenario.Scenario, all []Sample, concs []int, targets []string) {
	fmt.Fprintln(w, "| scenario | c | target | req/s | p50 | p99 | CPU µs/req (min–max) | vs passthrough | budget |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---|")
	for _, s := range ss {
		for _, c := range concs {
			if s.NA != "" {
				fmt.Fprintf(w, "| %s | %d | sluice | n/a | | | | | %s |\n", s.Name, c, s.Budget)
				continue
			}
			base, hasBase := Summarize(all, s.Key, Passthrough, c)
			for _, t := range targets {
				m, ok := Summarize(all, s.Key, t, c)
				if !ok {
					continue
				}
				vs, budget := "", ""
				if t != Passthrough && hasBase && base.CPU > 0 {
					vs = fmt.Sprintf("%.2f× (%+.1f µs)", m.CPU/base.CPU, m.CPU-base.CPU)
				}
				if t == Sluice {
					budget = s.Budget.String()
				}
				errs := ""
				if m.Errors > 0 {
					errs = fmt.Sprintf(" (%d errors)", m.Errors)
				}
				fmt.Fprintf(w, "| %s | %d | %s | %.0f%s | %s | %s | %.1f (%.1f–%.1f) | %s | %s |\n",
					s.Name, c, t, m.RPS, errs, fmtDur(m.P50), fmtDur(m.P99), m.CPU, m.CPUMin, m.CPUMax, vs, budget)
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

// FormatVerdicts lists the verdicts, one per line.
func FormatVerdicts(vs []Verdict) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	return b.String()
}
