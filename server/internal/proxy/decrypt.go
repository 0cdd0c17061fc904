package proxy

import (
	"net/http"

	"github.com/sluice-edge/sluice/server/internal/edge"
)

// decryptHeader decrypts the request's BT-ENCRYPTED header for {{ encrypted | … }}. The payload
// lives in the exchange until the request ends.
func (s *Pipeline) decryptHeader(x *exchange) error {
	h := x.btEncrypted
	if len(h) == 0 {
		h = x.c.RC.Request.Header.Peek("BT-ENCRYPTED")
	}
	if len(h) == 0 {
		return edge.Invalid("BT-ENCRYPTED", "an expression uses encrypted but the request has no BT-ENCRYPTED header")
	}
	pt, alg, err := s.decrypter.ParseBTEncryptedAlg(h)
	s.metrics.Decrypted(alg, err)
	if err != nil {
		return edge.NewProblem(http.StatusBadRequest, "BT-ENCRYPTED could not be decrypted")
	}
	x.env.encrypted = pt
	return nil
}
