package journal

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"syscall"
	"time"
)

// Event is one audit record: who did what to which entity, and when. Never plaintext. The
// vault's store.Event is this type.
type Event struct {
	ID         string    `json:"id"`
	EntityType string    `json:"entity_type"`
	EntityID   string    `json:"entity_id"`
	Operation  string    `json:"operation"`
	Actor      string    `json:"actor"`
	ProxyID    string    `json:"proxy_id,omitempty"`
	Reason     string    `json:"reason,omitempty"` // why the caller used the token (x-fp-proxy-access-reason)
	CreatedAt  time.Time `json:"created_at"`
}

// Errors callers match with errors.Is.
var (
	// ErrCorrupt: a record failed authentication or is malformed.
	ErrCorrupt = errors.New("journal: record failed authentication")
	// ErrNoSpace: the file system is full; nothing of the append was kept.
	ErrNoSpace = errors.New("journal: no space left on the file system")
)

// KeyPrefix starts every event key, in the journal's records and in the vault's Badger keys
// for events written with their mutation. A key is KeyPrefix, the event's time as big-endian
// Unix nanoseconds, then 8 random bytes; the event's id is the hex of the 16 bytes after the
// prefix, so ids sort by time.
const (
	KeyPrefix = "l/"
	KeyLen    = len(KeyPrefix) + 16
)

// AppendKey appends the key of an event at t. The random bits keep events of the same
// nanosecond (from the journal and from mutations) apart; they need not be secret:
// math/rand/v2's generator, seeded from crypto/rand, costs nanoseconds.
func AppendKey(k []byte, t time.Time) []byte {
	k = append(k, KeyPrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(k, mrand.Uint64())
}

// ID is the public id of the event stored under key k.
func ID(k []byte) string { return hex.EncodeToString(k[len(KeyPrefix):]) }

// Nanos is the time part of an event id.
func Nanos(id string) int64 {
	if len(id) < 16 {
		return 0
	}
	n, _ := strconv.ParseUint(id[:16], 16, 64)
	return int64(n)
}

// fileError wraps a failed file operation; a full file system is ErrNoSpace.
func fileError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return fmt.Errorf("journal: %w", err)
}
