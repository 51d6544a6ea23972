package kernel

import (
	"encoding/binary"
	"os"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"github.com/cloudabi-go/cloudabi/internal/transport"
)

// proc_fork copies the process: a new sandbox process with a copy of the
// memory and of the fd table, in which only the calling thread runs. The
// child resumes that thread in the vDSO's forkChild routine, which
// restores the registers the vDSO saved at the call and returns from
// proc_fork with the outputs the supervisor wrote into the child's memory:
// CLOUDABI_PROCESS_CHILD and the thread's id. The parent gets a process
// descriptor for the child, and the child thread's id as well (the ABI
// leaves it undefined there; FreeBSD reports it).
//
// The thread gets a new id in the child, unique like every thread id (see
// tids): a lock word in memory shared with the parent must not confuse
// the two. Locks the thread held at the fork still name its old id in the
// child's copy of private memory; C libraries rewrite them with the new id
// (cloudlibc does), or release nothing they held across a fork.
func sysProcFork(t *thread, c *call) abi.Errno {
	p := t.proc
	fdOut, tidOut := c.args[0], c.args[1]
	if errno := p.checkWritable(fdOut, 4); errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(tidOut, 4); errno != abi.ESUCCESS {
		return errno
	}
	if p.family.procs.Add(1) > p.family.maxProcs {
		p.family.procs.Add(-1)
		return abi.EAGAIN
	}
	if errno := hostFilesExhausted(1); errno != abi.ESUCCESS {
		return errno
	}
	child, childTid, errno := p.fork(t, fdOut, tidOut)
	if errno != abi.ESUCCESS {
		return errno
	}
	// The descriptor stands for the child; its host fd is a pidfd (or,
	// if the child is gone already, /dev/null: nothing is done with it).
	var f *os.File
	if pidfd, err := child.sb.DupPidfd(); err == nil {
		f = os.NewFile(uintptr(pidfd), "process")
	} else if f, err = os.Open(os.DevNull); err != nil {
		child.Kill()
		return errnoOf(err)
	}
	h := newHostFile(f)
	h.proc = child
	base, inh := maxRights(abi.FiletypeProcess)
	fd, errno := p.fds.insertLowest(&descriptor{file: h, filetype: abi.FiletypeProcess, rights: base, inheriting: inh})
	if errno != abi.ESUCCESS {
		return errno // insertLowest released h, which ended the child
	}
	le := binary.LittleEndian
	if b, errno := p.bytes(fdOut, 4, memory.ProtWrite); errno == abi.ESUCCESS {
		le.PutUint32(b, uint32(fd))
	}
	if b, errno := p.bytes(tidOut, 4, memory.ProtWrite); errno == abi.ESUCCESS {
		le.PutUint32(b, uint32(childTid))
	}
	return abi.ESUCCESS
}

// freezeTimeout bounds how long a fork waits for the parent's threads to
// stop before it copies their memory anyway.
const freezeTimeout = 100 * time.Millisecond

// snapshot copies the process's memory for a child, with every thread of
// the process stopped, so that the copy is the memory at one instant, as
// a fork's is: another thread writing meanwhile would otherwise leave
// the child pages from different moments. Should a thread fail to stop
// in time, the copy is made all the same.
func (p *Process) snapshot() (*memory.Memory, error) {
	p.forkMu.Lock()
	defer p.forkMu.Unlock()
	thaw, _ := p.sb.Freeze(freezeTimeout)
	defer thaw()
	return p.mem.Clone()
}

// fork builds and starts the child of a proc_fork by thread t, and
// returns it with the id of its thread. The caller has counted the child
// in the family.
func (p *Process) fork(t *thread, fdOut, tidOut uint64) (*Process, abi.Tid, abi.Errno) {
	tid, errno := tids.alloc()
	if errno != abi.ESUCCESS {
		p.family.procs.Add(-1)
		return nil, 0, errno
	}
	mem, err := p.snapshot()
	if err != nil {
		tids.free(tid)
		p.family.procs.Add(-1)
		return nil, 0, abi.ENOMEM
	}
	child := &Process{
		mem:     mem,
		fds:     p.fds.clone(),
		opts:    p.opts,
		family:  p.family,
		vdso:    p.vdso,
		shared:  p.shared,
		areas:   p.areas,
		threads: make(map[abi.Tid]*thread),
		done:    make(chan struct{}),
		died:    make(chan struct{}),
	}
	child.servers.Store(1)
	p.mu.Lock()
	// Threads of the parent do not exist in the child: forget the Linux
	// thread ids their slots hold, or the slots would never be free.
	for i := range p.slots {
		if o := p.slots[i].Load(); o != nil && o != t {
			binary.LittleEndian.PutUint32(mem.Raw(o.mailbox+transport.OffLinuxTid, 4), 0)
		}
	}
	p.mu.Unlock()
	ct := &thread{proc: child, tid: tid, slot: t.slot, mailbox: t.mailbox}
	child.threads[ct.tid] = ct
	child.slots[ct.slot].Store(ct)

	// Reset the transport state the copy caught mid-call.
	clear(mem.Raw(p.shared, transport.SharedSize))
	mb := mem.Raw(ct.mailbox, transport.Size)
	le := binary.LittleEndian
	le.PutUint32(mb[transport.OffState:], transport.StateIdle)
	le.PutUint32(mb[transport.OffGuestWaiting:], 0)
	le.PutUint64(mb[transport.OffPost:], 0)
	le.PutUint64(mb[transport.OffResult:], 0)
	// The child's outputs, checked writable in the parent's (identical)
	// mappings.
	le.PutUint32(mem.Raw(fdOut, 4), uint32(abi.ProcessChild))
	le.PutUint32(mem.Raw(tidOut, 4), uint32(ct.tid))

	fsBase := p.areas + uint64(t.slot)*threadAreaSize + (threadAreaPages-1)*pageSize
	entry := sandbox.Entry{PC: p.vdso + vdsoImage.ForkChild, FSBase: fsBase}
	if errno := child.offerSharedFiles(ct.mailbox, &entry); errno != abi.ESUCCESS {
		child.dropThreads()
		child.fds.closeAll()
		p.family.procs.Add(-1)
		mem.Close()
		return nil, 0, errno
	}
	if err := child.run(entry, nil); err != nil { // run drops the thread
		sandbox.DropStartOffers(mem)
		child.fds.closeAll()
		return nil, 0, abi.EAGAIN
	}
	return child, tid, abi.ESUCCESS
}

// offerSharedFiles makes a forked child share its parent's shared file
// mappings, as POSIX fork does: the supervisor's view of the child's
// memory maps the same files already (memory.Clone), and the child's
// thread starts at the vDSO's forkMap routine, which fetches each file
// (sandbox.OfferAtStart) and maps it where the supervisor says, before it
// resumes as forkChild.
func (child *Process) offerSharedFiles(mailbox uint64, entry *sandbox.Entry) abi.Errno {
	mem := child.mem
	fms, err := mem.FileMappings()
	if err != nil {
		return abi.ENOMEM
	}
	if len(fms) == 0 {
		return abi.ESUCCESS
	}
	args := mem.Raw(mailbox+transport.OffPostArgs, 8*transport.NumPostArgs)
	le := binary.LittleEndian
	files := make([]sandbox.Offered, len(fms))
	for i, fm := range fms {
		files[i] = sandbox.Offered{FD: fm.FD, Before: func() {
			// The listener runs this, which does not keep the memory.
			if child.servers.Add(1) <= 1 {
				child.servers.Add(-1)
				return
			}
			defer child.releaseServer()
			le.PutUint64(args[0:], fm.Addr)
			le.PutUint64(args[8:], fm.Len)
			le.PutUint64(args[16:], uint64(fm.Prot))
			le.PutUint64(args[24:], fm.Off)
		}}
	}
	le.PutUint64(args[32:], sandbox.OfferAtStart(mem, files))
	entry.PC += vdsoImage.ForkMap - vdsoImage.ForkChild
	return abi.ESUCCESS
}

// exitEvent describes how a process ended, for a PROC_TERMINATE event:
// the signal that ended it, or 0 and its exit code.
func (s ExitStatus) exitEvent() (abi.Signal, uint32) {
	if s.Exited {
		return 0, s.Code
	}
	sig := s.Signal
	if sig == 0 {
		sig = abi.SigKill
	}
	return sig, 0
}
