package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"regexp"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"

	"github.com/sluice-edge/sluice/store/storetest"
)

// TestDatabaseDumpHoldsNoSecret runs a session through two nodes — card and SSN tokens,
// application keys, a proxy key, keys from POST /keys, BT-ENCRYPTED on create and on the proxy,
// detokenizations, reveals, a search — then dumps the database with pg_dump and looks for every
// secret in it, raw, hex and base64 (each alignment), and for the private keys: "PRIVATE KEY",
// and any 32 bytes of a bytea or base64 value that are the private scalar of a key's public key.
func TestDatabaseDumpHoldsNoSecret(t *testing.T) {
	dest := newDestination(t)
	c := startNodes(t, 2)
	n1, n2 := c.procs[0], c.procs[1]
	pans := []string{"4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"}
	const ssn = "123-45-6789"
	secrets := []string{adminKey, ssn, strings.ReplaceAll(ssn, "-", "")}
	secrets = append(secrets, pans...)

	app := n1.call(t, "POST", "/applications", adminKey, map[string]any{"name": "shop", "type": "private",
		"permissions": []string{"token:create", "token:read", "token:reveal"}}).expect(t, 201).json(t)
	appKey := app["key"].(string)
	appKey2 := n2.call(t, "POST", "/applications/"+app["id"].(string)+"/keys", adminKey, map[string]any{}).expect(t, 201).json(t)["key"].(string)
	px := n2.call(t, "POST", "/proxies", adminKey, map[string]any{"name": "acme", "destination_url": dest.url}).expect(t, 201).json(t)
	proxyKey := px["key"].(string)
	secrets = append(secrets, appKey, appKey2, proxyKey)

	ids := map[string]string{} // PAN → token id
	for i, pan := range pans[:3] {
		ids[pan] = []*proc{n1, n2}[i%2].call(t, "POST", "/tokens", appKey, cardData(pan)).expect(t, 201).json(t)["id"].(string)
	}
	ssnID := n1.call(t, "POST", "/tokens", appKey2, map[string]any{"type": "social_security_number", "data": ssn}).expect(t, 201).json(t)["id"].(string)

	p256 := n1.call(t, "POST", "/keys", adminKey, map[string]any{"alg": "ECDH-ES+A256KW"}).expect(t, 201).json(t)
	x25519 := n2.call(t, "POST", "/keys", adminKey, map[string]any{}).expect(t, 201).json(t)
	jweOf := func(data string) string { return encryptP256(t, p256, data) }
	encPan := pans[3]
	ids[encPan] = n2.call(t, "POST", "/tokens", appKey, map[string]any{"type": "card", "encrypted": jweOf(`{"number":"` + encPan + `","expiration_month":12,"expiration_year":2040}`)}).expect(t, 201).json(t)["id"].(string)
	btEncrypted := base64.StdEncoding.EncodeToString([]byte(`{"type":"card","encrypted":"` + jweOf(`{"number":"`+pans[0]+`"}`) + `"}`))
	n1.call(t, "POST", "/proxy", adminKey, `{"n":"{{ encrypted | json: '$.data.number' }}"}`, "BT-PROXY-URL", dest.url, "BT-ENCRYPTED", btEncrypted).expect(t, 200)
	seenWithin(t, "proxy created on node 2 known on node 1", func() bool {
		return n1.call(t, "GET", "/proxy/pay", adminKey, nil, "BT-PROXY-KEY", proxyKey).status == 200
	})
	for _, pan := range pans {
		n2.call(t, "POST", "/proxy", adminKey, detokenizing(ids[pan]), "BT-PROXY-URL", dest.url).expect(t, 200)
		n1.call(t, "POST", "/proxy/pay", adminKey, detokenizing(ids[pan]), "BT-PROXY-KEY", proxyKey).expect(t, 200)
		n1.call(t, "GET", "/tokens/"+ids[pan], appKey, nil).expect(t, 200)
	}
	if got := n2.call(t, "GET", "/tokens/"+ssnID, appKey, nil).expect(t, 200).json(t); got["data"] != ssn {
		t.Fatalf("ssn token: %v", got["data"])
	}
	if found := n2.call(t, "POST", "/v2/tokens/search", adminKey, map[string]any{"query": "data:" + ssn}).expect(t, 200).json(t)["data"].([]any); len(found) != 1 {
		t.Fatalf("search found %d tokens", len(found))
	}
	if got := dest.holding(pans[0]); got != 3 { // BT-ENCRYPTED, then two detokenizations
		t.Fatalf("the destination got the first PAN %d times, want 3", got)
	}

	dump := storetest.PostgresDump(t, c.url)
	if !strings.Contains(dump, "COPY public.tokens") || !strings.Contains(dump, ids[pans[0]]) {
		t.Fatalf("the dump holds no tokens:\n%.2000s", dump)
	}
	for i, s := range secrets {
		for j, form := range encodings(s) {
			if strings.Contains(dump, form) { // named by position: the failure must not print it
				t.Errorf("the dump holds secret %d (%d bytes) in form %d of encodings", i, len(s), j)
			}
		}
	}
	if strings.Contains(dump, "PRIVATE KEY") {
		t.Error("the dump holds a PEM private key")
	}
	blobs := binaryValues(dump)
	n := 0
	for _, b := range blobs {
		n += len(b)
	}
	t.Logf("dump: %d bytes, %d bytea and base64 values (%d bytes) searched for private keys", len(dump), len(blobs), n)
	if len(blobs) < len(ids) {
		t.Fatalf("%d binary values found in the dump, fewer than the tokens: the scan would prove nothing", len(blobs))
	}
	checkNoPrivateKey(t, blobs, "P-256", ecdh.P256(), publicP256(t, p256))
	checkNoPrivateKey(t, blobs, "X25519", ecdh.X25519(), publicX25519(t, x25519))

	flippedBytesAreErrors(t, c, ids, pans)
}

// flippedBytesAreErrors changes sealed columns behind the nodes' backs — one byte of a token
// flipped, another token's sealed record copied over a third — and asks a node that never read
// them: each is an error answer that holds no PAN, never the other token's plaintext. (The
// store conformance suite checks the same per method, on both backends: store/storetest
// FlippedTokenByteIsErrCorrupt, FlippedDocumentByteIsErrCorrupt.)
func flippedBytesAreErrors(t *testing.T, c *nodes, ids map[string]string, pans []string) {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	flipped, overwritten, source := ids[pans[0]], ids[pans[1]], ids[pans[2]]
	for _, q := range []struct{ sql, id string }{
		{"UPDATE tokens SET sealed = set_byte(sealed, length(sealed)/2, get_byte(sealed, length(sealed)/2) # 1) WHERE id = $1", flipped},
		{"UPDATE tokens SET sealed = (SELECT sealed FROM tokens WHERE id = '" + source + "') WHERE id = $1", overwritten},
	} {
		if tag, err := db.Exec(ctx, q.sql, q.id); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s: %v %v", q.sql, tag, err)
		}
	}
	fresh := c.add(t) // no cached copy
	dest := newDestination(t)
	for _, id := range []string{flipped, overwritten} {
		for _, a := range []answer{
			fresh.call(t, "GET", "/tokens/"+id, adminKey, nil),
			fresh.call(t, "POST", "/proxy", adminKey, detokenizing(id), "BT-PROXY-URL", dest.url),
		} {
			if a.status < 400 {
				t.Errorf("token %s with a changed sealed record: %d %.300s", id, a.status, a.body)
			}
			for _, pan := range pans {
				if bytes.Contains(a.body, []byte(pan)) {
					t.Errorf("token %s with a changed sealed record answered a PAN: %.300s", id, a.body)
				}
			}
		}
	}
	if got := dest.received(); len(got) != 0 {
		t.Errorf("a request naming a token with a changed sealed record was forwarded: %+v", got)
	}
	fresh.call(t, "GET", "/tokens/"+source, adminKey, nil).expect(t, 200) // its own row is intact
}

// encodings are the forms a secret could take in a dump: as is, upper- and lower-case hex, and
// base64 (standard and URL alphabets) at each of the three alignments it can have inside a
// longer encoded value, minus the characters that depend on its neighbours.
func encodings(s string) []string {
	forms := []string{s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s)))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			e := enc.EncodeToString([]byte(strings.Repeat("\x00", pad) + s))
			skip := []int{0, 2, 3}[pad]                   // characters holding the prefix's bits
			end := (pad + len(s)) / 3 * 4                 // characters of whole groups only
			forms = append(forms, e[skip:max(end, skip)]) // s is long enough to leave many
		}
	}
	return forms
}

var (
	byteaValue  = regexp.MustCompile(`\\\\x([0-9a-f]+)`)
	base64Value = regexp.MustCompile(`[A-Za-z0-9+/_-]{40,}={0,2}`)
)

// binaryValues are the bytea values of a pg_dump (hex, \\x…) and the decoded runs of base64
// in it, each once (a run without the characters that tell the alphabets apart decodes alike
// in both, and every 32 bytes of a value cost two scalar multiplications in holdsPrivateKey).
func binaryValues(dump string) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	add := func(b []byte) {
		if len(b) >= 32 && !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, b)
		}
	}
	for _, m := range byteaValue.FindAllStringSubmatch(dump, -1) {
		if b, err := hex.DecodeString(m[1]); err == nil {
			add(b)
		}
	}
	for _, m := range base64Value.FindAllString(dump, -1) {
		m = strings.TrimRight(m, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(m); err == nil {
				add(b)
			}
		}
	}
	return out
}

// checkNoPrivateKey fails t if blobs hold a private key of curve whose public key is pub.
func checkNoPrivateKey(t *testing.T, blobs [][]byte, name string, curve ecdh.Curve, pub []byte) {
	t.Helper()
	if holdsPrivateKey(blobs, curve, pub) {
		t.Errorf("the dump holds the %s private key", name)
	}
}

// holdsPrivateKey reports whether any 32 bytes of blobs are a private key of curve whose
// public key is pub.
func holdsPrivateKey(blobs [][]byte, curve ecdh.Curve, pub []byte) bool {
	for _, b := range blobs {
		for i := 0; i+32 <= len(b); i++ {
			k, err := curve.NewPrivateKey(b[i : i+32])
			if err == nil && bytes.Equal(k.PublicKey().Bytes(), pub) {
				return true
			}
		}
	}
	return false
}

// TestDumpScannerFindsPlantedSecrets: the at-rest checks find what they look for — a secret
// inside longer base64 at every alignment, as hex, and a private key as a bytea value or as
// the body of its PEM — so a clean dump means something.
func TestDumpScannerFindsPlantedSecrets(t *testing.T) {
	withoutPostgres(t)
	const secret = "key_planted_secret_0123456789"
	for pad := range 3 {
		prefix := strings.Repeat("p", pad+4)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			dump := "x " + enc.EncodeToString([]byte(prefix+secret+"suffix")) + " y"
			if !slices.ContainsFunc(encodings(secret), func(f string) bool { return strings.Contains(dump, f) }) {
				t.Errorf("base64 at alignment %d not found", pad)
			}
		}
	}
	if !slices.ContainsFunc(encodings(secret), func(f string) bool { return strings.Contains("\\x00"+hex.EncodeToString([]byte(secret)), f) }) {
		t.Error("hex not found")
	}
	for _, curve := range []ecdh.Curve{ecdh.P256(), ecdh.X25519()} {
		k, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		pemBody := base64.StdEncoding.EncodeToString(der)
		for what, dump := range map[string]string{
			"bytea":    `1	\\x0102` + hex.EncodeToString(k.Bytes()) + "03\n", // as COPY writes it
			"PEM body": "{\"private\":\"" + pemBody + "\"}",
		} {
			if !holdsPrivateKey(binaryValues(dump), curve, k.PublicKey().Bytes()) {
				t.Errorf("%v private key as %s not found", curve, what)
			}
		}
		other, _ := curve.GenerateKey(rand.Reader)
		if holdsPrivateKey(binaryValues(`\\x`+hex.EncodeToString(other.Bytes())), curve, k.PublicKey().Bytes()) {
			t.Errorf("%v: another key taken for the key", curve)
		}
	}
}

func publicP256(t *testing.T, key map[string]any) []byte {
	t.Helper()
	jwk := jwkOf(t, key)
	pub, err := jwk.Key.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return pub.Bytes()
}

func publicX25519(t *testing.T, key map[string]any) []byte {
	t.Helper()
	blk, _ := pem.Decode([]byte(key["public_key_pem"].(string)))
	if blk == nil || len(blk.Bytes) != 32 {
		t.Fatalf("X25519 public key PEM: %v", key["public_key_pem"])
	}
	return blk.Bytes
}

func jwkOf(t *testing.T, key map[string]any) jose.JSONWebKey {
	t.Helper()
	raw, _ := json.Marshal(key["jwk"])
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		t.Fatalf("jwk: %v", err)
	}
	return jwk
}

// encryptP256 is the compact JWE (ECDH-ES+A256KW, A256GCM) of plaintext to the P-256 key as
// POST /keys answered it, made by go-jose as a client would.
func encryptP256(t *testing.T, key map[string]any, plaintext string) string {
	t.Helper()
	jwk := jwkOf(t, key)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: jwk.Key, KeyID: key["key_id"].(string)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := enc.Encrypt([]byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return compact
}
