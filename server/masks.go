package server

import (
	"encoding/json"
	"net/http"

	"github.com/sluice-edge/sluice/store"
)

// Custom masks and fingerprint expressions are rendered with the expression engine
// (server/internal/expr). Until it is wired in, they are refused rather than ignored.
func validateMask(m json.RawMessage) error {
	return invalid("mask", "custom masks are not supported yet")
}

func renderMask(t *store.Token) (json.RawMessage, error) {
	return nil, problem(http.StatusInternalServerError, "custom masks are not supported yet")
}

func validateFingerprintExpression(string) error {
	return invalid("fingerprint_expression", "custom fingerprint expressions are not supported yet")
}

func renderFingerprint(t *store.Token) ([]byte, error) {
	return nil, problem(http.StatusInternalServerError, "custom fingerprint expressions are not supported yet")
}

