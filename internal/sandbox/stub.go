//go:build linux && amd64

package sandbox

// The sandbox stub is C code that runs as a constructor, before the Go
// runtime starts, when this binary is executed as a sandbox (see stub.c).
// Any program that links this package can therefore host sandboxes: it
// re-executes itself through os.Executable. The constructor is declared
// here, in the preamble, because the linker always keeps the preamble's
// object file, where it could drop stub.c's as unreferenced.

/*
#cgo CFLAGS: -O2 -Wall -fno-stack-protector
void cloudabi_sandbox_stub(void);
__attribute__((constructor)) static void cloudabi_sandbox_init(void) { cloudabi_sandbox_stub(); }
*/
import "C"
