// Command charge-card is a reactor that charges a card at a payment
// processor without the caller ever holding the card number: it posts the
// number from its (detokenized) args to configuration["CHARGE_URL"] with
// sluice.http_request, answers the processor's status and charge id in raw,
// and has the edge tokenize the network token the processor returns.
package main

import (
	"encoding/json"

	"github.com/sluice-edge/sluice/transforms/sdk"
)

func init() { sdk.HandleReact(charge) }

// args are the react call's args once the edge resolved their expressions,
// e.g. {"card": {"number": "{{ token: tok_1 | json: '$.number' }}"}, "amount": 1000}.
type args struct {
	Card struct {
		Number string `json:"number"`
	} `json:"card"`
	Amount int64 `json:"amount"`
}

// processorCharge is the processor's answer to a charge.
type processorCharge struct {
	ID           string `json:"id"`
	NetworkToken string `json:"network_token"`
}

type raw struct {
	Status   int    `json:"status"`
	ChargeID string `json:"charge_id,omitempty"`
}

func charge(in []byte) (*sdk.Result, error) {
	var a args
	if err := json.Unmarshal(in, &a); err != nil || a.Card.Number == "" || a.Amount <= 0 {
		return nil, sdk.BadRequestError("args must hold card.number and a positive amount")
	}
	url := sdk.Config("CHARGE_URL")
	if url == "" {
		return nil, sdk.ReactorRuntimeError("CHARGE_URL is not configured")
	}
	body, _ := json.Marshal(map[string]any{"number": a.Card.Number, "amount": a.Amount})
	resp, err := sdk.Do(&sdk.HTTPRequest{
		Method: "POST",
		URL:    url,
		Header: sdk.Header{
			{Name: "Content-Type", Value: "application/json"},
			{Name: "Authorization", Value: "Bearer " + sdk.Config("API_KEY")},
		},
		Body: body,
	})
	if err != nil {
		sdk.Log("charge-card: " + err.Error())
		return nil, sdk.ServiceUnavailableError("the processor could not be reached")
	}
	out := raw{Status: resp.Status}
	var c processorCharge
	if resp.Status/100 == 2 && json.Unmarshal(resp.Body, &c) == nil {
		out.ChargeID = c.ID
	}
	res := &sdk.Result{}
	res.Raw, _ = json.Marshal(out)
	if c.NetworkToken != "" {
		res.Tokenize, _ = json.Marshal(map[string]string{"network_token": c.NetworkToken})
	}
	return res, nil
}

func main() {}
