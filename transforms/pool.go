package transforms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
	"github.com/sluice-edge/sluice/transforms/internal/interrupt"
)

type phase uint8

const (
	phaseRequest phase = iota
	phaseResponse
	phaseReact
)

var entryNames = [...]string{
	phaseRequest:  abi.ExportOnRequest,
	phaseResponse: abi.ExportOnResponse,
	phaseReact:    abi.ExportOnReact,
}

// module is one compiled module and its pool of instances.
type module struct {
	e         *Engine
	info      Info
	compiled  wazero.CompiledModule
	has       [len(entryNames)]bool
	highWater uint32 // bytes

	idle         chan *instance           // capacity MaxInstances, so a release never blocks
	hot          atomic.Pointer[instance] // the idle instance released last, while no call waits
	waiting      atomic.Int32             // calls waiting in acquire for an instance
	live         atomic.Int32             // instances created and not yet closed
	refillQueued atomic.Bool

	closeOnce sync.Once
	closed    atomic.Bool
}

func (e *Engine) newModule(id string, size int, c wazero.CompiledModule) (*module, error) {
	if err := e.validate(c); err != nil {
		return nil, err
	}
	exports := c.ExportedFunctions()
	m := &module{
		e:        e,
		compiled: c,
		info:     Info{ID: id, Size: size, Exports: sortedExports(exports)},
		idle:     make(chan *instance, e.cfg.MaxInstances),
	}
	for p, name := range entryNames {
		_, m.has[p] = exports[name]
	}
	hw := e.cfg.HighWaterPages
	if min := c.ExportedMemories()[abi.ExportMemory].Min(); min > hw {
		hw = min
	}
	m.highWater = hw * 65536
	return m, nil
}

// instance is one instantiated module, used by one call at a time. It is
// also the context.Context given to wazero for its calls, so host functions
// reach the call's Exchange with a type assertion instead of an allocation.
type instance struct {
	m      *module
	mod    api.Module
	mem    api.Memory
	linear linearMemory
	fns    [len(entryNames)]api.Function
	stack  [1]uint64

	// Deadline machinery, reused across calls: the timer runs onTimer, which expires a call
	// past its due time. watch orders a call's start and end with the timer's callbacks.
	stop     api.MutableGlobal
	timer    *time.Timer
	done     chan struct{}
	fired    atomic.Bool
	deadline atomic.Int64 // of the call, wall clock (for Deadline)
	watch    sync.Mutex
	due      time.Duration // of the call, on the engine's monotonic clock; 0 between calls
	armedFor time.Duration // when the timer fires (0: not set)

	// Per call; set and cleared by the calling goroutine.
	parent context.Context
	ex     *Exchange
	phase  phase
	ended  bool
}

// instantiate creates an instance; callers account for it in live.
func (m *module) instantiate(ctx context.Context) (*instance, error) {
	e := m.e
	inst := &instance{m: m, done: make(chan struct{})}
	inst.timer = time.AfterFunc(math.MaxInt64, inst.onTimer)
	inst.timer.Stop()
	cfg := e.modCfg.WithStdout(logWriter{inst}).WithStderr(logWriter{inst})
	ctx = experimental.WithMemoryAllocator(ctx, &inst.linear)
	// No guest code runs in here (Instrument removed the start section),
	// so instantiation needs no time limit of its own.
	mod, err := e.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		inst.linear.release() // wazero closed the module: no code runs
		return nil, describeFailure(err)
	}
	inst.mod = mod
	inst.mem = mod.Memory()
	inst.stop = mod.ExportedGlobal(interrupt.StopGlobal).(api.MutableGlobal)
	inst.stop.Set(0) // set by Instrument so that nothing ran before this
	// The module's start function (exported by Instrument in place of its
	// start section) and _initialize run under the instance's own timer.
	for _, name := range [...]string{interrupt.StartFunc, abi.ExportInitialize} {
		init := mod.ExportedFunction(name)
		if init == nil {
			continue
		}
		now := time.Now()
		inst.deadline.Store(now.Add(e.startLimit).UnixNano())
		inst.startClock(e.clock(now) + e.startLimit)
		err := init.CallWithStack(inst, nil)
		if !inst.stopClock() {
			err = errors.New("call timed out")
		}
		if err != nil {
			inst.destroy()
			return nil, describeFailure(err)
		}
	}
	for p, name := range entryNames {
		if m.has[p] {
			inst.fns[p] = mod.ExportedFunction(name)
		}
	}
	e.instantiations.Add(1)
	return inst, nil
}

// reserve claims a slot for a new instance if the module is below
// MaxInstances; the caller instantiates, or gives the slot back with
// live.Add(-1) when that fails.
func (m *module) reserve() bool {
	for {
		n := m.live.Load()
		if int(n) >= m.e.cfg.MaxInstances {
			return false
		}
		if m.live.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// instantiateReserved instantiates in a slot claimed by reserve.
func (m *module) instantiateReserved(ctx context.Context) (*instance, error) {
	inst, err := m.instantiate(ctx)
	if err != nil {
		m.live.Add(-1)
	}
	return inst, err
}

// startClock starts the clock of a call due at due (on the engine's clock). The timer stays
// set between calls: a call sets it only when it is not set or would fire after due, and a
// firing that finds the running call's due time still ahead sets it again for then. So a
// call of an instance in steady use costs no timer operation (a Reset and a Stop, each
// taking the runtime's timer locks, cost more than the tiny transform's own work), and a
// guest is still stopped at its own due time.
func (i *instance) startClock(due time.Duration) {
	i.watch.Lock()
	i.due = due
	if i.armedFor == 0 || i.armedFor > due {
		i.timer.Reset(due - i.m.e.clock(time.Now()))
		i.armedFor = due
	}
	i.watch.Unlock()
}

// stopClock ends the call's clock and reports whether the call ended in time: even if the
// guest returned as its time ran out, the stop flag may be set, so the instance is not reused.
func (i *instance) stopClock() bool {
	i.watch.Lock()
	i.due = 0
	inTime := !i.fired.Load()
	i.watch.Unlock()
	return inTime
}

// onTimer runs on the timer's goroutine: it expires the running call when its due time has
// come, sets the timer again when the call has time left, and leaves it unset between calls.
func (i *instance) onTimer() {
	i.watch.Lock()
	defer i.watch.Unlock()
	i.armedFor = 0
	if i.due == 0 || i.fired.Load() {
		return
	}
	if left := i.due - i.m.e.clock(time.Now()); left > 0 {
		i.timer.Reset(left)
		i.armedFor = i.due
		return
	}
	i.expire()
}

// expireIfDue expires the running call if its due time has come.
func (i *instance) expireIfDue() {
	i.watch.Lock()
	if i.due != 0 && !i.fired.Load() && i.m.e.clock(time.Now()) >= i.due {
		i.expire()
	}
	i.watch.Unlock()
}

// expire runs under watch, once, when a call overstays: setting the
// stop flag makes the guest trap at its next yield (the checks
// interrupt.Instrument compiled in yield every 16 384 function entries,
// loop iterations or KiB of bulk operations) or host call (host functions
// trap once fired is set; the guest looks at the flag after each), and the call fails; the
// caller sees fired at stopClock and discards the instance. done is closed
// for host functions waiting on the context.
func (i *instance) expire() {
	i.fired.Store(true)
	i.stop.Set(1)
	close(i.done)
}

// close releases the instance and its slot. Never while a call runs on it.
func (i *instance) close() {
	i.destroy()
	i.m.live.Add(-1)
}

func (i *instance) destroy() {
	i.timer.Stop()
	_ = i.mod.Close(context.Background())
	i.linear.release()
}

// context.Context, for wazero and the host functions.

func (i *instance) Deadline() (time.Time, bool) {
	return time.Unix(0, i.deadline.Load()), true
}
func (i *instance) Done() <-chan struct{} { return i.done }
func (i *instance) Err() error {
	if i.fired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}
func (i *instance) Value(key any) any {
	if p := i.parent; p != nil {
		return p.Value(key)
	}
	return nil
}

// acquire returns an idle instance, creates one when the module is below
// MaxInstances, or waits up to CallTimeout for one.
func (m *module) acquire(ctx context.Context) (*instance, error) {
	if inst := m.takeHot(); inst != nil {
		return inst, nil
	}
	select {
	case inst := <-m.idle:
		return inst, nil
	default:
	}
	if m.reserve() {
		inst, err := m.instantiateReserved(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTransformFailed, err)
		}
		m.e.requestPath.Add(1)
		return inst, nil
	}
	// Counted as waiting before looking at hot again: a release either sees the count and
	// hands its instance over by the channel, or put it in hot before the look (see release).
	m.waiting.Add(1)
	defer m.waiting.Add(-1)
	if inst := m.takeHot(); inst != nil {
		return inst, nil
	}
	t := time.NewTimer(m.e.cfg.CallTimeout)
	defer t.Stop()
	select {
	case inst := <-m.idle:
		return inst, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("transforms: waiting for an instance: %w", ctx.Err())
	case <-t.C:
		return nil, ErrBusy
	}
}

// release returns inst to the pool, or closes it when it failed, grew past
// the high-water mark, or the module was removed.
func (m *module) release(inst *instance, healthy bool) {
	if healthy && inst.mem.Size() > m.highWater {
		healthy = false
		m.e.recycled.Add(1)
	}
	if healthy && !m.closed.Load() {
		if m.hot.CompareAndSwap(nil, inst) {
			// A call that counted itself waiting may have looked at hot before this: it
			// waits on the channel, so the instance goes there.
			if m.waiting.Load() > 0 {
				if inst := m.takeHot(); inst != nil && !m.putIdle(inst) {
					inst.close()
				}
			}
			if m.closed.Load() { // raced with close: drain again
				m.drain()
			}
			return
		}
		if m.putIdle(inst) {
			return
		}
	}
	inst.close()
	if !m.closed.Load() {
		m.e.queueRefill(m)
	}
}

// takeHot takes the instance in hot, if any. A look comes first: swapping an empty slot
// costs a locked instruction.
func (m *module) takeHot() *instance {
	if m.hot.Load() == nil {
		return nil
	}
	return m.hot.Swap(nil)
}

// putIdle puts a healthy inst in the idle channel, or closes it when the channel is full
// (it never is: it holds every instance the module may have). It reports whether inst went
// in.
func (m *module) putIdle(inst *instance) bool {
	select {
	case m.idle <- inst:
		if m.closed.Load() { // raced with close: drain again
			m.drain()
		}
		return true
	default:
		return false
	}
}

// fill creates instances until PoolSize are idle.
func (m *module) fill(stop <-chan struct{}) {
	for !m.closed.Load() && m.idleCount() < m.e.cfg.PoolSize {
		select {
		case <-stop:
			return
		default:
		}
		if !m.reserve() {
			return
		}
		inst, err := m.instantiateReserved(context.Background())
		if err != nil {
			return // validated at Compile; the next release retries
		}
		select {
		case m.idle <- inst:
		default:
			inst.close()
			return
		}
		if m.closed.Load() {
			m.drain()
			return
		}
	}
}

// idleCount returns the number of idle instances.
func (m *module) idleCount() int {
	n := len(m.idle)
	if m.hot.Load() != nil {
		n++
	}
	return n
}

func (m *module) drain() {
	if inst := m.hot.Swap(nil); inst != nil {
		inst.close()
	}
	for {
		select {
		case inst := <-m.idle:
			inst.close()
		default:
			return
		}
	}
}

func (m *module) close() {
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		m.drain()
		_ = m.compiled.Close(context.Background())
	})
}

// run is OnRequest/OnResponse.
func (e *Engine) run(ctx context.Context, id string, ex *Exchange, p phase) (Outcome, error) {
	if ex == nil {
		return Outcome{}, errors.New("transforms: nil exchange")
	}
	m, err := e.lookup(id)
	if err != nil {
		return Outcome{}, err
	}
	if !m.has[p] {
		return Outcome{}, fmt.Errorf("%w: module does not export %q", ErrInvalidModule, entryNames[p])
	}
	if err := ctx.Err(); err != nil {
		return Outcome{}, fmt.Errorf("transforms: %w", err)
	}
	inst, err := m.acquire(ctx)
	if err != nil {
		return Outcome{}, err
	}
	e.calls.Add(1)

	now := time.Now()
	deadline := now.Add(e.cfg.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	inst.deadline.Store(deadline.UnixNano())
	inst.parent, inst.ex, inst.phase, inst.ended = ctx, ex, p, false
	ex.resetCall()
	inst.startClock(max(e.clock(deadline), 1))
	callErr := inst.fns[p].CallWithStack(inst, inst.stack[:])
	inTime := inst.stopClock()
	ret := uint32(inst.stack[0])
	ended := inst.ended
	inst.parent, inst.ex = nil, nil

	switch {
	case !inTime:
		err = fmt.Errorf("%w: call timed out", ErrTransformFailed)
	case callErr != nil:
		err = fmt.Errorf("%w: %v", ErrTransformFailed, describeFailure(callErr))
	case ret == abi.Continue && ended:
		err = fmt.Errorf("%w: guest called end but returned continue", ErrTransformFailed)
	case ret == abi.Ended && !ended:
		err = fmt.Errorf("%w: guest returned ended without calling end", ErrTransformFailed)
	case ret != abi.Continue && ret != abi.Ended:
		err = fmt.Errorf("%w: guest returned %d, want 0 or 1", ErrTransformFailed, int32(ret))
	}
	m.release(inst, err == nil && inTime)
	if err != nil {
		e.failures.Add(1)
		return Outcome{}, err
	}
	if ret == abi.Ended {
		return ex.outcome(), nil
	}
	return Outcome{}, nil
}

// describeFailure turns a wazero call error into a short description with
// no stack trace.
func describeFailure(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return errors.New("call timed out")
		case sys.ExitCodeContextCanceled:
			return errors.New("call canceled")
		}
		return fmt.Errorf("guest exited with code %d", exit.ExitCode())
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

// cryptoRand is the guests' random source (WASI random_get).
type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return rand.Read(p) }

// logWriter routes a guest's stdout and stderr to Services.Log, within the
// call's log budget. Outside a call (during _initialize) output is dropped.
type logWriter struct{ inst *instance }

func (w logWriter) Write(p []byte) (int, error) {
	if ex := w.inst.ex; ex != nil {
		ex.log(p, w.inst.m.e.cfg.MaxLogBytes)
	}
	return len(p), nil
}
