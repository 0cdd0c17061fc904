package transforms

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// The WASI module is wazero's, with the two functions whose work a guest
// sizes at will replaced by capped versions that also trap after the
// deadline (see host.go): random_get and fd_write. The others either do a
// fixed amount of work or fail at once here (no files, no sockets), and the
// guest traps as soon as one returns after the deadline.

// WASI errno values (wasi_snapshot_preview1).
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoIO      = 29
)

func instantiateWASI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(wasiRandomGet), []api.ValueType{i32, i32}, ret).
		WithParameterNames("buf", "buf_len").
		Export("random_get")
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(wasiFdWrite), []api.ValueType{i32, i32, i32, i32}, ret).
		WithParameterNames("fd", "iovs", "iovs_len", "result.nwritten").
		Export("fd_write")
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("transforms: wasi: %w", err)
	}
	return nil
}

// wasiCheck traps when the deadline of the instance's call has passed.
func wasiCheck(ctx context.Context) *instance {
	inst, _ := ctx.(*instance)
	if inst != nil {
		inst.checkTime()
	}
	return inst
}

// wasiRandomGet fills (buf, buf_len) from crypto/rand, at most
// abi.MaxRandomBytes a call.
func wasiRandomGet(ctx context.Context, mod api.Module, stack []uint64) {
	wasiCheck(ctx)
	buf, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if n > abi.MaxRandomBytes {
		stack[0] = errnoInval
		return
	}
	b, ok := mod.Memory().Read(buf, n)
	if !ok {
		stack[0] = errnoFault
		return
	}
	if _, err := (cryptoRand{}).Read(b); err != nil {
		stack[0] = errnoIO
		return
	}
	stack[0] = errnoSuccess
}

// wasiFdWrite writes stdout and stderr (fds 1 and 2) to the call's log,
// within its budget; at most abi.MaxIovecs iovecs a call. There is no other
// file to write.
func wasiFdWrite(ctx context.Context, mod api.Module, stack []uint64) {
	inst := wasiCheck(ctx)
	fd, iovs, count, result := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	switch {
	case fd != 1 && fd != 2:
		stack[0] = errnoBadf
		return
	case count > abi.MaxIovecs:
		stack[0] = errnoInval
		return
	}
	mem := mod.Memory()
	vec, ok := mem.Read(iovs, count*8)
	if !ok {
		stack[0] = errnoFault
		return
	}
	var written uint32
	for i := uint32(0); i < count; i++ {
		b, ok := mem.Read(binary.LittleEndian.Uint32(vec[8*i:]), binary.LittleEndian.Uint32(vec[8*i+4:]))
		if !ok {
			stack[0] = errnoFault
			return
		}
		if inst != nil {
			logWriter{inst}.Write(b)
		}
		written += uint32(len(b))
	}
	if !mem.WriteUint32Le(result, written) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}
