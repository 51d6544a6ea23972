package kernel

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"github.com/cloudabi-go/cloudabi/internal/loader"
)

// TestSandboxIsolation looks at a running sandbox from the outside: no
// file descriptors but the seccomp listener, and, under a root supervisor,
// an unprivileged user and namespaces of its own.
func TestSandboxIsolation(t *testing.T) {
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
	p, err := Start(exe, ad, []FD{{File: r}, {File: null}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Kill()
	// The guest now waits in fd_read on the pipe.
	pid := p.sb.Pid()
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) != 1 {
		t.Errorf("sandbox has %d fds, want only the seccomp listener", len(fds))
	}
	if os.Geteuid() != 0 {
		t.Skip("the rest applies to a root supervisor")
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") || strings.HasPrefix(line, "Gid:") {
			if f := strings.Fields(line); len(f) != 5 || f[1] != "65534" || f[2] != "65534" || f[3] != "65534" {
				t.Errorf("sandbox runs with %q, want 65534 throughout", line)
			}
		}
		if strings.HasPrefix(line, "CapEff:") && !strings.HasSuffix(line, "0000000000000000") {
			t.Errorf("sandbox has capabilities: %q", line)
		}
		if strings.HasPrefix(line, "NoNewPrivs:") && !strings.HasSuffix(line, "1") {
			t.Errorf("sandbox lacks no_new_privs: %q", line)
		}
		if strings.HasPrefix(line, "Seccomp:") && !strings.HasSuffix(line, "2") {
			t.Errorf("sandbox is not in seccomp filter mode: %q", line)
		}
	}
	for _, ns := range []string{"net", "ipc", "uts"} {
		mine, err1 := os.Readlink("/proc/self/ns/" + ns)
		theirs, err2 := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + ns)
		if err1 != nil || err2 != nil {
			t.Fatalf("reading namespaces: %v %v", err1, err2)
		}
		if mine == theirs {
			t.Errorf("sandbox shares the supervisor's %s namespace", ns)
		}
	}
}
