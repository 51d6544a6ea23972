package kernel

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"github.com/cloudabi-go/cloudabi/internal/transport"
	"golang.org/x/sys/unix"
)

// Threads, locks and condition variables.
var threadSyscalls = map[abi.Syscall]handler{
	abi.SysThreadCreate:  sysThreadCreate,
	abi.SysThreadExit:    sysThreadExit,
	abi.SysThreadYield:   sysThreadYield,
	abi.SysLockUnlock:    sysLockUnlock,
	abi.SysCondvarSignal: sysCondvarSignal,
}

func sysThreadCreate(t *thread, c *call) abi.Errno {
	p := t.proc
	raw, errno := p.bytes(c.args[0], abi.SizeofThreadattr, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	le := binary.LittleEndian
	entry := le.Uint64(raw[abi.OffsetofThreadattrEntryPoint:])
	stack := le.Uint64(raw[abi.OffsetofThreadattrStack:])
	stackLen := le.Uint64(raw[abi.OffsetofThreadattrStackLen:])
	arg := le.Uint64(raw[abi.OffsetofThreadattrArgument:])
	if errno := p.checkWritable(c.args[1], 4); errno != abi.ESUCCESS {
		return errno
	}
	// The new thread starts with its entry point, id and argument on its
	// stack, below a zero return address, so that at the entry point
	// %rsp+8 is 16-byte aligned as after a call.
	top := (stack + stackLen) &^ 15
	if stack+stackLen < stack || top < stack+32 {
		return abi.EINVAL
	}
	sp := top - 32
	frame, errno := p.bytes(sp, 32, memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	nt, fsBase, errno := p.newThread()
	if errno != abi.ESUCCESS {
		return errno
	}
	le.PutUint64(frame[0:], entry)
	le.PutUint64(frame[8:], uint64(nt.tid))
	le.PutUint64(frame[16:], arg)
	le.PutUint64(frame[24:], 0)
	if b, errno := p.bytes(c.args[1], 4, memory.ProtWrite); errno == abi.ESUCCESS {
		le.PutUint32(b, uint32(nt.tid))
	}
	linuxTid := nt.mailbox + transport.OffLinuxTid
	t.spawned.Store(nt)
	c.post = unix.SYS_CLONE
	c.postArgs = [transport.NumPostArgs]uint64{sandbox.ThreadCloneFlags, sp, linuxTid, linuxTid, fsBase}
	return abi.ESUCCESS
}

// newThread allocates a thread id, a slot in the pending bitmap and a
// thread area, and registers the thread so that its first call is served.
func (p *Process) newThread() (*thread, uint64, abi.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A slot is free once its last thread has really exited: the host
	// kernel clears the Linux thread id in the mailbox when the thread is
	// gone, and not a moment before. Slot 0, the main thread's, has no
	// such id and is never reused.
	if len(p.threads) >= p.opts.MaxThreads {
		return nil, 0, abi.EAGAIN
	}
	slot := -1
	for i := 1; i < transport.MaxThreads; i++ {
		area := p.areas + uint64(i)*threadAreaSize
		linuxTid := area + (threadAreaPages-1)*pageSize + 0x100 + transport.OffLinuxTid
		if p.slots[i].Load() == nil && atomic.LoadUint32(p.word(linuxTid)) == 0 {
			slot = i
			break
		}
	}
	if slot < 0 {
		return nil, 0, abi.EAGAIN
	}
	area := p.areas + uint64(slot)*threadAreaSize
	fsBase, mailbox, err := initThreadArea(p.mem, area, p.shared, slot)
	if err != nil {
		return nil, 0, abi.EIO
	}
	tid, errno := tids.alloc()
	if errno != abi.ESUCCESS {
		return nil, 0, errno
	}
	nt := &thread{proc: p, tid: tid, slot: slot, mailbox: mailbox}
	p.threads[tid] = nt
	p.slots[slot].Store(nt)
	return nt, fsBase, abi.ESUCCESS
}

// reapUnstarted forgets nt, a thread set up by thread_create, if it never
// came to be: the vDSO's clone failed (EAGAIN or ENOMEM from the host,
// which the guest was told), or the thread ended without a single call.
// Its creator calls again only after its clone returned, when the host
// kernel has written nt's Linux id into its mailbox, and clears it only
// when nt has exited; a thread that never called and has no id is gone.
// Without this, every failed clone would keep a slot and count against
// the process's thread limit for good.
func (p *Process) reapUnstarted(nt *thread) {
	if nt == nil || nt.started.Load() || atomic.LoadUint32(p.word(nt.mailbox+transport.OffLinuxTid)) != 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !nt.started.Load() {
		p.dropThread(nt)
	}
}

// dropThread forgets a thread that has ended, freeing its slot and its id.
// Called with p.mu held; only a thread that is still registered is
// dropped, so an id is never freed twice (it may belong to another
// thread by then).
func (p *Process) dropThread(t *thread) {
	if p.threads[t.tid] != t {
		return
	}
	delete(p.threads, t.tid)
	p.slots[t.slot].CompareAndSwap(t, nil)
	tids.free(t.tid)
}

// dropThreads forgets every thread of a process that can run no more.
func (p *Process) dropThreads() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.threads {
		p.dropThread(t)
	}
}

func sysThreadExit(t *thread, c *call) abi.Errno {
	p := t.proc
	// Release the lock first: this is how pthread_join learns of the exit.
	t.unlock(c.args[0], abi.Scope(c.args[1]))
	p.mu.Lock()
	p.dropThread(t)
	p.mu.Unlock()
	c.post = unix.SYS_EXIT
	c.postArgs = [transport.NumPostArgs]uint64{}
	return abi.ESUCCESS
}

func sysThreadYield(t *thread, c *call) abi.Errno {
	// The guest thread is what should yield, not the supervisor.
	c.post = unix.SYS_SCHED_YIELD
	return abi.ESUCCESS
}
