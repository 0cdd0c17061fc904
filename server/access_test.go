package server

import (
	"strings"
	"testing"
)

// Attacks on the access rules (SPEC §3): a caller learns nothing about tokens it may not read,
// and grants nothing it does not hold.

// appWith creates an application with perms limited to containers and returns its key.
func (e *edge) appWith(typ string, containers []string, perms ...string) string {
	e.t.Helper()
	body := map[string]any{"name": "limited", "type": typ, "permissions": perms}
	if containers != nil {
		body["containers"] = containers
	}
	return e.do("POST", "/applications", e.adminKey, body).expect(e.t, 201).json(e.t)["key"].(string)
}

// TestDedupeRespectsContainers: a /general/-limited application and a public key probe whether a
// guessed PAN is vaulted in /pci/high/ with deduplicate_token. Neither gets the stored token, its
// expiry or its metadata: each gets a token of its own, as if there were no duplicate.
func TestDedupeRespectsContainers(t *testing.T) {
	e := startEdge(t)
	const secretMeta, secretExpiry = "vaulted-by-pci-team", "2099-01-02T03:04:05Z"
	stored := cardBody(pan)
	stored["metadata"] = map[string]string{"owner": secretMeta}
	stored["expires_at"] = secretExpiry
	pciID := e.token(e.adminKey, stored)

	probe := func(containers ...string) map[string]any {
		b := cardBody(pan)
		b["deduplicate_token"] = true
		if containers != nil {
			b["containers"] = containers
		}
		return b
	}
	general := e.appWith("private", []string{"/general/"}, "token:create", "token:read")
	public := e.appWith("public", nil, "token:create")
	for _, tc := range []struct {
		name string
		key  string
		body map[string]any
	}{
		{"general app in its own container", general, probe("/general/")},
		{"public key in the PAN's container", public, probe()},
		{"public key naming the container", public, probe("/pci/high/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do("POST", "/tokens", tc.key, tc.body).expect(t, 201)
			m := got.json(t)
			if m["id"] == pciID || m["_extras"].(map[string]any)["deduplicated"] != false {
				t.Fatalf("the probe found the vaulted token: %s", got.body)
			}
			if s := string(got.body); strings.Contains(s, secretMeta) || strings.Contains(s, "2099") {
				t.Fatalf("the probe learnt the vaulted token's metadata or expiry: %s", s)
			}
		})
	}
	// The general app cannot place its probe in /pci/high/ at all: refused whether or not the PAN
	// is vaulted there.
	for _, number := range []string{pan, "4000056655665556"} {
		b := cardBody(number)
		b["deduplicate_token"] = true
		e.do("POST", "/tokens", general, b).expectProblem(t, 403, false)
	}
	// Control: a reader of /pci/ does find the vaulted token.
	reader := e.appWith("private", []string{"/pci/"}, "token:create", "token:read")
	m := e.do("POST", "/tokens", reader, probe()).expect(t, 201).json(t)
	if m["id"] != pciID || m["_extras"].(map[string]any)["deduplicated"] != true {
		t.Fatalf("a reader of /pci/ did not find the vaulted token: %v", m)
	}
}
