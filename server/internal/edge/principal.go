package edge

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-edge/sluice/store"
)

// Principal is who is calling: an application (or the bootstrap admin) and what it may do.
// Principals are shared between requests and never modified; build them with NewPrincipal.
type Principal struct {
	AppID string
	// Perms holds the permissions that are not about tokens, and each token permission some rule
	// grants somewhere (token:reveal when a rule reads with reveal): a caller without one is
	// refused the operation outright (403), whatever the token.
	Perms Perm
	rules []rule   // tried in order (ascending priority)
	scope []string // the container prefixes its audit log shows tokens of; none = all
	all   bool     // the admin: may grant and manage anything
	// revealsAll: the first rule granting token:use or token:read reveals on "/", so every
	// token may be detokenized (the common case, decided without a look at the token).
	revealsAll bool
}

// AdminActor is the audit actor of the bootstrap admin key.
const AdminActor = "admin"

// adminPrincipal is who the admin key acts as: every permission, as rules on "/".
var adminPrincipal = func() *Principal {
	p := NewPrincipal(AdminActor, PermAll, nil, nil)
	p.all = true
	return p
}()

// NewPrincipal compiles an application's rights: its rules or, when it has none, its permissions
// as rules on its containers (every container when it names none).
func NewPrincipal(appID string, perms Perm, containers []string, rules []store.AccessRule) *Principal {
	p := &Principal{AppID: appID}
	if len(rules) == 0 {
		p.Perms, p.rules, p.scope = perms, legacyRules(perms, containers), containers
	} else {
		p.Perms, p.rules = perms&^permToken, compileRules(rules)
		for _, r := range p.rules {
			p.Perms |= r.grants
			if r.grants&PermTokenRead != 0 && r.transform == Reveal {
				p.Perms |= PermTokenReveal
			}
			p.scope = append(p.scope, r.container)
		}
		if slices.Contains(p.scope, "/") {
			p.scope = nil
		}
	}
	if p.Perms&PermTokenReveal != 0 {
		p.Perms |= PermTokenRead // reading with reveal is reading
	}
	if i := slices.IndexFunc(p.rules, func(r rule) bool { return r.grants&(PermTokenUse|PermTokenRead) != 0 }); i >= 0 {
		p.revealsAll = p.rules[i].container == "/" && p.rules[i].transform == Reveal
	}
	return p
}

// Can reports whether the principal holds every permission in want.
func (p *Principal) Can(want Perm) bool { return p != nil && p.Perms&want == want }

// Require fails with 403 unless the principal holds every permission in want (named name).
func (p *Principal) Require(want Perm, name string) error {
	if !p.Can(want) {
		return Forbidden(name)
	}
	return nil
}

// MayRead reports whether some rule lets the principal read tokens.
func (p *Principal) MayRead() bool { return p.Can(PermTokenRead) }

// Access decides the token operation op (one token:* permission) on a token in containers: the
// first rule by ascending priority that grants op and whose container is a prefix of one of
// containers decides, and its transform shapes the answer. No such rule: not allowed.
func (p *Principal) Access(op Perm, containers []string) (allowed bool, shape Transform) {
	if p == nil {
		return false, Redact
	}
	for i := range p.rules {
		if r := &p.rules[i]; r.grants&op != 0 && r.covers(containers) {
			return true, r.transform
		}
	}
	return false, Redact
}

// MayDetokenize reports whether the principal may have a token in containers rendered into a
// request ({{ }} on proxies, /detokenize, reflect, reactors' args): the rule that decides
// token:use, or the one that decides token:read, reveals it.
func (p *Principal) MayDetokenize(containers []string) bool {
	if p != nil && p.revealsAll {
		return true
	}
	return p.mayDetokenize(func(r *rule) bool { return r.covers(containers) })
}

// MayDetokenizeResolved is MayDetokenize for a token resolved on the proxy's hot path.
func (p *Principal) MayDetokenizeResolved(t *store.ResolvedToken) bool {
	if p != nil && p.revealsAll {
		return true
	}
	return p.mayDetokenize(func(r *rule) bool { return r.coversResolved(t) })
}

func (p *Principal) mayDetokenize(covers func(r *rule) bool) bool {
	if p == nil {
		return false
	}
	const ops = PermTokenUse | PermTokenRead
	var decided Perm
	for i := range p.rules {
		r := &p.rules[i]
		open := r.grants & ops &^ decided
		if open == 0 || !covers(r) {
			continue
		}
		if r.transform == Reveal {
			return true
		}
		if decided |= open; decided == ops {
			return false
		}
	}
	return false
}

// Sees reports whether the audit log shows the principal the events of a token in containers:
// those of tokens its rules (or its containers) reach.
func (p *Principal) Sees(containers []string) bool {
	if len(p.scope) == 0 {
		return true
	}
	for _, have := range p.scope {
		for _, c := range containers {
			if strings.HasPrefix(c, have) {
				return true
			}
		}
	}
	return false
}

// SeesAll reports whether Sees holds for every token.
func (p *Principal) SeesAll() bool { return len(p.scope) == 0 }

// MayGrant refuses an application (perms, containers, rules as given) that would hold more than
// the caller: a permission the caller lacks, or a rule granting an operation on tokens the
// caller could not reach with that operation, or with a transform that shows more than the
// caller's own. A key grants only what it holds; the admin key holds all.
func (p *Principal) MayGrant(perms Perm, containers []string, rules []store.AccessRule) error {
	if p.all {
		return nil
	}
	if extra := perms &^ p.Perms; extra != 0 {
		return NewProblem(http.StatusForbidden, "the application may not grant permissions it does not hold: "+extra.String())
	}
	child := NewPrincipal("", perms, containers, rules)
	if extra := child.Perms &^ p.Perms; extra != 0 {
		return NewProblem(http.StatusForbidden, "the application may not grant permissions it does not hold: "+extra.String())
	}
	for _, r := range child.rules {
		for op := Perm(1); op <= r.grants; op <<= 1 {
			if r.grants&op != 0 && !p.grantsAtLeast(op, r.container, r.transform) {
				return NewProblem(http.StatusForbidden, "the application may not grant "+op.String()+" with "+r.transform.String()+
					" on "+QuoteSafe(r.container)+": it does not hold that itself")
			}
		}
	}
	return nil
}

// grantsAtLeast reports whether, for every token under container, the rule that decides op for
// the principal allows it with a transform showing at least tr. Any rule granting op that comes
// before one covering all of container may decide for some of those tokens (a token has several
// containers), so each must show at least tr too.
func (p *Principal) grantsAtLeast(op Perm, container string, tr Transform) bool {
	for i := range p.rules {
		r := &p.rules[i]
		if r.grants&op == 0 {
			continue
		}
		if r.transform < tr {
			return false
		}
		if strings.HasPrefix(container, r.container) {
			return true
		}
	}
	return false
}

// MayManage refuses changing, deleting or minting a key for an application that holds more than
// the caller could grant: managing it would hand the caller its rights.
func (p *Principal) MayManage(a *store.Application) error {
	if p.all {
		return nil // holds all, even names this version does not know
	}
	perms, prob := ParsePerms(a.Permissions)
	if prob != nil || p.MayGrant(perms, a.Containers, a.Rules) != nil {
		return NewProblem(http.StatusForbidden, "the application may not manage an application that holds more than it does")
	}
	return nil
}
