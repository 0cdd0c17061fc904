package expr_test

import (
	"fmt"

	"github.com/sluice-edge/sluice/internal/expr"
)

// vault is an Env over tokens the caller already fetched.
type vault map[string]string

func (v vault) Token(id []byte) ([]byte, []byte, bool) {
	d, ok := v[string(id)]
	return []byte(d), nil, ok
}
func (v vault) Config([]byte) ([]byte, bool) { return nil, false }
func (v vault) Encrypted() ([]byte, bool)    { return nil, false }

func Example() {
	body := []byte(`{"number":"{{ card_tok | json: '$.number' }}","exp":"{{ card_tok | card_exp: 'MM/YY' }}","name":"{{ name_tok | upcase }}","card":"{{ card_tok }}"}`)
	env := vault{
		"card_tok": `{"number":"4242424242424242","expiration_month":3,"expiration_year":2029}`,
		"name_tok": `"Jane \"JD\" Doe"`,
	}

	r := expr.Acquire()
	defer expr.Release(r)

	// 1. Scan: validate and collect what the body references.
	ids := map[string]bool{}
	n, err := r.Scan(body, expr.JSON, func(ref expr.Ref) error {
		ids[string(ref.ID)] = true
		return nil
	})
	fmt.Println(n, len(ids), err)

	// 2. Render with the fetched tokens.
	out, err := r.Render(nil, body, expr.JSON, env)
	fmt.Println(string(out), err)
	// Output:
	// 4 2 <nil>
	// {"number":"4242424242424242","exp":"03/29","name":"JANE \"JD\" DOE","card":{"number":"4242424242424242","expiration_month":3,"expiration_year":2029}} <nil>
}
