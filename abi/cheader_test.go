package abi

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// headerTestProgram includes both SDK headers (whose static assertions
// check every structure layout) and uses a few declarations.
const headerTestProgram = `#include <cloudabi_syscalls.h>

static const char *const names[] = {CLOUDABI_SYSCALL_NAMES};
_Static_assert(sizeof(names) / sizeof(names[0]) == CLOUDABI_SYSCALL_COUNT, "syscall names");
_Static_assert(sizeof(struct cloudabi_vdso) == CLOUDABI_SYSCALL_COUNT * sizeof(void *), "vdso table");
_Static_assert(CLOUDABI_ENOENT == 44, "errno");
_Static_assert(CLOUDABI_RIGHT_FD_READ == 2, "rights");

cloudabi_errno_t write_all(cloudabi_fd_t fd, const void *buf, size_t len);
cloudabi_errno_t write_all(cloudabi_fd_t fd, const void *buf, size_t len) {
	cloudabi_ciovec_t iov = {.buf = buf, .buf_len = len};
	size_t n;
	(void)names;
	return cloudabi_sys_fd_write(fd, &iov, 1, &n);
}

_Noreturn void die(void);
_Noreturn void die(void) {
	cloudabi_sys_proc_exit(1);
}
`

func compileHeaders(t *testing.T, compiler string, args ...string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "headers.c")
	if err := os.WriteFile(src, []byte(headerTestProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	include, err := filepath.Abs("../sdk/include")
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only", "-I", include, src)
	out, err := exec.Command(compiler, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", compiler, args, err, out)
	}
}

func TestCHeadersCompile(t *testing.T) {
	clang, err := exec.LookPath("clang-14")
	if err != nil {
		if os.Getenv("CLOUDABI_REQUIRE_CLANG") == "1" {
			t.Fatal("clang-14 not found on PATH, but CLOUDABI_REQUIRE_CLANG=1")
		}
		t.Skip("clang-14 not found on PATH; set CLOUDABI_REQUIRE_CLANG=1 to make this an error")
	}
	for _, target := range []string{"x86_64-unknown-cloudabi", "aarch64-unknown-cloudabi"} {
		t.Run(target, func(t *testing.T) {
			compileHeaders(t, clang, "--target="+target, "-ffreestanding")
		})
	}
}

// TestCHeadersCompileHost checks the headers with the host C compiler, if
// the host is LP64 like the CloudABI targets.
func TestCHeadersCompileHost(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("host architecture %s is not a CloudABI target", runtime.GOARCH)
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found on PATH")
	}
	compileHeaders(t, cc)
}
