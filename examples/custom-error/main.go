// Command custom-error is a request transform that answers a JSON body with
// "teapot": true itself — status 418, header X-Custom: yes, body
// {"custom":"teapot"} — and lets every other request through.
package main

import (
	"encoding/json"

	"github.com/sluice-edge/sluice/transforms/sdk"
)

func init() { sdk.HandleRequest(teapot) }

func teapot(r *sdk.Request) error {
	var body struct {
		Teapot bool `json:"teapot"`
	}
	if json.Unmarshal(r.Body(), &body) != nil || !body.Teapot {
		return nil
	}
	return sdk.CustomResponse{
		Status: 418,
		Header: sdk.Header{{Name: "X-Custom", Value: "yes"}},
		Body:   []byte(`{"custom":"teapot"}`),
	}
}

func main() {}
