package kernel

import (
	"container/heap"
	"encoding/binary"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/futex"
	"github.com/cloudabi-go/cloudabi/internal/transport"
)

// thread is one guest thread, as the supervisor sees it.
type thread struct {
	proc *Process
	tid  abi.Tid
	slot int
	// mailbox is the guest address of the thread's mailbox, in the
	// thread area of its slot (see initThreadArea).
	mailbox uint64
	// busy is set while a call of this thread runs on its own goroutine
	// (see async); the dispatcher ignores the thread meanwhile.
	busy atomic.Bool
	// parked is parkedNo, or parkedYes while that goroutine waits on
	// channels that a dispatcher may close, or parkedWoken once one has
	// closed one and counted the goroutine as unstarted in its own
	// process, countedBy (parkedCounting while it does so).
	parked    atomic.Int32
	countedBy atomic.Pointer[Process]
	// started is set by the thread's first call; spawned is the thread
	// this one's last thread_create set up, until this one calls again
	// (see reapUnstarted).
	started atomic.Bool
	spawned atomic.Pointer[thread]
}

const (
	parkedNo = iota
	parkedYes
	parkedCounting
	parkedWoken
)

// park announces that t's goroutine is about to wait; unpark, that it
// runs again. Every park must be followed by an unpark.
func (t *thread) park() { t.parked.Store(parkedYes) }

func (t *thread) unpark() {
	for {
		s := t.parked.Load()
		if s == parkedCounting {
			runtime.Gosched() // woken is between its two stores
			continue
		}
		if t.parked.CompareAndSwap(s, parkedNo) {
			if s == parkedWoken {
				t.countedBy.Load().unstarted.Add(-1)
			}
			return
		}
	}
}

// woken is called by a dispatcher of process by after it has closed a
// channel t's goroutine may wait on: if it waits, it is runnable now, and
// that dispatcher must let it run before going to sleep (see serve). The
// goroutine is by's to count, not t's process's: a lock or condition
// variable shared between processes is released or signalled by another
// process's dispatcher, on whose P the runtime queues the goroutine.
func (t *thread) woken(by *Process) {
	if t.parked.CompareAndSwap(parkedYes, parkedCounting) {
		t.countedBy.Store(by)
		by.unstarted.Add(1)
		t.parked.Store(parkedWoken)
	}
}

// call is one system call as read from a mailbox.
type call struct {
	nr   uint64
	args [transport.NumArgs]uint64
	// post, if non-zero, is a Linux system call the guest thread runs on
	// itself after the reply (see internal/transport).
	post     uint64
	postArgs [transport.NumPostArgs]uint64
}

// errAsync is returned by a handler that has handed its call to a
// goroutine (see async), which will reply by itself.
const errAsync = abi.Errno(0xfffe)

// word returns a pointer to a uint32 of runtime data in guest memory.
func (p *Process) word(addr uint64) *uint32 {
	return (*uint32)(unsafe.Pointer(&p.mem.Raw(addr, 4)[0]))
}

// serve is the process's dispatcher: it waits for threads to ring the
// doorbell and runs their calls. Calls that may block are moved to
// goroutines (async), so the one OS thread serving a process is never held
// by a guest thread that waits, and a thousand blocked guest threads cost
// a thousand parked goroutines, not a thousand OS threads.
//
// The dispatcher also keeps the deadlines of its process's timed waits
// (see timeouts) and sleeps on the doorbell no longer than the earliest.
// It relies neither on the Go runtime's timers nor on another P to run
// what it wakes: while it sleeps in the futex system call it keeps its P,
// and the runtime takes a P back from a system call only at a tick of its
// monitor thread, which backs off to 10 ms when idle. A goroutine made
// runnable here goes to this P's run queue, and a Go timer set by a
// goroutine that ran here to this P's timers; either could wait that long
// (or longer) whenever every other P is busy or held by a blocking call,
// such as another dispatcher's futex wait or the sandbox's waitid. So
// deadlines are fired by the dispatcher itself, and before it goes on it
// yields its P until every goroutine it made runnable has started
// (unstarted). Those goroutines reply to their guest threads; the
// dispatcher, awake meanwhile, answers whatever those threads call next.
//
// The dispatcher is not locked to its OS thread: yielding from a locked
// goroutine hands the P to another thread and back, two thread wake-ups.
func (p *Process) serve() {
	defer p.releaseServer()
	debug.SetPanicOnFault(true) // see recoverFault

	doorbell := p.word(p.shared + transport.SharedDoorbell)
	waiting := p.word(p.shared + transport.SharedDispatcherWaiting)
	for {
		seen := atomic.LoadUint32(doorbell)
		if p.dead.Load() {
			return
		}
		fired := p.timeouts.fire()
		found := p.drain()
		p.yieldToUnstarted()
		if found || fired {
			continue
		}
		moved := false
		for i := 0; i < serverSpin; i++ {
			if atomic.LoadUint32(doorbell) != seen {
				moved = true
				break
			}
		}
		if moved {
			continue
		}
		// Announce the sleep before the last look at the doorbell; a
		// guest increments the doorbell before it looks at the flag,
		// and so does a goroutine that adds an earlier deadline.
		atomic.StoreUint32(waiting, 1)
		if sleep, ok := p.timeouts.next(); ok && atomic.LoadUint32(doorbell) == seen && !p.dead.Load() {
			futex.Wait(doorbell, seen, sleep)
		}
		atomic.StoreUint32(waiting, 0)
	}
}

// serverSpin is how many times the dispatcher checks the doorbell before it
// sleeps, some tens of microseconds: long enough to catch a program that
// makes calls in a loop, short enough not to waste a core on an idle one.
const serverSpin = 1 << 14

// yieldToUnstarted yields the dispatcher's P until the goroutines it made
// runnable have started. Those in this P's run queue run at a yield (the
// scheduler takes one goroutine from the global queue, where a yield puts
// the dispatcher, every 61 turns, so a yield can also come straight
// back); if yields no longer help, the rest were taken by other Ps and
// are not stuck behind this one.
func (p *Process) yieldToUnstarted() {
	const maxIdleYields = 3
	n := p.unstarted.Load()
	for idle := 0; n > 0 && idle < maxIdleYields; {
		runtime.Gosched()
		m := p.unstarted.Load()
		if m < n {
			idle = 0
		} else {
			idle++
		}
		n = m
	}
}

// ring wakes the dispatcher if it sleeps, as a guest thread's call does.
func (p *Process) ring() {
	if atomic.LoadUint32(p.word(p.shared+transport.SharedDispatcherWaiting)) != 0 {
		doorbell := p.word(p.shared + transport.SharedDoorbell)
		atomic.AddUint32(doorbell, 1)
		futex.Wake(doorbell, 1)
	}
}

// drain takes every pending bit and runs the calls behind them. It reports
// whether there were any.
func (p *Process) drain() bool {
	pending := p.mem.Raw(p.shared+transport.SharedPending, transport.MaxThreads/8)
	found := false
	for w := 0; w < transport.MaxThreads/64; w++ {
		word := (*uint64)(unsafe.Pointer(&pending[w*8]))
		if atomic.LoadUint64(word) == 0 {
			continue
		}
		bits := atomic.SwapUint64(word, 0)
		for bits != 0 {
			b := trailingZeros(bits)
			bits &^= 1 << b
			found = true
			if t := p.slots[w*64+b].Load(); t != nil {
				p.handle(t)
			}
		}
	}
	return found
}

func trailingZeros(x uint64) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

// handle runs the call waiting in t's mailbox, if there is one.
func (p *Process) handle(t *thread) {
	if t.busy.Load() {
		return // a well-behaved guest thread waits for its reply
	}
	le := binary.LittleEndian
	mb := p.mem.Raw(t.mailbox, transport.Size)
	if atomic.LoadUint32(p.word(t.mailbox+transport.OffState)) != transport.StateRequest {
		return
	}
	if !t.started.Load() {
		t.started.Store(true) // once: a store on every call would slow the round trip
	}
	if t.spawned.Load() != nil {
		p.reapUnstarted(t.spawned.Swap(nil))
	}
	var c call
	c.nr = le.Uint64(mb[transport.OffNr:])
	for i := range c.args {
		c.args[i] = le.Uint64(mb[transport.OffArgs+8*i:])
	}
	switch errno := p.dispatch(t, &c); errno {
	case errAsync:
		// A goroutine replies.
	case noReply:
		// The thread or process is going away; the guest thread waits
		// for a reply that never comes.
	default:
		p.reply(t, &c, errno)
	}
}

// reply publishes the result of t's call and wakes the guest thread if it
// sleeps.
func (p *Process) reply(t *thread, c *call, errno abi.Errno) {
	le := binary.LittleEndian
	mb := p.mem.Raw(t.mailbox, transport.Size)
	le.PutUint64(mb[transport.OffResult:], uint64(errno))
	for i, a := range c.postArgs {
		le.PutUint64(mb[transport.OffPostArgs+8*i:], a)
	}
	le.PutUint64(mb[transport.OffPost:], c.post)
	state := p.word(t.mailbox + transport.OffState)
	atomic.StoreUint32(state, transport.StateResponse)
	if atomic.LoadUint32(p.word(t.mailbox+transport.OffGuestWaiting)) != 0 {
		futex.Wake(state, 1)
	}
}

// blocked tells t's guest thread, which spins waiting for its reply, that
// the call may wait: it sleeps at once instead (transport.StateBlocked).
// The reply wakes it as usual.
func (t *thread) blocked() {
	atomic.CompareAndSwapUint32(t.proc.word(t.mailbox+transport.OffState), transport.StateRequest, transport.StateBlocked)
}

// async runs f, the rest of t's call c, on a goroutine of its own (with
// its own copy of the call) and replies with its result. Handlers that may wait (poll, reads from pipes
// and sockets, locks) use it so that the dispatcher stays free for the
// process's other threads. It returns errAsync, for the handler to return.
func (t *thread) async(c *call, f func(c *call) abi.Errno) abi.Errno {
	p := t.proc
	t.busy.Store(true)
	t.blocked()
	p.servers.Add(1)
	cc := *c
	p.unstarted.Add(1)
	go func() {
		p.unstarted.Add(-1)
		defer p.releaseServer()
		debug.SetPanicOnFault(true) // see recoverFault
		errno := guarded(f, &cc)
		if errno == noReply || p.dead.Load() {
			return
		}
		// Clear busy before the reply: the thread's next call may
		// arrive as soon as the reply is visible.
		t.busy.Store(false)
		p.reply(t, &cc, errno)
	}()
	return errAsync
}

// dispatch runs one call. A number outside the table is ENOSYS, like a
// syscall the table has no handler for.
func (p *Process) dispatch(t *thread, c *call) (errno abi.Errno) {
	if c.nr >= uint64(len(syscallTable)) {
		return abi.ENOSYS
	}
	h := syscallTable[c.nr]
	if h == nil {
		return abi.ENOSYS
	}
	defer recoverFault(&errno)
	return h(t, c)
}

// Guest memory is checked before the supervisor touches it, but pages
// that map a file (a shared mem_map) can stop existing afterwards: if
// another program on the host truncates the file, touching them raises
// SIGBUS, which would end the whole supervisor. The goroutines that touch
// guest memory therefore run with debug.SetPanicOnFault, and a call that
// faults fails with EFAULT instead. (A fault while the handler holds a
// lock leaves it held: only the faulting process can suffer from that.)
func recoverFault(errno *abi.Errno) {
	if r := recover(); r != nil {
		if _, ok := r.(interface{ Addr() uintptr }); !ok {
			panic(r)
		}
		*errno = abi.EFAULT
	}
}

// guarded runs f(c), turning a memory fault into EFAULT (see recoverFault).
func guarded(f func(c *call) abi.Errno, c *call) (errno abi.Errno) {
	defer recoverFault(&errno)
	return f(c)
}

// timeouts holds the deadlines of a process's timed waits; its dispatcher
// fires them (see serve).
type timeouts struct {
	mu sync.Mutex
	h  timeoutHeap
	n  atomic.Int32 // len(h), for a look without the lock
}

// timeout is one deadline: c is closed when it passes, for the goroutine
// of thread t.
type timeout struct {
	when  time.Time
	index int // in the heap; -1 once fired or stopped
	c     chan struct{}
	t     *thread
}

// maxTimeout is treated as no timeout at all: a deadline centuries away
// never comes, and would not fit in a time.Time.
const maxTimeout = 100 * 365 * 24 * time.Hour

// startTimeout returns a timeout for t's goroutine whose channel is
// closed d from now, or nil (a nil channel: never) if d is negative or at
// least maxTimeout.
func (t *thread) startTimeout(d time.Duration) *timeout {
	if d < 0 || d >= maxTimeout {
		return nil
	}
	tm := &timeout{when: time.Now().Add(d), c: make(chan struct{}), t: t}
	t.proc.timeouts.add(t.proc, tm)
	return tm
}

// C returns the channel that is closed when the deadline passes; nil, a
// channel that never is, for a nil timeout.
func (tm *timeout) C() <-chan struct{} {
	if tm == nil {
		return nil
	}
	return tm.c
}

func (q *timeouts) add(p *Process, tm *timeout) {
	q.mu.Lock()
	heap.Push(&q.h, tm)
	q.n.Store(int32(len(q.h)))
	first := tm.index == 0
	q.mu.Unlock()
	if first {
		// Handlers run on the dispatcher, which is awake; any other
		// goroutine must wake it if it sleeps past the new deadline.
		p.ring()
	}
}

// stop withdraws a timeout that has not fired (nil is allowed). It reports
// whether it had still been pending.
func (q *timeouts) stop(tm *timeout) bool {
	if tm == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if tm.index < 0 {
		return false
	}
	heap.Remove(&q.h, tm.index)
	q.n.Store(int32(len(q.h)))
	return true
}

// fire signals every timeout whose deadline has passed; called by the
// dispatcher. It reports whether there were any.
func (q *timeouts) fire() bool {
	if q.n.Load() == 0 {
		return false
	}
	fired := false
	now := time.Now()
	for {
		q.mu.Lock()
		if len(q.h) == 0 || q.h[0].when.After(now) {
			q.mu.Unlock()
			return fired
		}
		tm := heap.Pop(&q.h).(*timeout)
		q.n.Store(int32(len(q.h)))
		q.mu.Unlock()
		fired = true
		close(tm.c)
		tm.t.woken(tm.t.proc)
	}
}

// next returns how long the dispatcher may sleep: until the earliest
// deadline, or without a limit (0) if there is none. ok is false if a
// deadline has passed already.
func (q *timeouts) next() (sleep time.Duration, ok bool) {
	if q.n.Load() == 0 {
		return 0, true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.h) == 0 {
		return 0, true
	}
	d := time.Until(q.h[0].when)
	return d, d > 0
}

// timeoutHeap orders timeouts by deadline (container/heap).
type timeoutHeap []*timeout

func (h timeoutHeap) Len() int           { return len(h) }
func (h timeoutHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timeoutHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timeoutHeap) Push(x any) {
	tm := x.(*timeout)
	tm.index = len(*h)
	*h = append(*h, tm)
}
func (h *timeoutHeap) Pop() any {
	old := *h
	tm := old[len(old)-1]
	old[len(old)-1] = nil
	tm.index = -1
	*h = old[:len(old)-1]
	return tm
}
