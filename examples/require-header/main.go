// Command require-header is a request transform that refuses requests
// without an X-Customer-Id header with AuthenticationError (401).
package main

import "github.com/sluice-edge/sluice/transforms/sdk"

func init() { sdk.HandleRequest(requireHeader) }

func requireHeader(r *sdk.Request) error {
	if r.Header.Get("X-Customer-Id") == "" {
		return sdk.AuthenticationError("X-Customer-Id header is required")
	}
	return nil
}

func main() {}
