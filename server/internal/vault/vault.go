package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// Vault is the token service. Build it once with New; it is safe for concurrent use.
type Vault struct {
	store store.Store
	now   func() time.Time
}

// New is the token service over st; now is the clock (time.Now outside tests).
func New(st store.Store, now func() time.Time) *Vault { return &Vault{store: st, now: now} }

// Request is what a caller asks of a new or changed token: the body of POST /tokens and PATCH
// /tokens/{id}, and the template of a tokenize transform. Nil fields are left as they are.
type Request struct {
	ID                    *string           `json:"id"`
	Type                  *string           `json:"type"`
	Data                  json.RawMessage   `json:"data"`
	Encrypted             *string           `json:"encrypted"`
	Metadata              map[string]string `json:"metadata"`
	Containers            []string          `json:"containers"`
	Mask                  json.RawMessage   `json:"mask"`
	ExpiresAt             *string           `json:"expires_at"`
	DeduplicateToken      *bool             `json:"deduplicate_token"`
	FingerprintExpression *string           `json:"fingerprint_expression"`
	SearchIndexes         []string          `json:"search_indexes"`
	// MetadataPatch, on an update, is merged into the token's metadata (mergeMetadata)
	// instead of Metadata replacing it.
	MetadataPatch json.RawMessage `json:"-"`
}

// View is the token JSON of SPEC §4.
type View struct {
	ID                    string            `json:"id"`
	TenantID              string            `json:"tenant_id"`
	Type                  string            `json:"type"`
	Data                  json.RawMessage   `json:"data,omitempty"` // none: redacted, or masked without a mask
	Metadata              map[string]string `json:"metadata"`
	Containers            []string          `json:"containers"`
	Mask                  json.RawMessage   `json:"mask"`
	Fingerprint           string            `json:"fingerprint"`
	FingerprintExpression string            `json:"fingerprint_expression"`
	SearchIndexes         []string          `json:"search_indexes"`
	CreatedBy             string            `json:"created_by,omitempty"`
	CreatedAt             time.Time         `json:"created_at"`
	ModifiedBy            string            `json:"modified_by,omitempty"`
	ModifiedAt            *time.Time        `json:"modified_at,omitempty"`
	ExpiresAt             *time.Time        `json:"expires_at"`
	Card                  *Card             `json:"card,omitempty"`
	Bank                  *Bank             `json:"bank,omitempty"`
	Extras                *Extras           `json:"_extras,omitempty"`
}

// Extras are facts about the call, not the token.
type Extras struct {
	Deduplicated bool `json:"deduplicated"`
}

// defaultFingerprintExpressions are what the native default fingerprint of each type computes,
// written as the expressions a Basis Theory user knows.
var defaultFingerprintExpressions = map[string]string{
	TypeToken:       "{{ data | json_stringify }}",
	TypeCard:        "{{ data.number }}",
	TypeCardNumber:  "{{ data }}",
	TypeBank:        "{{ data.routing_number }}|{{ data.account_number }}",
	TypeSSN:         "{{ data | remove: '-' }}",
	TypeEIN:         "{{ data | remove: '-' }}",
	TypeRouting:     "{{ data }}",
	TypeBankAccount: "{{ data }}",
}

var (
	// ErrMayNotCreate: the caller lacks token:create.
	ErrMayNotCreate = edge.Forbidden("token:create")
	// ErrUnknownType: the type is not one of SPEC §4.
	ErrUnknownType = edge.Invalid("type", "unknown token type")
	// ErrCreateOutsideContainers refuses a token in containers the caller may not use: a fact
	// about the caller, whether or not such tokens exist.
	ErrCreateOutsideContainers = edge.NewProblem(http.StatusForbidden, "the application may not create tokens in these containers")
	// ErrInvalidData wraps every refusal of the data itself (its type's rules, a mask or
	// fingerprint expression over it), so that callers can say which value was wrong.
	ErrInvalidData = errors.New("vault: the data is not valid for its type")
)

// Create makes a token for who from req. Its data is req.Data or, when req.Encrypted is set
// instead, what decrypt (nil: encrypted data is refused) makes of it. With req.DeduplicateToken an existing token with the same fingerprint in the
// same containers is returned instead (existed), but only to a caller that may read tokens:
// anyone else gets a new one, exactly as if there were no duplicate.
func (v *Vault) Create(ctx context.Context, who *edge.Principal, req *Request, decrypt func(compact string) (json.RawMessage, error)) (t *store.Token, existed bool, err error) {
	c, err := v.Prepare(who, req, decrypt)
	if err != nil {
		return nil, false, err
	}
	return v.store.CreateToken(ctx, c.Token, c.Dedupe, c.Event)
}

// Prepare checks req as Create does and builds the token to store, without storing it: the
// caller stores it (alone or in a batch with CreateTokens).
func (v *Vault) Prepare(who *edge.Principal, req *Request, decrypt func(compact string) (json.RawMessage, error)) (c store.TokenCreate, err error) {
	t, dedupe, err := v.prepare(who, req, decrypt)
	if err != nil {
		return c, err
	}
	return store.TokenCreate{Token: t, Dedupe: dedupe, Event: edge.Event(who, v.now(), "token", t.ID, "create")}, nil
}

func (v *Vault) prepare(who *edge.Principal, req *Request, decrypt func(compact string) (json.RawMessage, error)) (t *store.Token, dedupe bool, err error) {
	if !who.Can(edge.PermTokenCreate) {
		return nil, false, ErrMayNotCreate
	}
	t = &store.Token{Type: TypeToken, CreatedBy: who.AppID, CreatedAt: v.now().UTC()}
	if req.Type != nil {
		t.Type = *req.Type
	}
	if !Known(t.Type) {
		return nil, false, ErrUnknownType
	}
	t.ID = edge.NewID()
	if req.ID != nil {
		if !ValidID(*req.ID) {
			return nil, false, edge.Invalid("id", idRule)
		}
		t.ID = *req.ID
	}
	t.Containers = defaultContainers(t.Type)
	if err := v.applyFields(t, req); err != nil {
		return nil, false, err
	}
	if ok, _ := who.Access(edge.PermTokenCreate, t.Containers); !ok {
		return nil, false, ErrCreateOutsideContainers
	}
	data := req.Data
	switch {
	case req.Encrypted != nil && data != nil:
		return nil, false, edge.Invalid("data", "give either data or encrypted, not both")
	case req.Encrypted != nil && decrypt == nil:
		return nil, false, edge.Invalid("encrypted", "is not accepted here")
	case req.Encrypted != nil:
		if data, err = decrypt(*req.Encrypted); err != nil {
			return nil, false, err
		}
	case data == nil:
		return nil, false, edge.Invalid("data", "is required")
	}
	if err := v.setData(t, data, time.Time{}); err != nil {
		return nil, false, err
	}
	mayRead, _ := who.Access(edge.PermTokenRead, t.Containers) // a duplicate is in the same containers
	return t, req.DeduplicateToken != nil && *req.DeduplicateToken && mayRead, nil
}

// CreatedShape is how the answer to creating t shows its data: as the rule that let who create
// it says, or, for a deduplicated token (existed: its data may not be the caller's), as the
// rule that lets who read it says.
func CreatedShape(who *edge.Principal, t *store.Token, existed bool) edge.Transform {
	op := edge.PermTokenCreate
	if existed {
		op = edge.PermTokenRead
	}
	_, shape := who.Access(op, t.Containers)
	return shape
}

// Get is the token id as who's rules show it (reveal, mask or redact), after its audit record:
// without the record, nothing is returned.
func (v *Vault) Get(ctx context.Context, who *edge.Principal, id string) (*View, error) {
	if !who.MayRead() {
		return nil, edge.Forbidden("token:read")
	}
	t, shape, err := v.usable(ctx, who, id, edge.PermTokenRead)
	if err != nil {
		return nil, err
	}
	if err := v.store.Audit(ctx, edge.Event(who, v.now(), "token", t.ID, readOp(shape))); err != nil {
		return nil, err
	}
	return v.View(t, shape)
}

// readOp is the audit operation of a read shaped by shape.
func readOp(shape edge.Transform) string {
	if shape == edge.Reveal {
		return "reveal"
	}
	return "read"
}

// mayMove refuses a change of a token's containers from old to new unless the caller holds an
// update rule on every container added or removed, and the move shows it no more of the token —
// for reading, use and search — than it saw before: otherwise moving a masked token into a
// container the caller may reveal would reveal it.
func mayMove(who *edge.Principal, old, new []string) error {
	for _, set := range [2][2][]string{{new, old}, {old, new}} {
		for _, c := range set[0] {
			if slices.Contains(set[1], c) {
				continue
			}
			if ok, _ := who.Access(edge.PermTokenUpdate, []string{c}); !ok {
				return edge.NewProblem(http.StatusForbidden, "the application may not move tokens into or out of these containers")
			}
		}
	}
	for _, op := range []edge.Perm{edge.PermTokenRead, edge.PermTokenUse, edge.PermTokenSearch} {
		before, was := who.Access(op, old)
		after, is := who.Access(op, new)
		if after && (!before || is > was) {
			return edge.NewProblem(http.StatusForbidden, "the application may not move a token where it would see more of it")
		}
	}
	return nil
}

// Update changes token id as req says (data as an RFC 7396 merge patch).
func (v *Vault) Update(ctx context.Context, who *edge.Principal, id string, req *Request) (*View, error) {
	if !who.Can(edge.PermTokenUpdate) {
		return nil, edge.Forbidden("token:update")
	}
	if req.ID != nil || req.Type != nil {
		return nil, edge.Invalid("type", "id and type cannot be changed")
	}
	// A new mask, fingerprint expression or search index over existing data can show or probe
	// that data: it takes the right to see it, a rule that reveals the token on update or read.
	probes := req.Mask != nil || req.FingerprintExpression != nil || req.SearchIndexes != nil
	t, shape, err := v.usable(ctx, who, id, edge.PermTokenUpdate)
	if err != nil {
		return nil, err
	}
	if _, read := who.Access(edge.PermTokenRead, t.Containers); probes && shape != edge.Reveal && read != edge.Reveal {
		return nil, edge.Forbidden("token:reveal")
	}
	if req.Containers != nil {
		if err := mayMove(who, t.Containers, req.Containers); err != nil {
			return nil, err
		}
	}
	if req.MetadataPatch != nil {
		merged, err := mergeMetadata(t.Metadata, req.MetadataPatch)
		if err != nil {
			return nil, err
		}
		r := *req
		r.Metadata, req = merged, &r
	}
	if err := v.applyFields(t, req); err != nil {
		return nil, err
	}
	data := t.Data
	until := t.EphemeralUntil
	if req.Data != nil {
		data, err = edge.MergePatch(t.Data, req.Data)
		if err != nil {
			return nil, edge.Invalid("data", "is not valid JSON")
		}
		if !sameEphemeral(t.Data, data) {
			until = time.Time{} // a new cvc gets a fresh hour
		}
	}
	if err := v.setData(t, data, until); err != nil {
		return nil, err
	}
	now := v.now().UTC()
	t.ModifiedAt, t.ModifiedBy = &now, who.AppID
	if err := v.store.UpdateToken(ctx, t, edge.Event(who, v.now(), "token", t.ID, "update")); err != nil {
		return nil, err
	}
	return v.View(t, shape)
}

// Delete deletes token id.
func (v *Vault) Delete(ctx context.Context, who *edge.Principal, id string) error {
	if !who.Can(edge.PermTokenDelete) {
		return edge.Forbidden("token:delete")
	}
	if _, _, err := v.usable(ctx, who, id, edge.PermTokenDelete); err != nil {
		return err
	}
	return v.store.DeleteToken(ctx, id, edge.Event(who, v.now(), "token", id, "delete"))
}

// View renders t for a response, its data shaped by an access rule: plaintext, masked (the
// token's mask or its type's default; none without one) or left out.
func (v *Vault) View(t *store.Token, shape edge.Transform) (*View, error) {
	w := &View{
		ID: t.ID, TenantID: edge.TenantID, Type: t.Type, Metadata: t.Metadata, Containers: t.Containers, Mask: t.Mask,
		Fingerprint: t.Fingerprint, FingerprintExpression: t.FingerprintExpression, SearchIndexes: t.SearchIndexes,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, ModifiedBy: t.ModifiedBy, ModifiedAt: t.ModifiedAt, ExpiresAt: t.ExpiresAt,
		Card: summary(t.Type, t.Data), Bank: bankSummary(t.Type, t.Data),
	}
	if w.Metadata == nil {
		w.Metadata = map[string]string{}
	}
	if w.SearchIndexes == nil {
		w.SearchIndexes = []string{}
	}
	if w.FingerprintExpression == "" {
		w.FingerprintExpression = defaultFingerprintExpressions[t.Type]
	}
	switch shape {
	case edge.Reveal:
		w.Data = t.Data
		return w, nil
	case edge.Redact:
		return w, nil
	}
	masked, err := mask(t)
	if err != nil {
		return nil, err
	}
	w.Data = masked
	return w, nil
}

// mask applies the token's mask, or its type's default mask.
func mask(t *store.Token) (json.RawMessage, error) {
	if len(t.Mask) == 0 || bytes.Equal(t.Mask, []byte("null")) {
		return defaultMask(t.Type, t.Data), nil
	}
	return renderMask(t)
}

// applyFields validates the fields of req common to create and update and sets them on t.
func (v *Vault) applyFields(t *store.Token, req *Request) error {
	if req.Metadata != nil {
		if len(req.Metadata) > 50 {
			return edge.Invalid("metadata", "at most 50 entries")
		}
		for k, val := range req.Metadata {
			if k == "" || len(k) > 128 || len(val) > 1024 {
				return edge.Invalid("metadata", "keys are 1-128 bytes and values at most 1024 bytes")
			}
		}
		t.Metadata = req.Metadata
	}
	if req.Containers != nil {
		if len(req.Containers) == 0 || len(req.Containers) > 16 {
			return edge.Invalid("containers", "between 1 and 16 containers")
		}
		for _, ct := range req.Containers {
			if !ValidContainer(ct) {
				return edge.Invalid("containers", "a container looks like /segment/segment/")
			}
		}
		t.Containers = req.Containers
	}
	if req.ExpiresAt != nil {
		if *req.ExpiresAt == "" {
			t.ExpiresAt = nil
		} else {
			at, err := time.Parse(time.RFC3339, *req.ExpiresAt)
			if err != nil {
				return edge.Invalid("expires_at", "must be an RFC 3339 date-time")
			}
			if !at.After(v.now()) {
				return edge.Invalid("expires_at", "must be in the future")
			}
			at = at.UTC()
			t.ExpiresAt = &at
		}
	}
	if req.Mask != nil {
		m := bytes.TrimSpace(req.Mask)
		if bytes.Equal(m, []byte("null")) {
			t.Mask = nil
		} else {
			if err := validateMask(m); err != nil {
				return err
			}
			t.Mask = m
		}
	}
	if req.FingerprintExpression != nil {
		if err := validateFingerprintExpression(*req.FingerprintExpression); err != nil {
			return err
		}
		t.FingerprintExpression = *req.FingerprintExpression
	}
	if req.SearchIndexes != nil {
		if err := validateSearchIndexes(req.SearchIndexes); err != nil {
			return err
		}
		t.SearchIndexes = req.SearchIndexes
	}
	return nil
}

// setData validates data for t's type and stores it (splitting out short-lived fields), then
// recomputes the fingerprint. Its refusals wrap ErrInvalidData.
func (v *Vault) setData(t *store.Token, data json.RawMessage, keepEphemeralUntil time.Time) error {
	if err := v.setDataChecked(t, data, keepEphemeralUntil); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return nil
}

func (v *Vault) setDataChecked(t *store.Token, data json.RawMessage, keepEphemeralUntil time.Time) error {
	keep, eph, ferr := validate(t.Type, data, v.now())
	if ferr != nil {
		return edge.Invalid(ferr.Field, ferr.Message)
	}
	t.Data, t.Ephemeral = keep, eph
	if len(eph) > 0 {
		t.EphemeralUntil = keepEphemeralUntil
		if t.EphemeralUntil.IsZero() {
			t.EphemeralUntil = v.now().Add(cvcLifetime)
		}
	}
	fp, err := v.fingerprint(t)
	if err != nil {
		return err
	}
	t.Fingerprint = fp
	if t.SearchValues, err = searchValues(t); err != nil {
		return err
	}
	// A mask is checked over the data it will show: its size bound depends on the data's size.
	if len(t.Mask) > 0 && !bytes.Equal(t.Mask, []byte("null")) {
		if _, err := renderMask(t); err != nil {
			return err
		}
	}
	return nil
}

func (v *Vault) fingerprint(t *store.Token) (string, error) {
	if t.FingerprintExpression == "" {
		return v.store.Fingerprint(t.Type, fingerprintInput(t.Type, t.Data)), nil
	}
	in, err := renderFingerprint(t)
	if err != nil {
		return "", err
	}
	return v.store.Fingerprint(t.Type, in), nil
}

// usable fetches a token for the operation op of who, and how the deciding rule shapes it: a
// token no rule of who covers for op is "not found", exactly as one that does not exist.
func (v *Vault) usable(ctx context.Context, who *edge.Principal, id string, op edge.Perm) (*store.Token, edge.Transform, error) {
	t, err := v.store.GetToken(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	ok, shape := who.Access(op, t.Containers)
	if !ok {
		return nil, 0, edge.ErrNotFound
	}
	return t, shape, nil
}

func sameEphemeral(a, b json.RawMessage) bool {
	var x, y struct {
		CVC *string `json:"cvc"`
	}
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	return (x.CVC == nil) == (y.CVC == nil) && (x.CVC == nil || *x.CVC == *y.CVC)
}
