package expr

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

type argKind uint8

const (
	argStr     argKind = iota + 1 // s: the string
	argNum                        // s: the literal; n: its value when isInt
	argBool                       // b
	argConfig                     // s: the configuration name (view into the expression)
	argMessage                    // s: a path into the proxy document (SetMessageSources)
)

type arg struct {
	kind  argKind
	s     []byte
	n     int64
	isInt bool
	b     bool
}

// text returns the argument as a string (numbers and booleans as written).
func (a *arg) text() []byte {
	if a.kind == argBool {
		if a.b {
			return litTrue
		}
		return litFalse
	}
	return a.s
}

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
	litNull  = []byte("null")
)

// call is one parsed filter of a chain.
type call struct {
	spec  *filterSpec
	nargs int
	args  [maxArgs]arg
	path  []byte // json: gjson path
	root  bool   // json: "$"
	alg   hashAlg
	key   arg      // hmac, hmac_sha256: the key (argStr with decoded bytes, or argConfig)
	pick  filterOp // split: the first, last, size or join that follows it, run on the pieces
	num   num      // plus, minus, times, divided_by, modulo: the operand
	enc   *encKey  // encrypt: the parsed public key
}

// expr is one parsed expression. Its slices point into the decoded
// expression text and the renderer's argument buffer.
type expr struct {
	kind  RefKind
	id    []byte // token id or configuration name
	path  []byte // Footprint dotted path in gjson syntax, nil if none
	nf    int
	calls [MaxFilters]call
}

// perr is a parse error: a sentinel and a value-free detail.
type perr struct {
	err    error
	detail string
}

type parser struct {
	s      []byte
	i      int
	buf    []byte  // argument buffer; never grown beyond its capacity
	header bool    // the expression is in a header value
	dflt   []byte  // the default token (SetDefaultToken), or nil
	srcs   sources // optional sources that are keywords (SetMessageSources, SetProxySource)
}

// sources are the optional sources a Renderer recognizes.
type sources uint8

const (
	srcMessage sources = 1 << iota // request, req, res, response, transform_identifier
	srcProxy                       // proxy, and proxy.request.… arguments
)

// messageSource reports whether w names a message document that srcs makes a keyword.
func messageSource(w []byte, srcs sources) bool {
	switch string(w) {
	case "request", "req", "res", "response":
		return srcs&srcMessage != 0
	case "proxy":
		return srcs&srcProxy != 0
	}
	return false
}

// FootprintKind reports whether w is the first segment of a Footprint data identifier
// (id.first_name, card.primary.number, custom.x, …): with a default token such a source is a
// field of that token, not a token id.
func FootprintKind(w []byte) bool {
	switch string(w) {
	case "id", "card", "bank", "custom", "document", "investor_profile", "business":
		return true
	}
	return false
}

func isIDChar(c byte) bool { return idChar[c] }

// idChar marks the bytes of token ids and names: ASCII letters, digits, '_' and '-'.
var idChar = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// ValidID reports whether b is accepted as a token id or configuration name
// in expressions: 1 to MaxIDLen bytes of A-Z a-z 0-9 _ -.
func ValidID(b []byte) bool {
	if len(b) == 0 || len(b) > MaxIDLen {
		return false
	}
	for _, c := range b {
		if !isIDChar(c) {
			return false
		}
	}
	return true
}

func (p *parser) ws() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) word() []byte {
	s, i := p.s, p.i
	i += indexNonID(s[i:])
	w := s[p.i:i]
	p.i = i
	return w
}

// room returns p.buf with space for n more bytes, or false.
func (p *parser) room(n int) bool { return cap(p.buf)-len(p.buf) >= n }

func syntax(detail string) *perr  { return &perr{err: ErrSyntax, detail: detail} }
func badArgs(detail string) *perr { return &perr{err: ErrArgs, detail: detail} }

// identifier reads a transform identifier, quoted ('card', "card") or bare; nil if malformed.
func (p *parser) identifier() []byte {
	q := p.peek()
	if q != '\'' && q != '"' {
		return p.word()
	}
	p.i++
	w := p.word()
	if p.peek() != q {
		return nil
	}
	p.i++
	return w
}

// tokenID reads the id after token:, bare or quoted ('cust.42@acme', "it's"); empty if missing
// or malformed.
func (p *parser) tokenID() []byte {
	q := p.peek()
	if q != '\'' && q != '"' {
		return p.word()
	}
	start := p.i + 1
	end := start
	for end < len(p.s) && quotedIDChar[p.s[end]] && p.s[end] != q { // bounded by MaxExprLen
		end++
	}
	if end == len(p.s) || p.s[end] != q || !utf8.Valid(p.s[start:end]) {
		return nil
	}
	p.i = end + 1
	return p.s[start:end]
}

// quotedIDChar marks the bytes a quoted token id may hold: all but Basis Theory's forbidden
// characters (# / \ + ? [ ] | & = % < > { } ^) and ASCII controls. Both quote characters are
// allowed; the one that opened the id ends it.
var quotedIDChar = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != 0x7f
	}
	for _, c := range []byte(`#/\+?[]|&=%<>{}^`) {
		t[c] = false
	}
	return t
}()

// parse parses the text between "{{" and "}}" into ex.
func (p *parser) parse(ex *expr) *perr {
	if p.bare(ex) {
		return ex.checkBound()
	}
	return p.parseAny(ex)
}

// bare parses the commonest expression, a source word alone ({{ id }}, {{ encrypted }}),
// without the general walk: what parseAny makes of it. Anything else is left to parseAny.
func (p *parser) bare(ex *expr) bool {
	if p.srcs != 0 {
		return false // a transform's value, where words may name message sources
	}
	s := p.s[p.i:]
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	n := indexNonID(s[i:])
	j := i + n
	for j < len(s) && isSpace(s[j]) {
		j++
	}
	if n == 0 || n > MaxIDLen || j < len(s) {
		return false
	}
	ex.path, ex.nf = nil, 0
	if w := s[i : i+n]; string(w) == "encrypted" {
		ex.kind, ex.id = RefEncrypted, nil
	} else {
		ex.kind, ex.id = RefToken, w
	}
	p.i = len(p.s)
	return true
}

// parseAny is parse for any expression.
func (p *parser) parseAny(ex *expr) *perr {
	// Reset only the header: calls[:nf] are reset one by one as parsed
	// (zeroing the whole array costs more than the parse).
	ex.kind, ex.id, ex.path, ex.nf = 0, nil, nil, 0
	p.ws()
	if p.i == len(p.s) {
		return syntax("empty expression")
	}
	w := p.word()
	if len(w) == 0 {
		return syntax("expected a token id, token:, config: or encrypted")
	}
	save := p.i
	pathStart := -1 // where a path that includes the source word starts
	p.ws()
	switch {
	case p.peek() == ':' && (string(w) == "token" || string(w) == "config"):
		p.i++
		p.ws()
		if string(w) == "token" {
			ex.kind = RefTokenObject
			if ex.id = p.tokenID(); len(ex.id) == 0 {
				return syntax("missing or malformed token id after token:")
			}
		} else {
			ex.kind = RefConfig
			if ex.id = p.word(); len(ex.id) == 0 {
				return syntax("missing configuration name after config:")
			}
		}
	case string(w) == "encrypted":
		p.i = save
		ex.kind = RefEncrypted
	case p.srcs&srcMessage != 0 && p.peek() == ':' && string(w) == "transform_identifier":
		p.i++
		p.ws()
		if ex.id = p.identifier(); len(ex.id) == 0 {
			return syntax("missing identifier after transform_identifier:")
		}
		ex.kind = RefTransform
	case p.srcs != 0 && p.peek() != ':' && messageSource(w, p.srcs):
		p.i = save
		ex.kind = RefMessage
		ex.id = w
	case p.dflt != nil && save < len(p.s) && p.s[save] == '.' && FootprintKind(w):
		// {{ id.first_name }}: the whole identifier is the path into the default token.
		p.i = save
		ex.kind = RefToken
		ex.id = p.dflt
		pathStart = save - len(w)
	default:
		p.i = save
		ex.kind = RefToken
		ex.id = w
	}
	if len(ex.id) > MaxIDLen {
		return &perr{err: ErrTooLong, detail: "token id or configuration name too long"}
	}
	if ex.kind != RefConfig && p.peek() == '.' {
		start := p.i + 1
		if pathStart >= 0 {
			start = pathStart
		}
		for p.peek() == '.' {
			p.i++
			if len(p.word()) == 0 {
				return syntax("empty path segment")
			}
		}
		ex.path = p.s[start:p.i]
	}
	for {
		p.ws()
		if p.i == len(p.s) {
			break
		}
		if p.s[p.i] != '|' {
			return syntax("unexpected character; expected '|' or the end")
		}
		p.i++
		p.ws()
		if err := p.filter(ex); err != nil {
			return err
		}
	}
	ex.fuseSplits()
	for k := 0; k < ex.nf; k++ {
		if ex.calls[k].spec.op == fHMAC {
			if k+1 >= ex.nf || (ex.calls[k+1].spec.op != fToBase64 && ex.calls[k+1].spec.op != fToBase16) {
				return badArgs("hmac must be followed by to_base64 or to_base16")
			}
		}
	}
	return ex.checkBound()
}

func (p *parser) filter(ex *expr) *perr {
	start := p.i
	for p.i < len(p.s) && (isIDChar(p.s[p.i]) && p.s[p.i] != '-') {
		p.i++
	}
	name := p.s[start:p.i]
	if len(name) == 0 {
		return syntax("expected a filter name after '|'")
	}
	spec := lookupFilter(name)
	if spec == nil {
		return &perr{err: ErrUnknownFilter, detail: "unknown filter " + strconv.Quote(string(name))}
	}
	if ex.nf == MaxFilters {
		return &perr{err: ErrTooLong, detail: "too many filters"}
	}
	c := &ex.calls[ex.nf]
	ex.nf++
	*c = call{spec: spec}
	if p.peek() == '(' {
		p.i++
		if err := p.parenArgs(c); err != nil {
			return err
		}
	} else {
		save := p.i
		p.ws()
		if p.peek() == ':' {
			p.i++
			if err := p.liquidArgs(c); err != nil {
				return err
			}
		} else {
			p.i = save
		}
	}
	return p.check(c)
}

// liquidArgs parses Basis Theory / Liquid arguments: `f: a, b`. Strings are
// 'single' or "double" quoted without escapes (as in Liquid).
func (p *parser) liquidArgs(c *call) *perr {
	for {
		p.ws()
		if c.nargs == maxArgs {
			return badArgs("too many arguments")
		}
		a := &c.args[c.nargs]
		c.nargs++
		switch q := p.peek(); {
		case q == '\'' || q == '"':
			p.i++
			start := p.i
			for p.i < len(p.s) && p.s[p.i] != q {
				p.i++
			}
			if p.i == len(p.s) {
				return syntax("unterminated string argument")
			}
			*a = arg{kind: argStr, s: p.s[start:p.i]}
			p.i++
		case q == '-' || q == '+' || q == '.' || ('0' <= q && q <= '9'):
			start := p.i
			for p.i < len(p.s) && (p.s[p.i] == '-' || p.s[p.i] == '+' || p.s[p.i] == '.' || ('0' <= p.s[p.i] && p.s[p.i] <= '9')) {
				p.i++
			}
			if !numArg(a, p.s[start:p.i]) {
				return syntax("malformed number argument")
			}
		default:
			start := p.i
			for p.i < len(p.s) && (isIDChar(p.s[p.i]) || p.s[p.i] == '.') {
				p.i++
			}
			w := p.s[start:p.i]
			switch {
			case string(w) == "true" || string(w) == "false":
				*a = arg{kind: argBool, b: string(w) == "true"}
			case hasPrefix(w, "config.") && ValidID(w[len("config."):]):
				*a = arg{kind: argConfig, s: w[len("config."):]}
			case hasPrefix(w, "proxy.config.") && ValidID(w[len("proxy.config."):]):
				*a = arg{kind: argConfig, s: w[len("proxy.config."):]}
			case p.srcs&srcProxy != 0 && (string(w) == "proxy.request" || hasPrefix(w, "proxy.request.")):
				// Basis Theory's proxy.request.headers.X-Date: that member of {{ proxy }}.
				*a = arg{kind: argMessage, s: w[len("proxy."):]}
			case len(w) == 0:
				return syntax("expected an argument")
			default:
				return syntax("unquoted argument; quote strings with ' or \"")
			}
		}
		p.ws()
		if p.peek() == ',' {
			p.i++
			continue
		}
		return nil
	}
}

// parenArgs parses Footprint arguments: `f(a, 'b')`. Quoted or unquoted;
// a backslash escapes the next character (\( \) \, \' \" \\).
func (p *parser) parenArgs(c *call) *perr {
	p.ws()
	if p.peek() == ')' {
		p.i++
		return nil
	}
	for {
		p.ws()
		if c.nargs == maxArgs {
			return badArgs("too many arguments")
		}
		a := &c.args[c.nargs]
		c.nargs++
		if q := p.peek(); q == '\'' || q == '"' {
			p.i++
			s, ok := p.escaped(func(b byte) bool { return b == q })
			if !ok {
				return syntax("unterminated string argument")
			}
			p.i++ // closing quote
			*a = arg{kind: argStr, s: s}
		} else {
			s, ok := p.escaped(func(b byte) bool { return b == ',' || b == ')' })
			if !ok {
				return syntax("missing ')'")
			}
			for len(s) > 0 && isSpace(s[len(s)-1]) {
				s = s[:len(s)-1]
			}
			if len(s) == 0 {
				return syntax("empty argument")
			}
			if !numArg(a, s) {
				*a = arg{kind: argStr, s: s}
			}
		}
		p.ws()
		switch p.peek() {
		case ')':
			p.i++
			return nil
		case ',':
			p.i++
		default:
			return syntax("expected ',' or ')'")
		}
	}
}

// escaped reads up to (not including) the first unescaped byte for which
// stop is true, resolving backslash escapes. The result is a view into the
// text when there was no escape, else into p.buf.
func (p *parser) escaped(stop func(byte) bool) ([]byte, bool) {
	start := p.i
	plain := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '\\' {
			plain = false
			p.i += 2
			continue
		}
		if stop(c) {
			break
		}
		p.i++
	}
	if p.i >= len(p.s) {
		return nil, false
	}
	raw := p.s[start:p.i]
	if plain {
		return raw, true
	}
	if !p.room(len(raw)) {
		return nil, false
	}
	off := len(p.buf)
	for k := 0; k < len(raw); k++ {
		if raw[k] == '\\' && k+1 < len(raw) {
			k++
		}
		p.buf = append(p.buf, raw[k])
	}
	return p.buf[off:], true
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// numArg parses a number literal into a; false if s is not a number.
func numArg(a *arg, s []byte) bool {
	if len(s) == 0 {
		return false
	}
	if _, err := strconv.ParseFloat(bstr(s), 64); err != nil {
		return false
	}
	*a = arg{kind: argNum, s: s}
	if !isDecimalInt(s) { // a failed ParseInt allocates its error
		return true
	}
	if n, err := strconv.ParseInt(bstr(s), 10, 64); err == nil {
		a.n, a.isInt = n, true
	}
	return true
}

// isDecimalInt reports whether s is an optional sign and 1 to 18 digits,
// which ParseInt reads without fail.
func isDecimalInt(s []byte) bool {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return len(s) > 0 && len(s) <= 18 && isDigits(s)
}

// intArg returns the argument as an integer (numbers or numeric strings).
func intArg(a *arg) (int64, bool) {
	switch a.kind {
	case argNum:
		return a.n, a.isInt
	case argStr:
		n, err := strconv.ParseInt(bstr(trimSpace(a.s)), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func boolArg(a *arg) (bool, bool) {
	switch a.kind {
	case argBool:
		return a.b, true
	case argStr:
		switch {
		case equalFold(trimSpace(a.s), "true"):
			return true, true
		case equalFold(trimSpace(a.s), "false"):
			return false, true
		}
	}
	return false, false
}

// check validates the arguments of c against its filter's signature and
// precomputes what can be (JSON paths, hmac keys).
func (p *parser) check(c *call) *perr {
	sp := c.spec
	if c.nargs < sp.min || c.nargs > sp.max {
		return badArgs(sp.name + " takes " + arity(sp.min, sp.max))
	}
	types := sp.types
	if sp.op == fHMAC {
		if c.nargs == 1 {
			types = [maxArgs]argType{tStr}
			c.alg = algSHA256
		} else {
			alg, ok := parseAlg(c.args[0].text())
			if c.args[0].kind != argStr || !ok {
				return badArgs("hmac algorithm must be 'sha-1', 'sha-256' or 'sha-512'")
			}
			c.alg = alg
		}
	}
	for k := 0; k < c.nargs; k++ {
		a := &c.args[k]
		if p.header && a.kind == argStr && hasControl(a.s) {
			// A header refuses a value with a control character: a literal
			// one put in by a filter would make that refusal depend on the
			// value the filter ran on.
			return badArgs(sp.name + " argument " + strconv.Itoa(k+1) + " has a control character, which a header cannot hold")
		}
		if a.kind == argConfig && !types[k].configOK() {
			return badArgs(sp.name + " argument " + strconv.Itoa(k+1) + " cannot be a configuration value")
		}
		if a.kind == argMessage && types[k] != tStr && types[k] != tAny {
			return badArgs(sp.name + " argument " + strconv.Itoa(k+1) + " cannot be a proxy.request value")
		}
		switch types[k] {
		case tInt:
			n, ok := intArg(a)
			if !ok || n < minInt || n > maxInt {
				return badArgs(sp.name + " argument " + strconv.Itoa(k+1) + " must be an integer")
			}
			a.kind, a.n, a.isInt = argNum, n, true
		case tChar:
			t := a.text()
			if a.kind == argConfig || utf8.RuneCount(t) != 1 {
				return badArgs(sp.name + " argument " + strconv.Itoa(k+1) + " must be a single character")
			}
		case tBool:
			b, ok := boolArg(a)
			if !ok {
				return badArgs(sp.name + " argument " + strconv.Itoa(k+1) + " must be true or false")
			}
			a.kind, a.b = argBool, b
		case tPath:
			if a.kind != argStr {
				return badArgs("json takes a quoted JSONPath")
			}
			if !p.room(2*len(a.s) + 8) {
				return &perr{err: ErrTooLong, detail: "expression too long"}
			}
			off := len(p.buf)
			out, root, detail := appendGJSONPath(p.buf, a.s)
			if detail != "" {
				return badArgs("json: " + detail)
			}
			p.buf = out
			c.path, c.root = out[off:], root
		case tFmt:
			if a.kind != argStr {
				return badArgs(sp.name + " takes quoted strftime formats")
			}
			// date_format's first format reads a date; the others print one.
			if d := checkStrftime(a.s, sp.op != fDateFormat || k > 0); d != "" {
				return badArgs(sp.name + ": " + d)
			}
		case tHex:
			if a.kind == argConfig {
				c.key = *a
				break
			}
			t := a.text()
			if len(t) == 0 || len(t)%2 != 0 || !p.room(len(t)/2) {
				return badArgs("hmac_sha256 takes a hex-encoded key")
			}
			off := len(p.buf)
			k, err := hex.AppendDecode(p.buf, t)
			if err != nil {
				return badArgs("hmac_sha256 takes a hex-encoded key")
			}
			p.buf = k
			c.key = arg{kind: argStr, s: k[off:]}
		case tNum:
			n, ok := parseNum(a.text())
			if a.kind == argConfig || a.kind == argBool || !ok {
				return badArgs(sp.name + " takes a number")
			}
			c.num = n
		case tLit, tStr, tAny:
			if a.kind == argNum || a.kind == argBool {
				if types[k] != tAny {
					a.kind, a.s = argStr, a.text()
				}
			}
		}
	}
	return p.checkOp(c)
}

const (
	minInt = -(1 << 31)
	maxInt = 1<<31 - 1
	// maxCharSet bounds preserve/separator character sets, which are
	// searched once per character of the value.
	maxCharSet = 64
)

func (p *parser) checkOp(c *call) *perr {
	a := &c.args
	switch c.spec.op {
	case fPadLeft, fPadRight:
		if a[0].n < 0 || a[0].n > maxPad {
			return badArgs(c.spec.name + " length must be between 0 and " + strconv.Itoa(maxPad))
		}
	case fReveal:
		for k := 0; k < c.nargs && k < 2; k++ {
			if a[k].n < 0 {
				return badArgs("reveal counts must not be negative")
			}
		}
		if c.nargs > 3 && len(a[3].s) > maxCharSet {
			return badArgs("reveal preserve set too long")
		}
	case fRevealLast, fPrefix, fSuffix:
		if a[0].n < 0 {
			return badArgs(c.spec.name + " length must not be negative")
		}
	case fSlice:
		if c.nargs == 2 && a[1].n < 0 {
			return badArgs("slice length must not be negative")
		}
	case fCardBin:
		if c.nargs > 0 && len(a[0].s) > maxCharSet {
			return badArgs("card_bin separator set too long")
		}
	case fCardMask:
		if c.nargs > 3 && len(a[3].s) > maxCharSet {
			return badArgs("card_mask preserve set too long")
		}
	case fEncrypt:
		k, detail := p.parseEncKey(a[0].s, a[1].s)
		if detail != "" {
			return badArgs("encrypt: " + detail)
		}
		c.enc = k
	case fReplace, fRemove, fReplaceFirst:
		if a[0].kind == argStr && len(a[0].s) == 0 {
			return badArgs(c.spec.name + " needs a non-empty search string")
		}
	case fHMAC:
		key := &a[c.nargs-1]
		c.key = *key
	}
	return nil
}

func arity(min, max int) string {
	switch {
	case min == max && min == 0:
		return "no arguments"
	case min == max && min == 1:
		return "1 argument"
	case min == max:
		return strconv.Itoa(min) + " arguments"
	}
	return strconv.Itoa(min) + " to " + strconv.Itoa(max) + " arguments"
}

// appendGJSONPath converts a JSONPath that selects one value ($, .name,
// ['name'], ["name"], [n]) into gjson path syntax appended to dst. A path
// without the leading $ is taken as relative to the root. Keys are escaped
// for gjson. It returns a non-empty detail for unsupported or malformed
// paths (wildcards, recursive descent, filters, slices, negative indexes).
func appendGJSONPath(dst []byte, s []byte) (out []byte, root bool, detail string) {
	s = trimSpace(s)
	i := 0
	if len(s) > 0 && s[0] == '$' {
		i = 1
	}
	if i == len(s) {
		return dst, true, ""
	}
	first := true
	sep := func() {
		if !first {
			dst = append(dst, '.')
		}
		first = false
	}
	key := func(k []byte) {
		sep()
		for _, c := range k {
			if !isIDChar(c) && c < 0x80 {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '.' || (i == 0 && c != '['):
			if c == '.' {
				i++
				if i < len(s) && s[i] == '.' {
					return dst, false, "recursive descent (..) is not supported"
				}
			}
			start := i
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				i++
			}
			k := s[start:i]
			if len(k) == 0 {
				return dst, false, "empty name in JSONPath"
			}
			if string(k) == "*" {
				return dst, false, "wildcards are not supported"
			}
			key(k)
		case c == '[':
			i++
			if i < len(s) && (s[i] == '\'' || s[i] == '"') {
				q := s[i]
				i++
				start := i
				for i < len(s) && s[i] != q {
					i++
				}
				if i >= len(s) {
					return dst, false, "unterminated quoted name in JSONPath"
				}
				k := s[start:i]
				i++
				if i >= len(s) || s[i] != ']' {
					return dst, false, "expected ']' in JSONPath"
				}
				i++
				if len(k) == 0 {
					return dst, false, "empty name in JSONPath"
				}
				key(k)
				continue
			}
			start := i
			for i < len(s) && '0' <= s[i] && s[i] <= '9' {
				i++
			}
			if i == start || i >= len(s) || s[i] != ']' || i-start > 9 {
				return dst, false, "only [index], ['name'] and [\"name\"] selectors are supported"
			}
			sep()
			dst = append(dst, s[start:i]...)
			i++
		default:
			return dst, false, "malformed JSONPath"
		}
	}
	return dst, false, ""
}

// hasControl reports whether b holds a control character other than HTAB:
// C0, DEL or C1 (U+0080–U+009F, encoded C2 80–C2 9F).
func hasControl(b []byte) bool {
	for i, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f || (c == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f) {
			return true
		}
	}
	return false
}
