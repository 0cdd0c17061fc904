package proxy

import (
	"crypto/tls"
	"encoding/json"
	"errors"
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
	ApplicationID string `json:"application_id,omitempty"`
	// Application is set when the proxy was configured with Basis Theory's "application": {"id"}:
	// the proxy then always acts as that application (ApplicationID), whoever invokes it.
	Application *AppRef `json:"application,omitempty"`
	// State and TenantID are shown in API answers only (Basis Theory's shape).
	State      string     `json:"state,omitempty"`
	TenantID   string     `json:"tenant_id,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ModifiedAt *time.Time `json:"modified_at,omitempty"`
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
	// originLen is the length of DestinationURL's scheme and authority ("https://host:port"),
	// which every destination URL of this proxy starts with; 0 when the URI must be parsed
	// instead (see destinationOrigin).
	originLen int
	// tls presents ClientCertificate (parsed once, when installed), or nil.
	tls *tls.Config
}

// AppRef names an application, as Basis Theory writes it: {"id": "…"}.
type AppRef struct {
	ID string `json:"id"`
}

// ActsAs returns the application id the proxy acts as whoever invokes it, or "" when it acts as
// its caller.
func (p *Definition) ActsAs() string {
	if p == nil || p.Application == nil {
		return ""
	}
	return p.ApplicationID
}

// Transform is one entry of request_transforms / response_transforms.
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

// TokenTemplate is the token a tokenize transform creates. Data, when given, is the token's data
// with expressions over the message (Basis Theory's form); without it the value at
// options.location is vaulted (Sluice's form).
type TokenTemplate struct {
	Type             string            `json:"type"`
	Data             json.RawMessage   `json:"data,omitempty"`
	Containers       []string          `json:"containers,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	ExpiresAt        string            `json:"expires_at,omitempty"`
	SearchIndexes    []string          `json:"search_indexes,omitempty"`
	DeduplicateToken *bool             `json:"deduplicate_token,omitempty"`
}

// IsCode reports whether t runs a WebAssembly module: Basis Theory's {"type": "code"} (also
// with type absent) or Sluice's {"type": "wasm"}.
func (t *Transform) IsCode() bool { return t.Type == "wasm" || t.Type == "code" || t.Type == "" }

// headerName is the header an append_header transform sets: options.name, or Basis Theory's
// options.location.
func (o *TransformOptions) headerName() string {
	if o.Name != "" {
		return o.Name
	}
	return o.Location
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
	if p.hostMemo != nil {
		p.originLen = destinationOrigin(p.DestinationURL)
	}
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
		return validateTokenize(t, field)
	case "mask":
		if t.Matcher == matcherPAN {
			return validatePANMask(t, field)
		}
		if t.Matcher != "regex" {
			return edge.Invalid(field, `mask needs "matcher": "regex" or "chase_stratus_pan"`)
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
	case "append_text":
		if t.Options == nil || t.Options.Value == "" {
			return edge.Invalid(field, "append_text needs options.value")
		}
	case "append_header":
		if t.Options == nil || !validHeaderName(t.Options.headerName()) {
			return edge.Invalid(field, "append_header needs options.location (a header name) and options.value")
		}
	default:
		return edge.Invalid(field, "unknown transform type")
	}
	return nil
}

// validateTokenize checks a tokenize transform in either form: options.token.data (an
// expression over the message) or options.location (the value there is vaulted).
func validateTokenize(t *Transform, field string) error {
	o := t.Options
	if o == nil || o.Token == nil {
		return edge.Invalid(field, "tokenize needs options.token and options.token.data or options.location")
	}
	if len(o.Token.Data) == 0 {
		if _, err := jsonPath(o.Location); err != nil {
			return edge.Invalid(field, "options.location: "+err.Error())
		}
	} else if !json.Valid(o.Token.Data) {
		return edge.Invalid(field, "options.token.data must be JSON")
	}
	if !vault.Known(o.Token.Type) {
		return edge.Invalid(field, "options.token.type is not a token type")
	}
	for _, c := range o.Token.Containers {
		if !vault.ValidContainer(c) {
			return edge.Invalid(field, "options.token.containers: a container looks like /segment/")
		}
	}
	if e := o.Token.ExpiresAt; e != "" {
		if _, err := time.Parse(time.RFC3339, e); err != nil {
			return edge.Invalid(field, "options.token.expires_at must be RFC 3339")
		}
	}
	if len(o.Token.SearchIndexes) > 16 {
		return edge.Invalid(field, "options.token.search_indexes: at most 16")
	}
	for _, e := range o.Token.SearchIndexes {
		if _, err := expr.Scan([]byte(e), expr.Text, nil); err != nil || len(e) > 1024 {
			return edge.Invalid(field, "options.token.search_indexes: each must be an expression of at most 1 KiB")
		}
	}
	return nil
}

// maxIdentifier bounds a tokenize transform's identifier (Basis Theory's limit).
const maxIdentifier = 100

// ValidateLists checks what spans a proxy's transforms, once each is valid on its own: at most
// one code transform per list; identifiers at most 100 letters, digits, '_' or '-', those of
// data-form tokenize transforms unique within the proxy; and every expression a value holds readable where it runs — request, req and
// proxy in request transforms, res and response in response transforms, transform_identifier
// only of an earlier tokenize transform (request transforms run before response transforms).
func ValidateLists(requests, responses []Transform) error {
	made := map[string]bool{}   // identifiers of data-form tokenize transforms so far
	labels := map[string]bool{} // identifiers of location-form ones
	r := expr.Acquire()
	defer expr.Release(r)
	r.SetMessageSources(true)
	for _, l := range []struct {
		field    string
		list     []Transform
		response bool
	}{{"request_transforms", requests, false}, {"response_transforms", responses, true}} {
		code := 0
		for i := range l.list {
			t := &l.list[i]
			if t.IsCode() {
				if code++; code > 1 {
					return edge.Invalid(l.field, "at most one code transform per list")
				}
			}
			for _, v := range t.values() {
				if err := checkValueSources(r, v, l.response, made); err != nil {
					return edge.Invalid(l.field, err.Error())
				}
			}
			if id := t.identifier(); id != "" {
				if len(id) > maxIdentifier || !expr.ValidID([]byte(id)) {
					return edge.Invalid(l.field, "options.identifier: at most 100 letters, digits, '_' or '-'")
				}
				// Only data-form tokens are read by transform_identifier; a location-form
				// identifier is a label, as it always was, and may repeat among labels.
				data := t.Options.Token != nil && len(t.Options.Token.Data) > 0
				if made[id] || data && labels[id] {
					return edge.Invalid(l.field, "options.identifier "+edge.QuoteSafe(id)+" is used twice")
				}
				if data {
					made[id] = true
				} else {
					labels[id] = true
				}
			}
		}
	}
	return nil
}

// identifier is the identifier of a tokenize transform, or "".
func (t *Transform) identifier() string {
	if t.Type != "tokenize" || t.Options == nil {
		return ""
	}
	return t.Options.Identifier
}

// transformValue is one value of a transform that may hold expressions, with its context.
type transformValue struct {
	name string
	src  []byte
	ec   expr.Context
}

// values are the expression-bearing values of t.
func (t *Transform) values() []transformValue {
	o := t.Options
	if o == nil {
		return nil
	}
	switch t.Type {
	case "tokenize":
		if o.Token != nil && len(o.Token.Data) > 0 {
			return []transformValue{{"options.token.data", o.Token.Data, expr.JSON}}
		}
	case "append_json", "append_text":
		return []transformValue{{"options.value", []byte(o.Value), expr.Text}}
	case "append_header":
		return []transformValue{{"options.value", []byte(o.Value), expr.Header}}
	}
	return nil
}

// checkValueSources scans one value: its syntax, and that every source it reads exists where
// it runs.
func checkValueSources(r *expr.Renderer, v transformValue, response bool, made map[string]bool) error {
	_, err := r.Scan(v.src, v.ec, func(ref expr.Ref) error {
		switch ref.Kind {
		case expr.RefTransform:
			if !made[string(ref.ID)] {
				return errors.New(v.name + ": transform_identifier " + edge.QuoteSafe(string(ref.ID)) + " names no earlier tokenize transform")
			}
		case expr.RefMessage:
			if messageSourceFor(string(ref.ID), response) == "" {
				return errors.New(v.name + ": " + edge.QuoteSafe(string(ref.ID)) + " cannot be read in " + phaseName(response) + " transforms")
			}
		}
		return nil
	})
	var e *expr.Error
	if errors.As(err, &e) {
		return errors.New(v.name + ": " + edge.ExprDetail(err))
	}
	return err
}

func phaseName(response bool) string {
	if response {
		return "response"
	}
	return "request"
}

// messageSourceFor is the document a message source reads in a phase: "body" (the message's
// body), "proxy" (the incoming request), or "" when the source does not exist there.
func messageSourceFor(name string, response bool) string {
	switch name {
	case "res", "response":
		if response {
			return "body"
		}
	case "request", "req":
		if !response {
			return "body"
		}
	case "proxy":
		if !response {
			return "proxy"
		}
	}
	return ""
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
