package vault

import (
	"fmt"
	"strings"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Bounds of a search query (POST /v2/tokens/search), checked before it is parsed.
const (
	MaxQueryBytes = 4096
	MaxQueryTerms = 32
)

// ParseQuery reads Basis Theory's search syntax: `field:value` terms joined by AND (a bare
// space joins too), a value quoted with "…" when it holds spaces (\" and \\ escape inside).
// Fields: container (prefix), type, fingerprint, metadata.<key>, data (through the tokens'
// search indexes). A refusal is a 400 on "query" naming the term by its position and field,
// never by its value: a data term is the caller's plaintext.
func ParseQuery(q string) (store.TokenQuery, error) {
	var out store.TokenQuery
	if len(q) > MaxQueryBytes {
		return out, edge.Invalid("query", fmt.Sprintf("at most %d bytes", MaxQueryBytes))
	}
	p := queryParser{src: q}
	for n := 1; ; n++ {
		field, value, done, err := p.term(n)
		if err != nil {
			return out, err
		}
		if done {
			if n == 1 {
				return out, edge.Invalid("query", "is empty")
			}
			return out, nil
		}
		if n > MaxQueryTerms {
			return out, edge.Invalid("query", fmt.Sprintf("at most %d terms", MaxQueryTerms))
		}
		if err := addTerm(&out, field, value); err != nil {
			return out, queryError(n, field, err.Error())
		}
	}
}

// addTerm sets one term on out; a field given twice must agree (AND of two different types
// matches nothing, which is a mistake worth naming).
func addTerm(out *store.TokenQuery, field, value string) error {
	if value == "" {
		return fmt.Errorf("has no value")
	}
	set := func(dst *string) error {
		if *dst != "" && *dst != value {
			return fmt.Errorf("is given twice with different values")
		}
		*dst = value
		return nil
	}
	switch {
	case field == "type":
		if !Known(value) {
			return fmt.Errorf("is not a token type")
		}
		return set(&out.Type)
	case field == "container":
		if !strings.HasPrefix(value, "/") {
			return fmt.Errorf("a container starts with /")
		}
		return set(&out.ContainerPrefix)
	case field == "fingerprint":
		return set(&out.Fingerprint)
	case field == "data":
		out.Data = append(out.Data, value)
		return nil
	case strings.HasPrefix(field, "metadata."):
		key := strings.TrimPrefix(field, "metadata.")
		if key == "" {
			return fmt.Errorf("names no metadata key")
		}
		if out.Metadata == nil {
			out.Metadata = map[string]string{}
		}
		if old, ok := out.Metadata[key]; ok && old != value {
			return fmt.Errorf("is given twice with different values")
		}
		out.Metadata[key] = value
		return nil
	}
	return fmt.Errorf("is not a searchable field (container, type, fingerprint, metadata.<key>, data)")
}

// queryError names term n by its field, cut short: the field is the caller's, but bounded.
func queryError(n int, field, msg string) error {
	if len(field) > 64 {
		field = field[:64] + "…"
	}
	return edge.Invalid("query", fmt.Sprintf("term %d (%q) %s", n, field, msg))
}

type queryParser struct {
	src string
	pos int
}

func (p *queryParser) skipSpace() {
	for p.pos < len(p.src) && isQuerySpace(p.src[p.pos]) {
		p.pos++
	}
}

func isQuerySpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// term reads the next `field:value` (after an optional AND); done at the end of the query.
func (p *queryParser) term(n int) (field, value string, done bool, err error) {
	p.skipSpace()
	if p.pos == len(p.src) {
		return "", "", true, nil
	}
	if n > 1 && p.word() == "AND" {
		p.pos += 3
		p.skipSpace()
		if p.pos == len(p.src) {
			return "", "", false, queryError(n, "AND", "is not followed by a term")
		}
	}
	colon := strings.IndexByte(p.src[p.pos:], ':')
	if colon < 0 {
		return "", "", false, queryError(n, p.word(), "is not field:value")
	}
	field = p.src[p.pos : p.pos+colon]
	if field == "" || strings.ContainsAny(field, " \t\r\n\"") {
		return "", "", false, queryError(n, p.word(), "is not field:value")
	}
	p.pos += colon + 1
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		value, err = p.quoted(n, field)
		return field, value, false, err
	}
	start := p.pos
	for p.pos < len(p.src) && !isQuerySpace(p.src[p.pos]) {
		if p.src[p.pos] == '"' {
			return "", "", false, queryError(n, field, "has a quote inside an unquoted value")
		}
		p.pos++
	}
	return field, p.src[start:p.pos], false, nil
}

// word is the text up to the next space, for naming a malformed term.
func (p *queryParser) word() string {
	end := p.pos
	for end < len(p.src) && !isQuerySpace(p.src[end]) {
		end++
	}
	return p.src[p.pos:end]
}

// quoted reads a "…" value at p.pos, with \" and \\ escapes.
func (p *queryParser) quoted(n int, field string) (string, error) {
	var b strings.Builder
	for p.pos++; p.pos < len(p.src); p.pos++ {
		switch c := p.src[p.pos]; c {
		case '"':
			p.pos++
			if p.pos < len(p.src) && !isQuerySpace(p.src[p.pos]) {
				return "", queryError(n, field, "has text right after its closing quote")
			}
			return b.String(), nil
		case '\\':
			p.pos++
			if p.pos == len(p.src) {
				return "", queryError(n, field, "ends inside an escape")
			}
			b.WriteByte(p.src[p.pos])
		default:
			b.WriteByte(c)
		}
	}
	return "", queryError(n, field, "has an unterminated quote")
}
