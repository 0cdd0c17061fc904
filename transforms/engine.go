package transforms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
	"github.com/sluice-edge/sluice/transforms/internal/interrupt"
)

// Errors. Every error the package returns wraps one of these; test with
// errors.Is. Their text never contains message data.
var (
	// ErrInvalidModule: the module cannot be used (does not compile,
	// imports something the edge does not provide, lacks the exports, …).
	// The wrapping error's message names the reason.
	ErrInvalidModule = errors.New("transforms: invalid module")
	// ErrUnknownModule: no module with that id was compiled (or it was removed).
	ErrUnknownModule = errors.New("transforms: unknown module")
	// ErrTransformFailed: the call trapped, timed out, ran out of memory,
	// exited or broke the ABI. The instance is discarded.
	ErrTransformFailed = errors.New("transforms: transform failed")
	// ErrBusy: every instance of the module stayed busy for CallTimeout,
	// or every compilation slot for CompileTimeout.
	ErrBusy = errors.New("transforms: busy")
	// ErrClosed: the Engine was closed.
	ErrClosed = errors.New("transforms: engine closed")
)

// Defaults of Config.
const (
	DefaultMemoryLimitPages = 512 // 32 MiB
	DefaultCallTimeout      = time.Second
	DefaultPoolSize         = 2
	DefaultMaxLogBytes      = 16 << 10
	DefaultMaxBodyBytes     = 32 << 20
	DefaultMaxTokens        = 100
	DefaultCompileTimeout   = 30 * time.Second
	DefaultMaxHTTPRequests  = 10
)

// ModuleLimits bound the shape of an uploaded module, checked before it is
// compiled (see interrupt.Limits for what each bounds and why).
type ModuleLimits = interrupt.Limits

// DefaultModuleLimits are the ModuleLimits of a zero Config.
var DefaultModuleLimits = interrupt.DefaultLimits

// Config configures an Engine. The zero value of each field selects its
// default. Config is a plain value: New copies it, later changes have no
// effect.
type Config struct {
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages
	// (default 512 = 32 MiB, at most 65536). Modules declaring more are
	// refused at Compile.
	MemoryLimitPages uint32
	// HighWaterPages: an instance whose memory grew beyond this after a call
	// is closed and replaced (Go guests' heaps only grow). Default: half of
	// MemoryLimitPages, and never below a module's initial memory.
	HighWaterPages uint32
	// CallTimeout bounds one call (default 1 s). Instantiation, including
	// _initialize, gets max(CallTimeout, 2 s).
	CallTimeout time.Duration
	// PoolSize is the number of warm instances kept per module (default 2).
	PoolSize int
	// MaxInstances caps the live instances per module; calls beyond it wait
	// up to CallTimeout for one (default max(PoolSize, 2×GOMAXPROCS)).
	MaxInstances int
	// MaxLogBytes bounds what one call may log (default 16 KiB).
	MaxLogBytes int
	// MaxBodyBytes caps a body the guest writes (default 32 MiB).
	MaxBodyBytes int
	// MaxTokens caps the tokens one call may create with tokenize
	// (default 100).
	MaxTokens int
	// CompileTimeout bounds one Compile's compilation (default 30 s); a
	// module that takes longer is refused.
	CompileTimeout time.Duration
	// MaxCompiles bounds the compilations running at once (default
	// GOMAXPROCS); others wait for a slot, up to CompileTimeout.
	MaxCompiles int
	// ModuleLimits bound the shape of a module; a zero field selects its
	// DefaultModuleLimits value.
	ModuleLimits ModuleLimits
	// CacheDir, if set, keeps compiled code on disk across restarts.
	CacheDir string
	// HTTPDoer performs the guests' sluice.http_request calls; nil refuses
	// them (ErrNotAllowed).
	HTTPDoer HTTPDoer
	// MaxHTTPRequests caps the http_request calls of one call (default 10).
	MaxHTTPRequests int
	// MaxHTTPResponseBytes caps the body of one http_request response
	// (default MaxBodyBytes).
	MaxHTTPResponseBytes int
}

func (c Config) withDefaults() (Config, error) {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.MemoryLimitPages > 65536 {
		return c, fmt.Errorf("transforms: memory limit %d pages is over 65536", c.MemoryLimitPages)
	}
	if c.HighWaterPages == 0 {
		c.HighWaterPages = c.MemoryLimitPages / 2
	}
	if c.HighWaterPages > c.MemoryLimitPages {
		c.HighWaterPages = c.MemoryLimitPages
	}
	if c.CallTimeout < 0 || c.PoolSize < 0 || c.MaxInstances < 0 || c.MaxLogBytes < 0 ||
		c.MaxBodyBytes < 0 || c.MaxTokens < 0 || c.CompileTimeout < 0 || c.MaxCompiles < 0 ||
		c.MaxHTTPRequests < 0 || c.MaxHTTPResponseBytes < 0 {
		return c, errors.New("transforms: negative config value")
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxInstances == 0 {
		c.MaxInstances = max(c.PoolSize, 2*runtime.GOMAXPROCS(0))
	}
	if c.MaxInstances < c.PoolSize {
		c.MaxInstances = c.PoolSize
	}
	if c.MaxLogBytes == 0 {
		c.MaxLogBytes = DefaultMaxLogBytes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	if c.MaxHTTPRequests == 0 {
		c.MaxHTTPRequests = DefaultMaxHTTPRequests
	}
	if c.MaxHTTPResponseBytes == 0 {
		c.MaxHTTPResponseBytes = c.MaxBodyBytes
	}
	if c.CompileTimeout == 0 {
		c.CompileTimeout = DefaultCompileTimeout
	}
	if c.MaxCompiles == 0 {
		c.MaxCompiles = runtime.GOMAXPROCS(0)
	}
	c.ModuleLimits = withDefaultLimits(c.ModuleLimits)
	return c, nil
}

func withDefaultLimits(l ModuleLimits) ModuleLimits {
	d := DefaultModuleLimits
	for _, f := range [...]struct{ v, def *int }{
		{&l.Functions, &d.Functions}, {&l.BodyBytes, &d.BodyBytes},
		{&l.Locals, &d.Locals}, {&l.ControlFlow, &d.ControlFlow},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// Info describes a compiled module.
type Info struct {
	ID      string   // "sha256:<hex of the module bytes>"
	Size    int      // bytes
	Exports []string // the entry points it exports, sorted
}

// Transform reports whether the module can run as a transform: it exports
// sluice_on_request or sluice_on_response.
func (i Info) Transform() bool {
	return slices.Contains(i.Exports, abi.ExportOnRequest) || slices.Contains(i.Exports, abi.ExportOnResponse)
}

// Reactor reports whether the module can run as a reactor: it exports
// sluice_on_react.
func (i Info) Reactor() bool { return slices.Contains(i.Exports, abi.ExportOnReact) }

// Stats are cumulative counters of an Engine, for tests and metrics.
type Stats struct {
	Instantiations            uint64 // instances created
	RequestPathInstantiations uint64 // of those, created inside a call (zero once the pool is warm)
	Calls                     uint64 // transform calls started
	Failures                  uint64 // calls that failed with ErrTransformFailed
	Recycled                  uint64 // healthy instances closed for memory high-water
	Compiling                 int64  // compilations running now
}

// Engine compiles transform modules and runs them. It is safe for
// concurrent use. Close it to release everything.
type Engine struct {
	cfg        Config
	rt         wazero.Runtime
	cache      wazero.CompilationCache
	modCfg     wazero.ModuleConfig
	startLimit time.Duration
	epoch      time.Time // zero of the calls' clock (monotonic: a wall clock step moves no due time)

	compiles chan struct{} // a slot per compilation running (MaxCompiles)
	mu       sync.RWMutex
	modules  map[string]*module
	closed   bool
	last     atomic.Pointer[module] // the module lookup found last, while it is in modules

	refill chan *module
	stop   chan struct{}
	wg     sync.WaitGroup

	instantiations, requestPath, calls, failures, recycled atomic.Uint64
	compiling                                              atomic.Int64
}

// New creates an Engine.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rc := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2).
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithMemoryCapacityFromMax(true)
	// No WithCloseOnContextDone: guests are stopped by the checks
	// interrupt.Instrument compiles in (see instance.expire).
	e := &Engine{
		cfg:        cfg,
		modules:    make(map[string]*module),
		refill:     make(chan *module, 64),
		compiles:   make(chan struct{}, cfg.MaxCompiles),
		stop:       make(chan struct{}),
		startLimit: max(cfg.CallTimeout, 2*time.Second),
		epoch:      time.Now(),
	}
	if cfg.CacheDir != "" {
		e.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("transforms: compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(e.cache)
	}
	e.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if err := instantiateWASI(ctx, e.rt); err != nil {
		_ = e.rt.Close(ctx)
		return nil, err
	}
	if err := instantiateHost(ctx, e.rt); err != nil {
		_ = e.rt.Close(ctx)
		return nil, fmt.Errorf("transforms: host module: %w", err)
	}
	e.modCfg = wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // none: instantiate runs _initialize
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(cryptoRand{})
	e.wg.Add(1)
	go e.refiller()
	return e, nil
}

// clock returns t on the calls' clock: the time since the engine's epoch, by the monotonic
// clock when t has its reading.
func (e *Engine) clock(t time.Time) time.Duration { return t.Sub(e.epoch) }

// Close stops the engine and releases every module and instance. Calls in
// flight fail.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	mods := e.modules
	e.modules = nil
	e.last.Store(nil)
	e.mu.Unlock()
	close(e.stop)
	e.wg.Wait()
	for _, m := range mods {
		m.close()
	}
	err := e.rt.Close(ctx)
	if e.cache != nil {
		_ = e.cache.Close(ctx)
	}
	return err
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{
		Instantiations:            e.instantiations.Load(),
		RequestPathInstantiations: e.requestPath.Load(),
		Calls:                     e.calls.Load(),
		Failures:                  e.failures.Load(),
		Recycled:                  e.recycled.Load(),
		Compiling:                 e.compiling.Load(),
	}
}

// ModuleID returns the id Compile gives to wasm: "sha256:<hex>".
func ModuleID(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Compile validates and compiles wasm, fills its instance pool, and keeps it
// under its id until Remove. Compiling the same bytes again returns the same
// Info without work. wasm is not retained. Errors that are the module's
// fault wrap ErrInvalidModule and name the reason; ErrBusy means no
// compilation slot freed up within CompileTimeout.
//
// Compilations run concurrently, up to MaxCompiles: a slow one delays no
// other beyond taking a slot, and is abandoned at CompileTimeout.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (Info, error) {
	id := ModuleID(wasm)
	e.mu.RLock()
	closed, m := e.closed, e.modules[id]
	e.mu.RUnlock()
	if closed {
		return Info{}, ErrClosed
	}
	if m != nil {
		return m.info, nil
	}
	// The shape limits come first: they are what keeps compiling bounded.
	instrumented, err := interrupt.Instrument(wasm, e.cfg.ModuleLimits)
	switch {
	case errors.Is(err, interrupt.ErrNoMemory):
		return Info{}, invalid("module does not export %q", abi.ExportMemory)
	case errors.Is(err, interrupt.ErrOverLimit):
		return Info{}, invalid("module is too complex to compile: %v", err)
	case err != nil:
		return Info{}, invalid("module does not compile: %v", err)
	}
	compiled, err := e.compile(ctx, instrumented)
	if err != nil {
		return Info{}, err
	}
	m, err = e.newModule(id, len(wasm), compiled)
	if err != nil {
		_ = compiled.Close(ctx)
		return Info{}, err
	}
	// Fill the pool now: this also runs _initialize, so a module that traps
	// or hangs there is refused at upload rather than on the request path.
	for i := 0; i < e.cfg.PoolSize; i++ {
		m.live.Add(1)
		inst, err := m.instantiateReserved(ctx)
		if err != nil {
			m.close()
			if ctx.Err() != nil {
				return Info{}, fmt.Errorf("transforms: instantiate: %w", ctx.Err())
			}
			return Info{}, invalid("module does not instantiate: %v", err)
		}
		m.idle <- inst
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		m.close()
		return Info{}, ErrClosed
	}
	if prev := e.modules[id]; prev != nil { // the same bytes, compiled concurrently
		e.mu.Unlock()
		m.close()
		return prev.info, nil
	}
	e.modules[id] = m
	e.mu.Unlock()
	return m.info, nil
}

// errCompileTimeout is the cause of a compile abandoned at CompileTimeout.
var errCompileTimeout = errors.New("transforms: compile timed out")

// compile compiles an instrumented module in a compilation slot, within
// CompileTimeout (the wait for the slot included).
func (e *Engine) compile(ctx context.Context, instrumented []byte) (wazero.CompiledModule, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, e.cfg.CompileTimeout, errCompileTimeout)
	defer cancel()
	select {
	case e.compiles <- struct{}{}:
		e.compiling.Add(1)
		defer func() { e.compiling.Add(-1); <-e.compiles }()
	case <-ctx.Done():
		if context.Cause(ctx) == errCompileTimeout {
			return nil, fmt.Errorf("%w: every compilation slot stayed taken", ErrBusy)
		}
		return nil, fmt.Errorf("transforms: compile: %w", ctx.Err())
	}
	// wazero checks for cancellation between functions only when it
	// compiles with more than one worker; ModuleLimits bound one function.
	compiled, err := e.rt.CompileModule(experimental.WithCompilationWorkers(ctx, 2), instrumented)
	if err == nil {
		return compiled, nil
	}
	switch {
	case context.Cause(ctx) == errCompileTimeout:
		return nil, invalid("module took longer than %v to compile", e.cfg.CompileTimeout)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("transforms: compile: %w", ctx.Err())
	}
	return nil, invalid("module does not compile: %v", err)
}

// Remove forgets the module with id and closes its idle instances; calls in
// flight run to completion and their instances are closed as they return.
// It reports whether the module was present.
func (e *Engine) Remove(id string) bool {
	e.mu.Lock()
	m := e.modules[id]
	delete(e.modules, id)
	if m != nil {
		e.last.CompareAndSwap(m, nil)
	}
	e.mu.Unlock()
	if m == nil {
		return false
	}
	m.close()
	return true
}

// Has reports whether a module with id is compiled.
func (e *Engine) Has(id string) bool {
	e.mu.RLock()
	_, ok := e.modules[id]
	e.mu.RUnlock()
	return ok
}

// Info returns the Info of the module with id.
func (e *Engine) Info(id string) (Info, bool) {
	e.mu.RLock()
	m, ok := e.modules[id]
	e.mu.RUnlock()
	if !ok {
		return Info{}, false
	}
	return m.info, true
}

// OnRequest runs the module's sluice_on_request on ex. On a nil error the
// Outcome says whether to continue (with ex's Changed parts replaced) or
// end the exchange. On an error the guest may have replaced some parts
// before failing: fail the exchange, do not forward ex. See Exchange for
// the ownership of ex's bytes.
func (e *Engine) OnRequest(ctx context.Context, id string, ex *Exchange) (Outcome, error) {
	return e.run(ctx, id, ex, phaseRequest)
}

// OnResponse runs the module's sluice_on_response on ex; as OnRequest.
func (e *Engine) OnResponse(ctx context.Context, id string, ex *Exchange) (Outcome, error) {
	return e.run(ctx, id, ex, phaseResponse)
}

// lookup returns the module with id. The one it found last is compared first: a proxy's
// transform is looked up on every request, and hashing its id costs more than comparing it.
// last is set and cleared under mu, so it never outlives the module's place in modules.
func (e *Engine) lookup(id string) (*module, error) {
	if m := e.last.Load(); m != nil && m.info.ID == id {
		return m, nil
	}
	e.mu.RLock()
	m, closed := e.modules[id], e.closed
	if m != nil {
		e.last.Store(m)
	}
	e.mu.RUnlock()
	if m == nil {
		if closed {
			return nil, ErrClosed
		}
		return nil, ErrUnknownModule
	}
	return m, nil
}

// refiller tops up the pools of modules that lost instances, off the
// request path.
func (e *Engine) refiller() {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case m := <-e.refill:
			m.refillQueued.Store(false)
			m.fill(e.stop)
		}
	}
}

func (e *Engine) queueRefill(m *module) {
	if m.refillQueued.CompareAndSwap(false, true) {
		select {
		case e.refill <- m:
		default:
			m.refillQueued.Store(false)
		}
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidModule}, args...)...)
}

func sortedExports(m map[string]api.FunctionDefinition) []string {
	var out []string
	for _, name := range entryNames {
		if _, ok := m[name]; ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
