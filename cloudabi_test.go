package cloudabi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// runGuest builds a guest program, runs it with the argdata and fds, and
// returns how it ended.
func runGuest(t *testing.T, src string, ad argdata.Value, fds ...*os.File) cloudabi.ExitStatus {
	t.Helper()
	prog, err := cloudabi.Open(guestbuild.Build(t, src))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	enc, err := argdata.Marshal(ad)
	if err != nil {
		t.Fatal(err)
	}
	var grants []cloudabi.FD
	for _, f := range fds {
		grants = append(grants, cloudabi.FD{File: f})
	}
	proc, err := prog.Start(enc, grants, nil)
	if err != nil {
		t.Fatal(err)
	}
	return proc.Wait()
}

// outputFile returns a file for a guest to write to and a function that
// reads what was written.
func outputFile(t *testing.T) (*os.File, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f, func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

// checkReport fails the test for every line of a guest's report that is
// not "ok <check>" (the guests in testdata/guests print one line per
// check, see check.h), and if fewer than min checks were reported.
func checkReport(t *testing.T, name, report string, min int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(report), "\n")
	if len(lines) < min {
		t.Errorf("%s: only %d checks reported, want at least %d:\n%s", name, len(lines), min, report)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok ") {
			t.Errorf("%s: %s", name, l)
		}
	}
}

func TestHello(t *testing.T) {
	out, read := outputFile(t)
	st := runGuest(t, "examples/hello/hello.c", argdata.Seq{argdata.FD(0), argdata.FD(0), argdata.FD(0)}, out)
	if !st.Exited || st.Code != 0 {
		t.Fatalf("status %v, want exit 0", st)
	}
	if got, want := read(), strings.Repeat("Hello, world\n", 3); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestConfined: Options.Confined is called once, with what Isolation
// reports, before the program's first system call is served.
func TestConfined(t *testing.T) {
	prog, err := cloudabi.Open(guestbuild.Build(t, "examples/hello/hello.c"))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	ad, _ := argdata.Marshal(argdata.Seq{argdata.FD(0)})
	out, read := outputFile(t)
	var calls int
	var seen string
	opts := &cloudabi.Options{Confined: func(description string, degraded error) {
		calls++
		// The program is running by now; its first fd_write must wait.
		time.Sleep(20 * time.Millisecond)
		seen = read()
		if want, wantErr := cloudabi.Isolation(); description != want || fmt.Sprint(degraded) != fmt.Sprint(wantErr) {
			t.Errorf("Confined(%q, %v), want Isolation's (%q, %v)", description, degraded, want, wantErr)
		}
	}}
	proc, err := prog.Start(ad, []cloudabi.FD{{File: out}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := proc.Wait(); !st.Exited || st.Code != 0 {
		t.Fatalf("status %v, want exit 0", st)
	}
	if calls != 1 {
		t.Errorf("Confined called %d times, want once", calls)
	}
	if seen != "" {
		t.Errorf("the program wrote %q before Confined returned", seen)
	}
	if got := read(); got != "Hello, world\n" {
		t.Errorf("output %q, want one greeting", got)
	}
}

func TestExitCodePropagates(t *testing.T) {
	for _, code := range []uint32{0, 1, 42, 255, 256, 1 << 31} {
		st := runGuest(t, "testdata/guests/exit.c", argdata.UintOf(uint64(code)))
		if !st.Exited || st.Code != code {
			t.Errorf("exit(%d): status %v", code, st)
		}
		if got, want := st.ShellStatus(), int(code&0xff); got != want {
			t.Errorf("exit(%d): shell status %d, want %d", code, got, want)
		}
	}
}

func TestCrashIsReported(t *testing.T) {
	st := runGuest(t, "testdata/guests/crash.c", argdata.Null{})
	if st.Exited || !st.Crashed || st.Signal != abi.SigSegv {
		t.Fatalf("status %+v, want a SIGSEGV crash", st)
	}
	if st.ShellStatus() != 139 {
		t.Errorf("shell status %d, want 139", st.ShellStatus())
	}
	if !strings.Contains(st.String(), "SIGSEGV") {
		t.Errorf("description %q does not name SIGSEGV", st.String())
	}
}

// TestRawSyscallsAreStopped runs guests that bypass the vDSO and issue
// Linux system calls directly. Each must be stopped before the call has
// any effect, with the call named.
func TestRawSyscallsAreStopped(t *testing.T) {
	escapeDir := "/tmp/cloudabi-escape-test"
	os.Remove(escapeDir)
	for _, name := range []string{"open", "openat", "mkdir", "socket", "execve", "ptrace", "kill", "getpid", "uname", "write", "fork", "chdir", "unshare"} {
		t.Run(name, func(t *testing.T) {
			out, read := outputFile(t)
			ad := argdata.Map{
				{Key: argdata.Str("syscall"), Value: argdata.Str(name)},
				{Key: argdata.Str("out"), Value: argdata.FD(0)},
			}
			st := runGuest(t, "testdata/guests/rawsyscall.c", ad, out)
			if st.ForbiddenSyscall != name {
				t.Errorf("status %+v, want stopped for %s", st, name)
			}
			if st.ShellStatus() != 128+31 {
				t.Errorf("shell status %d, want %d (128+SIGSYS)", st.ShellStatus(), 128+31)
			}
			if got := read(); got != "" {
				t.Errorf("guest got control back: %q", got)
			}
		})
	}
	if _, err := os.Stat(escapeDir); err == nil {
		t.Errorf("%s exists: a raw mkdir had an effect", escapeDir)
		os.Remove(escapeDir)
	}
}

func TestReadAndWriteGrantedFDs(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789abcdef"), 100000) // 1.6 MB, many reads
	in := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(in, want, 0o600); err != nil {
		t.Fatal(err)
	}
	inFile, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	out, read := outputFile(t)
	ad := argdata.Map{
		{Key: argdata.Str("in"), Value: argdata.FD(0)},
		{Key: argdata.Str("out"), Value: argdata.FD(1)},
	}
	st := runGuest(t, "testdata/guests/echo.c", ad, inFile, out)
	if !st.Exited || st.Code != 0 {
		t.Fatalf("status %v, want exit 0", st)
	}
	if got := read(); got != string(want) {
		t.Errorf("copied %d bytes, want %d identical ones", len(got), len(want))
	}
}

func TestReadFromPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, read := outputFile(t)
	go func() {
		for i := 0; i < 100; i++ {
			io.WriteString(w, "line\n")
		}
		w.Close()
	}()
	ad := argdata.Map{
		{Key: argdata.Str("in"), Value: argdata.FD(0)},
		{Key: argdata.Str("out"), Value: argdata.FD(1)},
	}
	st := runGuest(t, "testdata/guests/echo.c", ad, r, out)
	if !st.Exited || st.Code != 0 {
		t.Fatalf("status %v, want exit 0", st)
	}
	if got := read(); got != strings.Repeat("line\n", 100) {
		t.Errorf("output %q", got)
	}
}

// TestRightsAreEnforced gives the echo guest an output fd without the
// right to write: its write must fail (exit status 4), and nothing may
// reach the file.
func TestRightsAreEnforced(t *testing.T) {
	in, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	out, read := outputFile(t)
	prog, err := cloudabi.Open(guestbuild.Build(t, "testdata/guests/echo.c"))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	ad, _ := argdata.Marshal(argdata.Map{
		{Key: argdata.Str("in"), Value: argdata.FD(0)},
		{Key: argdata.Str("out"), Value: argdata.FD(1)},
	})
	proc, err := prog.Start(ad, []cloudabi.FD{
		{File: in},
		{File: out, Rights: abi.RightFdRead | abi.RightFileStatFget, Inheriting: 0},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := proc.Wait()
	if !st.Exited || st.Code != 4 {
		t.Errorf("status %v, want exit 4 (write refused)", st)
	}
	if got := read(); got != "" {
		t.Errorf("%d bytes reached a file without the write right", len(got))
	}
}

func TestFeatures(t *testing.T) {
	out, read := outputFile(t)
	st := runGuest(t, "testdata/guests/features.c", argdata.Map{{Key: argdata.Str("out"), Value: argdata.FD(0)}}, out)
	report := read()
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
	checkReport(t, "features", report, 13)
}

func TestOpenRejectsNonExecutables(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755)
	for _, tc := range []struct {
		path          string
		notExecutable bool
		msg           string
	}{
		{text, true, "not an ELF"},
		{"/bin/true", true, "not a CloudABI executable"},
		{filepath.Join(dir, "missing"), false, "no such file"},
		{dir, false, "not a regular file"},
	} {
		_, err := cloudabi.Open(tc.path)
		var perr *cloudabi.ProgramError
		if err == nil || !errors.As(err, &perr) {
			t.Errorf("Open(%s): %v, want a ProgramError", tc.path, err)
			continue
		}
		if perr.NotExecutable != tc.notExecutable || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Open(%s): %v (NotExecutable %v), want %q", tc.path, err, perr.NotExecutable, tc.msg)
		}
	}
}

// TestSyscallErrors runs a guest that makes system calls with bad
// arguments and checks each errno.
func TestSyscallErrors(t *testing.T) {
	out, read := outputFile(t)
	ro, err := os.Open(guestbuild.Build(t, "testdata/guests/exit.c"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := cloudabi.Open(guestbuild.Build(t, "testdata/guests/errors.c"))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	ad, _ := argdata.Marshal(argdata.Map{
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("ro"), Value: argdata.FD(1)},
	})
	proc, err := prog.Start(ad, []cloudabi.FD{{File: out, Rights: abi.RightFdWrite | abi.RightFileStatFget}, {File: ro, Rights: kernelReadOnly}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := proc.Wait()
	report := read()
	checkReport(t, "errors", report, 30)
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
}

// kernelReadOnly is what the launcher grants a !file: read, seek, stat.
const kernelReadOnly = abi.RightFdRead | abi.RightFdSeek | abi.RightFdTell | abi.RightFileStatFget

// TestMemMapFiles runs the memfile guest: private mappings of a file,
// mem_sync, mem_advise and the rights mem_map needs.
func TestMemMapFiles(t *testing.T) {
	data := make([]byte, 6000)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	out, read := outputFile(t)
	st := runGuest(t, "testdata/guests/memfile.c", argdata.Map{
		{Key: argdata.Str("file"), Value: argdata.FD(0)},
		{Key: argdata.Str("out"), Value: argdata.FD(1)},
	}, f, out)
	report := read()
	checkReport(t, "memfile", report, 25)
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
	if got, _ := os.ReadFile(path); string(got) != string(data) {
		t.Errorf("the file changed")
	}
}

// TestMemoryLimitAllowsWhatFits runs programs under a small memory limit:
// what stays within it must not be stopped (the supervisor also watches
// the pages the memory really holds; see TestSecurityMemoryLimitRawMprotect).
func TestMemoryLimitAllowsWhatFits(t *testing.T) {
	out, read := outputFile(t)
	prog, err := cloudabi.Open(guestbuild.Build(t, "testdata/guests/features.c"))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	ad, _ := argdata.Marshal(argdata.Map{{Key: argdata.Str("out"), Value: argdata.FD(0)}})
	proc, err := prog.Start(ad, []cloudabi.FD{{File: out}}, &cloudabi.Options{MemoryLimit: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	st := proc.Wait()
	checkReport(t, "features", read(), 13)
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0 within a 4 MiB limit", st)
	}
}
