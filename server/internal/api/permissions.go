package api

import (
	"net/http"
	"slices"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// permissionInfo is one row of GET /permissions.
type permissionInfo struct {
	Type             string   `json:"type"`
	Description      string   `json:"description"`
	ApplicationTypes []string `json:"application_types"`
}

var (
	privateOnly     = []string{"private"}
	publicToo       = []string{"private", "public"}
	managementOnly  = []string{"management"}
	privateAndMgmt  = []string{"private", "management"}
	permissionTable = []permissionInfo{
		{"token:create", "Create tokens", publicToo},
		{"token:read", "Read tokens, their data shaped by the access rules (masked by default)", privateOnly},
		{"token:reveal", "Read tokens with their plaintext data", privateOnly},
		{"token:update", "Update tokens", privateOnly},
		{"token:delete", "Delete tokens", privateOnly},
		{"token:use", "Use tokens in proxies and reactors without reading them", privateOnly},
		{"token:search", "Search tokens (POST /v2/tokens/search), their data shaped by the access rules", privateOnly},
		{"proxy:create", "Create proxies", managementOnly},
		{"proxy:read", "Read proxies", managementOnly},
		{"proxy:update", "Update proxies", managementOnly},
		{"proxy:delete", "Delete proxies", managementOnly},
		{"proxy:invoke", "Invoke proxies", privateOnly},
		{"reactor:create", "Create reactors", managementOnly},
		{"reactor:read", "Read reactors", managementOnly},
		{"reactor:update", "Update reactors", managementOnly},
		{"reactor:delete", "Delete reactors", managementOnly},
		{"reactor:invoke", "Invoke reactors", privateOnly},
		{"keys:create", "Create client-side encryption keys", privateAndMgmt},
		{"keys:read", "Read client-side encryption keys", privateAndMgmt},
		{"keys:delete", "Delete client-side encryption keys", privateAndMgmt},
		{"transform:create", "Upload WebAssembly transforms", managementOnly},
		{"transform:read", "Read WebAssembly transforms", managementOnly},
		{"transform:delete", "Delete WebAssembly transforms", managementOnly},
		{"application:create", "Create applications", managementOnly},
		{"application:read", "Read applications", managementOnly},
		{"application:update", "Update applications and manage their keys", managementOnly},
		{"application:delete", "Delete applications", managementOnly},
		{"log:read", "Read the audit log", managementOnly},
	}
)

// ListPermissions is GET /permissions[?application_type=]: the permissions this edge knows, and
// the application types each is meant for, as a bare array. Any valid key may read it.
func (s *API) ListPermissions(c *edge.Call) error {
	typ := string(c.RC.QueryArgs().Peek("application_type"))
	switch typ {
	case "", "private", "public", "management":
	default:
		return edge.Invalid("application_type", "must be private, management or public")
	}
	out := []permissionInfo{}
	for _, p := range permissionTable {
		if _, known := edge.PermNames[p.Type]; known && (typ == "" || slices.Contains(p.ApplicationTypes, typ)) {
			out = append(out, p)
		}
	}
	return edge.WriteJSON(c.RC, http.StatusOK, out)
}

// logEntityType is one row of GET /logs/entity-types.
type logEntityType struct {
	DisplayName string `json:"display_name"`
	Value       string `json:"value"`
}

// logEntityTypes are the entity types audit events name.
var logEntityTypes = []logEntityType{
	{"Application", "application"}, {"Key", "key"}, {"Proxy", "proxy"}, {"Reactor", "reactor"},
	{"Token", "token"}, {"Transform", "transform"},
}

// ListLogEntityTypes is GET /logs/entity-types, a bare array (log:read, as the log itself).
func (s *API) ListLogEntityTypes(c *edge.Call) error {
	if err := c.Require(edge.PermLogRead, "log:read"); err != nil {
		return err
	}
	return edge.WriteJSON(c.RC, http.StatusOK, logEntityTypes)
}
