package memory

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// tempFile returns a descriptor (O_RDWR) for a new file of n bytes, each
// byte i holding 'a' + i%26.
func tempFile(t *testing.T, n int) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, path
}

func dup(t *testing.T, fd int) int {
	t.Helper()
	d, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMapFileSharesTheFile(t *testing.T) {
	m := newMem(t, 64, 4)
	fd, path := tempFile(t, 3*P)
	got, err := m.MapFile(pg(8), 8*P, ProtRead|ProtWrite, 0, true, dup(t, fd), 0)
	if err != nil || got != pg(8) {
		t.Fatalf("MapFile = %#x, %v", got, err)
	}
	// File pages are not memory: they do not count towards the limit.
	if m.Mapped() != 0 {
		t.Errorf("Mapped() = %d after a file mapping, want 0", m.Mapped())
	}
	b, err := m.Slice(pg(8), 3*P, ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 'a' || b[2*P+1] != byte('a'+(2*P+1)%26) {
		t.Errorf("the supervisor's view does not show the file")
	}
	b[5] = 'X'
	if data, _ := os.ReadFile(path); data[5] != 'X' {
		t.Errorf("a write through the supervisor's view did not reach the file")
	}
	if n, _ := m.Allocated(); n != 0 {
		t.Errorf("Allocated() = %d, want 0: file pages are not the memfd's", n)
	}
	// Pages at or past the end of the file would fault.
	if _, err := m.Slice(pg(10), P+1, ProtRead); !errors.Is(err, ErrFault) {
		t.Errorf("Slice past the end of the file: %v, want ErrFault", err)
	}
	if !m.Covered(pg(8), 8*P) {
		t.Errorf("Covered() is false for the whole mapping")
	}
	// Memory over part of it counts, and the limit applies.
	if _, _, err := m.MapAnon(pg(8), 5*P, ProtRead, 0, true); !errors.Is(err, ErrLimit) {
		t.Errorf("MapAnon over the limit: %v, want ErrLimit", err)
	}
	addr, hadFiles, err := m.MapAnon(pg(9), P, ProtRead|ProtWrite, 0, true)
	if err != nil || addr != pg(9) || !hadFiles {
		t.Errorf("MapAnon over a file page = %#x, %v, %v; want the address, true, nil", addr, hadFiles, err)
	}
	if b, _ := m.Slice(pg(9), P, ProtRead); b[0] != 0 {
		t.Errorf("memory mapped over a file page is not zero")
	}
	if m.Mapped() != P {
		t.Errorf("Mapped() = %d, want one page", m.Mapped())
	}
	if data, _ := os.ReadFile(path); data[P] != byte('a'+P%26) {
		t.Errorf("the file changed under new memory")
	}
	if !m.IsFile(pg(8), P) || m.IsFile(pg(9), P) {
		t.Errorf("IsFile does not follow the mappings")
	}
	had, err := m.Release(pg(8), 8*P)
	if err != nil || !had || m.Mapped() != 0 {
		t.Errorf("Release = %v, %v; Mapped() = %d", had, err, m.Mapped())
	}
	if len(m.files) != 0 {
		t.Errorf("%d file ranges left", len(m.files))
	}
}

func TestMapFileRefusals(t *testing.T) {
	m := newMem(t, 64, 0)
	fd, _ := tempFile(t, P)
	if _, err := m.MapFile(pg(0), P, ProtRead|ProtWrite, ProtWrite, true, dup(t, fd), 0); !errors.Is(err, ErrAccess) {
		t.Errorf("writable mapping of a read-only file: %v, want ErrAccess", err)
	}
	if _, err := m.MapFile(pg(0), P, ProtRead, ProtWrite, true, dup(t, fd), 100); !errors.Is(err, ErrInvalid) {
		t.Errorf("unaligned offset: %v, want ErrInvalid", err)
	}
	pipe := make([]int, 2)
	if err := unix.Pipe2(pipe, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pipe[1])
	if _, err := m.MapFile(pg(0), P, ProtRead, ProtWrite, true, pipe[0], 0); err != unix.ENODEV {
		t.Errorf("a pipe: %v, want ENODEV", err)
	}
	if _, err := m.MapFile(pg(0), P, ProtRead, ProtWrite, true, dup(t, fd), 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Protect(pg(0), P, ProtRead|ProtWrite); !errors.Is(err, ErrAccess) {
		t.Errorf("Protect writable over a read-only file: %v, want ErrAccess", err)
	}
	// The supervisor's view of a read-only file is private: a write there
	// stays in the supervisor.
	b := m.Raw(pg(0), P)
	b[0] = 'Z'
	var one [1]byte
	if _, err := unix.Pread(fd, one[:], 0); err != nil || one[0] != 'a' {
		t.Errorf("a write to the view of a read-only file reached it: %q, %v", one, err)
	}
}

func TestCloneSharesFileMappings(t *testing.T) {
	m := newMem(t, 64, 0)
	fd, _ := tempFile(t, 2*P)
	mustMap(t, m, pg(0), P, ProtRead|ProtWrite, true)
	m.Raw(pg(0), 1)[0] = 7
	if _, err := m.MapFile(pg(4), 2*P, ProtRead|ProtWrite, 0, true, dup(t, fd), 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Protect(pg(5), P, ProtRead); err != nil {
		t.Fatal(err)
	}
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Raw(pg(0), 1)[0] != 7 {
		t.Errorf("memory not copied")
	}
	m.Raw(pg(4), 1)[0] = 'P'
	if c.Raw(pg(4), 1)[0] != 'P' {
		t.Errorf("the child's view of a shared file mapping is not shared")
	}
	if n, _ := c.Allocated(); n != P {
		t.Errorf("the child's memfd holds %d bytes, want one page (the file is not copied)", n)
	}
	fms, err := c.FileMappings()
	if err != nil {
		t.Fatal(err)
	}
	if len(fms) != 2 || fms[0].Addr != pg(4) || fms[0].Prot != ProtRead|ProtWrite || fms[1].Addr != pg(5) ||
		fms[1].Off != P || fms[1].Prot != ProtRead {
		t.Errorf("FileMappings() = %+v", fms)
	}
	for _, fm := range fms {
		unix.Close(fm.FD)
	}
}

func TestTruncateDetachesViews(t *testing.T) {
	m := newMem(t, 64, 0)
	fd, _ := tempFile(t, 4*P)
	if _, err := m.MapFile(pg(0), 4*P, ProtRead|ProtWrite, 0, true, dup(t, fd), 0); err != nil {
		t.Fatal(err)
	}
	if err := Truncate(fd, P+1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Slice(pg(0), 2*P, ProtRead); err != nil {
		t.Errorf("pages within the file: %v", err)
	}
	if _, err := m.Slice(pg(2), 1, ProtRead); !errors.Is(err, ErrFault) {
		t.Errorf("a page cut off: %v, want ErrFault", err)
	}
	// The view of the cut-off pages is memory again: touching it, as a
	// stale slice would, does not fault.
	m.Raw(pg(3), P)[0] = 1
	if err := unix.Ftruncate(fd, 4*P); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Slice(pg(2), 1, ProtRead); !errors.Is(err, ErrFault) {
		t.Errorf("a detached page after the file grew: %v, want ErrFault", err)
	}
	if err := m.Sync(pg(0), 4*P, unix.MS_SYNC); err != nil {
		t.Errorf("Sync: %v", err)
	}
	if _, err := m.Release(pg(0), 4*P); err != nil {
		t.Fatal(err)
	}
	if fileRangesGlobal.Load() != 0 {
		t.Errorf("%d file ranges counted after every one was released", fileRangesGlobal.Load())
	}
}
