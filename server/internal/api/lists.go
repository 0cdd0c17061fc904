package api

import (
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
	"github.com/sluice-edge/sluice/store"
)

// offsetPagination is the pagination of an offset list (SPEC §2), as Basis Theory pages them.
type offsetPagination struct {
	TotalItems int `json:"total_items"`
	PageNumber int `json:"page_number"`
	PageSize   int `json:"page_size"`
	TotalPages int `json:"total_pages"`
}

// listQuery reads an offset list's page, size and filters (repeatable id, type and name). The
// cursor `start` is accepted and changes nothing: an offset list starts where page says.
func listQuery(c *edge.Call) (store.ListQuery, error) {
	page, size, err := offsetPage(c)
	if err != nil {
		return store.ListQuery{}, err
	}
	args := c.RC.QueryArgs()
	q := store.ListQuery{Page: page, Size: size, Name: string(args.Peek("name")), Type: string(args.Peek("type"))}
	for _, v := range args.PeekMulti("id") {
		q.IDs = append(q.IDs, string(v))
	}
	return q, nil
}

// writeOffsetPage answers page q of a list of total items whose page holds data.
func writeOffsetPage[T any](c *edge.Call, q store.ListQuery, total int, data []T) error {
	if data == nil {
		data = []T{} // a page past the end is [], never null: the SDK stops there
	}
	return edge.WriteJSON(c.RC, http.StatusOK, struct {
		Pagination offsetPagination `json:"pagination"`
		Data       []T              `json:"data"`
	}{offsetPagination{TotalItems: total, PageNumber: q.Page, PageSize: q.Size, TotalPages: (total + q.Size - 1) / q.Size}, data})
}
