package jwe

import "testing"

// TestAllZero32SeesEveryByte: the low-order-point check refuses only an all-zero shared
// secret, whichever byte of it (and bit of that byte) is set.
func TestAllZero32SeesEveryByte(t *testing.T) {
	var b [32]byte
	if !allZero32(&b) {
		t.Fatal("all zero not seen")
	}
	for i := range b {
		for bit := range 8 {
			b[i] = 1 << bit
			if allZero32(&b) {
				t.Fatalf("byte %d = %#x taken for zero", i, b[i])
			}
			b[i] = 0
		}
	}
}
