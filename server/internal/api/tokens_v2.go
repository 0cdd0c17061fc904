package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/server/internal/vault"
	"github.com/sluice-edge/sluice/store"
)

// The cursor lists of SPEC §2 and §4: GET /v2/tokens (filters in the query string) and POST
// /v2/tokens/search (Basis Theory's query syntax). Both go through vault.List, so the caller's
// access rules (token:read for the list, token:search for search) pick and shape every token
// as GET /tokens/{id} would.

// Cursor list page sizes: BT's default and bound.
const (
	defaultCursorSize = 20
	maxCursorSize     = 100
)

type cursorPagination struct {
	PageSize int    `json:"page_size"`
	Next     string `json:"next,omitempty"`
}

type cursorList struct {
	Pagination cursorPagination `json:"pagination"`
	Data       []*vault.View    `json:"data"`
}

func (s *API) ListTokensV2(c *edge.Call) error {
	if !c.Who.Can(edge.PermTokenRead) {
		return edge.Forbidden("token:read")
	}
	args := c.RC.QueryArgs()
	q, err := tokenFilters(args.Peek, func(f func(k, v []byte)) {
		for k, v := range args.All() {
			f(k, v)
		}
	})
	if err != nil {
		return err
	}
	return s.writeTokenPage(c, edge.PermTokenRead, q)
}

type searchRequest struct {
	Query string `json:"query"`
	Start string `json:"start"`
	Size  *int   `json:"size"`
}

func (s *API) SearchTokensV2(c *edge.Call) error {
	if !c.Who.Can(edge.PermTokenSearch) {
		return edge.Forbidden("token:search")
	}
	var req searchRequest
	if err := edge.DecodeJSON(c.RC, s.opt.APIBodyBytes, &req); err != nil {
		return err
	}
	q, err := vault.ParseQuery(req.Query)
	if err != nil {
		return err
	}
	q.Start = req.Start
	if q.Size, err = cursorSize(req.Size); err != nil {
		return err
	}
	return s.writeTokenPage(c, edge.PermTokenSearch, q)
}

func (s *API) writeTokenPage(c *edge.Call, op edge.Perm, q store.TokenQuery) error {
	page, err := s.vault.List(c.RC, c.Who, op, q)
	if err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, cursorList{
		Pagination: cursorPagination{PageSize: q.Size, Next: page.Next},
		Data:       page.Tokens,
	})
}

// tokenFilters reads GET /v2/tokens' query: start, size, type, container (prefix),
// fingerprint, metadata.<key>=<value>, and the SDK's metadata=<JSON object>.
func tokenFilters(peek func(string) []byte, visit func(func(k, v []byte))) (store.TokenQuery, error) {
	q := store.TokenQuery{
		Type:            string(peek("type")),
		ContainerPrefix: string(peek("container")),
		Fingerprint:     string(peek("fingerprint")),
		Start:           string(peek("start")),
	}
	if q.Type != "" && !vault.Known(q.Type) {
		return q, vault.ErrUnknownType
	}
	var size *int
	if raw := peek("size"); raw != nil {
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return q, edge.Invalid("size", "must be a number")
		}
		size = &n
	}
	var err error
	if q.Size, err = cursorSize(size); err != nil {
		return q, err
	}
	var bad error
	visit(func(k, v []byte) {
		key, ok := strings.CutPrefix(string(k), "metadata.")
		switch {
		case bad != nil:
		case ok:
			bad = addMetadata(&q, key, string(v))
		case string(k) == "metadata":
			var m map[string]string
			if json.Unmarshal(v, &m) != nil {
				bad = edge.Invalid("metadata", "must be a JSON object of strings")
				return
			}
			for mk, mv := range m {
				if bad = addMetadata(&q, mk, mv); bad != nil {
					return
				}
			}
		}
	})
	return q, bad
}

// maxMetadataFilters bounds the metadata terms of one list: each is an index posting to walk.
const maxMetadataFilters = 16

func addMetadata(q *store.TokenQuery, key, value string) error {
	if key == "" {
		return edge.Invalid("metadata", "names no key")
	}
	if q.Metadata == nil {
		q.Metadata = map[string]string{}
	}
	if len(q.Metadata) >= maxMetadataFilters {
		return edge.Invalid("metadata", "at most 16 metadata filters")
	}
	q.Metadata[key] = value
	return nil
}

func cursorSize(size *int) (int, error) {
	if size == nil {
		return defaultCursorSize, nil
	}
	if *size < 1 || *size > maxCursorSize {
		return 0, edge.Invalid("size", "between 1 and 100")
	}
	return *size, nil
}
