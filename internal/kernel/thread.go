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

// call is one system call as read from a mailbox.
type call struct {
	nr   uint64
	args [transport.NumArgs]uint64
	// post, if non-zero, is a Linux system call the guest thread runs on
	// itself after the reply (see internal/transport).
	post     uint64
	postArgs [3]uint64
}

func (p *Process) mailboxState(t *thread) *uint32 {
	return (*uint32)(unsafe.Pointer(&p.mem.Raw(t.mailbox, transport.Size)[transport.OffState]))
}

// startServer starts the goroutine that serves t's system calls.
func (p *Process) startServer(t *thread) {
	p.servers.Add(1)
	go p.serve(t)
}

// serve answers t's system calls until the process dies. It keeps its OS
// thread for the whole time: the futex wait is a blocking system call
// anyway, and not migrating keeps the round trip short.
func (p *Process) serve(t *thread) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // never let the thread die: see sandbox.Start
	defer p.releaseServer()

	le := binary.LittleEndian
	mb := p.mem.Raw(t.mailbox, transport.Size)
	state := p.mailboxState(t)
	supWaiting := (*uint32)(unsafe.Pointer(&mb[transport.OffSupervisorWaiting]))
	guestWaiting := (*uint32)(unsafe.Pointer(&mb[transport.OffGuestWaiting]))
	for {
		s := atomic.LoadUint32(state)
		for i := 0; i < serverSpin && s != transport.StateRequest; i++ {
			s = atomic.LoadUint32(state)
		}
		if p.dead.Load() {
			return
		}
		if s != transport.StateRequest {
			// Announce the sleep before the last look at the state;
			// the guest stores the state before it looks at the flag.
			atomic.StoreUint32(supWaiting, 1)
			if s = atomic.LoadUint32(state); s != transport.StateRequest {
				futex.Wait(state, s, 0)
			}
			atomic.StoreUint32(supWaiting, 0)
			continue
		}
		var c call
		c.nr = le.Uint64(mb[transport.OffNr:])
		for i := range c.args {
			c.args[i] = le.Uint64(mb[transport.OffArgs+8*i:])
		}
		errno := p.dispatch(t, &c)
		if errno == noReply {
			// The process is going away; leave the guest waiting
			// for a reply that never comes.
			<-p.sb.Done()
			return
		}
		le.PutUint64(mb[transport.OffResult:], uint64(errno))
		for i, a := range c.postArgs {
			le.PutUint64(mb[transport.OffPostArgs+8*i:], a)
		}
		le.PutUint64(mb[transport.OffPost:], c.post)
		atomic.StoreUint32(state, transport.StateResponse)
		if atomic.LoadUint32(guestWaiting) != 0 {
			futex.Wake(state, 1)
		}
	}
}

// serverSpin is how many times a server checks for the next call before it
// sleeps, some tens of microseconds: long enough to catch a program that
// makes calls in a loop, short enough not to waste a core on an idle one.
const serverSpin = 1 << 14

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
