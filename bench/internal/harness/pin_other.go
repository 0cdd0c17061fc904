//go:build !linux

package harness

import "errors"

// pinToOneCPU: the gate needs Linux; elsewhere it only has to build.
func pinToOneCPU() (int, error) { return 0, errors.New("harness: pinning needs Linux") }
