package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

const tagHeader = "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n"

// launch runs the launcher in-process with the configuration on standard
// input and returns its exit status and what it wrote to stderr.
func launch(t *testing.T, config string, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	status := run(args, strings.NewReader(config), &stderr)
	return status, stderr.String()
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exit := guestbuild.Build(t, "testdata/guests/exit.c")
	elf, err := os.ReadFile(exit)
	if err != nil {
		t.Fatal(err)
	}
	text := write("text", []byte("just some text\n"))
	truncated := write("truncated", elf[:40])
	aarch64 := filepath.Join(dir, "aarch64")
	src := write("aarch64.c", []byte("void _start(void *auxv) { for (;;); }\n"))
	if out, err := exec.Command("clang-14", "--target=aarch64-unknown-cloudabi", "-fuse-ld=lld", "-nostdlib",
		"-ffreestanding", "-fno-sanitize=safe-stack", "-o", aarch64, src).CombinedOutput(); err != nil {
		t.Fatalf("building an aarch64 CloudABI program: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		config string
		status int
		msg    string
	}{
		{"text file", []string{text}, "", exitNotExecutable, "not an ELF executable"},
		{"truncated ELF", []string{truncated}, "", exitNotExecutable, "truncated ELF header"},
		{"Linux ELF", []string{"/bin/true"}, "", exitNotExecutable, "not a CloudABI executable"},
		{"other architecture", []string{aarch64}, "", exitNotExecutable, "for aarch64"},
		{"missing program", []string{filepath.Join(dir, "nope")}, "", exitUnreadable, "no such file"},
		{"invalid YAML", []string{exit}, "code: [1, 2\n", exitConfig, "<stdin>:"},
		{"unknown tag", []string{exit}, tagHeader + "code: !socket foo\n", exitConfig, "<stdin>:3:7: unknown tag"},
		{"missing file", []string{exit}, tagHeader + "f: !file {path: /nonexistent/file}\n", exitConfigFile, "<stdin>:3:4"},
		{"no program", nil, "", exitUsage, "expected exactly one PROGRAM"},
		{"bad flag", []string{"--frobnicate", exit}, "", exitUsage, "frobnicate"},
		{"bad size", []string{"--memory-limit", "lots", exit}, "", exitUsage, "invalid size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, stderr := launch(t, tc.config, tc.args...)
			if status != tc.status {
				t.Errorf("status %d, want %d (stderr %q)", status, tc.status, stderr)
			}
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.msg)
			}
			if n := strings.Count(stderr, "\n"); n != 1 || !strings.HasPrefix(stderr, "cloudabi-run: ") {
				t.Errorf("want one line starting with \"cloudabi-run: \", got %q", stderr)
			}
		})
	}
}

func TestProgramStatus(t *testing.T) {
	exit := guestbuild.Build(t, "testdata/guests/exit.c")
	crash := guestbuild.Build(t, "testdata/guests/crash.c")
	raw := guestbuild.Build(t, "testdata/guests/rawsyscall.c")
	for _, tc := range []struct {
		name   string
		prog   string
		config string
		status int
		msg    string
	}{
		{"exit code", exit, "code: 42\n", 42, ""},
		{"exit zero", exit, "code: 0\n", 0, ""},
		{"crash", crash, "", 139, "crashed: SIGSEGV"},
		{"forbidden syscall", raw, tagHeader + "syscall: openat\nout: !fd stderr\n", 159, "forbidden system call openat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, stderr := launch(t, tc.config, tc.prog)
			if status != tc.status {
				t.Errorf("status %d, want %d (stderr %q)", status, tc.status, stderr)
			}
			if tc.msg == "" && stderr != "" || !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q, want %q", stderr, tc.msg)
			}
		})
	}
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// binary builds cloudabi-run once per test process.
func binary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cloudabi-run-test")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "cloudabi-run")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = err
			t.Logf("%s", out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// TestCommand runs the real binary: the demo, and a bad input to check that
// no Go panic or stack trace ever reaches the user.
func TestCommand(t *testing.T) {
	bin := binary(t)
	hello := guestbuild.Build(t, "examples/hello/hello.c")
	yaml, err := os.ReadFile(filepath.Join(guestbuild.RepoRoot(), "examples/hello/hello.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, hello)
	cmd.Stdin = bytes.NewReader(yaml)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hello: %v (stderr %q)", err, stderr.String())
	}
	if got, want := stdout.String(), strings.Repeat("Hello, world\n", 3); got != want {
		t.Errorf("hello printed %q, want %q", got, want)
	}

	cmd = exec.Command(bin, "--config", "/nonexistent.yaml", hello)
	stderr.Reset()
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitConfigFile {
		t.Errorf("missing --config file: %v, want exit %d", err, exitConfigFile)
	}
	if s := stderr.String(); strings.Contains(s, "goroutine") || strings.Contains(s, "panic") || strings.Count(s, "\n") != 1 {
		t.Errorf("stderr %q, want one plain line", s)
	}
}

func TestLimitFlags(t *testing.T) {
	exit := guestbuild.Build(t, "testdata/guests/exit.c")
	for _, tc := range []struct {
		args   []string
		status int
	}{
		{[]string{"--max-processes", "-1", exit}, exitUsage},
		{[]string{"--max-threads", "5000", exit}, exitUsage},
		{[]string{"--cpu-time", "-1s", exit}, exitUsage},
		{[]string{"--cpu-time", "soon", exit}, exitUsage},
		{[]string{"--cpu-time", "10s", exit}, 7},
		{[]string{"--max-processes", "3", "--max-threads", "10", exit}, 7},
	} {
		status, stderr := launch(t, "code: 7\n", tc.args...)
		if status != tc.status {
			t.Errorf("%v: status %d, want %d (stderr %q)", tc.args, status, tc.status, stderr)
		}
	}
}
