package edge

import (
	"slices"
	"strings"
)

// Perm is one permission of SPEC §3 as a bit, so a check is one AND.
type Perm uint32

// The permissions of SPEC §3; PermAll holds every one.
const (
	PermTokenCreate Perm = 1 << iota
	PermTokenRead
	PermTokenReveal
	PermTokenUpdate
	PermTokenDelete
	PermTokenUse
	PermProxyCreate
	PermProxyRead
	PermProxyUpdate
	PermProxyDelete
	PermProxyInvoke
	PermKeysCreate
	PermKeysRead
	PermKeysDelete
	PermTransformCreate
	PermTransformRead
	PermTransformDelete
	PermApplicationCreate
	PermApplicationRead
	PermApplicationUpdate
	PermApplicationDelete
	PermLogRead
	PermReactorCreate
	PermReactorRead
	PermReactorUpdate
	PermReactorDelete
	PermReactorInvoke
	PermTokenSearch
	PermAll Perm = 1<<iota - 1
)

var PermNames = map[string]Perm{
	"token:create": PermTokenCreate, "token:read": PermTokenRead, "token:reveal": PermTokenReveal,
	"token:update": PermTokenUpdate, "token:delete": PermTokenDelete, "token:use": PermTokenUse,
	"token:search": PermTokenSearch,
	"proxy:create": PermProxyCreate, "proxy:read": PermProxyRead, "proxy:update": PermProxyUpdate,
	"proxy:delete": PermProxyDelete, "proxy:invoke": PermProxyInvoke,
	"keys:create": PermKeysCreate, "keys:read": PermKeysRead, "keys:delete": PermKeysDelete,
	"transform:create": PermTransformCreate, "transform:read": PermTransformRead, "transform:delete": PermTransformDelete,
	"application:create": PermApplicationCreate, "application:read": PermApplicationRead,
	"application:update": PermApplicationUpdate, "application:delete": PermApplicationDelete,
	"log:read":       PermLogRead,
	"reactor:create": PermReactorCreate, "reactor:read": PermReactorRead, "reactor:update": PermReactorUpdate,
	"reactor:delete": PermReactorDelete, "reactor:invoke": PermReactorInvoke,
}

// String is the permission names, sorted and space-separated.
func (p Perm) String() string {
	var names []string
	for n, b := range PermNames {
		if p&b != 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// ParsePerms is the set of permissions named; an unknown name is a 400.
func ParsePerms(names []string) (Perm, *Problem) {
	var p Perm
	for _, n := range names {
		b, ok := PermNames[n]
		if !ok {
			return 0, Invalid("permissions", "unknown permission "+QuoteSafe(n))
		}
		p |= b
	}
	return p, nil
}
