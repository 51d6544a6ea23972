package cloudabi_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// loadSandboxes is how many sandboxes TestLoadManySandboxes runs at once.
const loadSandboxes = 200

// loadDeadline bounds one round of the load test.
const loadDeadline = 90 * time.Second

// loadKind is one workload of the load test: how to start it and how to
// judge its end.
type loadKind struct {
	name  string
	start func(t *testing.T, i int) (*cloudabi.Process, func(st cloudabi.ExitStatus, out string) error, *os.File)
}

// pipeOut returns a pipe for a guest's output: the write end for the
// guest, the read end for the test.
func pipeOut(t *testing.T) (r, w *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

func mustStart(t *testing.T, prog *cloudabi.Program, ad argdata.Value, fds []cloudabi.FD) *cloudabi.Process {
	enc, err := argdata.Marshal(ad)
	if err != nil {
		t.Fatal(err)
	}
	p, err := prog.Start(enc, fds, nil)
	if err != nil {
		t.Fatalf("starting a sandbox: %v", err)
	}
	return p
}

func exitedWith(want string) func(st cloudabi.ExitStatus, out string) error {
	return func(st cloudabi.ExitStatus, out string) error {
		if !st.Exited || st.Code != 0 || out != want {
			return fmt.Errorf("status %v, output %q; want exit 0 with %q", st, out, want)
		}
		return nil
	}
}

func loadKinds(t *testing.T) []loadKind {
	hello := openGuest(t, "examples/hello/hello.c")
	echo := openGuest(t, "testdata/guests/echo.c")
	errorsProg := openGuest(t, "testdata/guests/errors.c")
	crash := openGuest(t, "testdata/guests/crash.c")
	raw := openGuest(t, "testdata/guests/rawsyscall.c")
	files := openGuest(t, "testdata/guests/security/files.c")
	exitExe := guestbuild.Build(t, "testdata/guests/exit.c")
	echoData := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog.\n"), 1500) // 66 KB
	return []loadKind{
		{"hello", func(t *testing.T, i int) (*cloudabi.Process, func(cloudabi.ExitStatus, string) error, *os.File) {
			r, w := pipeOut(t)
			p := mustStart(t, hello, argdata.Seq{argdata.FD(0)}, []cloudabi.FD{{File: w}})
			return p, exitedWith("Hello, world\n"), r
		}},
		{"echo", func(t *testing.T, i int) (*cloudabi.Process, func(cloudabi.ExitStatus, string) error, *os.File) {
			r, w := pipeOut(t)
			inR, inW := pipeOut(t)
			go func() {
				inW.Write(echoData)
				inW.Close()
			}()
			ad := argdata.Map{{Key: argdata.Str("in"), Value: argdata.FD(1)}, {Key: argdata.Str("out"), Value: argdata.FD(0)}}
			p := mustStart(t, echo, ad, []cloudabi.FD{{File: w}, {File: inR}})
			return p, exitedWith(string(echoData)), r
		}},
		{"errors", func(t *testing.T, i int) (*cloudabi.Process, func(cloudabi.ExitStatus, string) error, *os.File) {
			r, w := pipeOut(t)
			ro, err := os.Open(exitExe)
			if err != nil {
				t.Fatal(err)
			}
			ad := argdata.Map{{Key: argdata.Str("out"), Value: argdata.FD(0)}, {Key: argdata.Str("ro"), Value: argdata.FD(1)}}
			p := mustStart(t, errorsProg, ad, []cloudabi.FD{{File: w, Rights: abi.RightFdWrite | abi.RightFileStatFget}, {File: ro, Rights: kernelReadOnly}})
			return p, func(st cloudabi.ExitStatus, out string) error {
				lines := strings.Split(strings.TrimSpace(out), "\n")
				for _, l := range lines {
					if !strings.HasPrefix(l, "ok ") {
						return fmt.Errorf("check failed: %s", l)
					}
				}
				if !st.Exited || st.Code != 0 || len(lines) < 30 {
					return fmt.Errorf("status %v after %d checks", st, len(lines))
				}
				return nil
			}, r
		}},
		{"crash", func(t *testing.T, i int) (*cloudabi.Process, func(cloudabi.ExitStatus, string) error, *os.File) {
			r, w := pipeOut(t)
			p := mustStart(t, crash, argdata.Null{}, []cloudabi.FD{{File: w}})
			return p, func(st cloudabi.ExitStatus, out string) error {
				if !st.Crashed || st.Signal != abi.SigSegv || out != "" {
					return fmt.Errorf("status %v, output %q; want a SIGSEGV crash", st, out)
				}
				return nil
			}, r
		}},
		{"forbidden", func(t *testing.T, i int) (*cloudabi.Process, func(cloudabi.ExitStatus, string) error, *os.File) {
			r, w := pipeOut(t)
			ad := argdata.Map{{Key: argdata.Str("syscall"), Value: argdata.Str("open")}, {Key: argdata.Str("out"), Value: argdata.FD(0)}}
			p := mustStart(t, raw, ad, []cloudabi.FD{{File: w}})
			return p, func(st cloudabi.ExitStatus, out string) error {
				if st.ForbiddenSyscall != "open" || out != "" {
					return fmt.Errorf("status %v, output %q; want open stopped", st, out)
				}
				return nil
			}, r
		}},
		{"files", func(t *testing.T, i int) (*cloudabi.Process, func(cloudabi.ExitStatus, string) error, *os.File) {
			r, w := pipeOut(t)
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			d, err := os.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			ad := argdata.Map{{Key: argdata.Str("out"), Value: argdata.FD(0)}, {Key: argdata.Str("dir"), Value: argdata.FD(1)}, {Key: argdata.Str("id"), Value: argdata.UintOf(uint64(i))}}
			p := mustStart(t, files, ad, []cloudabi.FD{{File: w}, {File: d}})
			return p, func(st cloudabi.ExitStatus, out string) error {
				if err := exitedWith(fmt.Sprintf("files ok %d\n", i))(st, out); err != nil {
					return err
				}
				if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
					return fmt.Errorf("the directory holds %d entries afterwards (%v)", len(ents), err)
				}
				return nil
			}, r
		}},
	}
}

// loadRound starts n sandboxes of the given kinds, all at once, and waits
// for every one of them; it reports the time from the first start to the
// last end.
func loadRound(t *testing.T, kinds []loadKind, n int) time.Duration {
	type running struct {
		kind  string
		proc  *cloudabi.Process
		check func(cloudabi.ExitStatus, string) error
		out   chan string
	}
	start := time.Now()
	procs := make([]running, n)
	for i := range procs {
		k := kinds[i%len(kinds)]
		p, check, r := k.start(t, i)
		out := make(chan string, 1)
		go func() {
			defer r.Close()
			b, _ := io.ReadAll(r)
			out <- string(b)
		}()
		procs[i] = running{k.name, p, check, out}
	}
	deadline := time.NewTimer(loadDeadline)
	defer deadline.Stop()
	failures := 0
	for i, r := range procs {
		select {
		case <-r.proc.Done():
		case <-deadline.C:
			for _, q := range procs[i:] {
				q.proc.Kill()
			}
			t.Fatalf("sandboxes still running %v after the start", loadDeadline)
		}
		var out string
		select {
		case out = <-r.out:
		case <-time.After(killGrace):
			t.Fatalf("sandbox %d (%s): output not closed after the end", i, r.kind)
		}
		if err := r.check(r.proc.Wait(), out); err != nil {
			failures++
			if failures <= 10 {
				t.Errorf("sandbox %d (%s): %v", i, r.kind, err)
			}
		}
	}
	if failures > 10 {
		t.Errorf("... %d sandboxes failed in all", failures)
	}
	return time.Since(start)
}

// TestLoadManySandboxes runs 200 sandboxes at once with a mix of
// workloads, twice; each must end with the right output, and afterwards
// the supervisor must be back to its baseline: goroutines and fds as
// before, idle OS threads at most one per sandbox that ran at once, RSS
// not growing from one round to the next.
func TestLoadManySandboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 200 sandboxes at once take a few seconds")
	}
	if runtime.NumCPU() < 2 {
		t.Skip("needs at least 2 CPUs")
	}
	if fds := currentUsage(t).fds; fds+loadSandboxes*12 > maxOpenFiles() {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d sandboxes at once", maxOpenFiles(), loadSandboxes)
	}
	kinds := loadKinds(t)
	loadRound(t, kinds, len(kinds)) // warm up: one of each
	base, _ := settle(t, currentUsage(t), 1<<20)
	var after [2]usage
	for round := 0; round < 2; round++ {
		d := loadRound(t, kinds, loadSandboxes)
		u, err := settle(t, base, 2)
		if err != nil {
			t.Errorf("round %d: %v", round+1, err)
		}
		after[round] = u
		t.Logf("round %d: %d sandboxes in %v; then %v", round+1, loadSandboxes, d.Round(time.Millisecond), u)
	}
	t.Logf("baseline: %v", base)
	// Go keeps the OS threads it has made: a dispatcher's thread goes
	// back to the pool when its process ends (see kernel/thread.go). The
	// pool is bounded by the peak number of processes running at once,
	// not by how many have run.
	for round, u := range after {
		if u.threads > base.threads+loadSandboxes+16 {
			t.Errorf("round %d: %d OS threads, more than one per sandbox (baseline %d)", round+1, u.threads, base.threads)
		}
	}
	if after[1].rssKiB > after[0].rssKiB*3/2+64<<10 {
		t.Errorf("RSS grew from %d MiB to %d MiB between the rounds", after[0].rssKiB>>10, after[1].rssKiB>>10)
	}
}

// maxOpenFiles is the process's soft limit on open files.
func maxOpenFiles() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1 << 30
	}
	return int(lim.Cur)
}
