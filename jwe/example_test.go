package jwe_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sluice-edge/sluice/jwe"
)

// A client encrypts to the public JWK with any JOSE library; the edge
// decrypts with the private key it keeps in the vault.
func ExampleDecrypter() {
	kp, err := jwe.GenerateKey(jwe.AlgECDHESA256KW, "key-1")
	if err != nil {
		panic(err)
	}
	vault := map[string]*jwe.KeyPair{kp.KID: kp}
	lookup := func(kid string) (string, []byte, error) {
		k, ok := vault[kid]
		if !ok {
			return "", nil, errors.New("unknown key")
		}
		return k.Alg, k.Private, nil
	}

	// Client side, with only the public JWK.
	var pub jose.JSONWebKey
	if err := json.Unmarshal(kp.JWK, &pub); err != nil {
		panic(err)
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: &pub}, nil)
	if err != nil {
		panic(err)
	}
	obj, err := enc.Encrypt([]byte(`{"number":"4242424242424242"}`))
	if err != nil {
		panic(err)
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}

	// Edge side.
	d := jwe.NewDecrypter(lookup, 64)
	plaintext, err := d.Decrypt([]byte(compact))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(plaintext))
	clear(plaintext) // the caller owns the plaintext and wipes it after use

	// A BT-ENCRYPTED header carrying the same JWE under an alias.
	header := base64.StdEncoding.EncodeToString([]byte(`{"tokenA":{"type":"card","encrypted":"` + compact + `"}}`))
	expr, err := d.ParseBTEncrypted([]byte(header))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(expr))
	clear(expr)

	_, err = d.Decrypt([]byte("not.a.jwe.at.all"))
	fmt.Println(err)
	// Output:
	// {"number":"4242424242424242"}
	// {"tokenA":{"type":"card","data":{"number":"4242424242424242"}}}
	// jwe: decryption failed
}
