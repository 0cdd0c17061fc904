package expr

import (
	"errors"
	"strconv"
	"strings"
)

// Limits of the engine. They bound memory and CPU per expression and per input.
const (
	// MaxExprLen is the longest expression accepted, in bytes of the input,
	// from the first byte of "{{" to the last byte of "}}" inclusive
	// (percent-encoded delimiters count as written). It is also the most
	// that Stream carries over from one chunk to the next.
	MaxExprLen = 4096
	// MaxIDLen is the longest token id or configuration name accepted.
	MaxIDLen = 400
	// MaxFilters is the longest filter chain accepted in one expression.
	MaxFilters = 16

	// DefaultMaxExprs is the default of Limits.MaxExprs.
	DefaultMaxExprs = 10000
	// DefaultMaxExpansion is the default of Limits.MaxExpansion.
	DefaultMaxExpansion = 64 << 20

	// maxValueLen bounds every intermediate value of a filter chain.
	maxValueLen = 16 << 20
	// maxPad bounds the target length of pad_left and pad_right.
	maxPad  = 4096
	maxArgs = 4
)

// Context says where the text being scanned or rendered lands, which decides
// how expressions are found and how values are escaped.
type Context uint8

const (
	// Text is plain text or any other content type: values are inserted as-is.
	Text Context = iota
	// JSON is a JSON body: a state machine tracks JSON strings; values inside a
	// string are JSON-string-escaped, values elsewhere are inserted as valid JSON.
	JSON
	// Form is an application/x-www-form-urlencoded body: values are
	// form-encoded; expressions may be written with percent-encoded delimiters
	// (%7B%7B … %7D%7D) and percent-encoded text.
	Form
	// Header is an HTTP header value: a value containing a control character
	// other than HTAB (CR, LF, NUL, VT, FF, DEL, NEL, …) or invalid UTF-8 is
	// refused with ErrHeaderInjection. Double-quoted strings are lexed as in
	// Body (a JSON header value, an HTTP quoted-string), and a value inside
	// one is JSON-string-escaped; among JSON values (inside braces or brackets)
	// it is a valid JSON value, as in Body; elsewhere it is inserted as is.
	Header
	// Query is a raw URL query string: values are percent-encoded; expressions
	// may be percent-encoded as in Form.
	Query
	// Body is a body that is neither labelled JSON nor form-encoded (text,
	// unlabelled, mislabelled JSON): the bytes are lexed as JSON lexes strings
	// (double quotes, backslash escapes) across chunks, and a value inside a
	// double-quoted string is JSON-string-escaped, so it cannot end the string
	// whatever the label said. Outside strings but inside braces or brackets (among
	// JSON values) a value is a valid JSON value, as in a JSON body, so it cannot add
	// keys or elements. Elsewhere a value is inserted as is, as in Text.
	Body
)

// String returns the context's name.
func (c Context) String() string {
	switch c {
	case Text:
		return "text"
	case JSON:
		return "json"
	case Form:
		return "form"
	case Header:
		return "header"
	case Query:
		return "query"
	case Body:
		return "body"
	}
	return "context(" + strconv.Itoa(int(c)) + ")"
}

// RefKind says what an expression references.
type RefKind uint8

const (
	// RefToken is a token's data: {{ id }}, {{ id | … }}, {{ id.path }}.
	RefToken RefKind = iota + 1
	// RefTokenObject is a whole token object: {{ token: id | … }}.
	RefTokenObject
	// RefConfig is a configuration value of the proxy: {{ config: NAME }} or
	// a filter argument written config.NAME (or proxy.config.NAME).
	RefConfig
	// RefEncrypted is the decrypted BT-ENCRYPTED payload: {{ encrypted | … }}.
	RefEncrypted
	// RefMessage is a document of the message a transform works on: {{ request }},
	// {{ res }} or {{ proxy }} (SetMessageSources). ID is the source's name as written.
	RefMessage
	// RefTransform is the token an earlier tokenize transform created:
	// {{ transform_identifier: 'name' }} (SetMessageSources). ID is the identifier.
	RefTransform
)

// String returns the kind's name.
func (k RefKind) String() string {
	switch k {
	case RefToken:
		return "token"
	case RefTokenObject:
		return "token_object"
	case RefConfig:
		return "config"
	case RefEncrypted:
		return "encrypted"
	case RefMessage:
		return "message"
	case RefTransform:
		return "transform_identifier"
	}
	return "ref(" + strconv.Itoa(int(k)) + ")"
}

// Ref is one reference made by an expression, reported by Scan.
//
// ID and Expr are views into the src given to Scan, not copies: they stay
// valid as long as src is neither modified nor reused. Copy them to keep them
// longer. Neither ever holds a resolved (secret) value.
type Ref struct {
	Kind RefKind
	// ID is the token id (RefToken, RefTokenObject) or configuration name
	// (RefConfig); nil for RefEncrypted. It is always written literally in
	// src (ids made of escapes are refused), so it is a view into src.
	ID []byte
	// Expr is the whole expression as written, "{{" and "}}" included.
	Expr []byte
	// Index is the 0-based ordinal of the expression in src. One expression
	// can report several refs (its source and config.NAME arguments).
	Index int
}

// Env supplies the values expressions resolve to. The engine never talks to
// the vault; the caller implements Env over what it already fetched.
//
// Returned slices are owned by the caller and must stay valid and unmodified
// until the Render, Stream or Reader call that asked for them returns (for a
// Reader: until the next Read). The engine never retains them, never writes
// to them and never puts them in an error.
type Env interface {
	// Token returns the token's data and its whole token object
	// ({"id","type","data","metadata",…}), both JSON documents, or ok=false
	// if the id is unknown (or not usable by the caller). Implementations
	// may return a nil object when only data is available; {{ token: id }}
	// then fails with ErrUnknownToken.
	Token(id []byte) (data, object []byte, ok bool)
	// Config returns the proxy configuration value with that name (a plain
	// string, not JSON), or ok=false.
	Config(name []byte) ([]byte, bool)
	// Encrypted returns the decrypted BT-ENCRYPTED payload as a JSON
	// document, or ok=false if the request carried none.
	Encrypted() ([]byte, bool)
}

// MessageEnv is an Env that also supplies the sources SetMessageSources enables. An Env
// without it answers them with ErrUnknownSource.
type MessageEnv interface {
	Env
	// Message returns, as a JSON document, the source named: for RefMessage the request,
	// response or proxy document (name as written: request, req, res, response, proxy); for
	// RefTransform the token created by the tokenize transform with that identifier. ok=false
	// when there is none.
	Message(kind RefKind, name []byte) (doc []byte, ok bool)
}

// Limits bound one Scan, Render, Stream or Reader call. Zero fields take the
// defaults.
type Limits struct {
	// MaxExprs is the most expressions accepted in one input
	// (DefaultMaxExprs). More → ErrTooMany.
	MaxExprs int
	// MaxExpansion is the most bytes all expressions of one input may render
	// to, and separately the most bytes of Env documents they may read
	// (DefaultMaxExpansion). More → ErrTooLarge. Both are counted from sizes
	// before each expression is evaluated: its worst-case output for the
	// size of its source (before escaping), and its source's size once per
	// document read. It stops a small body that repeats a large token from
	// exploding the output or burning CPU, without ever depending on what
	// the token holds. Raise it for large streamed bodies with many
	// expressions.
	MaxExpansion int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxExprs <= 0 {
		l.MaxExprs = DefaultMaxExprs
	}
	if l.MaxExpansion <= 0 {
		l.MaxExpansion = DefaultMaxExpansion
	}
	return l
}

// Sentinel errors. Every error returned by this package is an *Error that
// wraps exactly one of them; test with errors.Is.
var (
	// ErrSyntax: a malformed expression (bad source, bad filter syntax,
	// empty expression, unterminated quote, crossing a JSON string).
	ErrSyntax = errors.New("expr: malformed expression")
	// ErrUnterminated: "{{" without a matching "}}".
	ErrUnterminated = errors.New("expr: unterminated expression")
	// ErrTooLong: an expression longer than MaxExprLen, or a token id longer
	// than MaxIDLen, or more than MaxFilters filters.
	ErrTooLong = errors.New("expr: expression too long")
	// ErrUnknownFilter: a filter name that does not exist.
	ErrUnknownFilter = errors.New("expr: unknown filter")
	// ErrArgs: wrong number or type of filter arguments.
	ErrArgs = errors.New("expr: bad filter arguments")
	// ErrTooMany: more than Limits.MaxExprs expressions.
	ErrTooMany = errors.New("expr: too many expressions")
	// ErrUnknownToken: Env.Token said no. The caller usually reports this
	// itself after Scan.
	ErrUnknownToken = errors.New("expr: unknown token")
	// ErrUnknownConfig: Env.Config said no.
	ErrUnknownConfig = errors.New("expr: unknown configuration value")
	// ErrNoEncrypted: {{ encrypted }} without a BT-ENCRYPTED payload.
	ErrNoEncrypted = errors.New("expr: no encrypted payload")
	// ErrUnknownSource: a message source or transform_identifier the Env does not supply.
	ErrUnknownSource = errors.New("expr: unknown source")
	// ErrValue: an Env document is not valid JSON, or a value cannot be
	// emitted (binary). Filters never fail on a value they cannot convert:
	// it becomes null. The value itself is never part of the error.
	ErrValue = errors.New("expr: filter cannot be applied to value")
	// ErrTooLarge: an expression could build a value over the limit (Scan),
	// or the expansion charged for the documents' sizes is over the limit.
	ErrTooLarge = errors.New("expr: rendered value too large")
	// ErrHeaderInjection: a value rendered into a header contains a control
	// character other than HTAB, or invalid UTF-8 (the one error that depends
	// on a value).
	ErrHeaderInjection = errors.New("expr: header value contains a control character")
	// ErrMissingField: with SetStrictFields, the dotted path of a source
	// ({{ id.path }}) selects nothing: rendering it empty would forward a
	// silently wrong value.
	ErrMissingField = errors.New("expr: missing field")
)

// Error describes a failed expression. It names the expression as written
// and, where relevant, the token id or configuration name; it never contains
// a resolved value. Quoted arguments of hmac filters are redacted from Expr
// because they may be keys.
type Error struct {
	// Err is the sentinel (ErrSyntax, ErrUnknownToken, …).
	Err error
	// Detail is a value-free explanation, e.g. `unknown filter "foo"`.
	Detail string
	// Expr is the expression text as written (truncated when unterminated
	// or very long; hmac arguments redacted).
	Expr string
	// ID is the token id or configuration name involved, if any.
	ID string
	// Offset is the byte offset of the expression in the input.
	Offset int64
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	msg := e.Err.Error()
	b.WriteString(msg)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Expr != "" {
		b.WriteString(" in ")
		b.WriteString(strconv.Quote(e.Expr))
	}
	b.WriteString(" at byte ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	return b.String()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// maxErrExpr bounds how much expression text an error quotes.
const (
	maxErrExpr     = 256
	maxErrExprOpen = 32 // for unterminated/too long expressions
)

// newError builds an *Error. raw is the expression text as written. open
// means the expression has no end (unterminated, too long): what follows its
// start is the caller's body data, so only the delimiter and an id-like
// prefix are quoted.
func newError(sentinel error, detail string, raw []byte, offset int64, id []byte, open bool) *Error {
	k := len(raw)
	if open {
		k = 0
		for k < len(raw) && k < maxErrExprOpen && openQuotable(raw[k]) {
			k++
		}
	} else if k > maxErrExpr {
		k = maxErrExpr
	}
	s := redact(raw[:k])
	if k < len(raw) {
		s += "…"
	}
	e := &Error{Err: sentinel, Detail: detail, Expr: s, Offset: offset}
	if len(id) > 0 {
		if len(id) > MaxIDLen {
			id = id[:MaxIDLen]
		}
		e.ID = string(id)
	}
	return e
}

func openQuotable(c byte) bool {
	return isIDChar(c) || c == '{' || c == '%' || c == '+' || c == ' ' || c == ':' || c == '.'
}

// redact returns text with the contents of quoted strings replaced by "***"
// when the expression uses an hmac filter, whose arguments may be keys.
func redact(text []byte) string {
	if !containsFold(text, "hmac") {
		return string(text)
	}
	out := make([]byte, 0, len(text))
	var q byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case q != 0 && c == '\\' && i+1 < len(text):
			i++
		case q != 0 && c == q:
			out = append(out, "***"...)
			out = append(out, c)
			q = 0
		case q != 0:
		case c == '\'' || c == '"':
			q = c
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	if q != 0 {
		out = append(out, "***"...)
	}
	// Unquoted Footprint arguments: hide everything inside parentheses after
	// an hmac filter name.
	s := string(out)
	for _, name := range []string{"hmac_sha256(", "hmac("} {
		if i := strings.Index(s, name); i >= 0 {
			j := strings.IndexByte(s[i:], ')')
			if j < 0 {
				s = s[:i+len(name)] + "***"
			} else {
				s = s[:i+len(name)] + "***" + s[i+j:]
			}
		}
	}
	return s
}

func containsFold(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		ok := true
		for j := 0; j < len(sub); j++ {
			c := b[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
