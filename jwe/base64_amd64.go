//go:build !purego

package jwe

// useAVX2 tells decodeB64 to decode whole blocks with decodeB64Blocks.
var useAVX2 = cpuHasAVX2()

// cpuHasAVX2 reports whether the CPU has AVX2 and the OS saves the YMM registers.
func cpuHasAVX2() bool

// decodeB64Blocks decodes up to blocks blocks of 32 base64 characters from src into 24 bytes
// each at dst, with the constants of one alphabet, and returns how many it decoded: it stops
// before the first block holding a byte outside the alphabet. Each block is stored as 32
// bytes (the last 8 zero), so dst needs room for 24*blocks+8.
//
//go:noescape
func decodeB64Blocks(dst, src *byte, blocks int, v *b64Vectors) int
