//go:build !purego

#include "textflag.h"

// func cpuHasAVX2() bool
TEXT ·cpuHasAVX2(SB), NOSPLIT, $0-1
	MOVB $0, ret+0(FP)
	MOVL $0, AX
	CPUID
	CMPL AX, $7
	JLT  no
	MOVL $1, AX
	CPUID
	ANDL $0x18000000, CX // OSXSAVE and AVX
	CMPL CX, $0x18000000
	JNE  no
	MOVL $0, CX
	XGETBV
	ANDL $6, AX          // the OS saves the XMM and YMM registers
	CMPL AX, $6
	JNE  no
	MOVL $7, AX
	MOVL $0, CX
	CPUID
	BTL  $5, BX          // AVX2
	JCC  no
	MOVB $1, ret+0(FP)

no:
	RET

// func decodeB64Blocks(dst, src *byte, blocks int, v *b64Vectors) int
//
// Per block: classify each byte (capital, small letter, digit, 62nd, 63rd character) with
// signed compares against the bounds (a byte of 0x80 or more is in no class), refuse the block
// unless every byte is in one, add the class's offset for the 6-bit values, then pack: pairs to
// 12 bits, pairs of those to 24, three bytes of every four per lane, both lanes together.
TEXT ·decodeB64Blocks(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  blocks+16(FP), CX
	MOVQ  v+24(FP), R8
	XORQ  AX, AX
	TESTQ CX, CX
	JZ    ret
	VMOVDQU 0(R8), Y8    // vecUpperBelow
	VMOVDQU 32(R8), Y9   // vecUpperAbove
	VMOVDQU 64(R8), Y10  // vecLowerBelow
	VMOVDQU 96(R8), Y11  // vecLowerAbove
	VMOVDQU 128(R8), Y12 // vecDigitBelow
	VMOVDQU 160(R8), Y13 // vecDigitAbove
	VMOVDQU 192(R8), Y14 // vec62
	VMOVDQU 224(R8), Y15 // vec63
	VMOVDQU 512(R8), Y7  // vecLanes

loop:
	VMOVDQU    (SI), Y0
	VPCMPGTB   Y8, Y0, Y1
	VPCMPGTB   Y0, Y9, Y2
	VPAND      Y2, Y1, Y1     // capitals
	VPCMPGTB   Y10, Y0, Y2
	VPCMPGTB   Y0, Y11, Y3
	VPAND      Y3, Y2, Y2     // small letters
	VPCMPGTB   Y12, Y0, Y3
	VPCMPGTB   Y0, Y13, Y4
	VPAND      Y4, Y3, Y3     // digits
	VPCMPEQB   Y14, Y0, Y4    // 62nd
	VPCMPEQB   Y15, Y0, Y5    // 63rd
	VPOR       Y2, Y1, Y6
	VPOR       Y3, Y6, Y6
	VPOR       Y4, Y6, Y6
	VPOR       Y5, Y6, Y6
	VPMOVMSKB  Y6, DX
	CMPL       DX, $0xffffffff
	JNE        done
	VPAND      256(R8), Y1, Y1 // vecUpperAdd
	VPAND      288(R8), Y2, Y2 // vecLowerAdd
	VPAND      320(R8), Y3, Y3 // vecDigitAdd
	VPAND      352(R8), Y4, Y4 // vec62Add
	VPAND      384(R8), Y5, Y5 // vec63Add
	VPOR       Y2, Y1, Y1
	VPOR       Y3, Y1, Y1
	VPOR       Y4, Y1, Y1
	VPOR       Y5, Y1, Y1
	VPADDB     Y1, Y0, Y0      // 6-bit values
	VPMADDUBSW 416(R8), Y0, Y0 // vecPairs
	VPMADDWD   448(R8), Y0, Y0 // vecQuads
	VPSHUFB    480(R8), Y0, Y0 // vecBytes
	VPERMD     Y0, Y7, Y0
	VMOVDQU    Y0, (DI)
	ADDQ       $32, SI
	ADDQ       $24, DI
	INCQ       AX
	CMPQ       AX, CX
	JLT        loop

done:
	VZEROUPPER

ret:
	MOVQ AX, ret+32(FP)
	RET
