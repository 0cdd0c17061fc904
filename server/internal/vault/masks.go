package vault

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Custom masks and fingerprint expressions are expressions over the token's own data, written
// as Basis Theory does: {{ data | reveal_last: 4 }}. A mask is either a string expression or a
// JSON document whose strings hold expressions (for object data). They may name nothing but
// "data": a mask must never reach another token.

// maskExpansion bounds what a mask or fingerprint expression may render over data of n bytes
// (counted before escaping, from sizes alone): a view of the data, never an amplifier of it.
// A mask over it is refused when the token is created or updated.
func maskExpansion(n int) int64 { return 16*int64(n) + 64<<10 }

// selfEnv resolves "data" to one token's data and nothing else.
type selfEnv struct{ data []byte }

func (e selfEnv) Token(id []byte) ([]byte, []byte, bool) {
	if string(id) != "data" {
		return nil, nil, false
	}
	return e.data, nil, true
}
func (selfEnv) Config([]byte) ([]byte, bool) { return nil, false }
func (selfEnv) Encrypted() ([]byte, bool)    { return nil, false }

// checkSelfExpression validates src and that it names only "data".
func checkSelfExpression(src []byte, ec expr.Context, field string) error {
	_, err := expr.Scan(src, ec, func(r expr.Ref) error {
		if r.Kind != expr.RefToken || string(r.ID) != "data" {
			return edge.Invalid(field, "may only use the token's own data ({{ data … }})")
		}
		return nil
	})
	if err != nil {
		if p, ok := err.(*edge.Problem); ok {
			return p
		}
		return edge.Invalid(field, edge.ExprDetail(err))
	}
	return nil
}

// maskSource returns the text to render and its context: a JSON string mask renders as text,
// any other JSON document renders as JSON.
func maskSource(m json.RawMessage) ([]byte, expr.Context, bool) {
	if len(m) > 0 && m[0] == '"' {
		var s string
		if json.Unmarshal(m, &s) != nil {
			return nil, 0, false
		}
		return []byte(s), expr.Text, true
	}
	return m, expr.JSON, json.Valid(m)
}

func validateMask(m json.RawMessage) error {
	src, ec, ok := maskSource(m)
	if !ok || len(m) > 4096 {
		return edge.Invalid("mask", "must be an expression string or a JSON document of expressions (at most 4 KiB)")
	}
	return checkSelfExpression(src, ec, "mask")
}

// renderMask renders the token's mask over its data.
func renderMask(t *store.Token) (json.RawMessage, error) {
	src, ec, ok := maskSource(t.Mask)
	if !ok {
		return nil, edge.NewProblem(http.StatusInternalServerError, "stored mask is invalid")
	}
	r := expr.Acquire()
	defer expr.Release(r)
	r.SetLimits(expr.Limits{MaxExpansion: maskExpansion(len(t.Data))})
	out, err := r.Render(nil, src, ec, selfEnv{t.Data})
	if err != nil {
		return nil, edge.Invalid("mask", edge.ExprDetail(err))
	}
	if ec == expr.Text {
		return json.Marshal(string(out))
	}
	if !json.Valid(out) {
		return nil, edge.Invalid("mask", "does not render to valid JSON")
	}
	return bytes.Clone(out), nil
}

func validateFingerprintExpression(e string) error {
	if e == "" || len(e) > 1024 {
		return edge.Invalid("fingerprint_expression", "must be an expression of at most 1 KiB")
	}
	return checkSelfExpression([]byte(e), expr.Text, "fingerprint_expression")
}

// renderFingerprint renders the token's fingerprint expression; the result is only ever hashed.
func renderFingerprint(t *store.Token) ([]byte, error) {
	r := expr.Acquire()
	defer expr.Release(r)
	r.SetLimits(expr.Limits{MaxExpansion: maskExpansion(len(t.Data))})
	out, err := r.Render(nil, []byte(t.FingerprintExpression), expr.Text, selfEnv{t.Data})
	if err != nil {
		return nil, edge.Invalid("fingerprint_expression", edge.ExprDetail(err))
	}
	return out, nil
}
