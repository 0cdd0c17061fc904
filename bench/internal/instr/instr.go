// Package instr holds the instruction gate's results — instructions per request of each proxy
// on each scenario, counted by callgrind — its budgets, their evaluation and the report table.
// Instruction counts do not depend on the neighbours' load, so the budgets can be tight.
package instr

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Target names (as harness uses them).
const (
	Sluice      = "sluice"
	Passthrough = "passthrough"
	Nginx       = "nginx"
)

// Scenario keys (as package scenario defines them).
const (
	Tokens0   = "tokens=0"
	Tokens5   = "tokens=5"
	Wasm      = "tokens=5+wasm"
	GoGuest   = "tokens=5+goguest"
	Encrypted = "encrypted"
)

// Results is one gate run.
type Results struct {
	Started   time.Time     `json:"started"`
	Took      time.Duration `json:"took_ns"`
	Commit    string        `json:"commit,omitempty"`
	Machine   string        `json:"machine"`
	Go        string        `json:"go"`
	Targets   []string      `json:"targets"`
	Scenarios []Scenario    `json:"scenarios"`
	Counts    []Count       `json:"counts"`
	// Idle is each target's instructions per second with no request in flight, subtracted
	// from every window in proportion to its length.
	Idle map[string]float64 `json:"idle_per_second"`
	// X25519 is one X25519 key agreement (public key parse + scalar multiplication) alone.
	X25519 float64 `json:"x25519"`
	// Repeat is Sluice on one scenario measured again at the end of the run.
	Repeat *Repeat `json:"repeat,omitempty"`
}

// Scenario names a scenario of the run; NA says why it could not be measured.
type Scenario struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	NA   string `json:"na,omitempty"`
}

// Count is one target on one scenario: instructions per request, the median over windows.
type Count struct {
	Target     string    `json:"target"`
	Scenario   string    `json:"scenario"`
	PerRequest float64   `json:"per_request"`
	Windows    []float64 `json:"windows"`  // per request, one per window
	Requests   int64     `json:"requests"` // per window
}

// Repeat is the same (Sluice, scenario) measured twice in one run.
type Repeat struct {
	Scenario string  `json:"scenario"`
	First    float64 `json:"first"`
	Second   float64 `json:"second"`
}

// Spread is |First−Second| over the smaller of the two.
func (r *Repeat) Spread() float64 {
	lo, hi := min(r.First, r.Second), max(r.First, r.Second)
	if lo <= 0 {
		return 1
	}
	return (hi - lo) / lo
}

// Get returns the instructions per request of target on scenario.
func (r *Results) Get(target, scenario string) (float64, bool) {
	for _, c := range r.Counts {
		if c.Target == target && c.Scenario == scenario {
			return c.PerRequest, true
		}
	}
	return 0, false
}

// jsonScenarios send the same 1 KB JSON request to the passthrough, which forwards it alike
// in each: the expressions and transforms are Sluice's work, not the passthrough's.
var jsonScenarios = []string{Tokens0, Tokens5, Wasm, GoGuest}

// PassthroughJSON is the denominator of the ratio budgets: the median of the passthrough's
// windows over every JSON scenario of the run, one sample of one workload. Each scenario's own
// median moves by up to ~4 % within a run (scheduler and idle noise, not work), which one
// scenario's 15 windows do not average out; the pooled windows do. A count without windows (an
// old report) counts as one window.
func (r *Results) PassthroughJSON() (float64, bool) {
	var w []float64
	for _, c := range r.Counts {
		if c.Target != Passthrough || !slices.Contains(jsonScenarios, c.Scenario) {
			continue
		}
		if len(c.Windows) == 0 {
			w = append(w, c.PerRequest)
		}
		w = append(w, c.Windows...)
	}
	return Median(w), len(w) > 0
}

// denominator is what Sluice's count on scenario is divided by: the pooled passthrough for a
// JSON scenario, the passthrough's own count otherwise.
func (r *Results) denominator(scenario string) (float64, bool) {
	if _, ok := r.Get(Passthrough, scenario); !ok {
		return 0, false
	}
	if slices.Contains(jsonScenarios, scenario) {
		return r.PassthroughJSON()
	}
	return r.Get(Passthrough, scenario)
}

// Median of v (the mean of the middle two for an even count); 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// Budgets of the gate (issue 16). A budget changes only with a paragraph in RATIONALE.md.
type Budgets struct {
	Tokens0   float64 // Sluice ÷ passthrough at 0 tokens
	Tokens5   float64 // Sluice ÷ passthrough at 5 tokens
	Wasm      float64 // instructions over Sluice's 5 tokens, tiny wasm transform
	GoGuest   float64 // instructions over Sluice's 5 tokens, Go-SDK guest
	Encrypted float64 // instructions over one X25519 + Sluice's 0-token request
	Repeat    float64 // largest spread of the repeated measurement
}

// Default are the budgets of issue 16.
var Default = Budgets{Tokens0: 1.5, Tokens5: 2.8, Wasm: 8000, GoGuest: 30000, Encrypted: 40000, Repeat: 0.03}

// Set changes the budgets named in s, e.g. "tokens=0=1.2,encrypted=35000,repeat=0.02".
func (b *Budgets) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		i := strings.LastIndexByte(kv, '=')
		if i < 0 {
			return fmt.Errorf("instr: budget %q is not key=value", kv)
		}
		var v float64
		if _, err := fmt.Sscan(kv[i+1:], &v); err != nil || v <= 0 {
			return fmt.Errorf("instr: budget %q: value must be a positive number", kv)
		}
		switch kv[:i] {
		case Tokens0:
			b.Tokens0 = v
		case Tokens5:
			b.Tokens5 = v
		case Wasm:
			b.Wasm = v
		case GoGuest:
			b.GoGuest = v
		case Encrypted:
			b.Encrypted = v
		case "repeat":
			b.Repeat = v
		default:
			return fmt.Errorf("instr: no budget %q", kv[:i])
		}
	}
	return nil
}

// Verdict is one budget's check.
type Verdict struct {
	Name     string // what is checked
	Measured string // the measured quantity, formatted
	Budget   string // the limit, formatted
	OK       bool
	NA       string // could not be measured, and why (counts as missed)
}

func (v Verdict) String() string {
	switch {
	case v.NA != "":
		return fmt.Sprintf("%s: MISSED (not measured: %s), budget %s", v.Name, v.NA, v.Budget)
	case v.OK:
		return fmt.Sprintf("%s: ok — %s, budget %s", v.Name, v.Measured, v.Budget)
	}
	return fmt.Sprintf("%s: MISSED — %s, budget %s", v.Name, v.Measured, v.Budget)
}

// Evaluate checks every budget against r.
func Evaluate(r *Results, b Budgets) []Verdict {
	sl := func(s string) (float64, bool) { return r.Get(Sluice, s) }
	pt := r.denominator
	ratio := func(key string, limit float64) Verdict {
		v := Verdict{Name: key + " (Sluice ÷ passthrough)", Budget: fmt.Sprintf("≤ %g×", limit)}
		s, ok1 := sl(key)
		p, ok2 := pt(key)
		if !ok1 || !ok2 || p <= 0 {
			v.NA = r.na(key)
			return v
		}
		v.Measured = fmt.Sprintf("%s ÷ %s = %.2f×", K(s), K(p), s/p)
		v.OK = s <= p*limit
		return v
	}
	over5 := func(key string, limit float64) Verdict {
		v := Verdict{Name: key + " (over Sluice's 5 tokens)", Budget: "≤ +" + K(limit)}
		s, ok1 := sl(key)
		s5, ok2 := sl(Tokens5)
		if !ok1 || !ok2 {
			v.NA = r.na(key)
			return v
		}
		v.Measured = fmt.Sprintf("%s − %s = %+.1f k", K(s), K(s5), (s-s5)/1000)
		v.OK = s-s5 <= limit
		return v
	}
	out := []Verdict{ratio(Tokens0, b.Tokens0), ratio(Tokens5, b.Tokens5), over5(Wasm, b.Wasm), over5(GoGuest, b.GoGuest)}

	e := Verdict{Name: Encrypted + " (over one X25519 + Sluice's 0 tokens)", Budget: "≤ +" + K(b.Encrypted)}
	se, ok1 := sl(Encrypted)
	s0, ok2 := sl(Tokens0)
	switch {
	case !ok1 || !ok2:
		e.NA = r.na(Encrypted)
	case r.X25519 <= 0:
		e.NA = "X25519 alone not measured"
	default:
		rest := se - r.X25519 - s0
		e.Measured = fmt.Sprintf("%s − %s − %s = %+.1f k", K(se), K(r.X25519), K(s0), rest/1000)
		e.OK = rest <= b.Encrypted
	}
	out = append(out, e)

	rp := Verdict{Name: "repeatability", Budget: fmt.Sprintf("≤ %g %%", b.Repeat*100)}
	if r.Repeat == nil {
		rp.NA = "no scenario measured twice"
	} else {
		rp.Name += " (Sluice " + r.Repeat.Scenario + " twice)"
		rp.Measured = fmt.Sprintf("%s and %s: %.1f %%", K(r.Repeat.First), K(r.Repeat.Second), r.Repeat.Spread()*100)
		rp.OK = r.Repeat.Spread() <= b.Repeat
	}
	return append(out, rp)
}

func (r *Results) na(key string) string {
	for _, s := range r.Scenarios {
		if s.Key == key && s.NA != "" {
			return s.NA
		}
	}
	return "not measured"
}

// Missed counts the verdicts that fail the gate.
func Missed(vs []Verdict) int {
	n := 0
	for _, v := range vs {
		if !v.OK {
			n++
		}
	}
	return n
}

// K formats an instruction count in thousands: "55.6 k".
func K(n float64) string { return fmt.Sprintf("%.1f k", n/1000) }

// WriteTable writes the instructions per request of every target on every scenario, Sluice's
// ratio to the passthrough, X25519 alone and the repeated measurement, as Markdown.
func WriteTable(w io.Writer, r *Results) {
	has := func(t string) bool { return slices.Contains(r.Targets, t) }
	head := "| scenario | passthrough |"
	rule := "|---|---:|"
	if has(Nginx) {
		head += " nginx |"
		rule += "---:|"
	}
	fmt.Fprintln(w, head+" Sluice | Sluice ÷ passthrough | Sluice spread over windows |")
	fmt.Fprintln(w, rule+"---:|---:|---:|")
	cell := func(t, s string) string {
		if v, ok := r.Get(t, s); ok {
			return K(v)
		}
		return "—"
	}
	for _, s := range r.Scenarios {
		row := "| " + s.Name + " | " + cell(Passthrough, s.Key) + " |"
		if has(Nginx) {
			row += " " + cell(Nginx, s.Key) + " |"
		}
		if s.NA != "" {
			fmt.Fprintln(w, row+" n/a: "+s.NA+" | | |")
			continue
		}
		ratio, spread := "", ""
		sv, ok1 := r.Get(Sluice, s.Key)
		pv, ok2 := r.denominator(s.Key)
		if ok1 && ok2 && pv > 0 {
			ratio = fmt.Sprintf("%.2f×", sv/pv)
		}
		for _, c := range r.Counts {
			if c.Target == Sluice && c.Scenario == s.Key && len(c.Windows) > 0 {
				spread = fmt.Sprintf("%s–%s (%d × %d requests)", K(slices.Min(c.Windows)), K(slices.Max(c.Windows)), len(c.Windows), c.Requests)
			}
		}
		fmt.Fprintln(w, row+" "+cell(Sluice, s.Key)+" | "+ratio+" | "+spread+" |")
	}
	if r.X25519 > 0 {
		blank := " |"
		if has(Nginx) {
			blank += " |"
		}
		fmt.Fprintln(w, "| X25519 alone (`crypto/ecdh` key parse + agreement) |"+blank+" "+K(r.X25519)+" | | |")
	}
	fmt.Fprintln(w)
	if p, ok := r.PassthroughJSON(); ok {
		fmt.Fprintf(w, "The ratios' denominator: the passthrough's windows of every 1 KB JSON scenario together, median %s.\n", K(p))
	}
	if p := r.Repeat; p != nil {
		fmt.Fprintf(w, "Sluice on %s measured twice in this run: %s and %s (%.1f %% apart).\n", p.Scenario, K(p.First), K(p.Second), p.Spread()*100)
	}
	if len(r.Idle) > 0 {
		var parts []string
		for _, t := range r.Targets {
			parts = append(parts, fmt.Sprintf("%s %s/s", t, K(r.Idle[t])))
		}
		fmt.Fprintf(w, "Idle, subtracted from each window by its length: %s.\n", strings.Join(parts, ", "))
	}
}

// Save writes r as JSON to path.
func Save(path string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Load reads results written by Save.
func Load(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("instr: %s: %w", path, err)
	}
	return &r, nil
}
