package edge

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"errors"
	"github.com/sluice-edge/sluice/internal/expr"
	"github.com/sluice-edge/sluice/store"
)

// NewID is a random (version 4) UUID: the id of a new token, application, key, proxy or
// transform.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Event is the audit record of op by who on one entity at now.
func Event(who *Principal, now time.Time, entityType, entityID, op string) store.Event {
	return store.Event{EntityType: entityType, EntityID: entityID, Operation: op, Actor: who.AppID, CreatedAt: now.UTC()}
}

// MergePatch applies an RFC 7396 JSON merge patch to doc.
func MergePatch(doc, patch json.RawMessage) (json.RawMessage, error) {
	var d, p any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, err
		}
	}
	return json.Marshal(mergeValue(d, p))
}

func mergeValue(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
		} else {
			dm[k] = mergeValue(dm[k], v)
		}
	}
	return dm
}

// ExprDetail is the value-free description of an expression error.
func ExprDetail(err error) string {
	var e *expr.Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "invalid expression"
}
