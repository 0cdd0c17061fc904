package proxy

import (
	"encoding/json"
	"testing"

	"github.com/sluice-edge/sluice/internal/expr"
)

// FuzzTransformObjects feeds the transform-object parser (JSON decoding, ValidateDeclarative,
// ValidateLists) arbitrary proxy transform lists: it never panics, and what it accepts keeps
// the rules — identifiers valid and unique, at most one code transform per list, every tokenize
// with a template and data or a location, every header name valid — and is accepted again
// after a round trip through its stored JSON.
func FuzzTransformObjects(f *testing.F) {
	for _, s := range []string{
		`{"request_transforms":[{"type":"code","code":"AGFzbQ=="}],"response_transforms":[{"code":"sha256:00"}]}`,
		`{"response_transforms":[{"type":"tokenize","options":{"identifier":"card","token":{"type":"card_number","data":"{{ res | json: '$.card' }}"}}},` +
			`{"type":"append_json","options":{"value":"{{ transform_identifier: 'card' | json: '$.id' }}","location":"$.card_token"}}]}`,
		`{"request_transforms":[{"type":"tokenize","options":{"location":"$.a","token":{"type":"token"}}},{"type":"append_text","options":{"value":" x={{ config: M }}"}}]}`,
		`{"request_transforms":[{"type":"append_header","options":{"location":"X-Sig","value":"{{ proxy | json: '$.request.body' | append: proxy.request.headers.X-Date | hmac: 'sha-256', proxy.config.K | to_base16 }}"}}]}`,
		`{"request_transforms":[{"type":"tokenize","options":{"identifier":"a","token":{"type":"token","data":{"n":"{{ request | json: '$.n' }}"}}}}],"response_transforms":[{"type":"tokenize","options":{"identifier":"a","token":{"type":"token","data":"{{ res }}"}}}]}`,
		`{"response_transforms":[{"type":"mask","matcher":"regex","expression":"(\\d{12})\\d{4}","replacement":"*"}]}`,
		`{"request_transforms":[{"type":"append_json","options":{"value":"{{ transform_identifier: 'later' }}","location":"$.x"}},{"type":"tokenize","options":{"identifier":"later","token":{"type":"token","data":"1"}}}]}`,
		`{"request_transforms":[{"type":"tokenize","options":{"token":{"type":"token","data":"{{ res }}","search_indexes":["{{ data | last4 }}"],"expires_at":"2099-01-01T00:00:00Z"}}}]}`,
		`{"request_transforms":[null,{},{"type":7}]}`, `[]`, `{`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		lists, ok := parseTransformLists([]byte(doc))
		if !ok {
			return
		}
		checkAccepted(t, lists)
		stored, err := json.Marshal(lists)
		if err != nil {
			t.Fatalf("accepted transforms do not marshal: %v", err)
		}
		again, ok := parseTransformLists(stored)
		if !ok {
			t.Fatalf("accepted transforms refused after a round trip: %s", stored)
		}
		checkAccepted(t, again)
	})
}

type transformLists struct {
	Request  []Transform `json:"request_transforms"`
	Response []Transform `json:"response_transforms"`
}

// parseTransformLists decodes and validates as the API does, code transforms apart (they need
// the module store): whether the lists are accepted.
func parseTransformLists(doc []byte) (transformLists, bool) {
	var l transformLists
	if json.Unmarshal(doc, &l) != nil {
		return l, false
	}
	for _, list := range [][]Transform{l.Request, l.Response} {
		for i := range list {
			if !list[i].IsCode() && ValidateDeclarative(&list[i], "transforms") != nil {
				return l, false
			}
		}
	}
	return l, ValidateLists(l.Request, l.Response) == nil
}

func checkAccepted(t *testing.T, l transformLists) {
	t.Helper()
	seen, labels := map[string]bool{}, map[string]bool{} // data-form identifiers, location-form ones
	for _, list := range [][]Transform{l.Request, l.Response} {
		code := 0
		for i := range list {
			tr := &list[i]
			if tr.IsCode() {
				code++
				continue
			}
			switch tr.Type {
			case "tokenize":
				o := tr.Options
				if o.Token == nil {
					t.Fatal("tokenize accepted without a token template")
				}
				if len(o.Token.Data) == 0 {
					if _, err := jsonPath(o.Location); err != nil {
						t.Fatalf("tokenize accepted without data or a valid location: %q", o.Location)
					}
				} else if !json.Valid(o.Token.Data) {
					t.Fatalf("tokenize accepted with data that is not JSON: %s", o.Token.Data)
				}
			case "append_header":
				if !validHeaderName(tr.Options.headerName()) {
					t.Fatalf("append_header accepted with header name %q", tr.Options.headerName())
				}
			}
			if id := tr.identifier(); id != "" {
				data := len(tr.Options.Token.Data) > 0
				if len(id) > maxIdentifier || !expr.ValidID([]byte(id)) || seen[id] || data && labels[id] {
					t.Fatalf("identifier %q accepted (invalid or repeated)", id)
				}
				if data {
					seen[id] = true
				} else {
					labels[id] = true
				}
			}
		}
		if code > 1 {
			t.Fatalf("%d code transforms accepted in one list", code)
		}
	}
}
