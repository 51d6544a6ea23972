package cloudabi_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// Tests of examples/copy, examples/ls and examples/logger: each runs the
// example with the configuration shipped next to it, parsed by package
// config, in a temporary directory (the configurations use relative paths).
// The launcher's own descriptors that a configuration names (!fd stdout,
// !fd 0) are replaced by files, so that the test can supply input and read
// the output.

// exampleConfig returns the YAML of examples/NAME/NAME.yaml with each
// occurrence of a key of replace (which must occur exactly once) replaced
// by its value.
func exampleConfig(t *testing.T, name string, replace map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(guestbuild.RepoRoot(), "examples", name, name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, new := range replace {
		if n := strings.Count(s, old); n != 1 {
			t.Fatalf("%s.yaml: %q occurs %d times, want once", name, old, n)
		}
		s = strings.Replace(s, old, new, 1)
	}
	return s
}

// outputGrant returns a !file grant of a new file outside the working
// directory, and a function that reads it.
func outputGrant(t *testing.T) (string, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	return "!file {path: " + yamlString(path) + ", mode: write, create: true}", func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExampleCopy(t *testing.T) {
	exe := guestbuild.Build(t, "examples/copy/copy.c")
	t.Chdir(t.TempDir())
	mkdirs(t, "src/sub/deeper/deepest", "src/empty-dir", "src/many", "dst")
	writeFile(t, "src/a.txt", "alpha\n")
	writeFile(t, "src/empty", "")
	writeFile(t, "src/sub/b.txt", "bravo\n")
	writeFile(t, "src/sub/deeper/c.txt", "charlie\n")
	big := make([]byte, 300_000) // several reads and writes
	rand.Read(big)
	if err := os.WriteFile("src/sub/big.bin", big, 0o644); err != nil {
		t.Fatal(err)
	}
	// Enough entries, with long names, for several file_readdir batches.
	for i := 0; i < 150; i++ {
		writeFile(t, fmt.Sprintf("src/many/file-with-a-rather-long-name-number-%03d", i), fmt.Sprint(i))
	}
	symlink(t, "a.txt", "src/link-to-a")
	symlink(t, "../../outside", "src/sub/link-out") // copied as text, never followed
	before := listing(t, "src")

	out, read := outputGrant(t)
	st := runConfig(t, exe, exampleConfig(t, "copy", map[string]string{"!fd stdout": out}))
	log := read()
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0; log:\n%s", st, log)
	}
	compareListings(t, "copy", before, listing(t, "dst"))
	compareListings(t, "source", before, listing(t, "src"))

	if t.Failed() {
		return
	}
	// The log has one line per entry: "d path", "f path" or "l path".
	var want []string
	for path, what := range before {
		if path == "." {
			continue
		}
		want = append(want, string(map[string]byte{"dir": 'd', "fil": 'f', "lin": 'l'}[what[:3]])+" "+path)
	}
	got := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant (in any order):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestExampleLs(t *testing.T) {
	exe := guestbuild.Build(t, "examples/ls/ls.c")
	dir := t.TempDir()
	t.Chdir(dir)
	mkdirs(t, "subdir/inner")
	writeFile(t, "alpha", "12345")
	writeFile(t, "empty", "")
	writeFile(t, "Zeta.txt", strings.Repeat("z", 1234))
	writeFile(t, ".hidden", "h")
	symlink(t, "alpha", "link")
	symlink(t, "/nonexistent/target", "dangling")
	if err := unix.Mkfifo("fifo", 0o644); err != nil {
		t.Fatal(err)
	}
	// Fixed modification times, the links' own included.
	for i, name := range []string{"alpha", "empty", "Zeta.txt", ".hidden", "link", "dangling", "fifo", "subdir"} {
		ts := []unix.Timespec{unix.NsecToTimespec(0), unix.NsecToTimespec(int64(1_600_000_000+i*86_400) * 1e9)}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}

	out, read := outputGrant(t)
	st := runConfig(t, exe, exampleConfig(t, "ls", map[string]string{"!fd stdout": out}))
	got := read()
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0; output:\n%s", st, got)
	}

	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, e := range ents { // sorted by name, as the program sorts
		fi, err := os.Lstat(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		typ := map[os.FileMode]byte{0: '-', os.ModeDir: 'd', os.ModeSymlink: 'l', os.ModeNamedPipe: 's'}[fi.Mode().Type()]
		fmt.Fprintf(&want, "%c %10d %d %s", typ, fi.Size(), fi.ModTime().Unix(), e.Name())
		if typ == 'l' {
			target, _ := os.Readlink(e.Name())
			fmt.Fprintf(&want, " -> %s", target)
		}
		want.WriteString("\n")
	}
	if got != want.String() {
		t.Errorf("listing:\n%s\nwant:\n%s", got, want.String())
	}
}

var logLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$`)

func TestExampleLogger(t *testing.T) {
	exe := guestbuild.Build(t, "examples/logger/logger.c")
	t.Chdir(t.TempDir())
	const previous = "2001-02-03T04:05:06.789Z an earlier run\n"
	writeFile(t, "app.log", previous)
	lines := []string{"first", "second line", "", "   spaced   ", "last, without a newline"}
	writeFile(t, "input.txt", strings.Join(lines, "\n"))

	out, read := outputGrant(t)
	start := time.Now().Truncate(time.Millisecond)
	st := runConfig(t, exe, exampleConfig(t, "logger", map[string]string{
		"!fd 0":      "!file {path: input.txt}",
		"!fd stdout": out,
	}))
	end := time.Now()
	report := read()
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0; report:\n%s", st, report)
	}
	wantReport := "logged 5 lines\n" +
		"log flags: append\n" +
		"fd_seek to offset 0: refused (ENOTCAPABLE)\n" +
		"fd_pwrite at offset 0: refused (ENOTCAPABLE)\n" +
		"file_stat_fput size 0: refused (ENOTCAPABLE)\n" +
		"fd_stat_put clearing append: refused (ENOTCAPABLE)\n"
	if report != wantReport {
		t.Errorf("report:\n%s\nwant:\n%s", report, wantReport)
	}

	log, err := os.ReadFile("app.log")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(log, []byte(previous)) {
		t.Fatalf("the log lost its earlier content:\n%s", log)
	}
	got := strings.Split(strings.TrimSuffix(string(log[len(previous):]), "\n"), "\n")
	if len(got) != len(lines) || !bytes.HasSuffix(log, []byte("\n")) {
		t.Fatalf("log:\n%s\nwant %d new lines", log, len(lines))
	}
	for i, l := range got {
		m := logLine.FindStringSubmatch(l)
		if m == nil || m[2] != lines[i] {
			t.Errorf("log line %d is %q, want a timestamp and %q", i+1, l, lines[i])
			continue
		}
		ts, err := time.Parse("2006-01-02T15:04:05.000Z", m[1])
		if err != nil || ts.Before(start) || ts.After(end) {
			t.Errorf("log line %d: time %s is not between %v and %v (%v)", i+1, m[1], start.UTC(), end.UTC(), err)
		}
	}
}
