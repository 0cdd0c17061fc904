package server

import "testing"

// TestRevokedApplicationKeyRefusedOnOtherNode: node 2 has both keys of an application cached;
// revoking one on node 1 refuses it on node 2 too, and the other key keeps working there.
func TestRevokedApplicationKeyRefusedOnOtherNode(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	n1, n2 := twoNodes(t, dest)
	first, id := n1.newApp("private", "token:read")
	k := n1.do("POST", "/applications/"+id+"/keys", n1.adminKey, nil).expect(t, 201).json(t)
	second := k["key"].(string)
	const missing = "/tokens/00000000-0000-4000-8000-000000000000"
	converges(t, "second key known on node 2", func() bool { return n2.do("GET", missing, second, nil).status == 404 })
	n2.do("GET", missing, first, nil).expectProblem(t, 404, false) // both cached on node 2
	n1.do("DELETE", "/applications/"+id+"/keys/"+k["id"].(string), n1.adminKey, nil).expect(t, 204)
	converges(t, "revoked key refused on node 2", func() bool {
		r := n2.do("GET", missing, second, nil)
		if r.status != 404 && r.status != 401 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		return r.status == 401
	})
	n2.do("GET", missing, first, nil).expectProblem(t, 404, false)
}
