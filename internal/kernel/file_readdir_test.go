package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
)

// readAll lists a directory through hostFile.readdir with a buffer of
// size n, resuming from the cookie of the last complete entry each time,
// as a C library's readdir does.
func readAll(t *testing.T, h *hostFile, n int) map[string]abi.Filetype {
	t.Helper()
	names := make(map[string]abi.Filetype)
	buf := make([]byte, n)
	cookie := abi.DircookieStart
	for calls := 0; ; calls++ {
		if calls > 100000 {
			t.Fatal("readdir does not end")
		}
		used, errno := h.readdir(buf, cookie)
		if errno != abi.ESUCCESS {
			t.Fatalf("readdir: %v", errno)
		}
		complete := 0
		for off := 0; off+abi.SizeofDirent <= used; {
			namlen := int(binary.LittleEndian.Uint32(buf[off+abi.OffsetofDirentDNamlen:]))
			if off+abi.SizeofDirent+namlen > used {
				break
			}
			name := string(buf[off+abi.SizeofDirent : off+abi.SizeofDirent+namlen])
			if _, dup := names[name]; dup {
				t.Fatalf("entry %q returned twice", name)
			}
			names[name] = abi.Filetype(buf[off+abi.OffsetofDirentDType])
			cookie = abi.Dircookie(binary.LittleEndian.Uint64(buf[off+abi.OffsetofDirentDNext:]))
			off += abi.SizeofDirent + namlen
			complete++
		}
		if used < len(buf) {
			return names
		}
		if complete == 0 {
			t.Fatalf("a buffer of %d bytes holds no complete entry", n)
		}
	}
}

func TestReaddirLargeDirectory(t *testing.T) {
	dir := t.TempDir()
	const files = 1500 // several getdents64 batches
	for i := 0; i < files; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-with-a-long-name-%04d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := newHostFile(f)
	defer h.release()
	for _, n := range []int{abi.SizeofDirent + 30, 100, 4096, 1 << 20} {
		names := readAll(t, h, n)
		if len(names) != files+3 {
			t.Errorf("buffer %d: %d entries, want %d", n, len(names), files+3)
		}
		for _, want := range []struct {
			name string
			ft   abi.Filetype
		}{{".", abi.FiletypeDirectory}, {"..", abi.FiletypeDirectory}, {"sub", abi.FiletypeDirectory}, {"file-with-a-long-name-0042", abi.FiletypeRegularFile}} {
			if got, ok := names[want.name]; !ok || got != want.ft {
				t.Errorf("buffer %d: entry %q: type %v (present %v), want %v", n, want.name, got, ok, want.ft)
			}
		}
	}
	// A cookie beyond what a file offset can be is EINVAL.
	if _, errno := h.readdir(make([]byte, 100), abi.Dircookie(1<<63)); errno != abi.EINVAL {
		t.Errorf("readdir with cookie 1<<63: %v, want EINVAL", errno)
	}
}
