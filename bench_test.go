package cloudabi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"golang.org/x/sys/unix"
)

// BenchmarkFdWrite measures a one-byte fd_write to /dev/null from a guest
// against the same write(2) made natively, in one run, and reports both
// and their ratio. The guest makes b.N calls in one process; the process
// start (a few milliseconds) is included, which at the default benchtime
// adds well under 1% to the guest figure.
func BenchmarkFdWrite(b *testing.B) {
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	one := []byte{'x'}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := unix.Write(int(null.Fd()), one); err != nil {
			b.Fatal(err)
		}
	}
	reportNullSyscall(b, "write", time.Since(start), "")
}

// BenchmarkClockTimeGet: clock_time_get of the monotonic clock, b.N
// times in a guest, against Go's time.Now (clock_gettime through the
// Linux vDSO, as a native C program reads the clock) in the same run.
func BenchmarkClockTimeGet(b *testing.B) {
	start := time.Now()
	var last time.Time
	for i := 0; i < b.N; i++ {
		last = time.Now()
	}
	reportNullSyscall(b, "call", last.Sub(start), "clock")
}

// reportNullSyscall runs nullsyscall.c making b.N calls (fd_write to
// /dev/null, or the call it names) and reports the time per call against
// native, the time b.N native calls took.
func reportNullSyscall(b *testing.B, unit string, native time.Duration, call string) {
	prog, err := cloudabi.Open(guestbuild.Build(b, "testdata/guests/nullsyscall.c"))
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	ad := argdata.Map{
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("n"), Value: argdata.IntOf(int64(b.N))},
	}
	if call != "" {
		ad = append(ad, argdata.MapEntry{Key: argdata.Str("call"), Value: argdata.Str(call)})
	}
	enc, _ := argdata.Marshal(ad)
	start := time.Now()
	proc, err := prog.Start(enc, []cloudabi.FD{{File: null}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := proc.Wait()
	guest := time.Since(start)
	if !st.Exited || st.Code != 0 {
		b.Fatalf("guest: %v", st)
	}
	perNative := float64(native.Nanoseconds()) / float64(b.N)
	perGuest := float64(guest.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perGuest, "guest-ns/"+unit)
	b.ReportMetric(perNative, "native-ns/"+unit)
	b.ReportMetric(perGuest/perNative, "guest/native")
}

// BenchmarkHelloStartup measures the time from starting cloudabi-run to
// the exit of examples/hello, and, for comparison, starting /bin/true.
func BenchmarkHelloStartup(b *testing.B) {
	hello := guestbuild.Build(b, "examples/hello/hello.c")
	bin := filepath.Join(b.TempDir(), "cloudabi-run")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/cloudabi-run").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	config := filepath.Join(guestbuild.RepoRoot(), "examples/hello/hello.yaml")
	run := func(name string, args ...string) time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(name, args...)
			if err := cmd.Run(); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
		return time.Since(start)
	}
	native := run("/bin/true")
	guest := run(bin, "--config", config, hello)
	b.ReportMetric(float64(guest.Microseconds())/float64(b.N), "cloudabi-run-µs/run")
	b.ReportMetric(float64(native.Microseconds())/float64(b.N), "bin-true-µs/run")
}
