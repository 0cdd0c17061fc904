package store

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"
)

// IdemState is what BeginIdempotent found for a request.
type IdemState int

const (
	// IdemNew: the caller owns the key now; it answers the request, then calls
	// FinishIdempotent with the answer or AbandonIdempotent without one.
	IdemNew IdemState = iota
	// IdemInFlight: the first request with the key is still being answered (→ 409).
	IdemInFlight
	// IdemDone: the first request was answered; Status and Body are its answer (→ replay).
	IdemDone
	// IdemMismatch: the key was used for a different request (→ 400).
	IdemMismatch
)

// IdemResult is BeginIdempotent's answer.
type IdemResult struct {
	State  IdemState
	Claim  string // with IdemNew: names this claim to FinishIdempotent and AbandonIdempotent
	Status int    // with IdemDone
	Body   []byte // with IdemDone
}

// IdempotencyClaimLapse bounds how long a claim that was neither finished nor abandoned (its
// node crashed) holds its key; a shorter TTL bounds it too.
const IdempotencyClaimLapse = 2 * time.Minute

// idemRecord is a stored idempotency record, sealed (the answer may hold token data).
type idemRecord struct {
	RequestHash []byte    `json:"h"`
	Claim       string    `json:"c,omitempty"` // while in flight
	ClaimUntil  time.Time `json:"u,omitzero"`  // while in flight
	Done        bool      `json:"d,omitempty"`
	Status      int       `json:"s,omitempty"`
	Body        []byte    `json:"b,omitempty"`
	ExpiresAt   time.Time `json:"e"`
}

// idemID is the keyed hash under which a (scope, key) record is kept: the key itself is the
// caller's and is never stored.
func (k *vaultKeys) idemID(scope, key string) []byte { return k.tag("idempotency", scope+"\x00"+key) }

func (k *vaultKeys) sealIdem(id []byte, r *idemRecord) []byte {
	b, _ := json.Marshal(r) // a struct of plain fields: never fails
	out := k.seal.Seal(nil, b, append([]byte(prefixIdem), id...))
	clear(b)
	return out
}

func (k *vaultKeys) openIdem(id, sealed []byte) (*idemRecord, error) {
	b, err := k.seal.Open(nil, sealed, append([]byte(prefixIdem), id...))
	if err != nil {
		return nil, ErrCorrupt
	}
	var r idemRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, ErrCorrupt
	}
	return &r, nil
}

// newClaim is a fresh claim name.
func newClaim() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// begin decides what a request finds in the record old (nil: none) at now; with IdemNew, fresh
// is the record to store.
func beginIdem(old *idemRecord, requestHash []byte, ttl time.Duration, now time.Time) (res IdemResult, fresh *idemRecord) {
	live := old != nil && old.ExpiresAt.After(now) && (old.Done || old.ClaimUntil.After(now))
	if live {
		switch {
		case string(old.RequestHash) != string(requestHash):
			return IdemResult{State: IdemMismatch}, nil
		case old.Done:
			return IdemResult{State: IdemDone, Status: old.Status, Body: old.Body}, nil
		default:
			return IdemResult{State: IdemInFlight}, nil
		}
	}
	claim := newClaim()
	return IdemResult{State: IdemNew, Claim: claim}, &idemRecord{RequestHash: requestHash, Claim: claim,
		ClaimUntil: now.Add(min(ttl, IdempotencyClaimLapse)), ExpiresAt: now.Add(ttl)}
}

// checkIdem refuses what a backend could not keep.
func checkIdem(scope, key string, ttl time.Duration) error {
	if !storable(scope) || !storable(key) || key == "" {
		return errInvalid("an idempotency key is empty, not valid UTF-8, holds a NUL byte or is too long")
	}
	if ttl <= 0 {
		return errInvalid("an idempotency record needs a positive TTL")
	}
	return nil
}
