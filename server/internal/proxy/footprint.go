package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/egress"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

// Footprint's vault proxy (SPEC §9): /vault_proxy/jit, /vault_proxy/reflect and
// /vault_proxy/{id}. Requests carry their instructions in x-fp-* headers and a raw body with
// {{ … }} expressions; the pipeline is the one of /proxy (proxy.go).

const (
	fpTargetURL          = "x-fp-proxy-target-url"
	fpMethod             = "x-fp-proxy-method"
	fpForwardPrefix      = "x-fp-proxy-fwd-"
	fpIngressRule        = "x-fp-proxy-ingress-rule"
	fpIngressCT          = "x-fp-proxy-ingress-content-type"
	fpID                 = "x-fp-id"
	fpProxyID            = "x-fp-proxy-id"
	fpPathAndQuery       = "x-fp-path-and-query"
	fpAccessReason       = "x-fp-proxy-access-reason"
	headerUpstreamStatus = "x-footprint-proxy-upstream-status-code"
	fpLegacyID           = "x-fp-proxy-footprint-token"
	reflectBodyLimit     = 5 << 20
)

// IsVaultProxyPath reports whether path is /vault_proxy or under /vault_proxy/.
func IsVaultProxyPath(path []byte) bool {
	return bytes.Equal(path, []byte("/vault_proxy")) || bytes.HasPrefix(path, []byte("/vault_proxy/"))
}

// vaultProxy dispatches the /vault_proxy/ routes.
func (s *Pipeline) VaultProxy(c *edge.Call) error {
	if string(c.RC.Method()) != "POST" {
		return edge.NewProblem(http.StatusMethodNotAllowed, "the vault proxy accepts POST")
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(string(c.RC.Path()), "/vault_proxy"), "/")
	// x-fp-proxy-id names a pre-configured proxy on /vault_proxy, and wins over a jit target as
	// BT-PROXY-KEY wins over BT-PROXY-URL.
	if id := c.RC.Request.Header.Peek(fpProxyID); len(id) > 0 && (rest == "" || rest == "jit") {
		c.Route = "/vault_proxy/{id}"
		return s.vaultProxyInvoke(c, string(id))
	}
	switch {
	case rest == "jit":
		c.Route = "/vault_proxy/jit"
		return s.vaultProxyJIT(c)
	case rest == "reflect":
		c.Route = "/vault_proxy/reflect"
		return s.vaultProxyReflect(c)
	case rest != "" && !strings.Contains(rest, "/"):
		c.Route = "/vault_proxy/{id}"
		return s.vaultProxyInvoke(c, rest)
	}
	return edge.ErrNotFound
}

// fpKey requires a valid key (X-Footprint-Secret-Key or BT-API-KEY) within its rate limit.
func (s *Pipeline) fpKey(c *edge.Call) error {
	who, err := s.auth.Authenticate(c.RC)
	if err != nil {
		return err
	}
	if who == nil {
		return edge.NewProblem(http.StatusUnauthorized, "a valid X-Footprint-Secret-Key header is required")
	}
	c.Who = who
	return s.auth.AllowApplication(c.RC, c.Who)
}

// fpAuthenticate requires a key holding want.
func (s *Pipeline) fpAuthenticate(c *edge.Call, want edge.Perm, name string) error {
	if err := s.fpKey(c); err != nil {
		return err
	}
	who := c.Who
	if who.Can(want) || (want == edge.PermProxyInvoke && who.Can(edge.PermTokenUse)) {
		return nil
	}
	return edge.Forbidden(name)
}

func (s *Pipeline) vaultProxyJIT(c *edge.Call) error {
	if err := s.fpAuthenticate(c, edge.PermProxyInvoke, "proxy:invoke"); err != nil {
		return err
	}
	if !s.opt.Ephemeral {
		return edge.NewProblem(http.StatusForbidden, "ephemeral proxying (jit) is switched off; use a pre-configured proxy")
	}
	h := &c.RC.Request.Header
	target := string(h.Peek(fpTargetURL))
	if target == "" {
		return edge.Invalid(fpTargetURL, "is required")
	}
	u, err := s.policy.CheckURL(target)
	if err != nil {
		return edge.Invalid(fpTargetURL, "the destination is not allowed: "+egress.Detail(err))
	}
	x := s.newExchange(c)
	defer x.done()
	if err := fpFields(x, h); err != nil {
		return err
	}
	if err := fpAudit(x, h); err != nil {
		return err
	}
	if x.tls, err = destinationTLS(h, s.client.TLSConfig); err != nil {
		return err
	}
	if x.tls != nil && u.Scheme != "https" {
		return errTLSNeedsHTTPS // before any token is read
	}
	x.basePath = u.EscapedPath()
	x.footprint, x.limit, x.method = true, s.opt.EphemeralTokens, "POST"
	if m := strings.ToUpper(strings.TrimSpace(string(h.Peek(fpMethod)))); m != "" {
		switch m {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
			x.method = m
		default:
			return edge.Invalid(fpMethod, "must be GET, POST, PUT, PATCH or DELETE")
		}
	}
	if err := x.setIngress(h); err != nil {
		return err
	}
	rest, query, err := pathAndQuery(h)
	if err != nil {
		return err
	}
	x.url = appendURL(x.url[:0], target, rest, query)
	if len(rest)+len(query) > 0 {
		if _, err := s.policy.CheckURL(string(x.url)); err != nil {
			return edge.Invalid(fpPathAndQuery, "the destination is not allowed: "+egress.Detail(err))
		}
	}
	return s.forward(x, x.url)
}

// vaultProxyInvoke runs the pre-configured proxy id with the request's body.
func (s *Pipeline) vaultProxyInvoke(c *edge.Call, id string) error {
	// The id of a proxy is not a secret (it appears in logs), so unlike /proxy with the proxy's
	// key, calling a proxy by id always needs an API key, even with require_auth false — checked
	// before the id is looked up, so that without a key every id answers the same 401.
	if err := s.fpKey(c); err != nil {
		return err
	}
	if !c.Who.Can(edge.PermProxyInvoke) && !c.Who.Can(edge.PermTokenUse) {
		return edge.Forbidden("proxy:invoke")
	}
	px := s.proxies.get(id)
	if px == nil {
		return edge.NewProblem(http.StatusNotFound, "no proxy has this id")
	}
	if px.destErr != nil {
		return px.destErr
	}
	x := s.newExchange(c)
	defer x.done()
	h := &c.RC.Request.Header
	if err := fpFields(x, h); err != nil {
		return err
	}
	if err := fpAudit(x, h); err != nil {
		return err
	}
	base := s.client.TLSConfig
	if px.tls != nil {
		base = px.tls // the headers' certificate, if any, replaces the proxy's; a pin adds to it
	}
	var err error
	if x.tls, err = destinationTLS(h, base); err != nil {
		return err
	}
	if x.tls != nil && !strings.HasPrefix(px.DestinationURL, "https://") {
		return errTLSNeedsHTTPS
	}
	x.px, x.footprint, x.limit, c.ProxyID = px, true, s.opt.ProxyTokens, px.ID
	x.basePath = px.basePath
	x.env.config = px.Configuration
	if err := x.setIngress(&c.RC.Request.Header); err != nil {
		return err
	}
	rest, query, err := pathAndQuery(h)
	if err != nil {
		return err
	}
	// The base was checked when the proxy was saved; rest only adds path (it starts with '/')
	// and query, so scheme and host stay the checked ones. The dialer checks the address.
	x.url = appendURL(x.url[:0], px.DestinationURL, rest, query)
	return s.forward(x, x.url)
}

// vaultProxyReflect resolves the body's expressions and returns it to the caller: a reveal of
// every token it names, audited as such. Up to ReflectTokens tokens and 5 MB.
func (s *Pipeline) vaultProxyReflect(c *edge.Call) error {
	if err := s.fpAuthenticate(c, edge.PermTokenReveal, "token:reveal"); err != nil {
		return err
	}
	body, err := edge.ReadBody(c.RC, reflectBodyLimit)
	if err != nil {
		return err
	}
	x := s.newExchange(c)
	defer x.done()
	if err := fpFields(x, &c.RC.Request.Header); err != nil {
		return err
	}
	if err := fpAudit(x, &c.RC.Request.Header); err != nil {
		return err
	}
	x.limit, x.auditOp = s.opt.ReflectTokens, "reveal"
	x.exprLimits.MaxExpansion = reflectBodyLimit // the answer stays within 5 MB of expansions
	ct := c.RC.Request.Header.ContentType()
	if err := checkBodyCharset(ct); err != nil {
		return err
	}
	ec := bodyContext(ct)
	if err := x.collect(body, ec); err != nil {
		return exprProblem(err)
	}
	if err := s.resolveCollected(x); err != nil {
		return err
	}
	out, err := x.renderer().Render(nil, body, ec, &x.env)
	if err != nil {
		return exprProblem(err)
	}
	c.RC.SetStatusCode(http.StatusOK)
	if len(ct) > 0 {
		c.RC.Response.Header.SetContentTypeBytes(ct)
	}
	c.RC.SetBody(out)
	return nil
}

// fpFields applies Footprint's field rules to x's expressions: a field that is missing is an
// error naming it (never an empty string), and x-fp-id (or x-fp-proxy-footprint-token) names the
// default token that {{ id.first_name }} reads.
func fpFields(x *exchange, h *fasthttp.RequestHeader) error {
	x.strictFields = true
	name, id := fpID, h.Peek(fpID)
	if len(id) == 0 {
		name, id = fpLegacyID, h.Peek(fpLegacyID)
	}
	if len(id) == 0 {
		return nil
	}
	if !expr.ValidID(id) {
		return edge.Invalid(name, "is not a token id")
	}
	x.defaultToken = append(x.defaultToken[:0], id...)
	return nil
}

// fieldRule is an ingress rule in Footprint's form, <token>.<field>=<$.json.path>: the value at
// path in a 2xx answer is stored in the token's data under the flat key field, and the answer
// carries "<token>.<field>" in its place, the reference {{ <token>.<field> }} reads back.
type fieldRule struct {
	token, field string
	location     string // as written, for errors
	path         string // gjson syntax
}

// maxAccessReason bounds x-fp-proxy-access-reason, which every detokenization's audit event keeps.
const maxAccessReason = 1024

// fpAudit takes x-fp-proxy-access-reason for the audit event of each token the request uses: at
// most maxAccessReason bytes of UTF-8 without control characters.
func fpAudit(x *exchange, h *fasthttp.RequestHeader) error {
	v := h.Peek(fpAccessReason)
	if len(v) == 0 {
		return nil
	}
	if len(v) > maxAccessReason || !utf8.Valid(v) || bytes.ContainsFunc(v, unicode.IsControl) {
		return edge.Invalid(fpAccessReason, "must be at most 1024 bytes of UTF-8 text without control characters")
	}
	x.reason = string(v)
	return nil
}

// pathAndQuery splits x-fp-path-and-query, appended to the destination URL, into a path (empty,
// or starting with '/') and a query. Only visible ASCII but '#' is allowed, and no path segment
// may step out of the destination's base path (checkRestPath: the header is not normalized as
// a request path is, so plain dot segments are caught there too).
func pathAndQuery(h *fasthttp.RequestHeader) (rest, query []byte, err error) {
	v := h.Peek(fpPathAndQuery)
	if len(v) == 0 {
		return nil, nil, nil
	}
	if v[0] != '/' && v[0] != '?' {
		return nil, nil, edge.Invalid(fpPathAndQuery, "must start with / or ?")
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return nil, nil, edge.Invalid(fpPathAndQuery, "must be visible ASCII without #")
		}
	}
	rest, query, _ = bytes.Cut(v, []byte("?"))
	if err := checkRestPath(rest); err != nil {
		return nil, nil, err
	}
	return rest, query, nil
}

// setIngress parses the request's ingress rules into x and checks the caller may apply them:
// Footprint-form rules update tokens (token:update), before anything is sent.
func (x *exchange) setIngress(h *fasthttp.RequestHeader) error {
	rules, fields, err := ingressRules(h, x.defaultToken)
	if err != nil {
		return err
	}
	if len(fields) > 0 && !x.c.Who.Can(edge.PermTokenUpdate) {
		return edge.Forbidden("token:update")
	}
	x.ingress, x.ingressFields = rules, fields
	return nil
}

// ingressRules parses x-fp-proxy-ingress-rule headers (repeatable, comma-separated; each split
// on its first '='): Sluice's <token type>=<$.json.path> becomes a tokenize transform,
// Footprint's <token>.<field>=<$.json.path> a fieldRule (with a default token dflt, <field>
// alone when it is a Footprint data identifier such as card.primary.number). Both run on a 2xx
// answer.
func ingressRules(h *fasthttp.RequestHeader, dflt []byte) ([]Transform, []fieldRule, error) {
	var rules []Transform
	var fields []fieldRule
	n := 0
	for _, v := range h.PeekAll(fpIngressRule) {
		for _, rule := range strings.Split(string(v), ",") {
			rule = strings.TrimSpace(rule)
			if rule == "" {
				continue
			}
			if n++; n > 64 {
				return nil, nil, edge.Invalid(fpIngressRule, "at most 64 rules")
			}
			left, location, ok := strings.Cut(rule, "=")
			if !ok {
				return nil, nil, edge.Invalid(fpIngressRule, "a rule is <token>.<field>=<$.json.path> or <token type>=<$.json.path>")
			}
			left, location = strings.TrimSpace(left), strings.TrimSpace(location)
			if strings.Contains(left, ".") {
				r, err := parseFieldRule(left, location, dflt)
				if err != nil {
					return nil, nil, err
				}
				fields = append(fields, r)
				continue
			}
			t := Transform{Type: "tokenize", Options: &TransformOptions{Location: location, Token: &TokenTemplate{Type: left}}}
			if err := ValidateDeclarative(&t, fpIngressRule); err != nil {
				return nil, nil, err
			}
			rules = append(rules, t)
		}
	}
	if n > 0 && strings.TrimSpace(string(h.Peek(fpIngressCT))) != "json" {
		return nil, nil, edge.Invalid(fpIngressCT, "must be json when ingress rules are given")
	}
	return rules, fields, nil
}

// parseFieldRule parses the Footprint form of an ingress rule: <token>.<field> (or, with a
// default token dflt, a Footprint data identifier) and a JSONPath.
func parseFieldRule(left, location string, dflt []byte) (fieldRule, error) {
	token, field, _ := strings.Cut(left, ".")
	if dflt != nil && expr.FootprintKind([]byte(token)) {
		token, field = string(dflt), left
	}
	if !expr.ValidID([]byte(token)) {
		return fieldRule{}, edge.Invalid(fpIngressRule, "a rule's token is not a token id")
	}
	for seg := range strings.SplitSeq(field, ".") {
		if !expr.ValidID([]byte(seg)) {
			return fieldRule{}, edge.Invalid(fpIngressRule, "a rule's field is segments of A-Z a-z 0-9 _ - joined by dots")
		}
	}
	path, err := jsonPath(location)
	if err != nil {
		return fieldRule{}, edge.Invalid(fpIngressRule, "a rule's location "+err.Error())
	}
	return fieldRule{token: token, field: field, location: location, path: path}, nil
}

// runFieldRules stores each value a fieldRule selects in the answer (m.body, a JSON document)
// into its token and puts the token's reference in its place. A rule that selects nothing is
// skipped, as a tokenize rule is.
func (s *Pipeline) runFieldRules(x *exchange, m *message) error {
	for i := range x.ingressFields {
		r := &x.ingressFields[i]
		if !gjson.ValidBytes(m.body) {
			return edge.NewProblem(http.StatusBadGateway, "the destination's answer is not JSON; ingress rules need JSON")
		}
		v := gjson.GetBytes(m.body, r.path)
		if !v.Exists() {
			continue
		}
		patch, err := json.Marshal(map[string]json.RawMessage{r.field: json.RawMessage(v.Raw)})
		if err != nil {
			return edge.NewProblem(http.StatusBadGateway, "the destination's value at "+edge.QuoteSafe(r.location)+" cannot be vaulted")
		}
		if _, err := s.vault.Update(x.c.RC, x.c.Who, r.token, &vault.Request{Data: patch}); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, edge.ErrNotFound) {
				return unknownToken(r.token)
			}
			return err
		}
		out, err := sjsonSet(m.body, r.path, r.token+"."+r.field)
		if err != nil {
			return edge.NewProblem(http.StatusBadGateway, "ingress could not replace "+edge.QuoteSafe(r.location))
		}
		m.body = out
	}
	return nil
}

// copyFootprintHeaders forwards x-fp-proxy-fwd-<Name> as <Name> and the caller's Content-Type;
// no other header (x-fp-*, the secret key, BT-*) reaches the destination.
func copyFootprintHeaders(dst, src *fasthttp.RequestHeader) {
	if ct := src.ContentType(); len(ct) > 0 {
		dst.SetContentTypeBytes(ct)
	}
	for k, v := range src.All() {
		if len(k) <= len(fpForwardPrefix) || !bytes.EqualFold(k[:len(fpForwardPrefix)], []byte(fpForwardPrefix)) {
			continue
		}
		name := k[len(fpForwardPrefix):]
		if skipForward(name) || !validHeaderName(string(name)) {
			continue
		}
		dst.SetBytesKV(name, v)
	}
}
