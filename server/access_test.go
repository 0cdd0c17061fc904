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

// TestApplicationCannotGrantMoreThanItHolds: a key with application:* limited to /general/ tries
// to create, widen, take over or delete applications holding more than it does.
func TestApplicationCannotGrantMoreThanItHolds(t *testing.T) {
	e := startEdge(t)
	manager := e.appWith("management", []string{"/general/"}, "application:create", "application:read",
		"application:update", "application:delete", "token:read", "token:create")
	app := func(containers []string, perms ...string) map[string]any {
		m := map[string]any{"name": "x", "type": "private", "permissions": perms}
		if containers != nil {
			m["containers"] = containers
		}
		return m
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"permission it lacks", app([]string{"/general/"}, "token:read", "token:reveal")},
		{"container outside its own", app([]string{"/pci/"}, "token:read")},
		{"a container sharing its name's start", app([]string{"/generalx/"}, "token:read")},
		{"every container", app(nil, "token:read")},
		{"one container of two outside", app([]string{"/general/a/", "/pci/high/"}, "token:read")},
	} {
		t.Run("create with "+tc.name, func(t *testing.T) {
			e.do("POST", "/applications", manager, tc.body).expectProblem(t, 403, false)
		})
	}
	// Within its own grant it may create, narrower or equal.
	sub := e.do("POST", "/applications", manager, app([]string{"/general/a/"}, "token:read")).expect(t, 201).json(t)
	subID := sub["id"].(string)
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"a permission it lacks", map[string]any{"permissions": []string{"token:read", "token:reveal"}}},
		{"a container outside its own", map[string]any{"containers": []string{"/pci/"}}},
		{"every container", map[string]any{"containers": []string{}}},
	} {
		t.Run("update to "+tc.name, func(t *testing.T) {
			e.do("PUT", "/applications/"+subID, manager, tc.body).expectProblem(t, 403, false)
		})
	}
	got := e.do("GET", "/applications/"+subID, e.adminKey, nil).expect(t, 200).json(t)
	if len(got["permissions"].([]any)) != 1 || len(got["containers"].([]any)) != 1 || got["containers"].([]any)[0] != "/general/a/" {
		t.Fatalf("a refused update changed the application: %v", got)
	}
	e.do("PUT", "/applications/"+subID, manager, map[string]any{"name": "renamed", "containers": []string{"/general/b/"}}).expect(t, 200)

	// An application holding more than the manager cannot be changed (taken over) or deleted by it.
	strong := e.do("POST", "/applications", e.adminKey, app([]string{"/general/"}, "token:read", "token:reveal")).expect(t, 201).json(t)
	strongID := strong["id"].(string)
	e.do("PUT", "/applications/"+strongID, manager, map[string]any{"name": "mine now"}).expectProblem(t, 403, false)
	e.do("PUT", "/applications/"+strongID, manager, map[string]any{"permissions": []string{"token:read"}}).expectProblem(t, 403, false)
	e.do("DELETE", "/applications/"+strongID, manager, nil).expectProblem(t, 403, false)
	if got := e.do("GET", "/applications/"+strongID, e.adminKey, nil).expect(t, 200).json(t); got["name"] != "x" {
		t.Fatalf("a refused update changed the application: %v", got)
	}
	e.do("DELETE", "/applications/"+subID, manager, nil).expect(t, 204)
	// The admin key holds all.
	e.do("POST", "/applications", e.adminKey, app(nil, "token:reveal", "application:create")).expect(t, 201)
}
