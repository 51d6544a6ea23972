package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func parse(t *testing.T, in string) *Config {
	t.Helper()
	cfg, err := Parse(strings.NewReader(in), "config.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

func checkFlags(t *testing.T, f *os.File, wantDir bool) {
	t.Helper()
	fd := f.Fd()
	fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("%s: access mode %#o, want O_RDONLY", f.Name(), fl&unix.O_ACCMODE)
	}
	if fl&unix.O_PATH != 0 {
		t.Errorf("%s: opened with O_PATH", f.Name())
	}
	if fl&unix.O_NONBLOCK != 0 {
		t.Errorf("%s: left in non-blocking mode", f.Name())
	}
	fdfl, err := unix.FcntlInt(fd, unix.F_GETFD, 0)
	if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("%s: not close-on-exec (%v)", f.Name(), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		t.Fatal(err)
	}
	if isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR; isDir != wantDir {
		t.Errorf("%s: directory = %v, want %v", f.Name(), isDir, wantDir)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	exe, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()

	before := openFDs(t)
	cfg := parse(t, tagDirective+
		"dir: !file {path: "+dir+"}\n"+
		"file: !file {path: "+file+"}\n"+
		"pipe: !fd "+strconv.Itoa(int(w.Fd()))+"\n"+
		"self: !executable\n"+
		"fifo: !file {path: "+fifo+"}\n")
	files, err := cfg.Open(exe)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if len(files) != 5 {
		t.Fatalf("got %d files", len(files))
	}
	wantAccess := []Access{AccessDirectory, AccessReadOnlyFile, AccessInherited, AccessReadOnlyFile, AccessReadOnlyFile}
	for i, f := range files {
		if f.Access != wantAccess[i] || f.Grant != cfg.Grants[i] {
			t.Errorf("file %d: access %v grant %v; want %v %v", i, f.Access, f.Grant, wantAccess[i], cfg.Grants[i])
		}
	}
	checkFlags(t, files[0].File, true)
	checkFlags(t, files[1].File, false)
	checkFlags(t, files[3].File, false)
	checkFlags(t, files[4].File, false)

	// The directory works as a base for openat.
	fd, err := unix.Openat(int(files[0].File.Fd()), "data.txt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("openat beneath the directory: %v", err)
	}
	unix.Close(fd)

	// The file is readable, not writable.
	buf := make([]byte, 5)
	if n, err := files[1].File.Read(buf); n != 5 || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, err := files[1].File.Write([]byte("x")); err == nil {
		t.Fatal("write to the read-only file succeeded")
	}

	// The host fd is a duplicate: writing to it reaches the pipe, and
	// closing it leaves the original open.
	if files[2].File.Fd() == w.Fd() {
		t.Fatal("host fd was not duplicated")
	}
	if _, err := files[2].File.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := f.File.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Write([]byte("pong")); err != nil {
		t.Fatalf("original fd closed along with the duplicate: %v", err)
	}
	got := make([]byte, 8)
	if n, _ := r.Read(got); string(got[:n]) != "pingpong" {
		t.Fatalf("pipe carried %q", got[:n])
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open before, %d after closing everything", before, after)
	}
}

func TestOpenMissingFile(t *testing.T) {
	dir := t.TempDir()
	before := openFDs(t)
	cfg := parse(t, tagDirective+"- !file {path: "+dir+"}\n- !fd stdout\n- !file {path: /nonexistent}\n")
	files, err := cfg.Open(nil)
	if err == nil {
		t.Fatalf("Open succeeded: %v", files)
	}
	if want := "config.yaml:5:3: cannot open /nonexistent: no such file or directory"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %#v is not a *Error wrapping ErrNotExist", err)
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open before, %d after a failed Open", before, after)
	}
}

func TestOpenClosedHostFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	closed := int(r.Fd())
	r.Close()
	cfg := parse(t, tagDirective+"- !fd "+strconv.Itoa(closed)+"\n")
	_, err = cfg.Open(nil)
	want := "config.yaml:3:3: descriptor " + strconv.Itoa(closed) + " is not open in the launcher"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if !errors.Is(err, unix.EBADF) {
		t.Fatalf("error %v does not wrap EBADF", err)
	}
}

func TestOpenNoExecutable(t *testing.T) {
	cfg := parse(t, tagDirective+"- !fd stderr\n- !executable\n")
	_, err := cfg.Open(nil)
	if err == nil || err.Error() != "config.yaml:4:3: !executable is used, but no executable is available" {
		t.Fatalf("got %v", err)
	}
}

func TestOpenUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can read anything")
	}
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, nil, 0); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, tagDirective+"- !file {path: "+f+"}\n")
	_, err := cfg.Open(nil)
	if err == nil || err.Error() != "config.yaml:3:3: cannot open "+f+": permission denied" {
		t.Fatalf("got %v", err)
	}
}
