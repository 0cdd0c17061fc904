package edge

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/store"
)

// Access rules (SPEC §3): an application's token rights are an ordered list of rules, each
// granting token operations on the tokens under one container prefix and saying how their data
// is shown. They are compiled once per principal (the principal cache), so a check is a short
// loop of compares with no allocation: the proxy makes one per detokenized token.

// Transform is how an access rule shapes a token's data in an answer; a larger one shows more.
type Transform uint8

// The transforms of SPEC §3, weakest first.
const (
	Redact Transform = iota // no data
	Mask                    // the token's mask, or its type's default
	Reveal                  // the plaintext
)

var transformNames = [...]string{Redact: "redact", Mask: "mask", Reveal: "reveal"}

func (t Transform) String() string { return transformNames[t] }

func parseTransform(s string) (Transform, bool) {
	i := slices.Index(transformNames[:], s)
	return Transform(max(i, 0)), i >= 0
}

// permToken holds the permissions access rules grant.
const permToken = PermTokenCreate | PermTokenRead | PermTokenReveal | PermTokenUpdate | PermTokenDelete | PermTokenUse | PermTokenSearch

// Bounds of an application's rules, checked before they are compiled.
const (
	MaxRules           = 100
	maxRuleDescription = 1024
	maxRuleContainer   = 256
)

// rule is one compiled access rule.
type rule struct {
	container string // a prefix of token containers; "/" covers every token
	grants    Perm   // token:* operations; token:reveal is folded into token:read
	transform Transform
}

// covers reports whether the rule's container is a prefix of one of containers.
func (r *rule) covers(containers []string) bool {
	if r.container == "/" {
		return true // every container starts with "/"
	}
	for _, c := range containers {
		if strings.HasPrefix(c, r.container) {
			return true
		}
	}
	return false
}

// coversResolved is covers over a resolved token's containers, without copying them.
func (r *rule) coversResolved(t *store.ResolvedToken) bool {
	if r.container == "/" {
		return true
	}
	ok := false
	t.Containers(func(c []byte) bool {
		ok = len(c) >= len(r.container) && string(c[:len(r.container)]) == r.container
		return !ok
	})
	return ok
}

// ValidateRules checks rules as given on an application: at most MaxRules, priorities unique,
// containers that start with "/", a known transform and token:* permissions only. A refusal
// is a 400 naming the rule and its field.
func ValidateRules(rules []store.AccessRule) *Problem {
	if len(rules) > MaxRules {
		return Invalid("rules", fmt.Sprintf("at most %d rules", MaxRules))
	}
	seen := make(map[int]bool, len(rules))
	for i, r := range rules {
		field := func(name string) string { return fmt.Sprintf("rules[%d].%s", i, name) }
		switch {
		case len(r.Description) > maxRuleDescription || !utf8.ValidString(r.Description):
			return Invalid(field("description"), fmt.Sprintf("at most %d bytes of UTF-8", maxRuleDescription))
		case seen[r.Priority]:
			return Invalid(field("priority"), "is not unique: each rule has its own priority")
		case !validRuleContainer(r.Container):
			return Invalid(field("container"), fmt.Sprintf("a container prefix starts with / (at most %d bytes, no spaces or control characters)", maxRuleContainer))
		case len(r.Permissions) == 0 || len(r.Permissions) > 16:
			return Invalid(field("permissions"), "between 1 and 16 token permissions")
		}
		seen[r.Priority] = true
		if _, ok := parseTransform(r.Transform); !ok {
			return Invalid(field("transform"), "must be redact, mask or reveal")
		}
		for _, n := range r.Permissions {
			if b, ok := PermNames[n]; !ok || b&permToken == 0 {
				return Invalid(field("permissions"), "a rule grants token permissions only, not "+QuoteSafe(n))
			}
		}
	}
	return nil
}

func validRuleContainer(c string) bool {
	if !strings.HasPrefix(c, "/") || len(c) > maxRuleContainer {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] <= ' ' || c[i] == 0x7f {
			return false
		}
	}
	return true
}

// RulePerms is the union of the permissions rules grant (token:reveal counted as token:read),
// for checks such as what a public application may hold.
func RulePerms(rules []store.AccessRule) Perm {
	var p Perm
	for _, r := range compileRules(rules) {
		p |= r.grants
	}
	return p
}

// compileRules is rules in the order they are tried: by ascending priority. Names this version
// does not know grant nothing.
func compileRules(rules []store.AccessRule) []rule {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b store.AccessRule) int { return cmp.Compare(a.Priority, b.Priority) })
	out := make([]rule, 0, len(sorted))
	for _, r := range sorted {
		grants := knownPerms(r.Permissions) & permToken
		if grants&PermTokenReveal != 0 {
			grants = grants&^PermTokenReveal | PermTokenRead
		}
		tr, ok := parseTransform(r.Transform)
		if grants == 0 || !ok {
			continue
		}
		out = append(out, rule{container: r.Container, grants: grants, transform: tr})
	}
	return out
}

// legacyRules are the rules an application given only permissions holds (SPEC §3): on each of
// its containers ("/" when it names none), token:reveal reads with reveal, token:use uses with
// reveal, and its other token permissions work with mask. proxy:invoke, which let such an
// application detokenize on proxies before rules existed, still does: it uses with reveal too.
func legacyRules(perms Perm, containers []string) []rule {
	if len(containers) == 0 {
		containers = []string{"/"}
	}
	var out []rule
	for _, c := range containers {
		if perms&PermTokenReveal != 0 {
			out = append(out, rule{container: c, grants: PermTokenRead, transform: Reveal})
		}
		if perms&(PermTokenUse|PermProxyInvoke) != 0 {
			out = append(out, rule{container: c, grants: PermTokenUse, transform: Reveal})
		}
		if masked := perms & (permToken &^ (PermTokenReveal | PermTokenUse)); masked != 0 {
			out = append(out, rule{container: c, grants: masked, transform: Mask})
		}
	}
	return out
}

// knownPerms is the set of permissions named, leaving out names this version does not know.
func knownPerms(names []string) Perm {
	var p Perm
	for _, n := range names {
		p |= PermNames[n]
	}
	return p
}
