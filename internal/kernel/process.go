// Package kernel implements CloudABI system calls for processes running in
// sandboxes.
//
// A Process owns everything the guest can name: its memory (internal/memory),
// its fd table with the rights of each descriptor, and its threads. Each
// guest thread has a mailbox in guest memory and a server goroutine that
// waits on it, decodes the call and runs the handler from the syscall table
// (syscalls.go). No state is global: one supervisor can host any number of
// processes.
package kernel

import (
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/futex"
	"github.com/cloudabi-go/cloudabi/internal/loader"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"github.com/cloudabi-go/cloudabi/internal/transport"
	"golang.org/x/sys/unix"
)

// FD is a file descriptor handed to a new process.
type FD struct {
	// File is the host file; the process takes ownership of it.
	File *os.File
	// Rights limits the descriptor. Zero values mean the maximum rights
	// for the file's type.
	Rights, Inheriting abi.Rights
}

// Options tunes a new process.
type Options struct {
	// MemorySize is the size of the guest address space region.
	MemorySize uint64
	// MemoryLimit bounds the bytes the guest may have mapped (0: none).
	MemoryLimit uint64
	// StackSize is the size of the main thread's stack.
	StackSize uint64
	// MaxProcesses bounds the processes a program and its descendants
	// may have at once (proc_fork fails with EAGAIN beyond it).
	MaxProcesses int
	// MaxFDs bounds the descriptors of one process (EMFILE beyond it);
	// DefaultMaxFDs if zero, at most 65,536.
	MaxFDs int
	// MaxThreads bounds the threads of one process, the main thread
	// included (thread_create fails with EAGAIN beyond it); at most and
	// by default transport.MaxThreads.
	MaxThreads int
	// CPUTime bounds the CPU time of one process, all its threads
	// together, rounded up to whole seconds (0: none). A process over it
	// is stopped with SIGXCPU.
	CPUTime time.Duration
	// Started, if not nil, is called by Start once the process's sandbox
	// exists, before any of its system calls is served.
	Started func()
}

// Defaults for Options fields left zero.
const (
	DefaultMemorySize   = 8 << 30
	DefaultStackSize    = 8 << 20
	DefaultMaxProcesses = 64
	DefaultMaxFDs       = 1024
)

// family is shared by a program and every process forked from it.
type family struct {
	procs    atomic.Int32 // processes alive
	maxProcs int32
}

// Process is a running CloudABI process.
type Process struct {
	mem *memory.Memory
	sb  *sandbox.Process
	fds *fdTable

	opts   Options
	family *family
	// next is the process that replaced this one by proc_exec: this
	// Process then stands for it, to its parent and to Wait.
	next atomic.Pointer[Process]
	// vdso is the guest address of the vDSO.
	vdso uint64

	// shared is the guest address of the area where threads ring the
	// dispatcher's doorbell (see internal/transport).
	shared uint64
	// areas is the guest address of the thread areas, one per slot.
	areas uint64
	// slots maps pending bits to threads; the dispatcher reads it without
	// taking mu.
	slots [transport.MaxThreads]atomic.Pointer[thread]

	// forkMu serializes the copies of memory for proc_fork, which stop
	// and resume the process's threads.
	forkMu sync.Mutex

	mu      sync.Mutex
	threads map[abi.Tid]*thread // all of whose ids are taken from tids
	// reaped is set under mu once reap has looked for an image that
	// replaced this one (next).
	reaped bool

	// servers counts the dispatcher, goroutines running calls, and one
	// for the process itself; guest memory is released when it drops to
	// zero, so a handler that is still running never sees its buffers
	// disappear.
	servers atomic.Int32
	dead    atomic.Bool

	// poller waits for fds on behalf of poll, started on first use.
	pollerOnce sync.Once
	poller     *fdPoller
	pollerErr  error

	// locks holds the queues of threads waiting on user-space locks and
	// condition variables.
	locks lockTable

	// timeouts are the deadlines of timed waits, which the dispatcher
	// fires; unstarted counts the goroutines the dispatcher has made
	// runnable that have not run yet (see serve).
	timeouts  timeouts
	unstarted atomic.Int32

	// limitExceeded is set when the process was killed for using more
	// memory than its limit.
	limitExceeded atomic.Bool

	// exit is set by proc_exit; raised by proc_raise.
	exitCode atomic.Pointer[uint32]
	raised   atomic.Uint32

	// died is closed when the sandbox process has ended (dead is set):
	// calls waiting for it give up. done is closed when the process is
	// over for its parent: after the image that replaced it with
	// proc_exec has ended too.
	died     chan struct{}
	deadOnce sync.Once
	done     chan struct{}
	exit     ExitStatus
}

// Start loads exe into a new sandbox process with the given argdata and
// file descriptors (guest fd i is fds[i]) and starts its main thread. It
// takes ownership of the files in fds, even on error.
func Start(exe *loader.Executable, argdata []byte, fds []FD, opts Options) (*Process, error) {
	fdt := newFDTable()
	if opts.MaxFDs > 0 {
		fdt.max = min(opts.MaxFDs, maxFDs)
	}
	for i, f := range fds {
		ft, err := filetypeOf(int(f.File.Fd()))
		if err != nil {
			fdt.closeAll()
			for _, g := range fds[i:] {
				g.File.Close()
			}
			return nil, fmt.Errorf("fd %d: %w", i, err)
		}
		base, inh := maxRights(ft)
		if f.Rights != 0 || f.Inheriting != 0 {
			base &= f.Rights
			inh &= f.Inheriting
		}
		fdt.insertAt(abi.Fd(i), &descriptor{file: newHostFile(f.File), filetype: ft, rights: base, inheriting: inh})
	}
	if opts.MaxProcesses <= 0 {
		opts.MaxProcesses = DefaultMaxProcesses
	}
	fam := &family{maxProcs: int32(opts.MaxProcesses)}
	fam.procs.Add(1)
	p, err := start(exe, argdata, fdt, opts, fam)
	if err != nil {
		fdt.closeAll()
		return nil, err
	}
	return p, nil
}

// start builds a process around an fd table and runs it. The caller has
// counted the process in its family; on error start uncounts it, and the
// caller still owns fdt.
func start(exe *loader.Executable, argdata []byte, fdt *fdTable, opts Options, fam *family) (*Process, error) {
	if opts.MemorySize == 0 {
		opts.MemorySize = DefaultMemorySize
	}
	if opts.StackSize == 0 {
		opts.StackSize = DefaultStackSize
	}
	if opts.MaxThreads <= 0 || opts.MaxThreads > transport.MaxThreads {
		opts.MaxThreads = transport.MaxThreads
	}
	base, err := randomRegionBase(opts.MemorySize)
	if err != nil {
		fam.procs.Add(-1)
		return nil, err
	}
	mem, err := memory.New(base, opts.MemorySize, 0)
	if err != nil {
		fam.procs.Add(-1)
		return nil, err
	}
	started := opts.Started
	opts.Started = nil // the first process's, not its images' or children's
	p := &Process{
		mem:     mem,
		fds:     fdt,
		opts:    opts,
		family:  fam,
		threads: make(map[abi.Tid]*thread),
		done:    make(chan struct{}),
		died:    make(chan struct{}),
	}
	p.servers.Store(1)
	tid, errno := tids.alloc()
	if errno != abi.ESUCCESS {
		fam.procs.Add(-1)
		mem.Close()
		return nil, errno
	}
	img, err := buildImage(mem, exe, argdata, tid, opts.StackSize, opts.MemoryLimit)
	if err != nil {
		tids.free(tid)
		fam.procs.Add(-1)
		mem.Close()
		return nil, err
	}
	p.shared, p.areas, p.vdso = img.shared, img.areas, img.vdso
	main := &thread{proc: p, tid: img.tid, slot: 0, mailbox: img.mailbox}
	p.threads[main.tid] = main
	p.slots[0].Store(main)
	if err := p.run(img.entry, started); err != nil {
		return nil, err
	}
	return p, nil
}

// taskSlack is how many tasks beyond MaxThreads the host kernel lets a
// process have: a thread the supervisor has already counted out may still
// be a task for a moment, while the kernel finishes its exit.
const taskSlack = 64

// limits are the host kernel's limits for the process's sandbox. They
// back up the supervisor's own counts: a guest can start threads with a
// raw clone, which the supervisor never sees.
func (p *Process) limits() sandbox.Limits {
	return sandbox.Limits{MaxTasks: p.opts.MaxThreads + taskSlack, CPUTime: p.opts.CPUTime}
}

// run starts the sandbox for a process whose memory is ready, calls started
// (if not nil), and starts the goroutines that serve and reap it. On error
// it releases the memory.
func (p *Process) run(entry sandbox.Entry, started func()) error {
	sb, err := sandbox.Start(p.mem, entry, p.limits())
	if err != nil {
		p.dropThreads()
		p.family.procs.Add(-1)
		p.mem.Close()
		return err
	}
	p.sb = sb
	if started != nil {
		started()
	}
	p.servers.Add(2)
	go p.serve()
	go p.reap()
	go p.watchMemory()
	return nil
}

// memoryCheckInterval is how often watchMemory looks at a process's memory.
const memoryCheckInterval = 5 * time.Millisecond

// watchMemory enforces the memory limit on what the process's memory
// really costs. mem_map keeps the guest within its limit, but the guest
// can also make reserved parts of its region usable with a raw mprotect
// (the seccomp filter cannot tell them apart), so the pages it holds are
// checked as well; a process over its limit is killed. (A memory cgroup
// would stop it at once; where one is not available, this is the bound.)
func (p *Process) watchMemory() {
	defer p.releaseServer()
	limit := p.mem.Limit()
	if limit == 0 {
		return
	}
	// Pages the runtime holds outside the mappings: the boot block.
	limit += sandbox.BootSize
	tick := time.NewTicker(memoryCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.sb.Done():
			return
		case <-tick.C:
		}
		if n, err := p.mem.Allocated(); err == nil && n > limit {
			p.limitExceeded.Store(true)
			p.Kill()
			return
		}
	}
}

// randomRegionBase picks a random, 1 GiB-aligned base for the guest region
// in the lower half of the user address space, away from where Linux puts
// the supervisor binary, its heap, libraries and stack. The stub maps it
// with MAP_FIXED_NOREPLACE, so a collision fails cleanly instead of
// clobbering anything.
func randomRegionBase(size uint64) (uint64, error) {
	const lo, hi, align = 1 << 40, 1 << 46, 1 << 30
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	span := (hi - lo - size) / align
	n := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
	return lo + (n%span)*align, nil
}

// reap waits for the sandbox to exit and then tears the process down.
func (p *Process) reap() {
	ex := p.sb.Wait()
	p.markDead()
	// Wake the dispatcher; nothing in the sandbox can ring any more.
	doorbell := p.word(p.shared + transport.SharedDoorbell)
	atomic.AddUint32(doorbell, 1)
	futex.Wake(doorbell, 1)
	p.fds.closeAll()
	p.pollerOnce.Do(func() {}) // no poller may start from now on
	if p.poller != nil {
		p.poller.close()
	}
	p.family.procs.Add(-1)
	p.releaseServer()
	// From here on a proc_exec that was still starting its new image ends
	// that image instead of leaving it to run unwatched.
	p.mu.Lock()
	p.reaped = true
	next := p.next.Load()
	p.mu.Unlock()
	if next != nil {
		// Replaced by proc_exec: end when the new image ends.
		p.exit = next.Wait()
	} else {
		p.exit = p.exitStatus(ex)
	}
	close(p.done)
}

// markDead records that the process's image runs no more: the sandbox has
// ended, or proc_exec is replacing it. Calls waiting in the supervisor
// give up, and none may take a lock from then on (a lock word may be
// shared with live processes).
func (p *Process) markDead() {
	p.deadOnce.Do(func() {
		p.dead.Store(true)
		close(p.died)
	})
}

func (p *Process) exitStatus(ex sandbox.Exit) ExitStatus {
	if ex.Forbidden != nil {
		return ExitStatus{Signal: abi.SigSys, LinuxSignal: unix.SIGSYS, ForbiddenSyscall: ex.Forbidden.Name}
	}
	if p.limitExceeded.Load() {
		return ExitStatus{Signal: abi.SigKill, LinuxSignal: unix.SIGKILL, MemoryLimitExceeded: true}
	}
	// SIGXCPU comes from RLIMIT_CPU unless the guest raised it itself
	// (it can neither block nor catch it, so the hard limit's SIGKILL
	// never comes into play).
	if ws := ex.Status; p.opts.CPUTime > 0 && ws.Signaled() && ws.Signal() == unix.SIGXCPU &&
		p.raised.Load() != uint32(abi.SigXcpu) {
		return ExitStatus{Signal: abi.SigXcpu, LinuxSignal: unix.SIGXCPU, CPUTimeExceeded: true}
	}
	if code := p.exitCode.Load(); code != nil {
		return ExitStatus{Exited: true, Code: *code}
	}
	ws := ex.Status
	switch {
	case ws.Exited():
		return ExitStatus{Exited: true, Code: uint32(ws.ExitStatus())}
	case ws.Signaled():
		sig := ws.Signal()
		st := ExitStatus{Signal: fromLinuxSignal(sig), LinuxSignal: sig}
		st.Crashed = p.raised.Load() != uint32(st.Signal) && isFault(sig)
		return st
	}
	return ExitStatus{Exited: true, Code: 255}
}

func isFault(sig syscall.Signal) bool {
	switch sig {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
		return true
	}
	return false
}

// Kill ends the process at once.
func (p *Process) Kill() {
	p.sb.Kill()
	if next := p.next.Load(); next != nil {
		next.Kill()
	}
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the process has ended and reports how.
func (p *Process) Wait() ExitStatus {
	<-p.done
	return p.exit
}

// Memory exposes the process's memory, for tests and diagnostics.
func (p *Process) Memory() *memory.Memory { return p.mem }

// releaseServer drops one of the process's servers (see servers). When
// the last is gone, guest memory is released and the process's thread
// ids are freed: not before, as a goroutine of a dead process may still
// be between its last look at dead and taking a shared lock in one of
// those ids.
func (p *Process) releaseServer() {
	if p.servers.Add(-1) == 0 {
		p.dropThreads()
		p.mem.Close()
	}
}

// ExitStatus describes how a process ended.
type ExitStatus struct {
	// Exited is true when the program exited by itself, with Code.
	Exited bool
	Code   uint32
	// Signal is the CloudABI signal that ended the process, if any, and
	// LinuxSignal its host counterpart (which a shell reports as 128+N).
	Signal      abi.Signal
	LinuxSignal syscall.Signal
	// Crashed is set when the signal came from a fault in the program
	// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) rather than proc_raise.
	Crashed bool
	// ForbiddenSyscall names the Linux system call the program tried to
	// make directly, if that is why it was stopped.
	ForbiddenSyscall string
	// MemoryLimitExceeded is set when the program was killed for using
	// more memory than its limit.
	MemoryLimitExceeded bool
	// CPUTimeExceeded is set when the program was stopped for using more
	// CPU time than its limit.
	CPUTimeExceeded bool
}

// ShellStatus is the status a shell would report: the exit code modulo
// 256, or 128 plus the host signal number.
func (s ExitStatus) ShellStatus() int {
	if s.Exited {
		return int(s.Code & 0xff)
	}
	return 128 + int(s.LinuxSignal)
}

// String describes the status in one line.
func (s ExitStatus) String() string {
	switch {
	case s.Exited:
		return fmt.Sprintf("exited with code %d", s.Code)
	case s.ForbiddenSyscall != "":
		return fmt.Sprintf("stopped: made the forbidden system call %s", s.ForbiddenSyscall)
	case s.MemoryLimitExceeded:
		return "killed: used more memory than its limit"
	case s.CPUTimeExceeded:
		return "stopped: used more CPU time than its limit"
	case s.Crashed:
		return fmt.Sprintf("crashed: %s (%s)", SignalName(s.Signal), unix.SignalName(s.LinuxSignal))
	}
	return fmt.Sprintf("terminated by %s", SignalName(s.Signal))
}
