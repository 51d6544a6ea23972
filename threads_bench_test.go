package cloudabi_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// Lock benchmarks: the guest (testdata/guests/threads/lockbench.c, the
// SDK's <cloudabi_threads.h>) against glibc's pthreads doing the same in a
// native program (testdata/native/lockbench.c, built here with gcc -O2
// -pthread). Both time b.N operations themselves with the monotonic clock,
// so the guest's process start is not counted. Reported: guest-ns/op,
// native-ns/op and guest/native. Nothing is asserted about the times.

var (
	nativeLockbenchOnce sync.Once
	nativeLockbench     string
	nativeLockbenchErr  error
)

// buildNativeLockbench compiles the native baseline once per test binary.
func buildNativeLockbench(b *testing.B) string {
	nativeLockbenchOnce.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			nativeLockbenchErr = err
			return
		}
		dir, err := os.MkdirTemp("", "cloudabi-lockbench-")
		if err != nil {
			nativeLockbenchErr = err
			return
		}
		out := filepath.Join(dir, "lockbench")
		src := filepath.Join(guestbuild.RepoRoot(), "testdata/native/lockbench.c")
		if msg, err := exec.Command("gcc", "-O2", "-pthread", "-o", out, src).CombinedOutput(); err != nil {
			nativeLockbenchErr = fmt.Errorf("gcc: %v\n%s", err, msg)
			return
		}
		nativeLockbench = out
	})
	if nativeLockbenchErr != nil {
		b.Skipf("native baseline: %v", nativeLockbenchErr)
	}
	return nativeLockbench
}

func benchLocks(b *testing.B, mode int) {
	native := buildNativeLockbench(b)
	n := b.N

	out, err := exec.Command(native, strconv.Itoa(mode), strconv.Itoa(n)).Output()
	if err != nil {
		b.Fatalf("native lockbench: %v", err)
	}
	nativePs, ok := parseValues(string(out))["ps_per_op"]
	if !ok {
		b.Fatalf("native lockbench printed no result: %q", out)
	}

	r := runTimed(b, "testdata/guests/threads/lockbench.c", intArgs("mode", mode, "iters", n), 10*time.Minute)
	if !r.status.Exited || r.status.Code != 0 {
		b.Fatalf("guest lockbench: %v\n%s", r.status, r.output)
	}
	guestPs, ok := r.values["ps_per_op"]
	if !ok {
		b.Fatalf("guest lockbench printed no result: %q", r.output)
	}
	guestNs := float64(guestPs) / 1000
	nativeNs := float64(nativePs) / 1000
	b.ReportMetric(guestNs, "guest-ns/op")
	b.ReportMetric(nativeNs, "native-ns/op")
	if nativeNs > 0 {
		b.ReportMetric(guestNs/nativeNs, "guest/native")
	}
}

// BenchmarkLockUncontended: lock + unlock of a free mutex, one thread.
func BenchmarkLockUncontended(b *testing.B) { benchLocks(b, 0) }

// BenchmarkLockHandoff: two threads taking turns with one mutex; one op is
// one hand-off from a thread to the other.
func BenchmarkLockHandoff(b *testing.B) { benchLocks(b, 1) }

// BenchmarkCondvarWake: two threads waking each other through condition
// variables; one op is one signal-to-wake (the woken thread holding the
// mutex again).
func BenchmarkCondvarWake(b *testing.B) { benchLocks(b, 2) }
