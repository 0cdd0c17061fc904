package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
)

// encryptX25519 builds a compact JWE the way Basis Theory's SDKs do (ECDH-ES direct key
// agreement over X25519, Concat KDF, A256GCM), independently of package jwe.
func encryptX25519(t *testing.T, publicPEM, kid string, plaintext []byte) string {
	t.Helper()
	blk, _ := pem.Decode([]byte(publicPEM))
	if blk == nil {
		t.Fatalf("public key is not PEM")
	}
	pub, err := ecdh.X25519().NewPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	z, _ := eph.ECDH(pub)
	b64 := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]any{"alg": "ECDH-ES", "enc": "A256GCM", "kid": kid,
		"epk": map[string]string{"kty": "OKP", "crv": "X25519", "x": b64.EncodeToString(eph.PublicKey().Bytes())}})
	// Concat KDF (RFC 7518 §4.6): SHA-256(counter || Z || len(alg) || alg || len(apu) || len(apv) || keydatalen).
	h := sha256.New()
	binary.Write(h, binary.BigEndian, uint32(1))
	h.Write(z)
	binary.Write(h, binary.BigEndian, uint32(len("A256GCM")))
	h.Write([]byte("A256GCM"))
	binary.Write(h, binary.BigEndian, uint32(0))
	binary.Write(h, binary.BigEndian, uint32(0))
	binary.Write(h, binary.BigEndian, uint32(256))
	cek := h.Sum(nil)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	iv := make([]byte, 12)
	rand.Read(iv)
	protected := b64.EncodeToString(hdr)
	sealed := gcm.Seal(nil, iv, plaintext, []byte(protected))
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	return strings.Join([]string{protected, "", b64.EncodeToString(iv), b64.EncodeToString(ct), b64.EncodeToString(tag)}, ".")
}

// flipTag returns the compact JWE with one bit of its authentication tag flipped: always a
// different tag, so decryption must fail.
func flipTag(t *testing.T, compact string) string {
	t.Helper()
	parts := strings.Split(compact, ".")
	tag, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil {
		t.Fatal(err)
	}
	tag[0] ^= 1
	parts[4] = base64.RawURLEncoding.EncodeToString(tag)
	return strings.Join(parts, ".")
}

func TestKeysAndEncryptedTokens(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest)
	k := e.adminKey
	key := e.do("POST", "/keys", k, map[string]any{}).expect(t, 201).json(t)
	for _, f := range []string{"id", "key_id", "alg", "public_key_pem", "jwk", "expires_at"} {
		if key[f] == nil {
			t.Fatalf("POST /keys lacks %q: %v", f, key)
		}
	}
	if key["alg"] != "ECDH-ES" {
		t.Fatalf("default alg %v", key["alg"])
	}
	kid, pemText := key["key_id"].(string), key["public_key_pem"].(string)
	got := e.do("GET", "/keys/"+key["id"].(string), k, nil).expect(t, 200).json(t)
	if got["public_key_pem"] != nil || got["key_id"] != kid {
		t.Fatalf("GET /keys/{id}: %v", got)
	}
	if l := e.do("GET", "/keys", k, nil).expect(t, 200).bareArray(t); len(l) != 1 {
		t.Fatalf("list %v", l)
	}
	for _, alg := range []string{"ECDH-ES+A256KW", "RSA-OAEP-256"} {
		m := e.do("POST", "/keys", k, map[string]any{"alg": alg}).expect(t, 201).json(t)
		if !strings.Contains(m["public_key_pem"].(string), "BEGIN PUBLIC KEY") {
			t.Fatalf("%s pem %v", alg, m["public_key_pem"])
		}
	}
	e.do("POST", "/keys", k, map[string]any{"alg": "RSA1_5"}).expectProblem(t, 400, false)
	e.do("POST", "/keys", k, map[string]any{"expires_at": "2099-01-01T00:00:00Z"}).expectProblem(t, 400, false)

	// POST /tokens with "encrypted".
	jweCard := encryptX25519(t, pemText, kid, []byte(`{"number":"`+pan+`","expiration_month":12,"expiration_year":2031}`))
	tok := e.do("POST", "/tokens", k, map[string]any{"type": "card", "encrypted": jweCard}).expect(t, 201).json(t)
	rev := e.do("GET", "/tokens/"+tok["id"].(string), k, nil).expect(t, 200).json(t)
	if rev["data"].(map[string]any)["number"] != pan {
		t.Fatalf("encrypted token data %v", rev["data"])
	}
	e.do("POST", "/tokens", k, map[string]any{"type": "card", "encrypted": flipTag(t, jweCard)}).expectProblem(t, 400, false)

	// BT-ENCRYPTED through /proxy: one token, both base64 alphabets.
	one, _ := json.Marshal(map[string]string{"type": "card", "encrypted": jweCard})
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		e.do("POST", "/proxy", k, `{"n":"{{ encrypted | json: '$.data.number' }}","t":"{{ encrypted | json: '$.type' }}"}`,
			"BT-PROXY-URL", dest.url, "BT-ENCRYPTED", enc.EncodeToString(one)).expect(t, 200)
		if b := string(dest.last(t).body); b != `{"n":"`+pan+`","t":"card"}` {
			t.Fatalf("BT-ENCRYPTED single: %s", b)
		}
	}
	// Several tokens by alias.
	ssn := encryptX25519(t, pemText, kid, []byte(`"123-45-6789"`))
	many, _ := json.Marshal(map[string]any{"tokenA": map[string]string{"type": "card", "encrypted": jweCard},
		"tokenB": map[string]string{"type": "social_security_number", "encrypted": ssn}})
	e.do("POST", "/proxy", k, `{"a":"{{ encrypted | json: '$.tokenA.data.number' }}","b":"{{ encrypted | json: '$.tokenB.data' }}"}`,
		"BT-PROXY-URL", dest.url, "BT-ENCRYPTED", base64.StdEncoding.EncodeToString(many)).expect(t, 200)
	if b := string(dest.last(t).body); b != `{"a":"`+pan+`","b":"123-45-6789"}` {
		t.Fatalf("BT-ENCRYPTED aliases: %s", b)
	}
	// Refusals: no header, garbage, deleted key.
	n := len(dest.requests())
	e.do("POST", "/proxy", k, `{"a":"{{ encrypted | json: '$.data' }}"}`, "BT-PROXY-URL", dest.url).expectProblem(t, 400, true)
	e.do("POST", "/proxy", k, `{"a":"{{ encrypted | json: '$.data' }}"}`, "BT-PROXY-URL", dest.url, "BT-ENCRYPTED", strings.Repeat(".", 10000)).expectProblem(t, 400, true)
	// 100,000 dots never reach the parser: the header limit answers first (431, or a reset when
	// the edge closes while the client is still sending its headers).
	req, _ := http.NewRequest("POST", e.base+"/proxy", strings.NewReader("{}"))
	req.Header.Set("BT-API-KEY", k)
	req.Header.Set("BT-PROXY-URL", dest.url)
	req.Header.Set("BT-ENCRYPTED", strings.Repeat(".", 100000))
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != 431 {
			t.Fatalf("100,000 dots: %d", res.StatusCode)
		}
	}
	e.do("DELETE", "/keys/"+key["id"].(string), k, nil).expect(t, 204)
	e.do("POST", "/proxy", k, `{"a":"{{ encrypted | json: '$.data.number' }}"}`, "BT-PROXY-URL", dest.url, "BT-ENCRYPTED", base64.StdEncoding.EncodeToString(one)).expectProblem(t, 400, true)
	if len(dest.requests()) != n {
		t.Fatal("a request with an undecryptable payload was forwarded")
	}
	assertNoSecrets(t, e.logText(), pan, "123-45-6789")
}
