package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/obs"
	"github.com/sluice-edge/sluice/server/internal/proxy"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/transforms"
)

// maxReactTokens bounds the distinct tokens a react's args may name, and the tokens its result
// may create.
const maxReactTokens = 100

var (
	errReactorFailed        = edge.NewProblem(http.StatusInternalServerError, "the reactor failed (trap, time or memory limit)") // FuzzReactArgs knows this text
	errReactorInformational = edge.NewProblem(http.StatusInternalServerError, "the reactor answered with an informational (1xx) status")
)

// React is POST /reactors/{id}/react {"args": any}: the args' expressions are resolved with the
// reactor application's rules, the guest runs on them, and what it asks to tokenize is vaulted
// before the answer {"tokens", "raw"}. A guest that ends the call answers as a transform does.
func (s *API) React(c *edge.Call) error {
	if !c.Who.Can(edge.PermReactorInvoke) && !c.Who.Can(edge.PermTokenUse) {
		return edge.Forbidden("reactor:invoke")
	}
	r, err := s.loadReactor(c, c.ID)
	if err != nil {
		return err
	}
	var req struct {
		Args json.RawMessage `json:"args"`
	}
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	if len(req.Args) == 0 {
		req.Args = json.RawMessage("null")
	}
	who, err := s.reactorPrincipal(c, r)
	if err != nil {
		return err
	}
	args, err := s.proxy.ResolveArgs(c, who, req.Args, r.Configuration, maxReactTokens)
	if err != nil {
		return err
	}
	defer clear(args) // plaintext
	rx := &transforms.ReactExchange{Args: args, Config: r.Configuration, Services: &reactServices{s: s, who: who}}
	start := time.Now()
	stop := proxy.CountGuestHTTP(c.RC, &c.DestDuration)
	out, err := s.wasm.OnReact(c.RC, r.ModuleID, rx)
	stop()
	took := time.Since(start)
	c.TransformDuration += took
	if err != nil || out.Ended {
		return s.reactorEnded(c, r, out, err, took)
	}
	s.metrics.Transformed(took, obs.TransformOK)
	tokens, err := s.tokenizeResult(c, who, out.Tokenize)
	if err != nil {
		return err
	}
	raw := json.RawMessage(out.Raw)
	if raw == nil {
		raw = json.RawMessage("null")
	}
	return edge.WriteJSON(c.RC, http.StatusOK, map[string]any{"tokens": tokens, "raw": raw})
}

// reactorPrincipal is who the reactor acts as: the application it names, else the application
// that last configured it (as a proxy does).
func (s *API) reactorPrincipal(c *edge.Call, r *reactorRecord) (*edge.Principal, error) {
	id := r.ApplicationID
	switch {
	case id != "":
	case r.ModifiedBy != "":
		id = r.ModifiedBy
	default:
		id = r.CreatedBy
	}
	who, err := s.auth.ApplicationPrincipal(c.RC, id)
	if err != nil {
		return nil, edge.NewProblem(http.StatusForbidden, "the reactor's application no longer exists")
	}
	return who, nil
}

// reactorEnded is the answer when the guest failed or ended the call: failures as proxy errors
// (500, or 503 when every instance stayed busy), a standard error wrapped, a custom response
// as given.
func (s *API) reactorEnded(c *edge.Call, r *reactorRecord, out transforms.ReactOutcome, err error, took time.Duration) error {
	c.Wrap = true
	switch {
	case errors.Is(err, transforms.ErrBusy):
		s.metrics.Transformed(took, obs.TransformFailed)
		return edge.NewProblem(http.StatusServiceUnavailable, "every instance of the reactor is busy; try again")
	case err != nil:
		s.metrics.Transformed(took, obs.TransformFailed)
		s.log.Warn("reactor failed", "reactor_id", r.ID, "module_id", r.ModuleID, "request_id", string(c.ReqID), "error", err.Error()) // engine errors hold no message data
		return errReactorFailed
	case out.Kind == transforms.CustomHTTPResponse && out.Status < 200:
		s.metrics.Transformed(took, obs.TransformFailed)
		return errReactorInformational
	}
	s.metrics.Transformed(took, obs.TransformEnded)
	return proxy.GuestAnswer(out.Outcome)
}

// tokenizeResult vaults what the guest asked to tokenize as POST /tokenize does: a leaf becomes
// a "token" token and is replaced by its id; an object with type and data is a token request,
// replaced by the created token; other objects and arrays are walked. All or nothing: on a
// refusal the tokens made so far are deleted, and the answer is 400 naming the path.
func (s *API) tokenizeResult(c *edge.Call, who *edge.Principal, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(src))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err // the engine hands over valid JSON only
	}
	t := &tokenizer{s: s, c: c, who: who}
	out, err := t.walk(v, "tokenize")
	if err != nil {
		t.undo()
		return nil, err
	}
	return out, nil
}

type tokenizer struct {
	s    *API
	c    *edge.Call
	who  *edge.Principal
	made []string // ids created, for undo
}

func (t *tokenizer) walk(v any, path string) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		for i := range v {
			var err error
			if v[i], err = t.walk(v[i], path+"["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
		}
		return v, nil
	case map[string]any:
		_, typed := v["type"]
		_, data := v["data"]
		if typed && data {
			return t.create(v, path)
		}
		for _, k := range slices.Sorted(maps.Keys(v)) { // in a fixed order: the same result fails the same way
			var err error
			if v[k], err = t.walk(v[k], path+"."+k); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	tok, err := t.create(map[string]any{"type": vault.TypeToken, "data": v}, path)
	if err != nil {
		return nil, err
	}
	return tok.(*vault.View).ID, nil
}

// create vaults one token request; a refusal names path.
func (t *tokenizer) create(obj map[string]any, path string) (any, error) {
	if len(t.made) >= maxReactTokens {
		return nil, edge.Invalid(path, "more than "+strconv.Itoa(maxReactTokens)+" tokens in one result")
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var req vault.Request
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, edge.Invalid(path, "is not a valid token request")
	}
	req.Encrypted = nil // the guest holds plaintext; it has no business with client-side encryption
	tok, existed, err := t.s.vault.Create(t.c.RC, t.who, &req, nil)
	if err != nil {
		return nil, tokenizeRefused(path, err)
	}
	t.made = append(t.made, tok.ID)
	return t.s.vault.View(tok, vault.CreatedShape(t.who, tok, existed))
}

// tokenizeRefused names path in a refusal; the vault's reasons never hold data.
func tokenizeRefused(path string, err error) error {
	var p *edge.Problem
	if errors.As(err, &p) && p.Status != http.StatusBadRequest {
		return p // 403 and the like keep their status
	}
	if errors.Is(err, vault.ErrUnknownType) {
		return edge.Invalid(path, "unknown token type")
	}
	if errors.As(err, &p) || errors.Is(err, vault.ErrInvalidData) {
		return edge.Invalid(path, "could not be tokenized: the data is not valid for its type")
	}
	return err
}

// undo deletes the tokens a refused result made.
func (t *tokenizer) undo() {
	for _, id := range t.made {
		if err := t.s.store.DeleteToken(t.s.ctx(), id, edge.Event(t.who, t.s.now(), "token", id, "delete")); err != nil {
			t.s.log.Error("could not delete a token of a refused react result", "token_id", id, "error", err.Error())
		}
	}
}

// reactServices is what a reactor may ask of the edge during its call: tokens made with the
// reactor application's rights, and logs that are never kept (they may hold plaintext).
type reactServices struct {
	s   *API
	who *edge.Principal
}

func (g *reactServices) Tokenize(ctx context.Context, tokenType string, data []byte) (string, error) {
	return g.s.vault.CreateForGuest(ctx, g.who, tokenType, data)
}

func (g *reactServices) Log(msg []byte) {
	g.s.log.Debug("reactor log line (content not recorded)", "bytes", len(msg))
}
