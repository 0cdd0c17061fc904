// Package store is Sluice's vault: the Store interface the server talks to, the records it keeps
// (tokens, applications, audit events, and opaque documents for proxies, keys and modules), and the
// Badger implementation behind Open.
//
// Every sensitive value is sealed twice at rest: Badger's own AES encryption of its files (from the
// master key) and, inside that, an authenticated AES-GCM envelope per value under a data key that the
// master key wraps. A flipped byte therefore yields ErrCorrupt, never other plaintext.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sluice-edge/sluice/store/internal/journal"
)

// Errors callers match with errors.Is. Messages never contain stored values.
var (
	ErrNotFound     = errors.New("store: not found")
	ErrConflict     = errors.New("store: id already exists")
	ErrCorrupt      = errors.New("store: sealed value failed authentication")
	ErrWrongKey     = errors.New("store: the master key does not open this data directory")
	ErrClosed       = errors.New("store: closed")
	ErrInvalidInput = errors.New("store: invalid input")
)

// Store is the vault; Open returns the Badger implementation, and the interface lets a distributed
// backend come later. Every mutating method takes the audit event that records it and writes both
// atomically: if the event cannot be written, the operation does not happen. Writes acknowledged
// by a nil error are durable: synced to disk before the method returns.
//
// Below the free-space reserve of the data directory's file system, writes and Audit fail with
// ErrDiskLow (an ErrUnavailable) and write nothing; they succeed again once space is freed.
type Store interface {
	// CreateToken stores t. ErrConflict if t.ID exists. If dedupe is true and a live token with the
	// same type, fingerprint and containers exists, that token is returned with existed=true and
	// nothing is written. Of several such tokens, deduplication keeps finding the one it found
	// first, until that one is deleted, expires or moves.
	CreateToken(ctx context.Context, t *Token, dedupe bool, ev Event) (stored *Token, existed bool, err error)
	// CreateTokens creates every token of reqs (each as CreateToken, with its event) in one
	// transaction: all or nothing. A failure is a *BatchError naming the item (its Err as
	// CreateToken's), and then no token of the batch is stored. At most MaxTokenBatch tokens.
	CreateTokens(ctx context.Context, reqs []TokenCreate) ([]TokenCreated, error)
	// GetToken returns a live token or ErrNotFound (expired tokens are not found).
	GetToken(ctx context.Context, id string) (*Token, error)
	// GetTokens fetches many tokens in one read transaction; missing ids are absent from the map.
	GetTokens(ctx context.Context, ids []string) (map[string]*Token, error)
	// ResolveTokens opens tokens into r's reusable buffers: the proxy's hot path. Cached tokens
	// cost no allocation.
	ResolveTokens(ctx context.Context, ids []string, r *Resolved) error
	// UpdateToken replaces a live token (same id); ErrNotFound if it is gone.
	UpdateToken(ctx context.Context, t *Token, ev Event) error
	// DeleteToken removes a token; ErrNotFound if it does not exist.
	DeleteToken(ctx context.Context, id string, ev Event) error
	// ListTokens pages through the live tokens matching q (its terms joined by AND), in
	// creation order, through indexes: the work is bounded by the postings of q's terms near
	// the cursor, never a scan of the vault. Following Next visits every token that lives
	// throughout exactly once, however many are created or deleted meanwhile. ErrInvalidInput
	// for a Start that is not a cursor.
	ListTokens(ctx context.Context, q TokenQuery) (TokenPage, error)

	CreateApplication(ctx context.Context, a *Application, ev Event) error
	GetApplication(ctx context.Context, id string) (*Application, error)
	// ApplicationByKey finds the application holding the live API key key.
	ApplicationByKey(ctx context.Context, key string) (*Application, error)
	// ApplicationKey finds the application holding the live API key key, and which of its keys
	// it is; ErrNotFound for a key that is unknown, deleted or of a deleted application.
	ApplicationKey(ctx context.Context, key string) (*Application, *AppKey, error)
	// CreateAppKey adds a key to application k.ApplicationID (ErrNotFound if it does not exist)
	// and sets k.Version to one more than any of its keys. ErrConflict if the application
	// already has a key with k.ID.
	CreateAppKey(ctx context.Context, k *AppKey, ev Event) error
	// AppKeys lists an application's live keys, oldest first; ErrNotFound if it does not exist.
	AppKeys(ctx context.Context, appID string) ([]*AppKey, error)
	// GetAppKey returns one key of an application or ErrNotFound.
	GetAppKey(ctx context.Context, appID, keyID string) (*AppKey, error)
	// DeleteAppKey stops the key at once (on every node: ChangeFeed tells of the application);
	// the application's other keys keep working.
	DeleteAppKey(ctx context.Context, appID, keyID string, ev Event) error
	ListApplications(ctx context.Context) ([]*Application, error)
	// ApplicationsPage is an offset page of applications and the number that match q. It reads
	// every application: they are few, and sealed (their names are not indexable).
	ApplicationsPage(ctx context.Context, q ListQuery) (apps []*Application, total int, err error)
	UpdateApplication(ctx context.Context, a *Application, ev Event) error
	DeleteApplication(ctx context.Context, id string, ev Event) error

	// BeginIdempotent claims (scope, key) for a request whose method, path and body hash to
	// requestHash, or says what holds it: the same request still in flight, the same request's
	// answer (kept for ttl from the claim), or another request. Racing callers on any number of
	// nodes: exactly one gets IdemNew. A claim neither finished nor abandoned lapses after
	// min(ttl, IdempotencyClaimLapse).
	BeginIdempotent(ctx context.Context, scope, key string, requestHash []byte, ttl time.Duration) (IdemResult, error)
	// FinishIdempotent keeps the answer of the claim for replay; ErrNotFound if the claim no
	// longer holds the key (it lapsed and another took it).
	FinishIdempotent(ctx context.Context, scope, key, claim string, status int, body []byte) error
	// AbandonIdempotent frees the key of the claim (the request failed without an answer worth
	// keeping); a claim that no longer holds it changes nothing.
	AbandonIdempotent(ctx context.Context, scope, key, claim string) error

	// Put, Get, List and Delete keep JSON documents (proxies, keys, transform modules) in a
	// collection; sealed documents get the same envelope as token values.
	Put(ctx context.Context, c Collection, id string, doc []byte, create bool, ev Event) error
	Get(ctx context.Context, c Collection, id string) ([]byte, error)
	List(ctx context.Context, c Collection) ([][]byte, error)
	// DocumentsPage is an offset page of c's documents (filtered on their JSON id, name and
	// type fields) and the number that match q. It reads the collection: documents are few.
	DocumentsPage(ctx context.Context, c Collection, q ListQuery) (docs [][]byte, total int, err error)
	Delete(ctx context.Context, c Collection, id string, ev Event) error

	// Audit appends events on their own (detokenizations, reveals): the record of a use of
	// plaintext, so the caller lets the plaintext leave only after a nil error. When Audit
	// returns nil the record is written (it survives kill -9 of the process), and it reaches
	// stable storage (fsync) within Options.AuditSyncInterval (audit.sync_interval, default 10 ms,
	// group-committed); with audit.sync_interval 0 it is on stable storage before Audit returns.
	// An error means the record may not exist: the caller fails the operation.
	Audit(ctx context.Context, evs ...Event) error
	// Events lists audit events newest first.
	Events(ctx context.Context, q EventQuery) (events []Event, next string, err error)
	// EventsPage is offset page (from 1) of the events matching q (newest first; q.Start and
	// q.Size ignored, size as ListQuery's) with their total. PostgreSQL counts by index
	// (exact); Badger walks the matching events, up to MaxEventCount.
	EventsPage(ctx context.Context, q EventQuery, page, size int) (EventPage, error)

	// Fingerprint is a keyed hash of value within a token type; never reversible without the vault.
	Fingerprint(tokenType string, value []byte) string
	// HashKey is the keyed hash under which API keys are stored and looked up.
	HashKey(key string) []byte

	// Ready is nil while the vault takes writes and audited reads; otherwise it says why not
	// (ErrDiskLow with the free space and the reserve).
	Ready() error

	Close() error
}

// Token is one vaulted value. Data is the token's JSON data (plaintext: the caller owns the slice
// and must not keep it beyond the request that needed it).
type Token struct {
	ID                    string            `json:"id"`
	Type                  string            `json:"type"`
	Data                  json.RawMessage   `json:"data"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	Containers            []string          `json:"containers"`
	Mask                  json.RawMessage   `json:"mask,omitempty"`
	Fingerprint           string            `json:"fingerprint,omitempty"`
	FingerprintExpression string            `json:"fingerprint_expression,omitempty"`
	SearchIndexes         []string          `json:"search_indexes,omitempty"` // expressions
	CreatedBy             string            `json:"created_by,omitempty"`     // an application id
	CreatedAt             time.Time         `json:"created_at"`
	ModifiedBy            string            `json:"modified_by,omitempty"`
	ModifiedAt            *time.Time        `json:"modified_at,omitempty"`
	ExpiresAt             *time.Time        `json:"expires_at,omitempty"`
	// SearchValues are the values of SearchIndexes evaluated on this token, set by the caller
	// on create and update. The vault keeps only their keyed hashes (for TokenQuery.Data) and
	// never returns them: a token read back has none, and writing it back with none keeps the
	// hashes it was read with.
	SearchValues []string `json:"-"`
	searchTags   [][]byte // keyed hashes of the search values, as stored
	// Ephemeral holds fields of Data kept for a limited time (a card's cvc: one hour). They are
	// stored in a separate record with its own TTL and merged back into Data on read.
	Ephemeral map[string]json.RawMessage `json:"-"`
	// EphemeralUntil is when Ephemeral fields are dropped.
	EphemeralUntil time.Time `json:"-"`
}

// Application is an API client. KeyHash is HashKey of the API key it was created with; the key
// itself is never stored. Its other keys are AppKey records.
type Application struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Permissions []string     `json:"permissions"`
	Containers  []string     `json:"containers,omitempty"` // container prefixes it may use; empty = all
	Rules       []AccessRule `json:"rules,omitempty"`      // its access rules (SPEC §3); none: Permissions act as rules on Containers
	KeyHash     []byte       `json:"key_hash"`             // its first key (see AppKey); nil once deleted
	CreatedBy   string       `json:"created_by,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	ModifiedBy  string       `json:"modified_by,omitempty"`
	ModifiedAt  time.Time    `json:"modified_at,omitzero"`
}

// AccessRule is one access rule of an application, as Basis Theory names its fields. The
// server validates and compiles it; the vault keeps it as given.
type AccessRule struct {
	Description string   `json:"description"`
	Priority    int      `json:"priority"`
	Container   string   `json:"container"`
	Transform   string   `json:"transform"`
	Permissions []string `json:"permissions"`
}

// Collection names a family of JSON documents kept with Put/Get.
type Collection struct {
	Prefix string // short key prefix, unique per collection
	Sealed bool   // documents get the AES-GCM envelope
}

// Collections used by the server.
var (
	Proxies    = Collection{Prefix: "p", Sealed: true}
	Keys       = Collection{Prefix: "j", Sealed: true}
	Transforms = Collection{Prefix: "w", Sealed: false}
	Reactors   = Collection{Prefix: "r", Sealed: true} // configurations hold processors' keys
)

// Event is one audit record: who did what to which entity, and when. Never plaintext.
type Event = journal.Event

// EventQuery filters and pages audit events. Zero fields match everything.
type EventQuery struct {
	EntityType, EntityID, Operation, Actor string
	Since, Until                           time.Time
	Size                                   int    // page size, 1..100
	Start                                  string // cursor returned as next by the previous page
}

// ChangeFeed is implemented by stores that several nodes share (PostgreSQL): it tells each node
// of the records changed through any node, so that caches drop their copies.
type ChangeFeed interface {
	// Subscribe calls fn for every change committed through any node (this one included), from
	// one goroutine, until the store closes; fn must return quickly. A change of kind
	// ChangedUnknown means changes may have been missed (the feed lost its connection):
	// drop every cached record.
	Subscribe(fn func(Change))
}

// Change names a record that was created, changed or deleted.
type Change struct {
	Kind   ChangeKind
	Prefix string // the document's Collection.Prefix, for ChangedDocument
	ID     string
}

// ChangeKind says what kind of record a Change names.
type ChangeKind string

const (
	ChangedToken       ChangeKind = "t"
	ChangedApplication ChangeKind = "a"
	ChangedDocument    ChangeKind = "d"
	ChangedUnknown     ChangeKind = "*"
)
