package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
type Process struct {
	mem   *memory.Memory
	cmd   *exec.Cmd
	pidMu sync.Mutex
	pidfd int // -1 once reaped

	done      chan struct{}
	status    syscall.WaitStatus
	forbidden atomic.Pointer[Forbidden]
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

// Start launches a sandbox process for guest memory mem. The memory must
// hold the program image, its stack and thread area; every mapping in mem
// becomes a mapping of the process with the same protection.
func Start(mem *memory.Memory, e Entry) (*Process, error) {
	filter, err := Filter()
	if err != nil {
		return nil, err
	}
	if err := writeBoot(mem, e, filter); err != nil {
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
	cmd := &exec.Cmd{
		// The running binary itself, even if its file has been
		// replaced or removed since it started.
		Path:       "/proc/self/exe",
		Args:       []string{"cloudabi-sandbox"},
		Env:        []string{fmt.Sprintf("_CLOUDABI_SANDBOX=%x,%x,%d", mem.Base(), mem.Size(), os.Getpid())},
		Stderr:     diagW,
		ExtraFiles: []*os.File{memFile}, // fd 3
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL,
			PidFD:     &pidfd,
		},
	}
	err = cmd.Start()
	diagW.Close()
	if err != nil {
		return nil, fmt.Errorf("sandbox: starting process: %w", err)
	}
	p := &Process{mem: mem, cmd: cmd, pidfd: pidfd, done: make(chan struct{})}
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
			nfd := int(*(*uint32)(unsafe.Pointer(&b[bootOffNotifyFD])))
			p.pidMu.Lock()
			fd, err := -1, error(os.ErrProcessDone)
			if p.pidfd >= 0 {
				fd, err = unix.PidfdGetfd(p.pidfd, nfd, 0)
			}
			p.pidMu.Unlock()
			if err == os.ErrProcessDone {
				return errors.New("sandbox: process exited while starting")
			}
			if err != nil {
				return fmt.Errorf("sandbox: cannot take the seccomp listener from the sandbox: %w", err)
			}
			go p.watchSeccomp(fd)
			return nil
		case bootFailed:
			errno := syscall.Errno(*(*uint32)(unsafe.Pointer(&b[bootOffError])))
			step := *(*uint32)(unsafe.Pointer(&b[bootOffStep]))
			what := map[uint32]string{1: "PR_SET_NO_NEW_PRIVS", 2: "installing the seccomp filter"}[step]
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
// process is killed before any answer is sent.
//
// The listener waits in Go's network poller, so a sandbox costs no OS
// thread for it: the read callback runs only when epoll reports the fd
// readable (a notification) or hung up (the process is gone).
func (p *Process) watchSeccomp(fd int) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "seccomp-listener")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	for done := false; !done; {
		err := rc.Read(func(fd uintptr) bool {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
				return err != nil && err != unix.EINTR
			}
			if fds[0].Revents&unix.POLLIN != 0 {
				// Ready: the ioctl cannot block now.
				var n seccompNotif
				_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n)))
				if errno == 0 {
					p.forbidden.CompareAndSwap(nil, &Forbidden{Nr: uint32(n.Nr), Name: SyscallName(uint32(n.Nr))})
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
	p.cmd.Wait()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		p.status = ws
	}
	p.pidMu.Lock()
	unix.Close(p.pidfd)
	p.pidfd = -1
	p.pidMu.Unlock()
	close(p.done)
}

// DupPidfd returns a new pidfd for the process, to stand for it as a
// file descriptor, or an error once it has been reaped.
func (p *Process) DupPidfd() (int, error) {
	p.pidMu.Lock()
	defer p.pidMu.Unlock()
	if p.pidfd < 0 {
		return -1, os.ErrProcessDone
	}
	return unix.FcntlInt(uintptr(p.pidfd), unix.F_DUPFD_CLOEXEC, 0)
}

// Pid is the Linux process id of the sandbox.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill ends the process at once. It is safe to call at any time, and more
// than once.
func (p *Process) Kill() { p.Signal(unix.SIGKILL) }

// Signal delivers a Linux signal to the sandbox process, unless it has
// already been reaped.
func (p *Process) Signal(sig unix.Signal) error {
	select {
	case <-p.done:
		return os.ErrProcessDone
	default:
	}
	return p.cmd.Process.Signal(sig)
}

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the process has exited.
func (p *Process) Wait() Exit {
	<-p.done
	return Exit{Status: p.status, Forbidden: p.forbidden.Load()}
}
