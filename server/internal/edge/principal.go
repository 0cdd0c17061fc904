package edge

import (
	"bytes"
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-edge/sluice/store"
)

// Principal is who is calling: an application (or the bootstrap admin) and what it may do.
// Principals are shared between requests and never modified.
type Principal struct {
	AppID      string
	Perms      Perm
	Containers []string // container prefixes it may use; empty = all
}

// AdminActor is the audit actor of the bootstrap admin key.
const AdminActor = "admin"

// adminPrincipal is who the admin key acts as.
var adminPrincipal = &Principal{AppID: AdminActor, Perms: PermAll}

// Can reports whether the principal holds every permission in want.
func (p *Principal) Can(want Perm) bool { return p != nil && p.Perms&want == want }

// Require fails with 403 unless the principal holds every permission in want (named name).
func (p *Principal) Require(want Perm, name string) error {
	if !p.Can(want) {
		return Forbidden(name)
	}
	return nil
}

// MayRead reports whether the principal may read tokens (masked with token:read, plaintext with
// token:reveal) in the containers it may use.
func (p *Principal) MayRead() bool { return p.Can(PermTokenRead) || p.Can(PermTokenReveal) }

// MayGrant refuses an application that would hold more than the caller: a permission the caller
// lacks, or containers outside the caller's own (no containers means all of them). A key grants
// only what it holds; the admin key holds all.
func (p *Principal) MayGrant(perms Perm, containers []string) error {
	if extra := perms &^ p.Perms; extra != 0 {
		return NewProblem(http.StatusForbidden, "the application may not grant permissions it does not hold: "+extra.String())
	}
	if !p.coversAll(containers) {
		return NewProblem(http.StatusForbidden, "the application may not grant containers outside its own")
	}
	return nil
}

// MayManage refuses changing, deleting or minting a key for an application that holds more than
// the caller could grant: managing it would hand the caller its rights.
func (p *Principal) MayManage(a *store.Application) error {
	if p.Perms == PermAll && len(p.Containers) == 0 {
		return nil // holds all, even names this version does not know
	}
	perms, prob := ParsePerms(a.Permissions)
	if prob != nil || p.MayGrant(perms, a.Containers) != nil {
		return NewProblem(http.StatusForbidden, "the application may not manage an application that holds more than it does")
	}
	return nil
}

// coversAll reports whether every one of containers lies within the principal's containers.
// An empty list means every container, which only an unrestricted principal covers.
func (p *Principal) coversAll(containers []string) bool {
	if len(p.Containers) == 0 {
		return true
	}
	if len(containers) == 0 {
		return false
	}
	for _, c := range containers {
		if !slices.ContainsFunc(p.Containers, func(have string) bool { return strings.HasPrefix(c, have) }) {
			return false
		}
	}
	return true
}

// CanUseResolved reports whether the principal may use a token in containers: applications
// without container rules may use every container.
func (p *Principal) CanUseResolved(t *store.ResolvedToken) bool {
	if len(p.Containers) == 0 {
		return true
	}
	ok := false
	t.Containers(func(c []byte) bool {
		for _, have := range p.Containers {
			if bytes.HasPrefix(c, []byte(have)) {
				ok = true
				return false
			}
		}
		return true
	})
	return ok
}

// CanUse reports whether the principal may use a token in one of containers.
func (p *Principal) CanUse(containers []string) bool {
	if len(p.Containers) == 0 {
		return true
	}
	for _, have := range p.Containers {
		for _, c := range containers {
			if strings.HasPrefix(c, have) {
				return true
			}
		}
	}
	return false
}
