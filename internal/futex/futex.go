// Package futex wraps the two futex operations the runtime shares with
// sandboxes. The words live in guest memory, which both processes map from
// one memfd, so the operations are the shared (non-private) ones.
package futex

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Operation codes from <linux/futex.h>.
const (
	OpWait        = 0
	OpWake        = 1
	OpPrivateFlag = 128
)

// Wait sleeps while *addr == val, until woken, or until timeout has passed
// if it is positive. Spurious returns are possible; callers re-check.
func Wait(addr *uint32, val uint32, timeout time.Duration) {
	var ts *unix.Timespec
	if timeout > 0 {
		t := unix.NsecToTimespec(int64(timeout))
		ts = &t
	}
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), OpWait, uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
}

// Wake wakes up to n waiters on addr.
func Wake(addr *uint32, n int) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), OpWake, uintptr(n), 0, 0, 0)
}

// Store atomically stores val at addr and wakes every waiter.
func Store(addr *uint32, val uint32) {
	atomic.StoreUint32(addr, val)
	Wake(addr, 1<<30)
}
