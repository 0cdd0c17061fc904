package store

import "fmt"

// TokenCreate is one token of CreateTokens: as CreateToken's arguments.
type TokenCreate struct {
	Token  *Token
	Dedupe bool
	Event  Event
}

// TokenCreated is CreateTokens' answer for one token: the stored token (the existing one when
// deduplication found it, then Existed).
type TokenCreated struct {
	Token   *Token
	Existed bool
}

// BatchError names the item of a batch that failed (and so made the batch write nothing).
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("store: batch item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// MaxTokenBatch bounds CreateTokens.
const MaxTokenBatch = 1000

// checkBatch refuses a batch before anything is written.
func checkBatch(reqs []TokenCreate) error {
	if len(reqs) > MaxTokenBatch {
		return errInvalid(fmt.Sprintf("more than %d tokens in one batch", MaxTokenBatch))
	}
	for i := range reqs {
		if reqs[i].Token == nil {
			return &BatchError{Index: i, Err: errInvalid("no token")}
		}
		if err := checkWrite(reqs[i].Token.ID, &reqs[i].Event); err != nil {
			return &BatchError{Index: i, Err: err}
		}
	}
	return nil
}

func created(t, existing *Token) TokenCreated {
	if existing != nil {
		return TokenCreated{Token: existing, Existed: true}
	}
	return TokenCreated{Token: t}
}
