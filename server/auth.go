package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// perm is one permission of SPEC §3 as a bit, so a check is one AND.
type perm uint32

const (
	permTokenCreate perm = 1 << iota
	permTokenRead
	permTokenReveal
	permTokenUpdate
	permTokenDelete
	permTokenUse
	permProxyCreate
	permProxyRead
	permProxyUpdate
	permProxyDelete
	permProxyInvoke
	permKeysCreate
	permKeysRead
	permKeysDelete
	permTransformCreate
	permTransformRead
	permTransformDelete
	permApplicationCreate
	permApplicationRead
	permApplicationUpdate
	permApplicationDelete
	permLogRead
	permAll perm = 1<<iota - 1
)

var permNames = map[string]perm{
	"token:create": permTokenCreate, "token:read": permTokenRead, "token:reveal": permTokenReveal,
	"token:update": permTokenUpdate, "token:delete": permTokenDelete, "token:use": permTokenUse,
	"proxy:create": permProxyCreate, "proxy:read": permProxyRead, "proxy:update": permProxyUpdate,
	"proxy:delete": permProxyDelete, "proxy:invoke": permProxyInvoke,
	"keys:create": permKeysCreate, "keys:read": permKeysRead, "keys:delete": permKeysDelete,
	"transform:create": permTransformCreate, "transform:read": permTransformRead, "transform:delete": permTransformDelete,
	"application:create": permApplicationCreate, "application:read": permApplicationRead,
	"application:update": permApplicationUpdate, "application:delete": permApplicationDelete,
	"log:read": permLogRead,
}

func (p perm) String() string {
	var names []string
	for n, b := range permNames {
		if p&b != 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func parsePerms(names []string) (perm, *Problem) {
	var p perm
	for _, n := range names {
		b, ok := permNames[n]
		if !ok {
			return 0, invalid("permissions", "unknown permission "+quoteSafe(n))
		}
		p |= b
	}
	return p, nil
}

// principal is who is calling: an application (or the bootstrap admin) and what it may do.
type principal struct {
	appID      string
	perms      perm
	containers []string // container prefixes it may use; empty = all
}

func (p *principal) can(want perm) bool { return p != nil && p.perms&want == want }

// mayRead reports whether the principal may read tokens (masked with token:read, plaintext with
// token:reveal) in the containers it may use.
func (p *principal) mayRead() bool { return p.can(permTokenRead) || p.can(permTokenReveal) }

// adminActor is the audit actor of the bootstrap admin key.
const adminActor = "admin"

// authenticate maps the request's API key to a principal, or nil when there is none or it is
// unknown. The bootstrap admin key is compared in constant time against its hash.
// adminPrincipal is who the admin key acts as. Shared: principals are never modified.
var adminPrincipal = &principal{appID: adminActor, perms: permAll}

func (s *Server) authenticate(ctx *fasthttp.RequestCtx) (*principal, error) {
	key := ctx.Request.Header.Peek("BT-API-KEY")
	if len(key) == 0 {
		key = ctx.Request.Header.Peek("X-Footprint-Secret-Key")
	}
	if len(key) == 0 || len(key) > 256 {
		return nil, nil
	}
	h := sha256.Sum256(key)
	if s.adminKeyHash != nil && subtle.ConstantTimeCompare(h[:], s.adminKeyHash) == 1 {
		return adminPrincipal, nil
	}
	if p := s.principals.get(h); p != nil {
		return p, nil
	}
	gen := s.principals.generation()
	app, err := s.store.ApplicationByKey(ctx, string(key))
	if err != nil {
		return nil, nil
	}
	perms, _ := parsePerms(app.Permissions)
	p := &principal{appID: app.ID, perms: perms, containers: app.Containers}
	s.principals.put(h, p, gen)
	return p, nil
}

// principalCache maps SHA-256(API key) to the application's principal, so authentication costs
// no vault read. Any change to any application empties it; a lookup that raced with a change is
// not cached. The raw key is never kept.
type principalCache struct {
	mu  sync.RWMutex
	m   map[[32]byte]*principal
	gen uint64
}

const maxCachedPrincipals = 10000

func (c *principalCache) get(h [32]byte) *principal {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[h]
}

func (c *principalCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *principalCache) put(h [32]byte, p *principal, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedPrincipals {
		c.m = map[[32]byte]*principal{}
	}
	c.m[h] = p
}

// invalidate forgets every cached principal; call it after any application change.
func (c *principalCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// newAPIKey returns a fresh random API key; only its hash is stored.
func newAPIKey() string {
	var b [32]byte
	rand.Read(b[:])
	return "key_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// quoteSafe quotes a short caller-supplied name for an error message, cut to 64 bytes. Use it only
// for names (permissions, fields, filters), never for values.
func quoteSafe(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r == 0x7f {
			return '?'
		}
		return r
	}, s) + `"`
}
