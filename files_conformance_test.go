package cloudabi_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"golang.org/x/sys/unix"
)

// The conformance guests in testdata/guests/conformance exercise the file
// and descriptor system calls and print one "ok <check>" or
// "FAIL <check> (got X, want Y)" line per check; each exits with the
// number of failures. Each runs with a fresh, empty directory (with every
// directory right) next to a file "secret" it must not be able to reach.
var conformanceGuests = []struct {
	name      string
	minChecks int // fewer lines mean the guest stopped early
}{
	{"fd", 215},
	{"open", 157},
	{"paths", 233},
	{"readdir", 45},
	{"memshared", 75},
}

const conformanceSecret = "do not touch"

func TestFilesConformance(t *testing.T) {
	for _, g := range conformanceGuests {
		t.Run(g.name, func(t *testing.T) {
			exe := guestbuild.Build(t, "testdata/guests/conformance/"+g.name+".c")
			top := t.TempDir()
			root := filepath.Join(top, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			secret := filepath.Join(top, "secret")
			if err := os.WriteFile(secret, []byte(conformanceSecret), 0o644); err != nil {
				t.Fatal(err)
			}
			dir, err := os.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			outPath := filepath.Join(t.TempDir(), "out")
			out, err := os.Create(outPath)
			if err != nil {
				t.Fatal(err)
			}
			ad := argdata.Map{
				{Key: argdata.Str("dir"), Value: argdata.FD(0)},
				{Key: argdata.Str("out"), Value: argdata.FD(1)},
			}
			grants := []cloudabi.FD{
				{File: dir}, // zero rights: every right of a directory
				{File: out, Rights: abi.RightFdWrite},
			}
			if other := otherFilesystemDir(t, root); other != nil {
				ad = append(ad, argdata.MapEntry{Key: argdata.Str("other"), Value: argdata.FD(len(grants))})
				grants = append(grants, cloudabi.FD{File: other})
			} else if g.name == "paths" {
				t.Log("no second file system available: the EXDEV checks are skipped")
			}
			// A file the host opened read-only, granted with every right
			// of a file: mapping it shared and writable is EACCES.
			roPath := filepath.Join(t.TempDir(), "ro")
			if err := os.WriteFile(roPath, bytes.Repeat([]byte("r"), 4096), 0o644); err != nil {
				t.Fatal(err)
			}
			if ro, err := os.Open(roPath); err == nil {
				ad = append(ad, argdata.MapEntry{Key: argdata.Str("ro"), Value: argdata.FD(len(grants))})
				grants = append(grants, cloudabi.FD{File: ro})
			}
			if null, err := os.Open("/dev/null"); err == nil {
				ad = append(ad, argdata.MapEntry{Key: argdata.Str("null"), Value: argdata.FD(len(grants))})
				grants = append(grants, cloudabi.FD{File: null})
			}

			prog, err := cloudabi.Open(exe)
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			enc, err := argdata.Marshal(ad)
			if err != nil {
				t.Fatal(err)
			}
			proc, err := prog.Start(enc, grants, nil)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-proc.Done():
			case <-time.After(2 * time.Minute):
				proc.Kill()
				t.Error("the guest did not finish in time")
			}
			st := proc.Wait()
			report, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}

			var oks, fails int
			for _, line := range strings.Split(strings.TrimSpace(string(report)), "\n") {
				switch {
				case strings.HasPrefix(line, "ok "):
					oks++
				case strings.HasPrefix(line, "FAIL "):
					fails++
					t.Error(line)
				case line != "":
					t.Errorf("unexpected output line %q", line)
				}
			}
			t.Logf("%d checks passed, %d failed", oks, fails)
			if !st.Exited || int(st.Code) != fails {
				t.Errorf("status %v, want exit with the number of failures (%d)", st, fails)
			}
			if oks+fails < g.minChecks {
				t.Errorf("only %d checks reported, want at least %d:\n%s", oks+fails, g.minChecks, report)
			}

			// Nothing outside the directory changed.
			if b, err := os.ReadFile(secret); err != nil || !bytes.Equal(b, []byte(conformanceSecret)) {
				t.Errorf("the file outside the directory changed: %q, %v", b, err)
			}
			entries, err := os.ReadDir(top)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "root" && e.Name() != "secret" {
					t.Errorf("the guest created %s outside its directory", e.Name())
				}
			}
		})
	}
}

// otherFilesystemDir returns a fresh directory on a file system other
// than the one holding root, or nil if there is none to use.
func otherFilesystemDir(t *testing.T, root string) *os.File {
	var a, b unix.Stat_t
	if unix.Stat(root, &a) != nil || unix.Stat("/dev/shm", &b) != nil || a.Dev == b.Dev {
		return nil
	}
	dir, err := os.MkdirTemp("/dev/shm", "cloudabi-conformance-")
	if err != nil {
		return nil
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	return f
}
