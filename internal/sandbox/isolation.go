package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Level says how a sandbox process is confined besides what every sandbox
// has: the seccomp filter, Landlock (where the host kernel has it),
// no_new_privs, no file descriptors, and its resource limits.
type Level int

const (
	// UserNamespaces: the process has user, pid, mount, network, IPC
	// and UTS namespaces of its own. It is root in its user namespace
	// but holds no capability there, and outside it is nobody (for a
	// root supervisor) or the supervisor's own user.
	UserNamespaces Level = iota
	// RootNamespaces: a root supervisor on a host without user
	// namespaces. The process has pid, mount, network, IPC and UTS
	// namespaces of its own and runs as nobody.
	RootNamespaces
	// NoNamespaces: an unprivileged supervisor on a host without user
	// namespaces. The process runs as the supervisor's user in the
	// supervisor's namespaces.
	NoNamespaces
)

func (l Level) String() string {
	switch l {
	case UserNamespaces:
		return "user, pid, mount, network, IPC and UTS namespaces"
	case RootNamespaces:
		return "pid, mount, network, IPC and UTS namespaces as nobody (no user namespace)"
	case NoNamespaces:
		return "no namespaces"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// nobody is the host user and group of a root supervisor's sandboxes:
// nobody and nogroup on Debian and most other systems.
const nobody = 65534

// isolation is the level every sandbox of this supervisor gets, decided
// once by the first sandbox started (or by a probe, if Isolation is asked
// first).
var isolation isolationState

// isolationState decides a level by starting a process at each level in
// turn, best first, until the host creates one.
type isolationState struct {
	mu     sync.Mutex // held while deciding
	known  atomic.Bool
	level  Level
	reason error // why the level is below UserNamespaces
}

// get returns the level if it has been decided.
func (s *isolationState) get() (Level, error, bool) {
	if !s.known.Load() {
		return 0, nil, false
	}
	return s.level, s.reason, true
}

// decide starts a process with start at the decided level, or, while none
// is, decides it: start is tried at each of levels in turn until the host
// creates the process (isStartError tells a refusal at a level from other
// failures). Any other failure leaves the level undecided for the next
// call to try again. The last level is the one left when all others are
// refused: it is decided before it is tried.
func (s *isolationState) decide(start func(Level) error, levels []Level) error {
	if l, _, ok := s.get(); ok {
		return start(l)
	}
	s.mu.Lock()
	if s.known.Load() {
		s.mu.Unlock() // let the starts that queued here run at once
		return start(s.level)
	}
	defer s.mu.Unlock()
	var reason error
	for _, l := range levels[:len(levels)-1] {
		err := start(l)
		if !isStartError(err, l) {
			if err == nil {
				s.set(l, reason)
			}
			return err
		}
		if reason == nil {
			reason = fmt.Errorf("user namespaces are not available: %w", explainProbe(startCause(err)))
		} else {
			reason = fmt.Errorf("%w; nor other namespaces: %v", reason, startCause(err))
		}
	}
	l := levels[len(levels)-1]
	s.set(l, reason)
	return start(l)
}

// levels are the isolation levels a supervisor can have, best first.
func levels() []Level {
	if os.Geteuid() == 0 {
		return []Level{UserNamespaces, RootNamespaces, NoNamespaces}
	}
	return []Level{UserNamespaces, NoNamespaces}
}

func (s *isolationState) set(l Level, reason error) {
	s.level, s.reason = l, reason
	s.known.Store(true)
}

// startError is the host's refusal to create a sandbox process at a
// level, as opposed to a failure of what the process does once it runs.
type startError struct{ err error }

func (e *startError) Error() string { return "sandbox: starting process: " + e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// isStartError says whether err is the host's refusal to create a process
// at level l: a policy that forbids it (EPERM, EACCES, EINVAL for a flag
// the kernel lacks), or, for UserNamespaces, user namespaces switched off
// (ENOSPC or EUSERS while max_user_namespaces is 0). Anything else, a
// count of namespaces or processes full for now included, says nothing
// lasting about the level, and must not lower it for good: below
// RootNamespaces a root supervisor's guests would run as root.
func isStartError(err error, l Level) bool {
	var errno syscall.Errno
	if !errors.As(startCause(err), &errno) {
		return false
	}
	switch errno {
	case syscall.EPERM, syscall.EACCES, syscall.EINVAL:
		return true
	case syscall.ENOSPC, syscall.EUSERS:
		return l == UserNamespaces && userNamespacesOff()
	}
	return false
}

// userNamespacesOff reports whether the host allows no user namespaces at
// all (a variable for tests).
var userNamespacesOff = func() bool {
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	return err == nil && strings.TrimSpace(string(b)) == "0"
}

// startCause is the host's error inside a *startError, or nil.
func startCause(err error) error {
	var se *startError
	if errors.As(err, &se) {
		return se.err
	}
	return nil
}

// Isolation reports the level every sandbox of this supervisor gets, and,
// below UserNamespaces, why user namespaces cannot be used. The first
// sandbox started decides it: it is started at each level in turn until
// the host creates it, so that whatever stops the host from creating the
// namespaces (a sysctl, a security module, a binary other users may not
// execute) shows up. Asked before any sandbox has started, Isolation
// decides it the same way with a probe process that ends at once.
//
// If the probe fails for another reason (a shortage of processes, say),
// the level stays undecided: Isolation then reports the least level with
// the probe's error, and the next sandbox or call decides it.
func Isolation() (Level, error) { return isolation.report(probe, levels()) }

// report is Isolation for s, deciding with probe if need be.
func (s *isolationState) report(probe func(Level) error, levels []Level) (Level, error) {
	if l, reason, ok := s.get(); ok {
		return l, reason
	}
	err := s.decide(probe, levels)
	l, reason, ok := s.get()
	if !ok {
		return NoNamespaces, fmt.Errorf("the isolation level is not decided yet: the probe failed: %w", err)
	}
	return l, reason
}

// probe starts and waits for a process that ends as soon as the stub runs.
func probe(l Level) error {
	exe, err := executable()
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/fd/3", // the running binary (see executable)
		Args:        []string{"cloudabi-sandbox-probe"},
		Env:         []string{"_CLOUDABI_SANDBOX=probe"},
		ExtraFiles:  []*os.File{exe},
		SysProcAttr: sysProcAttr(l),
	}
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return &startError{err}
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err // the process existed: not the host's refusal
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("probe process did not end in %v", startTimeout)
	}
}

// explainProbe adds the likely cause to a probe's failure.
func explainProbe(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case syscall.ENOSPC, syscall.EUSERS:
		return fmt.Errorf("%w (the limit /proc/sys/user/max_user_namespaces is reached or 0)", err)
	case syscall.EPERM:
		return fmt.Errorf("%w (the host forbids them to this user: a sysctl such as kernel.unprivileged_userns_clone, a security module, or a seccomp policy)", err)
	case syscall.EACCES:
		if exe, exeErr := os.Executable(); exeErr == nil {
			return fmt.Errorf("%w (a sandbox, nobody to the host, may not execute %s)", err, exe)
		}
	}
	return err
}

// sysProcAttr gives the attributes a sandbox process starts with at level
// l. The process dies with the supervisor.
func sysProcAttr(l Level) *syscall.SysProcAttr {
	// The first process of the pid namespace becomes its init and starts
	// the sandbox process as its child (run_init in stub.c).
	const otherNamespaces = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET |
		syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	switch l {
	case UserNamespaces:
		uid, gid := os.Getuid(), os.Getgid()
		if uid == 0 {
			uid, gid = nobody, nobody
		}
		attr.Cloneflags = syscall.CLONE_NEWUSER | otherNamespaces
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
		// Become the namespace's root, the one mapped user: a root
		// supervisor's child would otherwise keep the host's root
		// user, which the namespace does not map.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	case RootNamespaces:
		attr.Cloneflags = otherNamespaces
	}
	return attr
}

var (
	exeOnce sync.Once
	exeFile *os.File
	exeErr  error
)

// executable is the running binary, open for the life of the supervisor.
// Sandboxes execute it through /proc/self/fd: in a user namespace the
// process executes it as nobody (or the supervisor's user) to the host, and
// could not reach it by its path if a directory on the way is closed to
// other users (the binary itself must still be executable by them). It
// also keeps working if the file is replaced or removed.
func executable() (*os.File, error) {
	exeOnce.Do(func() {
		exeFile, exeErr = os.Open("/proc/self/exe")
		if exeErr != nil {
			exeErr = fmt.Errorf("sandbox: opening the running binary: %w", exeErr)
		}
	})
	return exeFile, exeErr
}
