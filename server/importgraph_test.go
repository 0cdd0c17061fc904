package server

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sluice-edge/sluice"

// rooms are the packages under server/internal and their rank: a room may import only rooms of
// a lower rank, so the graph has no cycle and no way back up. api is above proxy: it configures
// the proxies the pipeline runs (proxy.Definition); the pipeline never reaches the API.
var rooms = map[string]int{
	"server/internal/obs":    0,
	"server/internal/egress": 0,
	"server/internal/edge":   1,
	"server/internal/vault":  2,
	"server/internal/proxy":  3,
	"server/internal/api":    4,
}

// owners lists, per third-party library, the packages allowed to import it (a package or any
// package below it). bench/ is exempt: it drives the edge from outside. Tests are not counted.
var owners = map[string][]string{
	"github.com/valyala/fasthttp":   {"server", "server/internal/edge", "server/internal/proxy", "server/internal/api"},
	"github.com/tetratelabs/wazero": {"transforms"},
	"github.com/dgraph-io/badger":   {"store"},
	"github.com/go-jose/go-jose":    {"jwe"},
	"github.com/jackc/pgx":          {"store"},
}

// TestImportGraph: no room imports the shell (server) or a room of its own or a higher rank, and
// each heavy library is imported only by its owner.
func TestImportGraph(t *testing.T) {
	t.Parallel()
	graph := importGraph(t)
	if len(graph["server"]) == 0 {
		t.Fatal("go list returned no imports for server")
	}
	for pkg, imports := range graph {
		for _, imp := range imports {
			if msg := importRule(pkg, imp); msg != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, msg)
			}
		}
	}
}

// importRule is why pkg may not import imp ("" when it may). Paths in the module are relative
// to it.
func importRule(pkg, imp string) string {
	if rank, isRoom := roomOf(pkg); isRoom {
		if imp == "server" {
			return "a room never reaches back up to the shell"
		}
		if impRank, impIsRoom := roomOf(imp); impIsRoom && roomName(imp) != roomName(pkg) && impRank >= rank {
			return "a room imports only rooms below it (obs, egress < edge < vault < proxy < api)"
		}
	}
	if strings.HasPrefix(pkg, "bench") {
		return ""
	}
	for lib, allowed := range owners {
		if imp != lib && !strings.HasPrefix(imp, lib+"/") {
			continue
		}
		for _, o := range allowed {
			if pkg == o || (o != "server" && strings.HasPrefix(pkg, o+"/")) {
				return ""
			}
		}
		return "only " + strings.Join(allowed, ", ") + " may import " + lib
	}
	return ""
}

// roomOf is the rank of the room pkg is in (a room or a package below it).
func roomOf(pkg string) (int, bool) {
	r, ok := rooms[roomName(pkg)]
	return r, ok
}

func roomName(pkg string) string {
	parts := strings.SplitN(pkg, "/", 4)
	if len(parts) < 3 || parts[0] != "server" || parts[1] != "internal" {
		return ""
	}
	return strings.Join(parts[:3], "/")
}

// importGraph is every package of the module and what it imports (not its tests), with the
// module's own paths made relative.
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rel := func(p string) string {
		if p == module {
			return "."
		}
		return strings.TrimPrefix(p, module+"/")
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := range f {
			f[i] = rel(f[i])
		}
		graph[f[0]] = f[1:]
	}
	return graph
}

// TestImportRuleRefuses: the rules catch what they are for (the graph test alone passes on a
// clean tree whatever the rules say).
func TestImportRuleRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ pkg, imp string }{
		{"server/internal/edge", "server"},
		{"server/internal/proxy", "server/internal/api"},
		{"server/internal/obs", "server/internal/edge"},
		{"server/internal/vault", "github.com/valyala/fasthttp"},
		{"server/internal/obs", "github.com/valyala/fasthttp"},
		{"store", "github.com/valyala/fasthttp"},
		{"server", "github.com/dgraph-io/badger/v4"},
		{"server/internal/proxy", "github.com/tetratelabs/wazero/api"},
		{"transforms", "github.com/go-jose/go-jose/v4"},
		{"jwe", "github.com/jackc/pgx/v5"},
	} {
		if importRule(tc.pkg, tc.imp) == "" {
			t.Errorf("%s may import %s", tc.pkg, tc.imp)
		}
	}
	for _, tc := range []struct{ pkg, imp string }{
		{"server", "server/internal/proxy"},
		{"server/internal/proxy", "server/internal/vault"},
		{"server/internal/api", "server/internal/proxy"},
		{"server/internal/edge", "server/internal/obs"},
		{"store/internal/journal", "github.com/dgraph-io/badger/v4"},
		{"bench/internal/loadgen", "github.com/valyala/fasthttp"},
	} {
		if msg := importRule(tc.pkg, tc.imp); msg != "" {
			t.Errorf("%s may not import %s: %s", tc.pkg, tc.imp, msg)
		}
	}
}
