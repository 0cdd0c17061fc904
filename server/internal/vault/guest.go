package vault

import (
	"bytes"
	"context"
	"errors"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// CreateForGuest vaults data as a new token of tokenType for a WebAssembly guest (a transform or a
// reactor) acting as who. Its errors are the messages the guest is shown: they name the rule that
// refused, never the data.
func (v *Vault) CreateForGuest(ctx context.Context, who *edge.Principal, tokenType string, data []byte) (string, error) {
	tok, _, err := v.Create(ctx, who, &Request{Type: &tokenType, Data: bytes.Clone(data)}, nil)
	switch {
	case err == nil:
		return tok.ID, nil
	case errors.Is(err, ErrMayNotCreate):
		return "", errors.New("the application lacks the token:create permission")
	case errors.Is(err, ErrUnknownType):
		return "", errors.New("unknown token type")
	case errors.Is(err, ErrCreateOutsideContainers):
		return "", errors.New("the application may not create tokens in this type's containers")
	case errors.Is(err, ErrInvalidData):
		return "", errors.New("the data is not a valid " + tokenType)
	}
	return "", errors.New("the vault refused the token")
}
