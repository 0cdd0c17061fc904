// Command vault-response is a response transform that vaults the bank
// account number at $.account.number of a JSON response and puts the new
// token's id in its place, so the caller never sees the number.
//
// The token type is "us_bank_account_number" (container /pii/high/), or the
// proxy's configuration value TOKEN_TYPE if set. The rest of the body is
// kept byte for byte: only the value's bytes are replaced.
package main

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/sluice-edge/sluice/transforms/sdk"
)

const defaultTokenType = "us_bank_account_number"

func init() { sdk.HandleResponse(vault) }

func vault(r *sdk.Response) error {
	body := r.Body()
	start, end, ok := findAccountNumber(body)
	if !ok {
		return nil // nothing to vault
	}
	tokenType := sdk.Config("TOKEN_TYPE")
	if tokenType == "" {
		tokenType = defaultTokenType
	}
	id, err := sdk.Tokenize(tokenType, body[start:end])
	if err != nil {
		sdk.Log("vault-response: " + err.Error())
		return sdk.ReactorRuntimeError("could not vault the account number")
	}
	out := make([]byte, 0, len(body)-(end-start)+len(id)+2)
	out = append(out, body[:start]...)
	out = strconv.AppendQuote(out, id)
	out = append(out, body[end:]...)
	r.SetBody(out)
	return nil
}

// findAccountNumber returns the byte span of the JSON value at
// $.account.number, if the body is a JSON object that has one (not null).
func findAccountNumber(body []byte) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	if !seekKey(dec, "account") {
		return 0, 0, false
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	if !seekKey(dec, "number") {
		return 0, 0, false
	}
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil || string(raw) == "null" {
		return 0, 0, false
	}
	end = int(dec.InputOffset())
	return end - len(raw), end, true
}

// seekKey advances dec, inside an object, to just before the value of key;
// it skips the values of other keys.
func seekKey(dec *json.Decoder, key string) bool {
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if k, _ := t.(string); k == key {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

func main() {}
