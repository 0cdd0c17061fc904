package proxy

import (
	"bytes"

	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/transforms"
)

// ResolveArgs resolves the {{ … }} expressions of a reactor's args (one JSON value) with the
// proxy's detokenizer, as who: at most limit distinct tokens, each checked against who's rules
// and audited before anything is rendered (who must hold token:use); {{ config.X }} reads config. The result is a copy
// holding plaintext: the caller wipes it when done. Expression errors never hold values.
func (s *Pipeline) ResolveArgs(c *edge.Call, who *edge.Principal, args []byte, config map[string]string, limit int) ([]byte, error) {
	if !mayExpress(args, expr.JSON) {
		return bytes.Clone(args), nil
	}
	caller := c.Who
	c.Who = who // the rules, and the actor of each audit record, are the reactor's application's
	defer func() { c.Who = caller }()
	x := s.newExchange(c)
	defer x.done()
	x.limit, x.env.config = limit, config
	if err := x.collectChecked(args, expr.JSON); err != nil {
		return nil, exprProblem(err)
	}
	if len(x.env.ids) > 0 && !who.Can(edge.PermTokenUse) {
		return nil, edge.Forbidden("token:use") // what detokenizing into a guest is
	}
	if x.wantsEncrypted {
		return nil, edge.Invalid("args", "a reactor's args cannot name a BT-ENCRYPTED payload")
	}
	if err := s.fetchAndAudit(x); err != nil {
		return nil, err
	}
	out, err := x.renderer().RenderScanned(nil, args, expr.JSON, &x.env)
	if err != nil {
		return nil, exprProblem(err)
	}
	return out, nil
}

// GuestAnswer is the error that makes the shell answer as a guest that ended its call asked
// (see WriteGuestAnswer); o's bytes are copied.
func GuestAnswer(o transforms.Outcome) error {
	g := &guestError{outcome: o}
	g.outcome.Messages = append([]string(nil), o.Messages...)
	g.outcome.Body = bytes.Clone(o.Body)
	g.outcome.Headers = nil
	for _, h := range o.Headers {
		g.outcome.Headers = append(g.outcome.Headers, transforms.Header{Name: bytes.Clone(h.Name), Value: bytes.Clone(h.Value)})
	}
	return g
}
