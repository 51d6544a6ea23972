package kernel

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"github.com/cloudabi-go/cloudabi/internal/loader"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"golang.org/x/sys/unix"
)

// TestSandboxIsolation looks at a running sandbox from the outside: no
// file descriptors but the seccomp listener, no capabilities, no_new_privs,
// the filter, Landlock, its resource limits, and, as the isolation level
// says, an unprivileged user and namespaces of its own.
// CLOUDABI_EXPECT_ISOLATION (user, root or none) names the level the host
// must give; CI sets it, so that a host that silently stopped allowing
// namespaces fails the test instead of testing less.
func TestSandboxIsolation(t *testing.T) {
	level, reason := sandbox.Isolation()
	t.Logf("isolation: %v (%v)", level, reason)
	if want := os.Getenv("CLOUDABI_EXPECT_ISOLATION"); want != "" {
		if got := map[sandbox.Level]string{sandbox.UserNamespaces: "user", sandbox.RootNamespaces: "root", sandbox.NoNamespaces: "none"}[level]; got != want {
			t.Fatalf("isolation level %q (%v), want %q", got, reason, want)
		}
	}
	data, err := os.ReadFile(guestbuild.Build(t, "testdata/guests/echo.c"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := loader.Parse(data, loader.MachineX86_64)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := argdata.Marshal(argdata.Map{
		{Key: argdata.Str("in"), Value: argdata.FD(0)},
		{Key: argdata.Str("out"), Value: argdata.FD(1)},
	})
	const maxThreads = 100
	p, err := Start(exe, ad, []FD{{File: r}, {File: null}}, Options{MaxThreads: maxThreads, CPUTime: 2500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Kill()
	// The guest now waits in fd_read on the pipe.
	proc := "/proc/" + strconv.Itoa(p.sb.Pid())
	fds, err := os.ReadDir(proc + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) != 1 {
		t.Errorf("sandbox has %d fds, want only the seccomp listener", len(fds))
	}

	status := readProcFields(t, proc+"/status")
	for field, want := range map[string]string{
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2",
	} {
		if got := status[field]; got != want {
			t.Errorf("sandbox %s: %q, want %q", field, got, want)
		}
	}
	hostUser := strconv.Itoa(os.Getuid())
	if os.Getuid() == 0 {
		hostUser = "65534" // nobody
	}
	for _, field := range []string{"Uid", "Gid"} {
		want := hostUser
		if field == "Gid" && os.Getuid() != 0 {
			want = strconv.Itoa(os.Getgid())
		}
		if f := strings.Fields(status[field]); len(f) != 4 || f[0] != want || f[1] != want || f[2] != want {
			t.Errorf("sandbox %s: %q, want %s throughout", field, status[field], want)
		}
	}

	if abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, 1); errno == 0 {
		if got := p.sb.LandlockABI(); got != int(abi) {
			t.Errorf("sandbox restricted with Landlock ABI %d, want the host's %d", got, abi)
		}
	} else if got := p.sb.LandlockABI(); got != 0 {
		t.Errorf("Landlock ABI %d on a host without Landlock (%v)", got, errno)
	}

	limits, err := os.ReadFile(proc + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	wantLimits := []string{`Max cpu time\s+3\s+4\s+seconds`}
	if level == sandbox.UserNamespaces {
		wantLimits = append(wantLimits, fmt.Sprintf(`Max processes\s+%d\s+%d\s+processes`, maxThreads+taskSlack, maxThreads+taskSlack))
	}
	for _, re := range wantLimits {
		if !regexp.MustCompile(re).Match(limits) {
			t.Errorf("sandbox limits lack %q:\n%s", re, limits)
		}
	}

	var namespaces []string
	switch level {
	case sandbox.UserNamespaces:
		namespaces = []string{"user", "pid", "mnt", "net", "ipc", "uts"}
		if status["CapBnd"] != "0000000000000000" {
			t.Errorf("sandbox CapBnd: %q, want none", status["CapBnd"])
		}
	case sandbox.RootNamespaces:
		namespaces = []string{"pid", "mnt", "net", "ipc", "uts"}
	}
	if level != sandbox.NoNamespaces {
		// The sandbox is the child of its pid namespace's init, which
		// holds nothing and is filtered too.
		if f := strings.Fields(status["NSpid"]); len(f) != 2 || f[1] != "2" {
			t.Errorf("sandbox NSpid %q, want pid 2 in a namespace of its own", status["NSpid"])
		}
		initProc := "/proc/" + status["PPid"]
		initStatus := readProcFields(t, initProc+"/status")
		if f := strings.Fields(initStatus["NSpid"]); len(f) != 2 || f[1] != "1" {
			t.Errorf("the sandbox's parent has NSpid %q, want the namespace's init", initStatus["NSpid"])
		}
		for field, want := range map[string]string{"CapEff": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"} {
			if got := initStatus[field]; got != want {
				t.Errorf("init %s: %q, want %q", field, got, want)
			}
		}
		if fds, err := os.ReadDir(initProc + "/fd"); err != nil || len(fds) != 0 {
			t.Errorf("init holds %d fds (%v), want none", len(fds), err)
		}
	}
	for _, ns := range namespaces {
		mine, err1 := os.Readlink("/proc/self/ns/" + ns)
		theirs, err2 := os.Readlink(proc + "/ns/" + ns)
		if err1 != nil || err2 != nil {
			t.Fatalf("reading namespaces: %v %v", err1, err2)
		}
		if mine == theirs {
			t.Errorf("sandbox shares the supervisor's %s namespace", ns)
		}
	}
}

// readProcFields reads a /proc status file into a map of its fields.
func readProcFields(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}
