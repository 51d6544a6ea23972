package guestbuild

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRoot(t *testing.T) {
	if _, err := os.Stat(filepath.Join(RepoRoot(), "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %q: %v", RepoRoot(), err)
	}
}

// TestGuests builds every guest program and checks the properties the
// loader and the startup code rely on.
func TestGuests(t *testing.T) {
	guests := []string{
		"testdata/guests/exit.c",
		"testdata/guests/crash.c",
		"testdata/guests/rawsyscall.c",
		"testdata/guests/echo.c",
		"testdata/guests/features.c",
		"testdata/guests/nullsyscall.c",
		"examples/hello/hello.c",
	}
	for _, src := range guests {
		t.Run(filepath.Base(src), func(t *testing.T) {
			path := Build(t, src)
			checkExecutable(t, path)
			if again := Build(t, src); again != path {
				t.Errorf("second Build returned %q, want cached %q", again, path)
			}
		})
	}
}

func checkExecutable(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.OSABI != elf.ELFOSABI_CLOUDABI {
		t.Errorf("OS/ABI = %v, want %v (17)", f.OSABI, elf.ELFOSABI_CLOUDABI)
	}
	if f.Type != elf.ET_DYN {
		t.Errorf("type = %v, want ET_DYN", f.Type)
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine = %v, want EM_X86_64", f.Machine)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		t.Errorf("class/data = %v/%v, want ELFCLASS64/ELFDATA2LSB", f.Class, f.Data)
	}

	var hasTLS, hasDynamic, hasInterp bool
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_TLS:
			hasTLS = true // __safestack_unsafe_stack_ptr lives there
		case elf.PT_DYNAMIC:
			hasDynamic = true
		case elf.PT_INTERP:
			hasInterp = true
		}
	}
	if !hasTLS || !hasDynamic || hasInterp {
		t.Errorf("PT_TLS %v, PT_DYNAMIC %v, PT_INTERP %v; want true, true, false", hasTLS, hasDynamic, hasInterp)
	}

	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var entry uint64
	found := false
	for _, s := range syms {
		if s.Name == "_start" {
			entry, found = s.Value, true
		}
	}
	if !found || entry != f.Entry {
		t.Errorf("entry %#x, _start %#x (found %v)", f.Entry, entry, found)
	}

	for _, sec := range f.Sections {
		switch sec.Type {
		case elf.SHT_REL:
			t.Errorf("section %s: REL relocations, want only RELA", sec.Name)
		case elf.SHT_RELA:
			data, err := sec.Data()
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off+24 <= len(data); off += 24 {
				info := binary.LittleEndian.Uint64(data[off+8:])
				if typ := elf.R_X86_64(info & 0xffffffff); typ != elf.R_X86_64_RELATIVE {
					t.Errorf("section %s: relocation %v, want only R_X86_64_RELATIVE", sec.Name, typ)
				}
			}
		}
	}
}
