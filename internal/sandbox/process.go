package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cloudabi-go/cloudabi/internal/futex"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// startTimeout bounds how long a sandbox may take to reach its guest.
const startTimeout = 10 * time.Second

// Process is a running sandbox process.
//
// With a pid namespace, the process the supervisor starts (cmd) becomes
// the namespace's init and the sandbox process is its only child (see
// run_init in stub.c): then the guest's pid and pidfd are the child's.
type Process struct {
	mem   *memory.Memory
	cmd   *exec.Cmd
	pidMu sync.Mutex
	pidfd int // cmd's; -1 once reaped

	pidNamespace bool
	guestPid     int // the sandbox process's host pid, once known
	guestPidfd   int // its pidfd with a pid namespace; -1 before and after

	done      chan struct{}
	status    syscall.WaitStatus
	forbidden atomic.Pointer[Forbidden]
	landlock  int
	offers    offers // files waiting for the guest to map them (offer.go)
}

// Forbidden describes a system call the seccomp filter refused.
type Forbidden struct {
	Nr   uint32
	Name string
}

// Exit describes how a sandbox process ended.
type Exit struct {
	// Status is the Linux wait status.
	Status syscall.WaitStatus
	// Forbidden is set when the supervisor killed the process because it
	// made a system call outside the allowlist.
	Forbidden *Forbidden
}

// Limits are resource limits the host kernel enforces on a sandbox
// process, whatever its guest does.
type Limits struct {
	// MaxTasks bounds the process's threads, including any a guest
	// starts with a raw clone (RLIMIT_NPROC). It applies only at the
	// UserNamespaces level, where the count is the process's own; 0
	// means none.
	MaxTasks int
	// CPUTime bounds the CPU time of the process, all threads together,
	// rounded up to whole seconds (RLIMIT_CPU); 0 means none. A process
	// over it gets SIGXCPU.
	CPUTime time.Duration
}

func (l Limits) cpuSeconds() uint64 {
	if l.CPUTime <= 0 {
		return 0
	}
	return uint64((l.CPUTime + time.Second - 1) / time.Second)
}

// Start launches a sandbox process for guest memory mem. The memory must
// hold the program image, its stack and thread area; every mapping in mem
// becomes a mapping of the process with the same protection.
//
// The first sandbox of the supervisor also decides the isolation level of
// all (see Isolation).
func Start(mem *memory.Memory, e Entry, lim Limits) (*Process, error) {
	var p *Process
	err := isolation.decide(func(level Level) error {
		var err error
		p, err = start(mem, e, lim, level)
		return err
	}, levels())
	return p, err
}

// start starts a sandbox process at an isolation level. If the host will
// not create the process at that level, the error is a *startError.
func start(mem *memory.Memory, e Entry, lim Limits, level Level) (*Process, error) {
	if level != UserNamespaces {
		lim.MaxTasks = 0 // a count shared with other processes of the user
	}
	exe, err := executable()
	if err != nil {
		return nil, err
	}
	filter, err := Filter(mem.Base(), mem.Size())
	if err != nil {
		return nil, err
	}
	if err := writeBoot(mem, e, lim, filter); err != nil {
		return nil, err
	}
	memfd, err := unix.FcntlInt(uintptr(mem.FD()), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	memFile := os.NewFile(uintptr(memfd), "guest-memory")
	defer memFile.Close()
	diagR, diagW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer diagR.Close()

	pidfd := -1
	attr := sysProcAttr(level)
	attr.PidFD = &pidfd
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/4", // the running binary (see executable)
		Args:        []string{"cloudabi-sandbox"},
		Env:         []string{fmt.Sprintf("_CLOUDABI_SANDBOX=%x,%x,%d,%d", mem.Base(), mem.Size(), os.Getpid(), level)},
		Stderr:      diagW,
		ExtraFiles:  []*os.File{memFile, exe}, // fds 3 and 4
		SysProcAttr: attr,
	}
	err = cmd.Start()
	diagW.Close()
	if err != nil {
		return nil, &startError{err}
	}
	p := &Process{mem: mem, cmd: cmd, pidfd: pidfd, done: make(chan struct{}),
		pidNamespace: attr.Cloneflags&syscall.CLONE_NEWPID != 0, guestPid: cmd.Process.Pid, guestPidfd: -1}
	p.offers.adopt(mem) // before the listener runs: see OfferAtStart
	diag := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(diagR, 4096))
		diag <- strings.TrimSpace(string(bytes.ToValidUTF8(b, nil)))
	}()
	go p.reap()

	if err := p.awaitBoot(); err != nil {
		p.Kill()
		<-p.done
		if msg := <-diag; msg != "" {
			err = fmt.Errorf("%w (%s)", err, msg)
		}
		return nil, err
	}
	return p, nil
}

// awaitBoot waits until the stub has installed the seccomp filter, then
// takes the filter's notification fd.
func (p *Process) awaitBoot() error {
	b := p.mem.Raw(p.mem.Base(), BootSize)
	status := (*uint32)(unsafe.Pointer(&b[bootOffStatus]))
	deadline := time.Now().Add(startTimeout)
	for {
		switch atomic.LoadUint32(status) {
		case bootReady:
			if p.pidNamespace {
				if err := p.attach(); err != nil {
					return err
				}
			}
			nfd := int(*(*uint32)(unsafe.Pointer(&b[bootOffNotifyFD])))
			p.pidMu.Lock()
			fd, err := -1, error(os.ErrProcessDone)
			if pidfd := p.guestPidfdLocked(); pidfd >= 0 {
				fd, err = unix.PidfdGetfd(pidfd, nfd, 0)
			}
			p.pidMu.Unlock()
			if err == os.ErrProcessDone {
				return errors.New("sandbox: process exited while starting")
			}
			if err != nil {
				return fmt.Errorf("sandbox: cannot take the seccomp listener from the sandbox: %w", err)
			}
			p.landlock = int(*(*uint32)(unsafe.Pointer(&b[bootOffLandlock])))
			go p.watchSeccomp(fd)
			return nil
		case bootFailed:
			errno := syscall.Errno(*(*uint32)(unsafe.Pointer(&b[bootOffError])))
			step := *(*uint32)(unsafe.Pointer(&b[bootOffStep]))
			what := map[uint32]string{1: "PR_SET_NO_NEW_PRIVS", 2: "installing the seccomp filter",
				3: "restricting the process with Landlock", 4: "setting RLIMIT_NPROC", 5: "setting RLIMIT_CPU"}[step]
			return fmt.Errorf("sandbox: %s failed: %w", what, errno)
		}
		select {
		case <-p.done:
			return errors.New("sandbox: process exited while starting")
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("sandbox: process did not start in time")
		}
		futex.Wait(status, bootStarting, 5*time.Millisecond)
	}
}

// attach finds the sandbox process, the only child of the pid
// namespace's init, and takes a pidfd of it; then it lets init reap the
// child when it ends. Until then the child's pid cannot be reused, so
// the pid read from /proc names it.
func (p *Process) attach() error {
	initPid := p.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", initPid, initPid))
	if err != nil {
		return fmt.Errorf("sandbox: finding the sandbox process: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return fmt.Errorf("sandbox: the pid namespace's init has %d children, want 1", len(f))
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return fmt.Errorf("sandbox: finding the sandbox process: %w", err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("sandbox: opening the sandbox process: %w", err)
	}
	p.pidMu.Lock()
	p.guestPid, p.guestPidfd = pid, pidfd
	p.pidMu.Unlock()
	attached := (*uint32)(unsafe.Pointer(&p.mem.Raw(p.mem.Base(), BootSize)[bootOffAttached]))
	atomic.StoreUint32(attached, 1)
	futex.Wake(attached, 1)
	return nil
}

// guestPidfdLocked is the sandbox process's pidfd, or -1; p.pidMu is held.
func (p *Process) guestPidfdLocked() int {
	if p.pidNamespace || p.pidfd < 0 {
		return p.guestPidfd
	}
	return p.pidfd
}

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

// watchSeccomp receives the filter's notifications. Each one is a call
// outside the allowlist; the call has not happened yet and never will: the
// process is killed before any answer is sent. The one exception is a
// thread fetching a file offered to it (offer.go), which is answered.
//
// The listener waits in Go's network poller, so a sandbox costs no OS
// thread for it: the read callback runs only when epoll reports the fd
// readable (a notification) or hung up (the process is gone).
func (p *Process) watchSeccomp(fd int) {
	f, rc, err := pollable(fd, "seccomp-listener")
	if err != nil {
		return
	}
	defer f.Close()
	for done := false; !done; {
		err := rc.Read(func(fd uintptr) bool {
			revents, err := pollNow(fd)
			if err != nil || revents == 0 {
				return err != nil
			}
			if revents&unix.POLLIN != 0 {
				// Ready: the ioctl cannot block now.
				var n seccompNotif
				_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n)))
				if errno == 0 && !p.answerGetFD(fd, &n) {
					p.forbidden.CompareAndSwap(nil, &Forbidden{Nr: uint32(n.Nr), Name: SyscallName(n.Arch, uint32(n.Nr))})
					p.Kill()
				}
				return true
			}
			done = true // POLLHUP: the filter has no more users
			return true
		})
		if err != nil {
			return
		}
	}
}

func (p *Process) reap() {
	p.awaitExit()
	p.cmd.Wait()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		p.status = ws
	}
	if p.pidNamespace && p.status.Exited() && p.status.ExitStatus() == 0 {
		// How the sandbox process ended, as init saw it. Only an init
		// that ended by itself wrote it: the guest can write the boot
		// block too (its protection is the guest's to change), so if
		// init was killed (Kill), what is there is not believed, and
		// the namespace's processes got SIGKILL.
		b := p.mem.Raw(p.mem.Base(), BootSize)
		if atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[bootOffExited]))) != 0 {
			p.status = syscall.WaitStatus(atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[bootOffWaitStat]))))
		}
	}
	p.pidMu.Lock()
	unix.Close(p.pidfd)
	p.pidfd = -1
	if p.guestPidfd >= 0 {
		unix.Close(p.guestPidfd)
		p.guestPidfd = -1
	}
	p.pidMu.Unlock()
	p.offers.close()
	close(p.done)
}

// awaitExit returns once the process has exited, waiting in Go's network
// poller on a pidfd: a goroutine blocked in waitid would hold a P until
// the runtime noticed (up to 10 ms on an idle supervisor), and other
// goroutines, such as the ones serving this sandbox's first calls, would
// wait for it. If anything fails, cmd.Wait blocks instead.
func (p *Process) awaitExit() {
	p.pidMu.Lock()
	fd, err := -1, error(os.ErrProcessDone)
	if p.pidfd >= 0 {
		fd, err = unix.FcntlInt(uintptr(p.pidfd), unix.F_DUPFD_CLOEXEC, 0)
	}
	p.pidMu.Unlock()
	if err != nil {
		return
	}
	f, rc, err := pollable(fd, "pidfd")
	if err != nil {
		return
	}
	defer f.Close()
	rc.Read(func(fd uintptr) bool {
		revents, err := pollNow(fd)
		return err != nil || revents != 0
	})
}

// pollable makes fd (which it takes over) wait in Go's network poller:
// rc.Read's callback then runs only when epoll reports fd ready or hung
// up, and the waiting goroutine holds no OS thread.
func pollable(fd int, name string) (*os.File, syscall.RawConn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// pollNow reports fd's poll(2) events for POLLIN without waiting: 0 if
// none yet (also when interrupted, to be asked again).
func pollNow(fd uintptr) (int16, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err == unix.EINTR || n == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fds[0].Revents, nil
}

// DupPidfd returns a new pidfd for the sandbox process, to stand for it
// as a file descriptor, or an error once it has been reaped.
func (p *Process) DupPidfd() (int, error) {
	p.pidMu.Lock()
	defer p.pidMu.Unlock()
	pidfd := p.guestPidfdLocked()
	if pidfd < 0 {
		return -1, os.ErrProcessDone
	}
	return unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 0)
}

// LandlockABI is the version of Landlock's interface the process is
// restricted with, or 0 if the host kernel has none.
func (p *Process) LandlockABI() int { return p.landlock }

// Pid is the Linux process id of the sandbox process.
func (p *Process) Pid() int {
	p.pidMu.Lock()
	defer p.pidMu.Unlock()
	return p.guestPid
}

// Kill ends the process at once. It is safe to call at any time, and more
// than once. With a pid namespace, killing its init ends every process in
// it.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(unix.SIGKILL)
	p.Signal(unix.SIGKILL)
}

// Signal delivers a Linux signal to the sandbox process, unless it has
// already been reaped.
func (p *Process) Signal(sig unix.Signal) error {
	select {
	case <-p.done:
		return os.ErrProcessDone
	default:
	}
	if !p.pidNamespace {
		return p.cmd.Process.Signal(sig)
	}
	p.pidMu.Lock()
	defer p.pidMu.Unlock()
	if p.guestPidfd < 0 {
		return os.ErrProcessDone
	}
	return unix.PidfdSendSignal(p.guestPidfd, sig, nil, 0)
}

// Freeze stops every thread of the process (SIGSTOP) and waits until each
// one has stopped, so that its memory holds still, for at most timeout;
// thaw (SIGCONT) lets them go on. A guest cannot tell: a stopped thread's
// system calls restart, and its handlers are the defaults. If some thread
// has not stopped in time (it is in an uninterruptible sleep), Freeze
// returns ErrNotFrozen and thaw; the caller may go on without a still
// memory. The caller serializes Freeze with itself.
func (p *Process) Freeze(timeout time.Duration) (thaw func(), err error) {
	pid := p.Pid()
	if err := p.Signal(unix.SIGSTOP); err != nil {
		return func() {}, err
	}
	thaw = func() { p.Signal(unix.SIGCONT) }
	deadline := time.Now().Add(timeout)
	for !allStopped(pid) {
		if time.Now().After(deadline) {
			return thaw, ErrNotFrozen
		}
		time.Sleep(20 * time.Microsecond)
	}
	return thaw, nil
}

// ErrNotFrozen: a thread of a process to be frozen did not stop in time.
var ErrNotFrozen = errors.New("sandbox: a thread did not stop in time")

// allStopped reports whether every thread of process pid is stopped or
// gone. The state is the field after the command, which is in
// parentheses and may itself hold any character.
func allStopped(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return true // the process is gone
	}
	if err != nil {
		return false
	}
	var buf [512]byte
	for _, task := range tasks {
		fd, err := unix.Open(dir+"/"+task.Name()+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT || err == unix.ESRCH {
			continue // the thread is gone
		}
		if err != nil {
			return false
		}
		n, _ := unix.Read(fd, buf[:])
		unix.Close(fd)
		stat := buf[:max(n, 0)]
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return false
		}
		switch stat[i+2] {
		case 'T', 't', 'Z', 'X':
		default:
			return false
		}
	}
	return true
}

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the process has exited.
func (p *Process) Wait() Exit {
	<-p.done
	return Exit{Status: p.status, Forbidden: p.forbidden.Load()}
}
