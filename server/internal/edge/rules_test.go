package edge

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-edge/sluice/store"
)

func rulesPrincipal(rules ...store.AccessRule) *Principal {
	return NewPrincipal("app", 0, nil, rules)
}

func ar(priority int, container, transform string, perms ...string) store.AccessRule {
	return store.AccessRule{Priority: priority, Container: container, Transform: transform, Permissions: perms}
}

// TestAccessFirstRuleByPriorityDecides: rules are tried by ascending priority whatever order
// they were given in; the first that grants the operation and covers one of the token's
// containers decides, and its transform shapes the answer.
func TestAccessFirstRuleByPriorityDecides(t *testing.T) {
	p := rulesPrincipal(
		ar(30, "/", "redact", "token:read", "token:update"),
		ar(10, "/pci/high/", "mask", "token:read"),
		ar(20, "/pci/", "reveal", "token:read", "token:use"),
		ar(5, "/general/", "reveal", "token:create"),
	)
	for _, tc := range []struct {
		name       string
		op         Perm
		containers []string
		allowed    bool
		shape      Transform
	}{
		{"narrow rule first", PermTokenRead, []string{"/pci/high/"}, true, Mask},
		{"prefix match", PermTokenRead, []string{"/pci/low/"}, true, Reveal},
		{"any of the token's containers", PermTokenRead, []string{"/x/", "/pci/low/"}, true, Reveal},
		{"catch-all last", PermTokenRead, []string{"/bank/"}, true, Redact},
		{"rule without the op is skipped", PermTokenUpdate, []string{"/pci/high/"}, true, Redact},
		{"create only where granted", PermTokenCreate, []string{"/general/high/"}, true, Reveal},
		{"create elsewhere", PermTokenCreate, []string{"/pci/high/"}, false, Redact},
		{"no rule grants delete", PermTokenDelete, []string{"/general/"}, false, Redact},
		{"a prefix is a byte prefix", PermTokenUse, []string{"/pcix/"}, false, Redact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, shape := p.Access(tc.op, tc.containers)
			if ok != tc.allowed || shape != tc.shape {
				t.Fatalf("Access = %v %v, want %v %v", ok, shape, tc.allowed, tc.shape)
			}
		})
	}
	if !p.Can(PermTokenRead|PermTokenUse|PermTokenCreate|PermTokenUpdate|PermTokenReveal) || p.Can(PermTokenDelete) || p.Can(PermTokenSearch) {
		t.Fatalf("perms %v: want exactly what some rule grants", p.Perms)
	}
	// Priorities at the ends of int order as numbers, not as their wrapped difference.
	if ok, shape := rulesPrincipal(ar(math.MaxInt, "/", "reveal", "token:read"), ar(math.MinInt, "/", "redact", "token:read")).Access(PermTokenRead, []string{"/a/"}); !ok || shape != Redact {
		t.Fatalf("extreme priorities: %v %v, want the MinInt rule's redact", ok, shape)
	}
	// A rule on "/" comes first: the rules after it still grant their operations.
	if q := rulesPrincipal(ar(1, "/", "mask", "token:read"), ar(2, "/pci/", "reveal", "token:use")); !q.Can(PermTokenUse) || q.Can(PermTokenReveal) {
		t.Fatalf("perms %v: want token:use from the second rule, and no reveal", q.Perms)
	}
}

// TestLegacyPermissionsAreRulesOnRoot: an application given only permissions holds rules on
// "/" (or on each of its containers): token:reveal reads with reveal, token:use uses with
// reveal, the rest work with mask.
func TestLegacyPermissionsAreRulesOnRoot(t *testing.T) {
	all := []string{"/pci/high/"}
	for _, tc := range []struct {
		name       string
		perms      Perm
		containers []string
		op         Perm
		allowed    bool
		shape      Transform
		detok      bool
	}{
		{"read masks", PermTokenRead, nil, PermTokenRead, true, Mask, false},
		{"reveal reveals", PermTokenRead | PermTokenReveal, nil, PermTokenRead, true, Reveal, true},
		{"reveal alone reads", PermTokenReveal, nil, PermTokenRead, true, Reveal, true},
		{"use reveals to the proxy", PermTokenUse, nil, PermTokenUse, true, Reveal, true},
		{"search masks", PermTokenSearch, nil, PermTokenSearch, true, Mask, false},
		{"create masks", PermTokenCreate, nil, PermTokenCreate, true, Mask, false},
		{"containers restrict", PermTokenRead | PermTokenReveal | PermTokenUse, []string{"/general/"}, PermTokenRead, false, Redact, false},
		{"within the containers", PermTokenReveal, []string{"/pci/"}, PermTokenRead, true, Reveal, true},
		{"no token permission", PermLogRead, nil, PermTokenRead, false, Redact, false},
		{"proxy:invoke detokenizes as before rules", PermProxyInvoke, nil, PermTokenUse, true, Reveal, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPrincipal("app", tc.perms, tc.containers, nil)
			ok, shape := p.Access(tc.op, all)
			if ok != tc.allowed || shape != tc.shape {
				t.Fatalf("Access = %v %v, want %v %v", ok, shape, tc.allowed, tc.shape)
			}
			if got := p.MayDetokenize(all); got != tc.detok {
				t.Fatalf("MayDetokenize = %v, want %v", got, tc.detok)
			}
		})
	}
}

// TestDetokenizeNeedsARevealingRule: a proxy renders a token only when the rule deciding
// token:use, or the one deciding token:read, reveals it; a mask or redact rule that decides
// both first hides it.
func TestDetokenizeNeedsARevealingRule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []store.AccessRule
		want  bool
	}{
		{"use reveal", []store.AccessRule{ar(1, "/", "reveal", "token:use")}, true},
		{"read reveal", []store.AccessRule{ar(1, "/", "reveal", "token:read")}, true},
		{"use mask only", []store.AccessRule{ar(1, "/", "mask", "token:use")}, false},
		{"read mask, later use reveal", []store.AccessRule{ar(1, "/", "mask", "token:read"), ar(2, "/", "reveal", "token:use")}, true},
		{"both masked first", []store.AccessRule{ar(1, "/", "mask", "token:read", "token:use"), ar(2, "/", "reveal", "token:read", "token:use")}, false},
		{"other container", []store.AccessRule{ar(1, "/general/", "reveal", "token:use")}, false},
		{"create reveal is not use", []store.AccessRule{ar(1, "/", "reveal", "token:create")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rulesPrincipal(tc.rules...).MayDetokenize([]string{"/pci/high/"}); got != tc.want {
				t.Fatalf("MayDetokenize = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRejectGrantingBroaderRules: a key grants no rule that reaches tokens it cannot reach with
// that operation, or shows more of them than it sees: whether the grant is written as rules or
// as permissions and containers.
func TestRejectGrantingBroaderRules(t *testing.T) {
	caller := rulesPrincipal(
		ar(1, "/general/", "reveal", "token:read", "token:create"),
		ar(2, "/pci/", "mask", "token:read"),
	)
	for _, tc := range []struct {
		name       string
		perms      Perm
		containers []string
		rules      []store.AccessRule
		ok         bool
	}{
		{"same rule", 0, nil, []store.AccessRule{ar(1, "/general/", "reveal", "token:read")}, true},
		{"narrower container", 0, nil, []store.AccessRule{ar(1, "/general/high/", "mask", "token:create")}, true},
		{"weaker transform", 0, nil, []store.AccessRule{ar(1, "/pci/", "redact", "token:read")}, true},
		{"stronger transform", 0, nil, []store.AccessRule{ar(1, "/pci/", "reveal", "token:read")}, false},
		{"broader container", 0, nil, []store.AccessRule{ar(1, "/", "mask", "token:read")}, false},
		{"an operation not held", 0, nil, []store.AccessRule{ar(1, "/general/", "mask", "token:delete")}, false},
		{"permissions on root", PermTokenRead, nil, nil, false},
		{"permissions within", PermTokenRead | PermTokenReveal, []string{"/general/"}, nil, true},
		{"permissions beyond", PermTokenReveal, []string{"/pci/"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := caller.MayGrant(tc.perms, tc.containers, tc.rules)
			if (err == nil) != tc.ok {
				t.Fatalf("MayGrant = %v, want ok %v", err, tc.ok)
			}
			if p, isP := err.(*Problem); err != nil && (!isP || p.Status != http.StatusForbidden) {
				t.Fatalf("refusal %v is not a 403", err)
			}
		})
	}
	// A caller whose earlier rule masks what a later one reveals cannot grant the reveal: a
	// token in both containers is masked to it.
	layered := rulesPrincipal(ar(1, "/pci/", "mask", "token:read"), ar(2, "/", "reveal", "token:read"))
	if layered.MayGrant(0, nil, []store.AccessRule{ar(1, "/general/", "reveal", "token:read")}) == nil {
		t.Fatal("granted a reveal the caller does not see for tokens also in /pci/")
	}
	if adminPrincipal.MayGrant(PermAll, nil, []store.AccessRule{ar(1, "/", "reveal", "token:search", "token:create")}) != nil {
		t.Fatal("the admin may grant anything")
	}
}

// TestRejectInvalidRules: every malformed rule is a 400 naming the rule's field.
func TestRejectInvalidRules(t *testing.T) {
	ok := ar(1, "/general/", "mask", "token:read")
	many := make([]store.AccessRule, MaxRules+1)
	for i := range many {
		many[i] = ar(i, "/", "mask", "token:read")
	}
	for _, tc := range []struct {
		name  string
		rules []store.AccessRule
		field string
	}{
		{"too many", many, "rules"},
		{"duplicate priority", []store.AccessRule{ok, ar(1, "/pci/", "mask", "token:read")}, "rules[1].priority"},
		{"container without slash", []store.AccessRule{ar(1, "pci", "mask", "token:read")}, "rules[0].container"},
		{"empty container", []store.AccessRule{ar(1, "", "mask", "token:read")}, "rules[0].container"},
		{"container with a space", []store.AccessRule{ar(1, "/a b/", "mask", "token:read")}, "rules[0].container"},
		{"container too long", []store.AccessRule{ar(1, "/"+strings.Repeat("a", maxRuleContainer), "mask", "token:read")}, "rules[0].container"},
		{"unknown transform", []store.AccessRule{ar(1, "/", "encrypt", "token:read")}, "rules[0].transform"},
		{"no permissions", []store.AccessRule{ar(1, "/", "mask")}, "rules[0].permissions"},
		{"not a token permission", []store.AccessRule{ar(1, "/", "mask", "proxy:invoke")}, "rules[0].permissions"},
		{"unknown permission", []store.AccessRule{ar(1, "/", "mask", "token:everything")}, "rules[0].permissions"},
		{"description too long", []store.AccessRule{{Priority: 1, Container: "/", Transform: "mask", Permissions: []string{"token:read"}, Description: strings.Repeat("d", maxRuleDescription+1)}}, "rules[0].description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ValidateRules(tc.rules)
			if p == nil || p.Status != http.StatusBadRequest || p.Errors[tc.field] == nil {
				t.Fatalf("ValidateRules = %+v, want a 400 naming %s", p, tc.field)
			}
		})
	}
	if p := ValidateRules([]store.AccessRule{ok, ar(2, "/", "reveal", "token:use", "token:search")}); p != nil {
		t.Fatalf("valid rules refused: %+v", p)
	}
}

// TestAccessCheckAllocatesNothing: the proxy checks every detokenized token; the check is a few
// compares over the compiled rules.
func TestAccessCheckAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	p := rulesPrincipal(ar(1, "/pci/high/", "mask", "token:read"), ar(2, "/pci/", "reveal", "token:use"))
	containers := []string{"/bank/", "/pci/low/"}
	if n := testing.AllocsPerRun(100, func() {
		if !p.MayDetokenize(containers) {
			t.Fatal("refused")
		}
		p.Access(PermTokenRead, containers)
	}); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}

// BenchmarkAccessCheck: the per-token check of the proxy's hot path, for the admin (decided by
// one flag) and for rules that make it walk and compare prefixes.
func BenchmarkAccessCheck(b *testing.B) {
	ruled := rulesPrincipal(ar(1, "/pci/high/", "mask", "token:read"), ar(2, "/general/", "redact", "token:use"), ar(3, "/pci/", "reveal", "token:use"))
	containers := []string{"/bank/", "/pci/low/"}
	for _, bc := range []struct {
		name string
		p    *Principal
	}{{"admin", adminPrincipal}, {"three rules", ruled}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !bc.p.MayDetokenize(containers) {
					b.Fatal("refused")
				}
			}
		})
	}
}
