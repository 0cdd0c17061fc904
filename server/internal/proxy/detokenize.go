package proxy

import (
	"bytes"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
)

// Detokenize resolves the {{ … }} expressions in the strings of body (one JSON value) as
// POST /detokenize does: with the proxy's detokenizer, as c.Who, at most the ephemeral
// request's number of distinct tokens, each checked against the caller's access rules
// and audited before anything is rendered. The caller checks the permission first. The result
// holds plaintext; expression errors never do.
func (s *Pipeline) Detokenize(c *edge.Call, body []byte) ([]byte, error) {
	if !mayExpress(body, expr.JSON) {
		return bytes.Clone(body), nil
	}
	x := s.newExchange(c)
	defer x.done()
	x.limit = s.opt.EphemeralTokens
	if err := x.collectChecked(body, expr.JSON); err != nil {
		return nil, exprProblem(err)
	}
	if x.wantsEncrypted {
		return nil, edge.Invalid("body", "detokenize cannot name a BT-ENCRYPTED payload")
	}
	if err := s.fetchAndAudit(x); err != nil {
		return nil, err
	}
	out, err := x.renderer().RenderScanned(nil, body, expr.JSON, &x.env)
	if err != nil {
		return nil, exprProblem(err)
	}
	return out, nil
}
