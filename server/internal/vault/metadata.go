package vault

import (
	"bytes"
	"encoding/json"
	"maps"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// mergeMetadata applies a JSON merge patch (RFC 7396) to a token's metadata, as Basis Theory's
// PATCH does: keys merge one by one, a null value removes its key, and a null patch removes
// them all.
func mergeMetadata(old map[string]string, patch json.RawMessage) (map[string]string, error) {
	if bytes.Equal(bytes.TrimSpace(patch), []byte("null")) {
		return map[string]string{}, nil
	}
	var p map[string]*string
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, edge.Invalid("metadata", "must be an object of strings (null removes a key)")
	}
	m := maps.Clone(old)
	if m == nil {
		m = map[string]string{}
	}
	for k, v := range p {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = *v
		}
	}
	return m, nil
}
