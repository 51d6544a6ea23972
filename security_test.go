package cloudabi_test

// The security suite: hostile guests against the sandbox and the
// supervisor. docs/SECURITY.md describes what each test shows.
//
//	CLOUDABI_REQUIRE_CLANG=1 go test -run 'Security|Sweep|Robust|Fuzz' -v .
//
// Tests that expose a known, not yet fixed weakness are skipped with
// "known bug: ..."; CLOUDABI_KNOWN_BUGS=1 runs them.

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"golang.org/x/sys/unix"
)

// knownBug skips a test that shows a weakness not fixed yet, unless
// CLOUDABI_KNOWN_BUGS=1.
func knownBug(t *testing.T, desc string) {
	t.Helper()
	if os.Getenv("CLOUDABI_KNOWN_BUGS") != "1" {
		t.Skip("known bug: " + desc)
	}
}

// openGuest builds and opens a guest program for the whole test.
func openGuest(t testing.TB, src string) *cloudabi.Program {
	t.Helper()
	prog, err := cloudabi.Open(guestbuild.Build(t, src))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog
}

// run is how one guest run ended.
type run struct {
	st  cloudabi.ExitStatus
	out string
	// killed: the run did not end by itself within its time and was
	// killed.
	killed bool
}

// killGrace is how long a killed process may take to be reported ended.
const killGrace = 10 * time.Second

// runCapture starts prog with the argdata map ad, to which it adds
// {out: !fd 0}, a pipe whose contents become run.out, and the extra
// descriptors (guest fds 1, 2, ...). A run that has not ended after
// timeout is killed; an error means the supervisor did not end it even
// then, or that it could not start. Safe to call from many goroutines.
func runCapture(prog *cloudabi.Program, ad argdata.Map, extra []cloudabi.FD, opts *cloudabi.Options, timeout time.Duration) (run, error) {
	r, w, err := os.Pipe()
	if err != nil {
		for _, f := range extra {
			f.File.Close()
		}
		return run{}, err
	}
	defer r.Close()
	enc, err := argdata.Marshal(append(argdata.Map{{Key: argdata.Str("out"), Value: argdata.FD(0)}}, ad...))
	if err != nil {
		w.Close()
		return run{}, err
	}
	fds := append([]cloudabi.FD{{File: w}}, extra...)
	proc, err := prog.Start(enc, fds, opts)
	if err != nil {
		return run{}, err
	}
	outc := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
		io.Copy(io.Discard, r)
		outc <- string(b)
	}()
	var res run
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-proc.Done():
	case <-timer.C:
		res.killed = true
		proc.Kill()
		select {
		case <-proc.Done():
		case <-time.After(killGrace):
			return res, fmt.Errorf("the process did not end within %v of being killed", killGrace)
		}
	}
	res.st = proc.Wait()
	select {
	case res.out = <-outc:
	case <-time.After(killGrace):
		return res, fmt.Errorf("the output pipe was not closed within %v of the end", killGrace)
	}
	return res, nil
}

// parallel runs f(i) for i in [0, n) on a bounded pool of goroutines.
func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// sweepWorkers is the size of the worker pools of the suite.
func sweepWorkers() int { return max(4, 2*runtime.NumCPU()) }

func adInt(key string, v uint64) argdata.MapEntry {
	return argdata.MapEntry{Key: argdata.Str(key), Value: argdata.UintOf(v)}
}

func adStr(key, v string) argdata.MapEntry {
	return argdata.MapEntry{Key: argdata.Str(key), Value: argdata.Str(v)}
}

const sigsysStatus = 128 + int(syscall.SIGSYS)

// checkStopped checks that a run was stopped for the forbidden system
// call name, and that the guest never got control back.
func checkStopped(res run, name string) error {
	var problems []string
	if res.killed {
		problems = append(problems, "did not end by itself")
	}
	if res.st.ForbiddenSyscall != name {
		problems = append(problems, fmt.Sprintf("ForbiddenSyscall %q, want %q", res.st.ForbiddenSyscall, name))
	}
	if res.st.ShellStatus() != sigsysStatus {
		problems = append(problems, fmt.Sprintf("shell status %d, want %d", res.st.ShellStatus(), sigsysStatus))
	}
	if strings.Contains(res.out, "RETURNED") {
		problems = append(problems, "the guest got control back")
	}
	if problems == nil {
		return nil
	}
	return fmt.Errorf("status %v, output %q: %s", res.st, res.out, strings.Join(problems, "; "))
}

// sweepCase is one raw system call of the sweep.
type sweepCase struct {
	nr uint64
	// returns: the call is on the allowlist with these arguments; the
	// guest must get control back with this output.
	returns string
	// anyValue: returns is only the start of the output, which goes on
	// with a number (time(NULL) returns the time).
	anyValue bool
	// exits: the call (exit, exit_group) ends the process with code 0.
	exits bool
}

// sweepCases lists every Linux x86-64 system call number 0..462, numbers
// beyond, numbers with high bits set, and x32 numbers. All arguments are
// 0. The allowlisted calls that are harmless with zero arguments return;
// clone(0) and arch_prctl(0) are not on the allowlist with those
// arguments.
func sweepCases() []sweepCase {
	var cases []sweepCase
	for nr := uint64(0); nr <= 520; nr++ {
		c := sweepCase{nr: nr}
		switch nr {
		case unix.SYS_MPROTECT:
			c.returns = "RETURNED 10 0\n" // mprotect(NULL, 0, 0)
		case unix.SYS_SCHED_YIELD:
			c.returns = "RETURNED 24 0\n"
		case unix.SYS_FUTEX:
			c.returns = "RETURNED 202 -14\n" // FUTEX_WAIT on NULL: EFAULT
		case unix.SYS_CLOSE:
			c.returns = "RETURNED 3 0\n" // close(0): the sandbox's copy of the seccomp listener
		case unix.SYS_CLOCK_GETTIME:
			c.returns = "RETURNED 228 -14\n" // CLOCK_REALTIME into NULL: EFAULT
		case unix.SYS_TIME:
			c.returns, c.anyValue = "RETURNED 201 ", true // time(NULL): the time
		case unix.SYS_EXIT, unix.SYS_EXIT_GROUP:
			c.exits = true
		}
		cases = append(cases, c)
	}
	for _, nr := range []uint64{1000, 0xffff, 0x3fffffff, 0x7fffffff, 0xffffffff, 1<<63 | 2, 1<<32 | 2, 1<<32 | unix.SYS_EXECVE, ^uint64(0)} {
		cases = append(cases, sweepCase{nr: nr})
	}
	const x32 = 0x40000000
	for nr := uint64(0); nr <= 10; nr++ {
		cases = append(cases, sweepCase{nr: x32 | nr})
	}
	for _, nr := range []uint64{unix.SYS_SCHED_YIELD, unix.SYS_CLONE, unix.SYS_FORK, unix.SYS_EXECVE, unix.SYS_EXIT, unix.SYS_ARCH_PRCTL, unix.SYS_FUTEX, unix.SYS_EXIT_GROUP, unix.SYS_OPENAT, 334, 335, 424, 462} {
		cases = append(cases, sweepCase{nr: x32 | nr})
	}
	for nr := uint64(512); nr <= 547; nr++ {
		cases = append(cases, sweepCase{nr: x32 | nr})
	}
	return cases
}

// auditArchX86_64 is the architecture seccomp reports for the syscall
// instruction in 64-bit code.
const auditArchX86_64 = 0xc000003e

// expectedName is how the supervisor names system call nr: the kernel
// takes the low 32 bits of %rax as the number.
func expectedName(nr uint64) string { return sandbox.SyscallName(auditArchX86_64, uint32(nr)) }

// TestSecurityRawSyscallSweep issues every Linux system call number
// directly, each in a fresh process: every call outside the allowlist
// must stop only that process, named, before it returns.
func TestSecurityRawSyscallSweep(t *testing.T) {
	prog := openGuest(t, "testdata/guests/security/sweep.c")
	cases := sweepCases()
	if testing.Short() {
		// Every 7th number, and all the special ones.
		var short []sweepCase
		for i, c := range cases {
			if i%7 == 0 || c.returns != "" || c.exits || c.nr > 520 {
				short = append(short, c)
			}
		}
		cases = short
	}
	start := time.Now()
	var mu sync.Mutex
	stopped, bypassed := 0, 0
	parallel(len(cases), sweepWorkers(), func(i int) {
		c := cases[i]
		res, err := runCapture(prog, argdata.Map{adInt("nr", c.nr)}, nil, nil, 20*time.Second)
		if err == nil && c.returns == "" && !c.exits && checkStopped(res, expectedName(c.nr)) != nil {
			if native, ok := hostKernelBypass(t, c.nr, res); ok {
				mu.Lock()
				bypassed++
				t.Logf("HOST KERNEL: system call %d is not subject to seccomp on this kernel: natively %s, in the sandbox %v %q. "+
					"No filter can stop it; see docs/SECURITY.md", c.nr, native, res.st, res.out)
				mu.Unlock()
				return
			}
		}
		if err == nil {
			switch {
			case c.anyValue:
				rest, ok := strings.CutPrefix(res.out, c.returns)
				if n, err := strconv.ParseInt(strings.TrimSuffix(rest, "\n"), 10, 64); !ok || err != nil || n <= 0 || !res.st.Exited || res.st.Code != 0 {
					err = fmt.Errorf("status %v, output %q; want exit 0 with %q and a positive number", res.st, res.out, c.returns)
				}
			case c.returns != "":
				if res.out != c.returns || !res.st.Exited || res.st.Code != 0 {
					err = fmt.Errorf("status %v, output %q; want exit 0 with %q", res.st, res.out, c.returns)
				}
			case c.exits:
				if !res.st.Exited || res.st.Code != 0 || res.out != "" {
					err = fmt.Errorf("status %v, output %q; want exit 0 and no output", res.st, res.out)
				}
			default:
				err = checkStopped(res, expectedName(c.nr))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("syscall %#x (%s): %v", c.nr, expectedName(c.nr), err)
		} else if c.returns == "" && !c.exits {
			stopped++
		}
	})
	t.Logf("%d system call numbers in %v: %d stopped and named, %d allowed with zero arguments, %d outside seccomp on this host kernel",
		len(cases), time.Since(start).Round(time.Millisecond), stopped, len(cases)-stopped-bypassed, bypassed)
}

// hostKernelBypass reports whether the host kernel answers system call
// nr, which mainline Linux does not assign, the same way without any
// seccomp filter as it did in the sandbox: then the kernel handles the
// number before (or without) seccomp, and no filter can stop it. It
// makes the call natively in a child process (TestSecurityHostKernelProbe)
// with the same zero arguments the guest used, and describes the result.
func hostKernelBypass(t *testing.T, nr uint64, res run) (string, bool) {
	if nr >= 1<<30 || !strings.HasPrefix(expectedName(nr), "syscall ") {
		return "", false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecurityHostKernelProbe$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CLOUDABI_SECURITY_PROBE_NR="+strconv.FormatUint(nr, 10))
	out, _ := cmd.CombinedOutput()
	native := strings.TrimSpace(string(out))
	if i := strings.Index(native, "\n"); i >= 0 {
		native = native[:i]
	}
	switch {
	case strings.HasPrefix(res.out, "RETURNED "):
		var gotNr, gotR int64
		if _, err := fmt.Sscanf(res.out, "RETURNED %d %d", &gotNr, &gotR); err == nil && native == fmt.Sprintf("PROBE %d", gotR) {
			return native, true
		}
	case !res.st.Exited && res.st.ForbiddenSyscall == "" && res.st.LinuxSignal != 0:
		if strings.HasPrefix(native, unix.SignalName(res.st.LinuxSignal)) {
			return native, true
		}
	}
	return native, false
}

// TestSecurityHostKernelProbe is a helper process for
// TestSecurityRawSyscallSweep: with CLOUDABI_SECURITY_PROBE_NR=N in the
// environment it makes system call N with zero arguments, natively, and
// prints "PROBE <result>".
func TestSecurityHostKernelProbe(t *testing.T) {
	v := os.Getenv("CLOUDABI_SECURITY_PROBE_NR")
	if v == "" {
		t.Skip("helper process for TestSecurityRawSyscallSweep")
	}
	nr, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	r, _, errno := unix.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
	result := int64(r)
	if errno != 0 {
		result = -int64(errno)
	}
	fmt.Printf("PROBE %d\n", result)
	os.Exit(0)
}

// abuseCase is one call of an allowlisted system call with arguments the
// filter must not let through, or a control that it must.
type abuseCase struct {
	name string
	ad   argdata.Map
	// stoppedAs: the process must be stopped for this call.
	stoppedAs string
	// returns: the guest must get control back and print this.
	returns string
}

const (
	archSetGS    = 0x1001
	archSetFS    = 0x1002
	archGetFS    = 0x1003
	archGetGS    = 0x1004
	archGetCPUID = 0x1011
	archSetCPUID = 0x1012
	archMapVDSO  = 0x2003

	futexWait, futexWake, futexFD, futexRequeue, futexCmpRequeue, futexWakeOp = 0, 1, 2, 3, 4, 5
	futexLockPI, futexUnlockPI, futexTrylockPI, futexWaitBitset               = 6, 7, 8, 9
	futexWakeBitset, futexWaitRequeuePI, futexCmpRequeuePI, futexLockPI2      = 10, 11, 12, 13
	futexPrivate, futexClockRealtime                                          = 128, 256
)

func abuseCases() []abuseCase {
	var cases []abuseCase
	call := func(nr uint64, args ...argdata.Value) argdata.Map {
		ad := argdata.Map{adInt("nr", nr)}
		for i, a := range args {
			ad = append(ad, argdata.MapEntry{Key: argdata.Str("a" + strconv.Itoa(i)), Value: a})
		}
		return ad
	}
	u := func(v uint64) argdata.Value { return argdata.UintOf(v) }
	s := func(v string) argdata.Value { return argdata.Str(v) }

	// clone: anything but the exact flags of a thread.
	for _, f := range []struct {
		name  string
		flags uint64
	}{
		{"fork-like 0", 0},
		{"fork (SIGCHLD)", uint64(unix.SIGCHLD)},
		{"CLONE_VM only", unix.CLONE_VM},
		{"CLONE_NEWUSER", unix.CLONE_NEWUSER},
		{"CLONE_NEWNS|CLONE_NEWPID", unix.CLONE_NEWNS | unix.CLONE_NEWPID},
		{"vfork flags", unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD)},
		{"thread flags without CLONE_THREAD", sandbox.ThreadCloneFlags &^ unix.CLONE_THREAD},
		{"thread flags without CLONE_SETTLS", sandbox.ThreadCloneFlags &^ unix.CLONE_SETTLS},
		{"thread flags + CLONE_NEWUSER", sandbox.ThreadCloneFlags | unix.CLONE_NEWUSER},
		{"thread flags + CLONE_PTRACE", sandbox.ThreadCloneFlags | unix.CLONE_PTRACE},
		{"thread flags + CLONE_PIDFD", sandbox.ThreadCloneFlags | unix.CLONE_PIDFD},
		{"thread flags + high bits", sandbox.ThreadCloneFlags | 1<<32},
	} {
		cases = append(cases, abuseCase{name: "clone " + f.name, ad: call(unix.SYS_CLONE, u(f.flags), u(0), s("word"), s("word"), u(0)), stoppedAs: "clone"})
	}
	// arch_prctl: only ARCH_SET_FS.
	for _, c := range []struct {
		name string
		code uint64
	}{
		{"ARCH_GET_FS", archGetFS}, {"ARCH_SET_GS", archSetGS}, {"ARCH_GET_GS", archGetGS},
		{"ARCH_SET_CPUID", archSetCPUID}, {"ARCH_GET_CPUID", archGetCPUID}, {"ARCH_MAP_VDSO_64", archMapVDSO},
		{"ARCH_SET_FS + high bits", 1<<32 | archSetFS},
	} {
		cases = append(cases, abuseCase{name: "arch_prctl " + c.name, ad: call(unix.SYS_ARCH_PRCTL, u(c.code), s("scratch")), stoppedAs: "arch_prctl"})
	}
	cases = append(cases, abuseCase{name: "arch_prctl ARCH_SET_FS (control)", ad: call(unix.SYS_ARCH_PRCTL, u(archSetFS), s("fsbase")), returns: "RETURNED 158 0\n"})
	// clock_gettime: only the ABI's four clocks, the CPU-time ones the
	// caller's own.
	for _, c := range []struct {
		name  string
		clock uint64
	}{
		{"CLOCK_BOOTTIME", unix.CLOCK_BOOTTIME}, {"CLOCK_MONOTONIC_RAW", unix.CLOCK_MONOTONIC_RAW},
		{"pid 1's CPU-time clock", 0xfffffff2}, // ((~1) << 3) | CPUCLOCK_SCHED
		{"CLOCK_THREAD_CPUTIME_ID + high bits", 1<<32 | unix.CLOCK_THREAD_CPUTIME_ID},
	} {
		cases = append(cases, abuseCase{name: "clock_gettime " + c.name, ad: call(unix.SYS_CLOCK_GETTIME, u(c.clock), s("scratch")), stoppedAs: "clock_gettime"})
	}
	for _, c := range []struct {
		name  string
		clock uint64
	}{
		{"CLOCK_REALTIME", unix.CLOCK_REALTIME}, {"CLOCK_MONOTONIC", unix.CLOCK_MONOTONIC},
		{"CLOCK_PROCESS_CPUTIME_ID", unix.CLOCK_PROCESS_CPUTIME_ID}, {"CLOCK_THREAD_CPUTIME_ID", unix.CLOCK_THREAD_CPUTIME_ID},
	} {
		cases = append(cases, abuseCase{name: "clock_gettime " + c.name + " (control)", ad: call(unix.SYS_CLOCK_GETTIME, u(c.clock), s("scratch")), returns: "RETURNED 228 0\n"})
	}
	// clock_nanosleep: only until an absolute time on CLOCK_REALTIME or
	// CLOCK_MONOTONIC. (The scratch buffer is zeroed: time 0, long past.)
	for _, c := range []struct {
		name         string
		clock, flags uint64
	}{
		{"relative", unix.CLOCK_MONOTONIC, 0}, {"CLOCK_BOOTTIME", unix.CLOCK_BOOTTIME, unix.TIMER_ABSTIME},
		{"CLOCK_PROCESS_CPUTIME_ID", unix.CLOCK_PROCESS_CPUTIME_ID, unix.TIMER_ABSTIME},
		{"pid 1's CPU-time clock", 0xfffffff2, unix.TIMER_ABSTIME},
		{"TIMER_ABSTIME + high bits", unix.CLOCK_MONOTONIC, 1<<32 | unix.TIMER_ABSTIME},
	} {
		cases = append(cases, abuseCase{name: "clock_nanosleep " + c.name, ad: call(unix.SYS_CLOCK_NANOSLEEP, u(c.clock), u(c.flags), s("scratch"), u(0)), stoppedAs: "clock_nanosleep"})
	}
	for _, c := range []struct {
		name  string
		clock uint64
	}{{"CLOCK_REALTIME", unix.CLOCK_REALTIME}, {"CLOCK_MONOTONIC", unix.CLOCK_MONOTONIC}} {
		cases = append(cases, abuseCase{name: "clock_nanosleep " + c.name + " TIMER_ABSTIME (control)", ad: call(unix.SYS_CLOCK_NANOSLEEP, u(c.clock), u(unix.TIMER_ABSTIME), s("scratch"), u(0)), returns: "RETURNED 230 0\n"})
	}
	// futex: only WAIT and WAKE, with or without FUTEX_PRIVATE_FLAG.
	for _, c := range []struct {
		name string
		op   uint64
	}{
		{"FUTEX_FD", futexFD}, {"FUTEX_REQUEUE", futexRequeue}, {"FUTEX_CMP_REQUEUE", futexCmpRequeue},
		{"FUTEX_WAKE_OP", futexWakeOp}, {"FUTEX_LOCK_PI", futexLockPI}, {"FUTEX_LOCK_PI|PRIVATE", futexLockPI | futexPrivate},
		{"FUTEX_UNLOCK_PI", futexUnlockPI}, {"FUTEX_TRYLOCK_PI", futexTrylockPI}, {"FUTEX_WAIT_BITSET", futexWaitBitset},
		{"FUTEX_WAKE_BITSET", futexWakeBitset}, {"FUTEX_WAIT_REQUEUE_PI", futexWaitRequeuePI},
		{"FUTEX_CMP_REQUEUE_PI", futexCmpRequeuePI}, {"FUTEX_LOCK_PI2", futexLockPI2},
		{"FUTEX_WAIT|FUTEX_CLOCK_REALTIME", futexWait | futexClockRealtime},
		{"FUTEX_WAKE + high bits", 1<<32 | futexWake},
	} {
		cases = append(cases, abuseCase{name: "futex " + c.name, ad: call(unix.SYS_FUTEX, s("word"), u(c.op), u(1), u(0), s("word"), u(0)), stoppedAs: "futex"})
	}
	for _, c := range []struct {
		name string
		op   uint64
		want string
	}{
		{"FUTEX_WAKE", futexWake, "RETURNED 202 0\n"},
		{"FUTEX_WAKE|PRIVATE", futexWake | futexPrivate, "RETURNED 202 0\n"},
		{"FUTEX_WAIT on a changed word", futexWait, "RETURNED 202 -11\n"},
		{"FUTEX_WAIT|PRIVATE on a changed word", futexWait | futexPrivate, "RETURNED 202 -11\n"},
	} {
		cases = append(cases, abuseCase{name: "futex " + c.name + " (control)", ad: call(unix.SYS_FUTEX, s("word"), u(c.op), u(1), u(0)), returns: c.want})
	}
	// mmap: only MAP_SHARED|MAP_FIXED inside guest memory, for the vDSO
	// to map the files the supervisor hands it. The process holds no file
	// of its own to map.
	const sharedFixed = unix.MAP_SHARED | unix.MAP_FIXED
	for _, c := range []struct {
		name  string
		addr  argdata.Value
		flags uint64
	}{
		{"MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED", s("scratch"), unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED},
		{"MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED", s("scratch"), sharedFixed | unix.MAP_ANONYMOUS},
		{"MAP_SHARED without MAP_FIXED", s("scratch"), unix.MAP_SHARED},
		{"MAP_SHARED|MAP_FIXED_NOREPLACE", s("scratch"), unix.MAP_SHARED | unix.MAP_FIXED_NOREPLACE},
		{"MAP_SHARED|MAP_FIXED|MAP_POPULATE", s("scratch"), sharedFixed | unix.MAP_POPULATE},
		{"MAP_SHARED|MAP_FIXED + high bits", s("scratch"), sharedFixed | 1<<32},
		{"MAP_SHARED|MAP_FIXED below guest memory", u(0x10000), sharedFixed},
		{"MAP_SHARED|MAP_FIXED at the top of the address space", u(0x7ffffffff000), sharedFixed},
	} {
		cases = append(cases, abuseCase{name: "mmap " + c.name, ad: call(unix.SYS_MMAP, c.addr, u(4096), u(unix.PROT_READ), u(c.flags), u(0), u(0)), stoppedAs: "mmap"})
	}
	cases = append(cases,
		abuseCase{name: "mmap MAP_SHARED|MAP_FIXED of the seccomp listener (control)", ad: call(unix.SYS_MMAP, s("scratch"), u(4096), u(unix.PROT_READ), u(sharedFixed), u(0), u(0)), returns: "RETURNED 9 -19\n"},
		abuseCase{name: "mmap MAP_SHARED|MAP_FIXED of no descriptor (control)", ad: call(unix.SYS_MMAP, s("scratch"), u(4096), u(unix.PROT_READ), u(sharedFixed), u(7), u(0)), returns: "RETURNED 9 -9\n"},
		abuseCase{name: "close of the seccomp listener (control)", ad: call(unix.SYS_CLOSE, u(0)), returns: "RETURNED 3 0\n"},
		// Fetching a file with no offer behind the token.
		abuseCase{name: "pidfd_getfd with a made-up token", ad: call(sandbox.GetFDSyscall, u(0x1234567), u(0), u(0)), stoppedAs: "pidfd_getfd"},
		abuseCase{name: "pidfd_getfd with token 0", ad: call(sandbox.GetFDSyscall, u(0), u(0), u(0)), stoppedAs: "pidfd_getfd"},
		abuseCase{name: "recvmsg", ad: call(unix.SYS_RECVMSG, u(0), s("scratch"), u(0)), stoppedAs: "recvmsg"},
		abuseCase{name: "munmap of own memory", ad: call(unix.SYS_MUNMAP, s("scratch"), u(4096)), stoppedAs: "munmap"},
		abuseCase{name: "mremap of own memory", ad: call(unix.SYS_MREMAP, s("scratch"), u(4096), u(8192), u(1)), stoppedAs: "mremap"},
	)
	// mprotect is allowed on any address. Code the guest makes executable
	// with it still cannot make a forbidden call.
	cases = append(cases,
		abuseCase{name: "mprotect RWX of own memory, then a raw open from it", ad: argdata.Map{adStr("mode", "rwx_open")}, stoppedAs: "open"},
		abuseCase{name: "mprotect of the boot block, then a raw open", ad: argdata.Map{adStr("mode", "boot_block")}, stoppedAs: "open"},
	)
	return cases
}

// TestSecurityAllowlistAbuse calls the allowlisted system calls with
// arguments the filter refuses, and checks the controls the vDSO needs.
func TestSecurityAllowlistAbuse(t *testing.T) {
	prog := openGuest(t, "testdata/guests/security/sweep.c")
	cases := abuseCases()
	results := make([]run, len(cases))
	errs := make([]error, len(cases))
	parallel(len(cases), sweepWorkers(), func(i int) {
		results[i], errs[i] = runCapture(prog, cases[i].ad, nil, nil, 20*time.Second)
	})
	for i, c := range cases {
		res, err := results[i], errs[i]
		if err == nil {
			if c.stoppedAs != "" {
				err = checkStopped(res, c.stoppedAs)
			} else if res.out != c.returns || !res.st.Exited || res.st.Code != 0 {
				err = fmt.Errorf("status %v, output %q; want exit 0 with %q", res.st, res.out, c.returns)
			}
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if testing.Verbose() {
			t.Logf("%s: %v %q", c.name, res.st, res.out)
		}
	}
}

// stubTextPage returns the address of a page of the sandbox stub's
// executable code as it is mapped in a sandbox process (which runs this
// test binary), or 0 if the binary is position-independent (its address
// then differs in every process).
func stubTextPage(t *testing.T) uint64 {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return 0
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Memsz >= 3*4096 {
			return (p.Vaddr + 4095) &^ 4095
		}
	}
	return 0
}

// TestSecurityOtherEntries tries the other ways into the host kernel: the
// 32-bit int $0x80 and sysenter entries, the legacy vsyscall page, and
// 32-bit code in compatibility mode, the classic way around a filter that
// does not check the architecture; and code written into the stub's own
// pages after a raw mprotect.
func TestSecurityOtherEntries(t *testing.T) {
	prog := openGuest(t, "testdata/guests/security/sweep.c")
	check := func(t *testing.T, res run, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v, output %q", res.st, res.out)
		if res.killed || res.st.Exited || strings.Contains(res.out, "RETURNED") {
			t.Errorf("status %v, output %q: want the process stopped before the call returns", res.st, res.out)
		}
	}
	t.Run("int80", func(t *testing.T) {
		// i386 open("/etc/passwd"): the filter's architecture check
		// reports it, and the supervisor names it and stops the process.
		res, err := runCapture(prog, argdata.Map{adStr("mode", "int80"), adInt("nr", 5), adStr("a0", "path")}, nil, nil, 20*time.Second)
		check(t, res, err)
		if err := checkStopped(res, "i386 system call 5 (int $0x80 or 32-bit code)"); err != nil {
			t.Error(err)
		}
	})
	t.Run("sysenter", func(t *testing.T) {
		// Invalid in 64-bit mode: SIGILL (or SIGSYS).
		res, err := runCapture(prog, argdata.Map{adStr("mode", "sysenter"), adInt("nr", 5)}, nil, nil, 20*time.Second)
		check(t, res, err)
	})
	t.Run("vsyscall", func(t *testing.T) {
		// The emulated vsyscall page runs the filter for gettimeofday;
		// with vsyscall=none the call faults instead.
		res, err := runCapture(prog, argdata.Map{adStr("mode", "vsyscall")}, nil, nil, 20*time.Second)
		check(t, res, err)
		if res.st.ForbiddenSyscall != "gettimeofday" && !res.st.Crashed {
			t.Errorf("status %v: want gettimeofday stopped, or a crash", res.st)
		}
	})
	page := stubTextPage(t)
	t.Run("stub_open", func(t *testing.T) {
		if page == 0 {
			t.Skip("the test binary is position-independent: the stub's address is not known in advance")
		}
		res, err := runCapture(prog, argdata.Map{adStr("mode", "stub_open"), adInt("a0", page)}, nil, nil, 20*time.Second)
		if err == nil {
			err = checkStopped(res, "open")
		}
		if err != nil {
			t.Error(err)
		}
		// The raw mprotect of the stub's code succeeds: the filter
		// allows mprotect anywhere (see docs/SECURITY.md).
		if !strings.HasPrefix(res.out, "MPROTECT 10 0\n") {
			t.Errorf("output %q: the stub's page was expected to be mprotect-able", res.out)
		}
	})
	t.Run("compat32", func(t *testing.T) {
		if page == 0 || page >= 1<<32 {
			t.Skip("no executable page below 4 GiB is known in the sandbox")
		}
		res, err := runCapture(prog, argdata.Map{adStr("mode", "compat32"), adInt("a0", page)}, nil, nil, 20*time.Second)
		check(t, res, err)
		if err := checkStopped(res, "i386 system call 5 (int $0x80 or 32-bit code)"); err != nil {
			t.Error(err)
		}
	})
}

// TestSecurityMemoryLimitRawMprotect: a program under a memory limit makes
// pages of its region that it never mapped accessible with a raw mprotect
// (allowed by the filter) and uses them.
func TestSecurityMemoryLimitRawMprotect(t *testing.T) {
	// The sandbox maps its whole region (PROT_NONE) and the allowlisted
	// mprotect can make any of it usable: a program under a 16 MiB limit
	// tries to use 256 MiB that way. The supervisor watches the pages the
	// memory really holds and kills it.
	prog := openGuest(t, "testdata/guests/security/sweep.c")
	const limit, use = 16 << 20, 256 << 20
	res, err := runCapture(prog, argdata.Map{adStr("mode", "memlimit"), adInt("a0", use)}, nil, &cloudabi.Options{MemoryLimit: limit}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.out, fmt.Sprintf("TOUCHED %d", use)) {
		t.Errorf("a program limited to %d MiB used %d MiB more (output %q, %v)", limit>>20, use>>20, res.out, res.st)
	}
	if !res.st.MemoryLimitExceeded || res.st.ShellStatus() != 137 {
		t.Errorf("status %+v (shell %d), want killed for exceeding its memory limit (137)", res.st, res.st.ShellStatus())
	}
}

// ---- Supervisor robustness ----

// usage is what the supervisor process holds.
type usage struct {
	goroutines, fds, threads int
	rssKiB                   int
}

func (u usage) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, %d threads, RSS %d MiB", u.goroutines, u.fds, u.threads, u.rssKiB>>10)
}

func currentUsage(t testing.TB) usage {
	t.Helper()
	u := usage{goroutines: runtime.NumGoroutine()}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	u.fds = len(ents)
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "Threads:":
			u.threads, _ = strconv.Atoi(fields[1])
		case "VmRSS:":
			u.rssKiB, _ = strconv.Atoi(fields[1])
		}
	}
	return u
}

// settle waits until the supervisor's goroutines and fds are back to at
// most base plus slack (finished processes are torn down asynchronously),
// and reports the usage then; an error if they do not come back.
func settle(t testing.TB, base usage, slack int) (usage, error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		runtime.GC()
		u := currentUsage(t)
		if u.goroutines <= base.goroutines+slack && u.fds <= base.fds+slack {
			return u, nil
		}
		if time.Now().After(deadline) {
			return u, fmt.Errorf("supervisor did not return to its baseline: %v, baseline %v", u, base)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostileCase is one run of the hostile guest.
type hostileCase struct {
	mode string
	ad   argdata.Map
	// feed, if set, gets the write end of a pipe that is the guest's fd 1
	// ("in"), and runs on its own goroutine.
	feed func(w *os.File)
	// check judges the run; nil means "ended by itself, exit 0, output
	// ends with done".
	check   func(res run) error
	timeout time.Duration
}

func exitedDone(res run) error {
	if res.killed || !res.st.Exited || res.st.Code != 0 || !strings.HasSuffix(res.out, "done\n") {
		return fmt.Errorf("status %v, output %q: want exit 0 after \"done\"", res.st, res.out)
	}
	return nil
}

func endedAbnormally(res run) error {
	if res.killed {
		return fmt.Errorf("did not end by itself (output %q)", res.out)
	}
	if res.st.Exited && res.st.Code == 0 && strings.Contains(res.out, "done") {
		return fmt.Errorf("status %v, output %q: survived what should have ended it", res.st, res.out)
	}
	return nil
}

func hostileCases() []hostileCase {
	mode := func(m string, extra ...argdata.MapEntry) argdata.Map {
		return append(argdata.Map{adStr("mode", m)}, extra...)
	}
	return []hostileCase{
		// Garbage in the runtime's own structures, then normal calls.
		{mode: "mailbox_garbage", ad: mode("mailbox_garbage")},
		{mode: "shared_garbage", ad: mode("shared_garbage")},
		{mode: "fake_requests", ad: mode("fake_requests")},
		// The guest breaks its own transport: it may hang or crash, but
		// only itself, and a kill ends it.
		{mode: "bad_slot", ad: mode("bad_slot"), timeout: time.Second, check: func(res run) error {
			if !res.killed && res.st.Exited && res.st.Code == 0 && strings.Contains(res.out, "done") {
				return fmt.Errorf("status %v, output %q: a call with a wrong slot was served", res.st, res.out)
			}
			return nil
		}},
		{mode: "bad_shared", ad: mode("bad_shared"), check: endedAbnormally},
		{mode: "clear_dispatcher_waiting", ad: mode("clear_dispatcher_waiting"), timeout: time.Second, check: func(res run) error { return nil }},
		// Wild pointers, huge and overflowing lengths, overlapping and
		// self-referential buffers.
		{mode: "wild", ad: mode("wild"), check: func(res run) error {
			if err := exitedDone(res); err != nil {
				return err
			}
			if strings.Contains(res.out, "FAIL") {
				return fmt.Errorf("unexpected results:\n%s", res.out)
			}
			return nil
		}},
		// Reads and random bytes straight into the runtime's structures.
		{mode: "scribble_runtime", ad: mode("scribble_runtime")},
		// A buffer unmapped by another thread while a call that writes
		// into it waits.
		{mode: "unmap_during_call", ad: mode("unmap_during_call"), feed: func(w *os.File) {
			time.Sleep(300 * time.Millisecond)
			w.Write(bytes.Repeat([]byte("x"), 65536))
			w.Close()
		}},
		// Ringing the doorbell as fast as possible, with every pending
		// bit set, while another thread makes calls.
		{mode: "doorbell", ad: mode("doorbell", adInt("ms", 500)), check: func(res run) error {
			if err := exitedDone(res); err != nil {
				return err
			}
			if !strings.Contains(res.out, "calls ") || strings.Contains(res.out, "calls 0\n") {
				return fmt.Errorf("the calling thread made no progress: %q", res.out)
			}
			return nil
		}},
		// A vDSO made writable and scribbled over, then called.
		{mode: "vdso_scribble", ad: mode("vdso_scribble"), check: endedAbnormally},
		{mode: "vdso_unmap", ad: mode("vdso_unmap"), check: func(res run) error {
			if res.killed || !res.st.Exited || !strings.Contains(res.out, "unmap 28\n") || strings.Contains(res.out, "FAIL") {
				return fmt.Errorf("status %v, output %q: want the unmap refused (EINVAL) and the program alive", res.st, res.out)
			}
			return nil
		}},
		{mode: "vdso_syscall", ad: mode("vdso_syscall"), check: func(res run) error { return checkStopped(res, "getpid") }},
		// Runtime structures cannot be replaced or removed.
		{mode: "map_over_runtime", ad: mode("map_over_runtime"), check: func(res run) error {
			want := "map 48\nprotect 48\nunmap 28\ndone\n" // ENOMEM, ENOMEM, EINVAL
			if res.killed || !res.st.Exited || !strings.Contains(res.out, want) {
				return fmt.Errorf("status %v, output %q: want the calls refused and the program alive (%q)", res.st, res.out, want)
			}
			return nil
		}},
		// Many threads exiting and crashing at once.
		{mode: "thread_crash", ad: mode("thread_crash"), check: func(res run) error {
			if res.killed || !res.st.Crashed {
				return fmt.Errorf("status %v, output %q: want a crash", res.st, res.out)
			}
			return nil
		}},
		{mode: "thread_forbidden", ad: mode("thread_forbidden"), check: func(res run) error { return checkStopped(res, "getpid") }},
		// A process that spins and never makes a call: only a kill ends it.
		{mode: "spin", ad: mode("spin"), timeout: 300 * time.Millisecond, check: func(res run) error {
			if !res.killed {
				return fmt.Errorf("status %v: a spinning process ended by itself", res.st)
			}
			return nil
		}},
		// A process killed while its threads wait in the supervisor.
		{mode: "block_many", ad: mode("block_many"), timeout: 2 * time.Second, check: func(res run) error {
			if !res.killed || !strings.Contains(res.out, "blocked") {
				return fmt.Errorf("status %v, output %q: want threads blocked until the kill", res.st, res.out)
			}
			return nil
		}},
	}
}

// TestRobustHostileGuests runs guests that attack the supervisor through
// the transport, the runtime's structures in their memory and the system
// call arguments. The supervisor is this test process: a panic fails the
// test, every run must end (by itself or by a kill), and afterwards the
// process must hold no more goroutines and fds than before.
func TestRobustHostileGuests(t *testing.T) {
	prog := openGuest(t, "testdata/guests/security/hostile.c")
	// Warm up: the first run starts goroutines that live on (timers,
	// the network poller).
	if _, err := runCapture(prog, argdata.Map{adStr("mode", "hello")}, nil, nil, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	base, err := settle(t, currentUsage(t), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range hostileCases() {
		t.Run(c.mode, func(t *testing.T) {
			var extra []cloudabi.FD
			var fed sync.WaitGroup
			if c.feed != nil {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				extra = append(extra, cloudabi.FD{File: r})
				fed.Add(1)
				go func() { defer fed.Done(); c.feed(w) }()
			} else {
				null, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				extra = append(extra, cloudabi.FD{File: null})
			}
			timeout := c.timeout
			if timeout == 0 {
				timeout = 20 * time.Second
			}
			start := time.Now()
			res, err := runCapture(prog, c.ad, extra, nil, timeout)
			fed.Wait()
			if err != nil {
				t.Fatal(err)
			}
			check := c.check
			if check == nil {
				check = exitedDone
			}
			if err := check(res); err != nil {
				t.Error(err)
			}
			out := res.out
			if len(out) > 600 {
				out = out[:300] + " ... " + out[len(out)-300:]
			}
			t.Logf("%v in %v (killed: %v), output %q", res.st, time.Since(start).Round(time.Millisecond), res.killed, out)
		})
	}
	after, err := settle(t, base, 2)
	t.Logf("baseline: %v; after: %v", base, after)
	if err != nil {
		t.Error(err)
	}
	// Go keeps idle OS threads; a dispatcher thread is reused by the
	// next process, so sequential runs must not add up.
	if after.threads > base.threads+8 {
		t.Errorf("%d OS threads after the runs, %d before", after.threads, base.threads)
	}
}

// ---- Fuzzing the system call dispatcher from a guest ----

// fuzzDir makes a directory with a file and a subdirectory, for the fuzz
// guest's directory descriptor.
func fuzzDir(t testing.TB) *os.File {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/a", []byte("contents of a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir+"/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fuzzOptions bound what a script can take: memory, processes, threads.
var fuzzOptions = &cloudabi.Options{MemoryLimit: 64 << 20, MaxProcesses: 8, MaxThreads: 64}

// fuzzTimeout is how long a script may run before it is killed (a script
// may block for ever, in poll or on a lock; that is not a failure).
const fuzzTimeout = 2 * time.Second

// runScript runs the fuzz guest on script. Only a supervisor failure is
// an error: a process that does not end after a kill. A supervisor panic
// ends the whole test binary.
func runScript(t testing.TB, prog *cloudabi.Program, script []byte) (run, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	ad := argdata.Map{
		{Key: argdata.Str("dir"), Value: argdata.FD(1)},
		{Key: argdata.Str("null"), Value: argdata.FD(2)},
		{Key: argdata.Str("script"), Value: argdata.Binary(script)},
	}
	return runCapture(prog, ad, []cloudabi.FD{{File: fuzzDir(t)}, {File: null}}, fuzzOptions, fuzzTimeout)
}

// randomScript returns a script of n operations from a deterministic
// generator.
func randomScript(seed uint64, n int) []byte {
	x := seed*0x9e3779b97f4a7c15 + 1
	next := func() byte {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return byte(x)
	}
	var b []byte
	for i := 0; i < n; i++ {
		op := next()
		if op == 0xfe && i%2 == 1 {
			op = 0xfd
		}
		b = append(b, op)
		for j := 0; j < 7; j++ {
			b = append(b, next())
		}
	}
	return b
}

// FuzzSyscalls runs the fuzz guest on scripts of system calls with
// interesting and random arguments (see testdata/guests/security/fuzz.c).
// The supervisor, this process, must never panic, and every process must
// end, by itself or when killed. Run it long with
//
//	go test -run='^$' -fuzz=FuzzSyscalls -fuzztime=5m .
func FuzzSyscalls(f *testing.F) {
	prog := openGuest(f, "testdata/guests/security/fuzz.c")
	for seed := uint64(1); seed <= 4; seed++ {
		f.Add(randomScript(seed, 64))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 4096 {
			script = script[:4096]
		}
		if _, err := runScript(t, prog, script); err != nil {
			t.Fatalf("script %x: %v", script, err)
		}
	})
}

// TestRobustRandomCalls runs the fuzz guest on many random scripts at
// once, then checks that the supervisor is back to its baseline.
func TestRobustRandomCalls(t *testing.T) {
	prog := openGuest(t, "testdata/guests/security/fuzz.c")
	if _, err := runScript(t, prog, nil); err != nil {
		t.Fatal(err)
	}
	base := currentUsage(t)
	n := 150
	if testing.Short() {
		n = 30
	}
	start := time.Now()
	var mu sync.Mutex
	outcomes := map[string]int{}
	parallel(n, sweepWorkers(), func(i int) {
		res, err := runScript(t, prog, randomScript(uint64(1000+i), 200))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("seed %d: %v", 1000+i, err)
			return
		}
		switch {
		case res.killed:
			outcomes["killed after "+fuzzTimeout.String()]++
		case res.st.Exited && strings.HasPrefix(res.out, "done"):
			outcomes["ran to the end"]++
		default:
			outcomes[res.st.String()]++
		}
	})
	t.Logf("%d random scripts in %v: %v", n, time.Since(start).Round(time.Millisecond), outcomes)
	after, err := settle(t, base, 2)
	t.Logf("baseline: %v; after: %v", base, after)
	if err != nil {
		t.Error(err)
	}
}

// TestSecurityDescriptorExhaustion: one program creates descriptors until
// it cannot; meanwhile another program must still start and run.
func TestSecurityDescriptorExhaustion(t *testing.T) {
	// Every guest descriptor is a host descriptor of the supervisor: the
	// per-process limit (1024 by default) keeps one program from taking
	// the supervisor's all, so that others still start.
	prog := openGuest(t, "testdata/guests/security/hostile.c")
	r, w := pipeOut(t)
	inR, inW := pipeOut(t)
	defer inW.Close()
	enc, _ := argdata.Marshal(argdata.Map{adStr("mode", "fdhog"), {Key: argdata.Str("out"), Value: argdata.FD(0)}, {Key: argdata.Str("in"), Value: argdata.FD(1)}})
	hog, err := prog.Start(enc, []cloudabi.FD{{File: w}, {File: inR}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Kill()
	sc := bufio.NewScanner(r)
	var report []string
	for sc.Scan() {
		report = append(report, sc.Text())
		if strings.HasPrefix(sc.Text(), "errno") {
			break
		}
	}
	t.Logf("the hog: %q", report)
	res, err := runCapture(prog, argdata.Map{adStr("mode", "hello")}, nil, nil, 20*time.Second)
	if err != nil || exitedDone(res) != nil {
		t.Errorf("another program cannot run while one holds its descriptors: %v %v", err, exitedDone(res))
	}
	inW.Close()
	hog.Wait()
}

// TestSecurityThreadBomb: thread_create fails with EAGAIN at
// Options.MaxThreads, and the program carries on.
func TestSecurityThreadBomb(t *testing.T) {
	const maxThreads = 32
	prog := openGuest(t, "testdata/guests/security/hostile.c")
	res, err := runCapture(prog, argdata.Map{adStr("mode", "thread_bomb")}, nil, &cloudabi.Options{MaxThreads: maxThreads}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := exitedDone(res); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("threads %d\nerrno %d\n", maxThreads-1, abi.EAGAIN); !strings.HasPrefix(res.out, want) {
		t.Errorf("output %q, want %q first", res.out, want)
	}
}

// TestSecurityCloneBomb starts threads with raw clones, which the
// supervisor never sees, until the host refuses: in a user namespace of
// its own, the sandbox's RLIMIT_NPROC stops it with EAGAIN a little above
// Options.MaxThreads, and the program carries on.
func TestSecurityCloneBomb(t *testing.T) {
	if _, degraded := cloudabi.Isolation(); degraded != nil {
		t.Skipf("without a user namespace of its own, raw clones are bounded only by the host (%v)", degraded)
	}
	const maxThreads = 32
	prog := openGuest(t, "testdata/guests/security/hostile.c")
	res, err := runCapture(prog, argdata.Map{adStr("mode", "clone_bomb")}, nil, &cloudabi.Options{MaxThreads: maxThreads}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := exitedDone(res); err != nil {
		t.Fatal(err)
	}
	var threads, errno int
	if _, err := fmt.Sscanf(res.out, "threads %d\nerrno %d\n", &threads, &errno); err != nil {
		t.Fatalf("output %q: %v", res.out, err)
	}
	t.Logf("raw clones: %d threads, then errno %d", threads, errno)
	// The main thread is one of the tasks the limit counts.
	if limit := maxThreads + 64 - 1; threads > limit || threads < maxThreads-1 {
		t.Errorf("raw clones started %d threads, want between %d and %d", threads, maxThreads-1, limit)
	}
	if errno != int(unix.EAGAIN) {
		t.Errorf("the clone that failed got errno %d, want EAGAIN", errno)
	}
}

// TestSecurityCPUTimeLimit: a program spinning forever is stopped when it
// has used its CPU time, and the status says why.
func TestSecurityCPUTimeLimit(t *testing.T) {
	prog := openGuest(t, "testdata/guests/security/hostile.c")
	start := time.Now()
	res, err := runCapture(prog, argdata.Map{adStr("mode", "spin")}, nil, &cloudabi.Options{CPUTime: time.Second}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped after %v: %v", time.Since(start), res.st)
	if res.killed || !res.st.CPUTimeExceeded || res.st.ShellStatus() != 128+int(unix.SIGXCPU) ||
		!strings.Contains(res.st.String(), "CPU time") {
		t.Errorf("status %v (shell %d, killed by the test: %v), want stopped for its CPU time with 152",
			res.st, res.st.ShellStatus(), res.killed)
	}
	// A program that ends within its CPU time ends as usual.
	res, err = runCapture(prog, argdata.Map{adStr("mode", "hello")}, nil, &cloudabi.Options{CPUTime: time.Second}, 30*time.Second)
	if err != nil || exitedDone(res) != nil || res.st.CPUTimeExceeded {
		t.Errorf("a program within its CPU time: %v %v", err, res.st)
	}
}

// TestSecurityFailedCloneKeepsNoSlot: thread_create calls whose clone fails
// in the guest (the host's RLIMIT_NPROC is used up by raw clones) must not
// keep thread slots: once the raw threads are gone, the program creates
// as many threads as its limit allows.
func TestSecurityFailedCloneKeepsNoSlot(t *testing.T) {
	if _, degraded := cloudabi.Isolation(); degraded != nil {
		t.Skipf("the host's thread limit applies only in a user namespace of the sandbox's own (%v)", degraded)
	}
	const maxThreads = 32
	prog := openGuest(t, "testdata/guests/security/hostile.c")
	res, err := runCapture(prog, argdata.Map{adStr("mode", "clone_then_create")}, nil, &cloudabi.Options{MaxThreads: maxThreads}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := exitedDone(res); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("failed_creates 10\nthreads %d\nerrno %d\n", maxThreads-1, abi.EAGAIN)
	if !strings.HasPrefix(res.out, want) {
		t.Errorf("output %q, want %q first", res.out, want)
	}
}
