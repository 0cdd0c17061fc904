// Command hmac-sign is a request transform that signs the request body:
// X-Signature = hex(HMAC-SHA256(configuration["HMAC_SECRET"], body)).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/sluice-edge/sluice/transforms/sdk"
)

func init() { sdk.HandleRequest(sign) }

func sign(r *sdk.Request) error {
	secret, ok := sdk.LookupConfig("HMAC_SECRET")
	if !ok || secret == "" {
		return sdk.ReactorRuntimeError("HMAC_SECRET is not configured")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(r.Body())
	r.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	return nil
}

func main() {}
