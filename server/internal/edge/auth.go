package edge

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/store"
)

// Header names in fasthttp's canonical form, for PeekCanonical and SetCanonical.
var (
	NameBTAPIKey     = []byte("Bt-Api-Key")
	NameFootprintKey = []byte("X-Footprint-Secret-Key")
	NameRequestID    = []byte("X-Request-Id")
	NameTraceID      = []byte("Bt-Trace-Id")
)

// Applications are the vault reads authentication needs.
type Applications interface {
	ApplicationByKey(ctx context.Context, key string) (*store.Application, error)
	GetApplication(ctx context.Context, id string) (*store.Application, error)
}

// Authenticator maps API keys to principals and counts calls against the rate limits. Build it
// once with NewAuthenticator; it is safe for concurrent use.
type Authenticator struct {
	apps       Applications
	tags       *keyTagger // API key → principal cache key, per process
	adminTag   *tag       // of the bootstrap admin key, if any
	principals principalCache
	anon       *limiter // anonymous pre-configured proxy calls, per proxy and client IP
	perApp     *limiter // per application
}

// NewAuthenticator authenticates against apps; adminKey ("" for none) acts as the admin.
func NewAuthenticator(apps Applications, adminKey string, rl RateLimits) *Authenticator {
	a := &Authenticator{apps: apps, tags: newKeyTagger(),
		anon:   newLimiter(rl.AnonymousRequests, rl.AnonymousWindow),
		perApp: newLimiter(rl.ApplicationRequests, rl.ApplicationWindow)}
	if adminKey != "" {
		h := a.tags.tag([]byte(adminKey))
		a.adminTag = &h
	}
	return a
}

// Authenticate maps the request's API key to a principal, or nil when there is none or it is
// unknown. The bootstrap admin key is compared in constant time against its tag. A vault that
// fails to answer is an error, never an anonymous caller: it must not turn into a 401.
func (a *Authenticator) Authenticate(rc *fasthttp.RequestCtx) (*Principal, error) {
	key := rc.Request.Header.PeekCanonical(NameBTAPIKey)
	if len(key) == 0 {
		key = rc.Request.Header.PeekCanonical(NameFootprintKey)
	}
	if len(key) == 0 || len(key) > 256 {
		return nil, nil
	}
	h := a.tags.tag(key)
	if a.adminTag != nil && subtle.ConstantTimeCompare(h[:], a.adminTag[:]) == 1 {
		return adminPrincipal, nil
	}
	if p := a.principals.get(h); p != nil {
		return p, nil
	}
	gen := a.principals.generation()
	app, err := a.apps.ApplicationByKey(rc, string(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := principalOf(app)
	a.principals.put(h, p, gen)
	return p, nil
}

// ApplicationPrincipal is who a call without a key acts as on a pre-configured proxy: the
// proxy's application (id), or the admin. A vanished application is a 403; a vault that fails
// to answer is its own error.
func (a *Authenticator) ApplicationPrincipal(ctx context.Context, id string) (*Principal, error) {
	if id == AdminActor {
		return adminPrincipal, nil
	}
	app, err := a.apps.GetApplication(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, NewProblem(http.StatusForbidden, "the proxy's application no longer exists")
	}
	if err != nil {
		return nil, err
	}
	return principalOf(app), nil
}

// principalOf is the principal of a stored application, its rules compiled. Permission names
// this version does not know grant nothing.
func principalOf(app *store.Application) *Principal {
	return NewPrincipal(app.ID, knownPerms(app.Permissions), app.Containers, app.Rules)
}

// Invalidate forgets every cached principal; call it after any application change.
func (a *Authenticator) Invalidate() { a.principals.invalidate() }

// AllowApplication counts one call of who against its application's limit (none for nil).
func (a *Authenticator) AllowApplication(rc *fasthttp.RequestCtx, who *Principal) error {
	if who == nil {
		return nil
	}
	ok, wait := a.perApp.allow(who.AppID)
	if !ok {
		return rateLimited(rc, wait)
	}
	return nil
}

// AllowAnonymous counts one unauthenticated call of the pre-configured proxy proxyID from the
// request's client IP.
func (a *Authenticator) AllowAnonymous(rc *fasthttp.RequestCtx, proxyID string) error {
	ok, wait := a.anon.allow(proxyID + "|" + rc.RemoteIP().String())
	if !ok {
		return rateLimited(rc, wait)
	}
	return nil
}

// rateLimited is the 429 with Retry-After (whole seconds, at least 1).
func rateLimited(rc *fasthttp.RequestCtx, wait time.Duration) error {
	rc.Response.Header.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	return NewProblem(http.StatusTooManyRequests, "rate limit exceeded; retry later")
}

// principalCache maps the tag of an API key (keyTagger) to the application's principal, so
// authentication costs no vault read. Any change to any application empties it; a lookup that
// raced with a change is not cached. The raw key is never kept.
type principalCache struct {
	mu  sync.RWMutex
	m   map[tag]*Principal
	gen uint64
}

const maxCachedPrincipals = 10000

func (c *principalCache) get(h tag) *Principal {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[h]
}

func (c *principalCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *principalCache) put(h tag, p *Principal, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedPrincipals {
		c.m = map[tag]*Principal{}
	}
	c.m[h] = p
}

func (c *principalCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// NewAPIKey returns a fresh random API key; only its hash is stored.
func NewAPIKey() string {
	var b [32]byte
	rand.Read(b[:])
	return "key_" + base64.RawURLEncoding.EncodeToString(b[:])
}
