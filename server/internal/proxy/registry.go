package proxy

import (
	"crypto/tls"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/vault"
)

// Definition is a pre-configured proxy (SPEC §5), as stored (sealed: it holds the proxy key and
// configuration secrets) and as returned by the API.
type Definition struct {
	ID                    string            `json:"id"`
	Key                   string            `json:"key"`
	Name                  string            `json:"name"`
	DestinationURL        string            `json:"destination_url"`
	RequestTransforms     []Transform       `json:"request_transforms"`
	ResponseTransforms    []Transform       `json:"response_transforms"`
	Configuration         map[string]string `json:"configuration"`
	RequireAuth           bool              `json:"require_auth"`
	Timeout               float64           `json:"timeout,omitempty"`
	DisableDetokenization bool              `json:"disable_detokenization"`
	// ApplicationID is whose permissions detokenization and tokenize transforms run with when the
	// proxy is invoked without a key (require_auth false). Defaults to the creator.
	ApplicationID string     `json:"application_id,omitempty"`
	CreatedBy     string     `json:"created_by,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ModifiedAt    *time.Time `json:"modified_at,omitempty"`
	// ClientCertificate is the PEM certificate (chain) and private key presented to the
	// destination for mutual TLS, sealed at rest with the proxy. The API shows only its
	// certificates (ClientCertificateView).
	ClientCertificate string `json:"client_certificate,omitempty"`

	basePath string // DestinationURL's path without trailing slashes, checked once on save/load
	// destErr is DestinationURL's verdict under the policy this process runs with (nil: allowed),
	// checked on every invocation: a proxy saved while an --allow-* flag was on is refused once
	// the edge runs without it.
	destErr error
	// hostMemo is DestinationURL parsed once by fasthttp: copied into each destination request,
	// it spares fasthttp the parse of the same host (see destinationHostMemo).
	hostMemo *fasthttp.URI
	// tls presents ClientCertificate (parsed once, when installed), or nil.
	tls *tls.Config
}

// transform is one entry of request_transforms / response_transforms.
type Transform struct {
	Type        string            `json:"type"`
	ModuleID    string            `json:"module_id,omitempty"`
	Code        string            `json:"code,omitempty"`
	Matcher     string            `json:"matcher,omitempty"`
	Expression  string            `json:"expression,omitempty"`
	Replacement string            `json:"replacement,omitempty"`
	Options     *TransformOptions `json:"options,omitempty"`

	re      *regexp.Regexp // compiled mask expression
	reInsts int            // its program size (maskAffordable)
}

type TransformOptions struct {
	Location   string         `json:"location,omitempty"`
	Identifier string         `json:"identifier,omitempty"`
	Token      *TokenTemplate `json:"token,omitempty"`
	Value      string         `json:"value,omitempty"`
	Name       string         `json:"name,omitempty"`
}

type TokenTemplate struct {
	Type       string            `json:"type"`
	Containers []string          `json:"containers,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	ExpiresAt  string            `json:"expires_at,omitempty"`
}

// proxyRegistry keeps every proxy in memory, by id and by key, so invocation never reads the vault
// for its configuration. The vault is the source of truth; the registry is rebuilt at start.
type proxyRegistry struct {
	mu    sync.RWMutex
	byID  map[string]*Definition
	byKey map[string]*Definition
}

func (r *proxyRegistry) put(p *Definition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[p.ID]; old != nil {
		delete(r.byKey, old.Key)
	}
	r.byID[p.ID], r.byKey[p.Key] = p, p
}

func (r *proxyRegistry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[id]; old != nil {
		delete(r.byKey, old.Key)
		delete(r.byID, id)
	}
}

func (r *proxyRegistry) get(id string) *Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byID[id]
}

// byProxyKey finds a proxy by its key; key is a view, not retained.
func (r *proxyRegistry) byProxyKey(key []byte) *Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byKey[string(key)]
}

func (r *proxyRegistry) list() []*Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Definition, 0, len(r.byID))
	for _, p := range r.byID {
		out = append(out, p)
	}
	return out
}

// loadProxies fills the registry from the vault.
func (s *Pipeline) loadProxies() error {
	s.proxies = newProxyRegistry()
	return s.ReloadAll(s.ctx())
}

func (t *Transform) compile() {
	if t.Type == "mask" {
		t.re, t.reInsts, _ = compileMask(t.Expression)
	}
}

// prepareProxy computes what invocation needs from the stored configuration.
func (s *Pipeline) prepareProxy(p *Definition) {
	u, err := s.policy.CheckURL(p.DestinationURL)
	if err != nil {
		p.destErr = edge.Invalid("destination_url", "the destination is not allowed: "+egress.Detail(err))
		return
	}
	p.basePath = strings.TrimRight(u.EscapedPath(), "/")
	p.hostMemo = destinationHostMemo(p.DestinationURL)
	if p.ClientCertificate != "" && s.client != nil {
		cert, err := ParseClientCertificate(p.ClientCertificate)
		if err != nil {
			p.destErr = err
			return
		}
		p.tls = withClientCertificate(s.client.TLSConfig, cert)
	}
}

// ValidateDeclarative checks a transform that needs nothing of the server: tokenize, mask,
// append_json, append_header.
func ValidateDeclarative(t *Transform, field string) error {
	switch t.Type {
	case "tokenize":
		if t.Options == nil || t.Options.Token == nil {
			return edge.Invalid(field, "tokenize needs options.location and options.token")
		}
		if _, err := jsonPath(t.Options.Location); err != nil {
			return edge.Invalid(field, "options.location: "+err.Error())
		}
		if !vault.Known(t.Options.Token.Type) {
			return edge.Invalid(field, "options.token.type is not a token type")
		}
		for _, c := range t.Options.Token.Containers {
			if !vault.ValidContainer(c) {
				return edge.Invalid(field, "options.token.containers: a container looks like /segment/")
			}
		}
		if e := t.Options.Token.ExpiresAt; e != "" {
			if _, err := time.Parse(time.RFC3339, e); err != nil {
				return edge.Invalid(field, "options.token.expires_at must be RFC 3339")
			}
		}
	case "mask":
		if t.Matcher != "regex" {
			return edge.Invalid(field, `mask needs "matcher": "regex"`)
		}
		re, insts, err := compileMask(t.Expression)
		if err == errMaskTooComplex {
			return edge.Invalid(field, "mask expression is too complex (at most 256 regex instructions)")
		}
		if err != nil || re.NumSubexp() < 1 || len(t.Expression) > 1024 {
			return edge.Invalid(field, "mask expression must be a valid regex with a group (at most 1 KiB)")
		}
		if re.MatchString("") {
			return edge.Invalid(field, "mask expression must not match the empty string")
		}
		if t.Replacement == "" {
			t.Replacement = "*"
		}
		if len(t.Replacement) > 16 {
			return edge.Invalid(field, "mask replacement is at most 16 bytes")
		}
		t.re, t.reInsts = re, insts
	case "append_json":
		if t.Options == nil || t.Options.Value == "" {
			return edge.Invalid(field, "append_json needs options.value and options.location")
		}
		if _, err := jsonPath(t.Options.Location); err != nil {
			return edge.Invalid(field, "options.location: "+err.Error())
		}
		if _, err := expr.Scan([]byte(t.Options.Value), expr.Text, nil); err != nil {
			return edge.Invalid(field, "options.value: "+edge.ExprDetail(err))
		}
	case "append_header":
		if t.Options == nil || !validHeaderName(t.Options.Name) {
			return edge.Invalid(field, "append_header needs options.name (a header name) and options.value")
		}
		if _, err := expr.Scan([]byte(t.Options.Value), expr.Header, nil); err != nil {
			return edge.Invalid(field, "options.value: "+edge.ExprDetail(err))
		}
	default:
		return edge.Invalid(field, "unknown transform type")
	}
	return nil
}

func validHeaderName(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return !strings.HasPrefix(strings.ToLower(n), "bt-")
}
