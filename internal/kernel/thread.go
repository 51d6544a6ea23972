package kernel

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
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
// The dispatcher keeps its OS thread: the futex wait is a blocking system
// call anyway, and not migrating keeps the round trip short.
func (p *Process) serve() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // never let the thread die: see sandbox.Start
	defer p.releaseServer()

	doorbell := p.word(p.shared + transport.SharedDoorbell)
	waiting := p.word(p.shared + transport.SharedDispatcherWaiting)
	for {
		seen := atomic.LoadUint32(doorbell)
		if p.dead.Load() {
			return
		}
		if p.drain() {
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
		// guest increments the doorbell before it looks at the flag.
		atomic.StoreUint32(waiting, 1)
		if atomic.LoadUint32(doorbell) == seen && !p.dead.Load() {
			futex.Wait(doorbell, seen, 0)
		}
		atomic.StoreUint32(waiting, 0)
	}
}

// serverSpin is how many times the dispatcher checks the doorbell before it
// sleeps, some tens of microseconds: long enough to catch a program that
// makes calls in a loop, short enough not to waste a core on an idle one.
const serverSpin = 1 << 14

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

// async runs f, the rest of t's call c, on a goroutine of its own (with
// its own copy of the call) and replies with its result. Handlers that may wait (poll, reads from pipes
// and sockets, locks) use it so that the dispatcher stays free for the
// process's other threads. It returns errAsync, for the handler to return.
func (t *thread) async(c *call, f func(c *call) abi.Errno) abi.Errno {
	p := t.proc
	t.busy.Store(true)
	p.servers.Add(1)
	cc := *c
	go func() {
		defer p.releaseServer()
		errno := f(&cc)
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
func (p *Process) dispatch(t *thread, c *call) abi.Errno {
	if c.nr >= uint64(len(syscallTable)) {
		return abi.ENOSYS
	}
	h := syscallTable[c.nr]
	if h == nil {
		return abi.ENOSYS
	}
	return h(t, c)
}

// linuxTid is the thread's id on the host: the sandbox's pid for the main
// thread, and what the host kernel wrote into the mailbox for the others.
func (t *thread) linuxTid() int {
	if t.slot == 0 {
		return t.proc.sb.Pid()
	}
	return int(atomic.LoadUint32(t.proc.word(t.mailbox + transport.OffLinuxTid)))
}
