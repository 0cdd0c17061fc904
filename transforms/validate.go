package transforms

import (
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
	"github.com/sluice-edge/sluice/transforms/internal/interrupt"
)

// wasiAllowed lists the wasi_snapshot_preview1 functions a module may
// import: exactly those the Go runtime and syscall package of GOOS=wasip1
// declare. With no preopened directory, no sockets, no arguments and no
// environment, the file and socket functions all fail with an errno.
var wasiAllowed = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range strings.Fields(`
		args_get args_sizes_get environ_get environ_sizes_get clock_time_get random_get
		poll_oneoff sched_yield proc_exit fd_close fd_fdstat_get fd_fdstat_set_flags
		fd_fdstat_set_rights fd_filestat_get fd_filestat_set_size fd_pread fd_pwrite fd_read
		fd_readdir fd_seek fd_sync fd_write fd_prestat_get fd_prestat_dir_name
		path_create_directory path_filestat_get path_filestat_set_times path_link path_open
		path_readlink path_remove_directory path_rename path_symlink path_unlink_file
		sock_accept sock_shutdown`) {
		m[name] = true
	}
	return m
}()

// validate checks what Compile promises: imports only from the edge, the
// entry points with the right types, an exported memory within the limit.
func (e *Engine) validate(c wazero.CompiledModule) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case abi.ImportModule:
			sig, ok := hostSignatures[name]
			if !ok {
				return invalid("module imports %q.%q which the edge does not provide", mod, name)
			}
			if !sameTypes(f.ParamTypes(), sig.params) || !sameTypes(f.ResultTypes(), sig.results) {
				return invalid("module imports %q.%q with the wrong signature", mod, name)
			}
		case abi.WASIModule:
			if !wasiAllowed[name] {
				return invalid("module imports %q.%q which the edge does not provide", mod, name)
			}
		default:
			return invalid("module imports %q.%q which the edge does not provide", mod, name)
		}
	}
	if mems := c.ImportedMemories(); len(mems) > 0 {
		mod, name, _ := mems[0].Import()
		return invalid("module imports memory %q.%q which the edge does not provide", mod, name)
	}
	mem, ok := c.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return invalid("module does not export %q", abi.ExportMemory)
	}
	if mem.Min() > e.cfg.MemoryLimitPages {
		return invalid("module memory starts at %d pages, over the limit of %d", mem.Min(), e.cfg.MemoryLimitPages)
	}
	exports := c.ExportedFunctions()
	if _, ok := exports[abi.ExportStart]; ok {
		return invalid("module exports %q (a command); build a reactor, e.g. go build -buildmode=c-shared", abi.ExportStart)
	}
	found := false
	for _, name := range entryNames {
		f, ok := exports[name]
		if !ok {
			continue
		}
		found = true
		if len(f.ParamTypes()) != 0 || !sameTypes(f.ResultTypes(), []api.ValueType{api.ValueTypeI32}) {
			return invalid("module exports %q with the wrong signature, want () -> i32", name)
		}
	}
	if !found {
		return invalid("module exports none of %q, %q and %q", abi.ExportOnRequest, abi.ExportOnResponse, abi.ExportOnReact)
	}
	if f, ok := exports[abi.ExportInitialize]; ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		return invalid("module exports %q with the wrong signature, want () -> ()", abi.ExportInitialize)
	}
	// The start section, exported by interrupt.Instrument: wazero no longer checks its type.
	if f, ok := exports[interrupt.StartFunc]; ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		return invalid("module's start function has the wrong signature, want () -> ()")
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
