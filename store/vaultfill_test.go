package store

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// filled is what fillVault wrote: checkVault finds all of it in another store.
type filled struct {
	tokens    int
	proxies   []string
	audited   int // events written with Audit (the journal, in Badger)
	idemScope string
}

const fillActor = "fill-actor"

// fillToken is token i of fillVault: its data, fingerprint, metadata, search value and (for
// every tenth) short-lived field depend on i only.
func fillToken(st Store, i int) *Token {
	number := fmt.Sprintf("4242%012d", i)
	t := &Token{ID: fmt.Sprintf("tok-%07d", i), Type: "card",
		Data:          json.RawMessage(`{"number":"` + number + `","expiration_month":12,"expiration_year":2031}`),
		Metadata:      map[string]string{"batch": fmt.Sprint(i / 100)},
		Containers:    []string{"/pci/high/"},
		Fingerprint:   st.Fingerprint("card", []byte(number)),
		SearchIndexes: []string{"{{ data.number | last4 }}"},
		SearchValues:  []string{number[len(number)-4:]},
		CreatedAt:     time.Unix(1_700_000_000+int64(i), 0).UTC(),
	}
	if i%10 == 0 {
		t.Ephemeral = map[string]json.RawMessage{"cvc": json.RawMessage(`"123"`)}
		t.EphemeralUntil = time.Now().Add(time.Hour)
	}
	return t
}

// fillVault writes n tokens and one record of every other kind into st.
func fillVault(t testing.TB, st Store, n int) filled {
	t.Helper()
	ev := func(op, id string) Event {
		return Event{EntityType: "token", EntityID: id, Operation: op, Actor: fillActor}
	}
	for start := 0; start < n; start += MaxTokenBatch {
		var reqs []TokenCreate
		for i := start; i < min(n, start+MaxTokenBatch); i++ {
			tok := fillToken(st, i)
			reqs = append(reqs, TokenCreate{Token: tok, Event: ev("create", tok.ID)})
		}
		if _, err := st.CreateTokens(ctx, reqs); err != nil {
			t.Fatal(err)
		}
	}
	app := &Application{ID: "app-1", Name: "payments", Type: "private", Permissions: []string{"token:read"},
		KeyHash: st.HashKey("key_first"), CreatedAt: time.Now().UTC(),
		Rules: []AccessRule{{Description: "cards", Priority: 1, Container: "/pci/", Transform: "mask", Permissions: []string{"token:read"}}}}
	if err := st.CreateApplication(ctx, app, ev("create", app.ID)); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAppKey(ctx, &AppKey{ID: "key-2", ApplicationID: app.ID, KeyHash: st.HashKey("key_second"), CreatedAt: time.Now().UTC()}, ev("create", app.ID)); err != nil {
		t.Fatal(err)
	}
	f := filled{tokens: n, proxies: []string{"proxy-1", "proxy-2"}, idemScope: "app-1"}
	docs := map[Collection][]string{Proxies: f.proxies, Keys: {"key-1"}, Transforms: {"module-1"}, Reactors: {"reactor-1"}}
	for c, ids := range docs {
		for _, id := range ids {
			doc := []byte(`{"id":"` + id + `","name":"` + id + ` name","secret":"s3cret-` + id + `"}`)
			if err := st.Put(ctx, c, id, doc, true, ev("create", id)); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := st.BeginIdempotent(ctx, f.idemScope, "idem-1", []byte("request"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishIdempotent(ctx, f.idemScope, "idem-1", res.Claim, 201, []byte(`{"id":"tok-0000000"}`)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := st.Audit(ctx, Event{EntityType: "token", EntityID: fmt.Sprintf("tok-%07d", i), Operation: "read", Actor: fillActor}); err != nil {
			t.Fatal(err)
		}
	}
	f.audited = 3
	return f
}

// checkVault finds everything fillVault wrote in st, through the Store interface: the tokens
// (read in batches, every sample-th one opened in full and found by its indexes), the keys,
// documents, idempotency record and audit events.
func checkVault(t testing.TB, st Store, f filled, sample int) {
	t.Helper()
	for start := 0; start < f.tokens; start += MaxTokenBatch {
		var ids []string
		for i := start; i < min(f.tokens, start+MaxTokenBatch); i++ {
			ids = append(ids, fmt.Sprintf("tok-%07d", i))
		}
		got, err := st.GetTokens(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i := start; i < min(f.tokens, start+MaxTokenBatch); i++ {
			want := fillToken(st, i)
			g := got[want.ID]
			if g == nil {
				t.Fatalf("token %s is missing", want.ID)
			}
			if i%10 == 0 {
				var d map[string]json.RawMessage
				json.Unmarshal(g.Data, &d)
				if string(d["cvc"]) != `"123"` || string(d["number"]) != `"`+fmt.Sprintf("4242%012d", i)+`"` {
					t.Fatalf("token %s: data %s", want.ID, g.Data)
				}
			} else if string(g.Data) != string(want.Data) {
				t.Fatalf("token %s: data %s, want %s", want.ID, g.Data, want.Data)
			}
			if g.Fingerprint != want.Fingerprint || !g.CreatedAt.Equal(want.CreatedAt) {
				t.Fatalf("token %s: fingerprint or creation time differ", want.ID)
			}
		}
	}
	for i := 0; i < f.tokens; i += sample {
		want := fillToken(st, i)
		for name, q := range map[string]TokenQuery{
			"fingerprint": {Fingerprint: want.Fingerprint},
			"search":      {Data: want.SearchValues, Metadata: want.Metadata},
			"container":   {ContainerPrefix: "/pci/", Type: "card", Metadata: want.Metadata, Size: 100},
		} {
			page, err := st.ListTokens(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, g := range page.Tokens {
				found = found || g.ID == want.ID
			}
			if !found {
				t.Fatalf("token %s is not found by its %s (%d found)", want.ID, name, len(page.Tokens))
			}
		}
		dup, existed, err := st.CreateToken(ctx, fillToken(st, i).withID("dup"), true, Event{Actor: "check"})
		if err != nil || !existed || dup.ID != want.ID {
			t.Fatalf("deduplication does not find token %s: %v, existed %v", want.ID, err, existed)
		}
	}
	for key, keyID := range map[string]string{"key_first": "", "key_second": "key-2"} {
		a, k, err := st.ApplicationKey(ctx, key)
		if err != nil || a.ID != "app-1" || a.Name != "payments" || len(a.Rules) != 1 || a.Rules[0].Container != "/pci/" ||
			(keyID != "" && k.ID != keyID) {
			t.Fatalf("API key %s: %v", key, err)
		}
	}
	for c, ids := range map[Collection][]string{Proxies: f.proxies, Keys: {"key-1"}, Transforms: {"module-1"}, Reactors: {"reactor-1"}} {
		for _, id := range ids {
			doc, err := st.Get(ctx, c, id)
			if err != nil || string(doc) != `{"id":"`+id+`","name":"`+id+` name","secret":"s3cret-`+id+`"}` {
				t.Fatalf("document %s/%s: %v %s", c.Prefix, id, err, doc)
			}
		}
	}
	res, err := st.BeginIdempotent(ctx, f.idemScope, "idem-1", []byte("request"), time.Hour)
	if err != nil || res.State != IdemDone || res.Status != 201 {
		t.Fatalf("idempotency record: %v, state %v", err, res.State)
	}
	page, err := st.EventsPage(ctx, EventQuery{Actor: fillActor, Operation: "read"}, 1, 100)
	if err != nil || page.Total != f.audited {
		t.Fatalf("audit events of reads: %d, want %d (%v)", page.Total, f.audited, err)
	}
	page, err = st.EventsPage(ctx, EventQuery{Actor: fillActor, Operation: "create"}, 1, 100)
	if want := f.tokens + 2 + 5; err != nil || page.Total != want {
		t.Fatalf("audit events of creates: %d, want %d (%v)", page.Total, want, err)
	}
}

// withID is a copy of t under another id.
func (t *Token) withID(id string) *Token {
	c := *t
	c.ID = id
	return &c
}
