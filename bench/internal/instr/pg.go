package instr

import (
	"fmt"
	"io"
	"slices"
)

// SluicePG is the target name of a Sluice node whose vault is in PostgreSQL (gate
// -database-url): measured on the scenarios it was given, reported beside the Badger node,
// never budgeted.
const SluicePG = "sluice-pg"

// WritePostgresTable writes, for each scenario measured on the PostgreSQL node, its
// instructions per request beside the Badger node's; nothing when r has no PostgreSQL node.
func WritePostgresTable(w io.Writer, r *Results) {
	if !slices.Contains(r.Targets, SluicePG) {
		return
	}
	fmt.Fprintln(w, "\nThe same requests through a node whose vault is in PostgreSQL (report only, not budgeted;")
	fmt.Fprintln(w, "PostgreSQL's own work happens in its processes and is not counted here):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | Sluice, Badger | Sluice, PostgreSQL | PostgreSQL ÷ Badger | PostgreSQL node spread over windows |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, s := range r.Scenarios {
		pg, ok := r.Get(SluicePG, s.Key)
		if !ok {
			continue
		}
		badger, ratio := "—", ""
		if b, ok := r.Get(Sluice, s.Key); ok && b > 0 {
			badger, ratio = K(b), fmt.Sprintf("%.2f×", pg/b)
		}
		spread := ""
		for _, c := range r.Counts {
			if c.Target == SluicePG && c.Scenario == s.Key && len(c.Windows) > 0 {
				spread = fmt.Sprintf("%s–%s (%d × %d requests)", K(slices.Min(c.Windows)), K(slices.Max(c.Windows)), len(c.Windows), c.Requests)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", s.Name, badger, K(pg), ratio, spread)
	}
}
