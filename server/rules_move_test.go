package server

import "testing"

// TestRejectContainerMoveThatShowsMore: an application that may update (masked) tokens in /x/
// and reveal tokens in /mine/ cannot reveal a /x/ token by moving it into /mine/; nor can it move
// a token out of a container it holds no update rule on. A move that shows it nothing more —
// between two containers it updates and reads alike — still works.
func TestRejectContainerMoveThatShowsMore(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	key := e.rulesApp(nil,
		rule(1, "/x/", "mask", "token:update"),
		rule(2, "/mine/", "reveal", "token:read"),
		rule(3, "/a/", "mask", "token:update", "token:read"),
		rule(4, "/b/", "mask", "token:update", "token:read"),
	)
	secret := e.tokenIn("x-secret", "/x/")
	e.do("GET", "/tokens/"+secret, key, nil).expect(t, 404)
	for _, to := range [][]string{{"/x/", "/mine/"}, {"/mine/"}} {
		e.do("PATCH", "/tokens/"+secret, key, map[string]any{"containers": to}).expect(t, 403)
	}
	if got := e.do("GET", "/tokens/"+secret, e.adminKey, nil).expect(t, 200).json(t); len(got["containers"].([]any)) != 1 {
		t.Fatalf("a refused move changed the containers: %v", got["containers"])
	}
	e.do("GET", "/tokens/"+secret, key, nil).expect(t, 404)

	shared := e.tokenIn("shared", "/a/", "/other/")
	e.do("PATCH", "/tokens/"+shared, key, map[string]any{"containers": []string{"/a/"}}).expect(t, 403) // drops /other/

	mine := e.tokenIn("a-value", "/a/")
	moved := e.do("PATCH", "/tokens/"+mine, key, map[string]any{"containers": []string{"/b/"}}).expect(t, 200).json(t)
	if c := moved["containers"].([]any); len(c) != 1 || c[0] != "/b/" {
		t.Fatalf("containers after a permitted move: %v", c)
	}
}
