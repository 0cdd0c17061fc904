package edge

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/store"
)

// tokenContainerSets are the tokens FuzzRules asks about: one or several containers each.
var tokenContainerSets = [][]string{
	{"/pci/high/"}, {"/pci/low/"}, {"/general/high/"}, {"/bank/"}, {"/pcix/"},
	{"/general/high/", "/pci/high/"}, {"/bank/", "/general/"},
}

// naiveAccess is SPEC §3 read literally: sort by priority, take the first rule that grants op
// and whose container prefixes one of the token's.
func naiveAccess(rules []store.AccessRule, op Perm, containers []string) (bool, Transform) {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b store.AccessRule) int { return cmp.Compare(a.Priority, b.Priority) })
	for _, r := range sorted {
		grants := knownPerms(r.Permissions)
		if grants&PermTokenReveal != 0 {
			grants |= PermTokenRead
		}
		if grants&op == 0 {
			continue
		}
		for _, c := range containers {
			if strings.HasPrefix(c, r.Container) {
				tr, _ := parseTransform(r.Transform)
				return true, tr
			}
		}
	}
	return false, Redact
}

// FuzzRules: whatever rules a client sends, validation never panics; rules it accepts decide
// every operation as the SPEC's reading does, and a grant MayGrant lets through never shows any
// token more than the granting caller sees.
func FuzzRules(f *testing.F) {
	for _, seed := range []string{
		`[{"priority":1,"container":"/pci/","transform":"mask","permissions":["token:read"]},{"priority":2,"container":"/","transform":"reveal","permissions":["token:read","token:use"]}]`,
		`[{"priority":2,"container":"/general/","transform":"reveal","permissions":["token:reveal"]},{"priority":1,"container":"/general/high/","transform":"redact","permissions":["token:read"]}]`,
		`[{"priority":-5,"container":"/pcix","transform":"mask","permissions":["token:search","token:create"]}]`,
		`[{"priority":1,"container":"/","transform":"reveal","permissions":["proxy:invoke"]}]`,
		`[{"priority":1,"container":"/","transform":"reveal","permissions":["token:read"]},{"priority":1,"container":"/b/","transform":"mask","permissions":["token:read"]}]`,
		`[{"priority":1,"container":"/","transform":"mask","permissions":["token:read"]},{"priority":2,"container":"/pci/","transform":"reveal","permissions":["token:use"]}]`,
		`[]`, `null`, `[{}]`,
	} {
		f.Add([]byte(seed), []byte(`[{"priority":1,"container":"/general/","transform":"reveal","permissions":["token:read","token:use"]}]`))
	}
	f.Fuzz(func(t *testing.T, callerJSON, childJSON []byte) {
		var caller, child []store.AccessRule
		if json.Unmarshal(callerJSON, &caller) != nil || json.Unmarshal(childJSON, &child) != nil {
			return
		}
		if ValidateRules(caller) != nil || ValidateRules(child) != nil || len(caller) == 0 {
			return
		}
		p, c := NewPrincipal("caller", 0, nil, caller), NewPrincipal("child", 0, nil, child)
		ops := []Perm{PermTokenCreate, PermTokenRead, PermTokenUpdate, PermTokenDelete, PermTokenUse, PermTokenSearch}
		for _, op := range ops {
			anywhere := slices.ContainsFunc(caller, func(r store.AccessRule) bool {
				g := knownPerms(r.Permissions)
				return g&op != 0 || op == PermTokenRead && g&PermTokenReveal != 0
			})
			if p.Can(op) != anywhere {
				t.Fatalf("Can(%v) = %v, but a rule grants it somewhere: %v", op, p.Can(op), anywhere)
			}
		}
		for _, containers := range tokenContainerSets {
			for _, op := range ops {
				gotOK, gotShape := p.Access(op, containers)
				wantOK, wantShape := naiveAccess(caller, op, containers)
				if gotOK != wantOK || gotShape != wantShape {
					t.Fatalf("Access(%v, %v) = %v %v, the SPEC says %v %v", op, containers, gotOK, gotShape, wantOK, wantShape)
				}
			}
			useOK, useShape := p.Access(PermTokenUse, containers)
			readOK, readShape := p.Access(PermTokenRead, containers)
			if want := useOK && useShape == Reveal || readOK && readShape == Reveal; p.MayDetokenize(containers) != want {
				t.Fatalf("MayDetokenize(%v) = %v, want %v", containers, !want, want)
			}
		}
		if p.MayGrant(0, nil, child) != nil {
			return
		}
		// Tokens in and under every container the rules name, alone and with another one.
		sets := slices.Clone(tokenContainerSets)
		for _, r := range slices.Concat(caller, child) {
			for _, other := range []string{"/pci/high/", "/general/"} {
				sets = append(sets, []string{r.Container + "z/"}, []string{r.Container, other}, []string{other, r.Container + "z/"})
			}
		}
		for _, containers := range sets {
			for _, op := range ops {
				childOK, childShape := c.Access(op, containers)
				callerOK, callerShape := p.Access(op, containers)
				if childOK && (!callerOK || childShape > callerShape) {
					t.Fatalf("granted %v on %v as %v to a caller seeing it as %v %v", op, containers, childShape, callerOK, callerShape)
				}
			}
		}
	})
}
