package kernel

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// TestFaultBecomesEFAULT: a handler touching a page of a file mapping that
// another program truncated away gets EFAULT, and the supervisor lives on.
// Without recoverFault the SIGBUS ends the test binary.
func TestFaultBecomesEFAULT(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, make([]byte, 2*4096), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, 2*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	touch := func(c *call) abi.Errno {
		m[c.args[0]] = 1
		return abi.ESUCCESS
	}
	done := make(chan [2]abi.Errno)
	go func() {
		// As on a dispatcher or an async goroutine.
		debug.SetPanicOnFault(true)
		var results [2]abi.Errno
		for i, off := range []uint64{0, 4096} {
			results[i] = guarded(touch, &call{args: [7]uint64{off}})
		}
		done <- results
	}()
	if got := <-done; got != [2]abi.Errno{abi.ESUCCESS, abi.EFAULT} {
		t.Errorf("touching the kept and the truncated page: %v, want [ESUCCESS EFAULT]", got)
	}
	// A panic that is not a fault is not swallowed.
	defer func() {
		if r := recover(); r != "not a fault" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	guarded(func(*call) abi.Errno { panic("not a fault") }, &call{})
}
