package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ELF constants used to build test files, spelled out from the ELF
// specification rather than taken from the package under test.
const (
	tPTLoad    = 1
	tPTDynamic = 2
	tPTInterp  = 3
	tPTNote    = 4
	tPTPhdr    = 6
	tPTTLS     = 7
	tPTGNUStk  = 0x6474e551

	tPFX = 1
	tPFW = 2
	tPFR = 4

	tETRel  = 1
	tETExec = 2
	tETDyn  = 3
	tETCore = 4

	tEMX86_64  = 62
	tEMAArch64 = 183

	tPage = 4096
)

// ph is one program header of a test file.
type ph struct {
	typ, flags            uint32
	off, vaddr            uint64
	filesz, memsz, align_ uint64
}

// elfFile describes a test ELF file. build assembles it.
type elfFile struct {
	class, data, version, osabi byte
	typ, machine                uint16
	entry, phoff                uint64
	phentsize                   uint16
	phnum                       int // -1: len(phdrs)
	phdrs                       []ph
	size                        int // file size; 0: just large enough
}

// minimal is the smallest valid CloudABI executable: the ELF header, one
// program header and a little code, all in one R+X segment starting at file
// offset 0.
func minimal() elfFile {
	return elfFile{
		class: 2, data: 1, version: 1, osabi: 17,
		typ: tETDyn, machine: tEMX86_64,
		entry: 0x100, phoff: 64, phentsize: 56, phnum: -1,
		phdrs: []ph{
			{typ: tPTLoad, flags: tPFR | tPFX, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110, align_: tPage},
		},
		size: 0x110,
	}
}

func (f elfFile) build() []byte {
	phnum := f.phnum
	if phnum < 0 {
		phnum = len(f.phdrs)
	}
	size := f.size
	if size == 0 {
		size = 64
		if end := f.phoff + uint64(len(f.phdrs))*56; f.phoff < 1<<20 && int(end) > size {
			size = int(end)
		}
		for _, p := range f.phdrs {
			if p.typ == tPTLoad && p.off < 1<<20 && p.filesz < 1<<20 && int(p.off+p.filesz) > size {
				size = int(p.off + p.filesz)
			}
		}
	}
	b := make([]byte, size)
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF")
	hdr[4], hdr[5], hdr[6], hdr[7] = f.class, f.data, f.version, f.osabi
	le := binary.LittleEndian
	le.PutUint16(hdr[16:], f.typ)
	le.PutUint16(hdr[18:], f.machine)
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[24:], f.entry)
	le.PutUint64(hdr[32:], f.phoff)
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[54:], f.phentsize)
	le.PutUint16(hdr[56:], uint16(phnum))
	copy(b, hdr)
	for i, p := range f.phdrs {
		at := f.phoff + uint64(i)*56
		if f.phoff > uint64(size) || at+56 > uint64(size) {
			break
		}
		e := b[at:]
		le.PutUint32(e[0:], p.typ)
		le.PutUint32(e[4:], p.flags)
		le.PutUint64(e[8:], p.off)
		le.PutUint64(e[16:], p.vaddr)
		le.PutUint64(e[24:], p.vaddr)
		le.PutUint64(e[32:], p.filesz)
		le.PutUint64(e[40:], p.memsz)
		le.PutUint64(e[48:], p.align_)
	}
	return b
}

// with returns a copy of minimal() changed by fn.
func with(fn func(f *elfFile)) []byte {
	f := minimal()
	f.phdrs = append([]ph(nil), f.phdrs...)
	fn(&f)
	return f.build()
}

// layout returns an elfFile with the given program headers and entry; the
// program headers follow the ELF header and the file is sized to fit.
func layout(entry uint64, phdrs ...ph) elfFile {
	f := minimal()
	f.entry = entry
	f.phdrs = phdrs
	f.size = 0
	return f
}

// sized builds f as a file of exactly n bytes.
func sized(n int, f elfFile) []byte {
	f.size = n
	return f.build()
}

func TestParseRejects(t *testing.T) {
	const max64 = ^uint64(0)
	rx := uint32(tPFR | tPFX)
	tests := []struct {
		name string
		data []byte
		want Machine // 0: MachineX86_64
		kind ErrorKind
		msg  []string // substrings the message must contain (case-insensitive)
	}{
		{"empty file", nil, 0, NotELF, []string{"ELF"}},
		{"shell script", []byte("#!/bin/sh\necho hello\n"), 0, NotELF, []string{"ELF"}},
		{"long text", bytes.Repeat([]byte("not an executable\n"), 20), 0, NotELF, []string{"ELF"}},
		{"magic only", []byte("\x7fELF"), 0, NotELF, []string{"truncated"}},
		{"wrong magic", with(func(f *elfFile) {})[1:], 0, NotELF, []string{"ELF"}},
		{"32-bit", with(func(f *elfFile) { f.class = 1 }), 0, NotCloudABI, []string{"64-bit"}},
		{"class none", with(func(f *elfFile) { f.class = 0 }), 0, NotCloudABI, []string{"64-bit"}},
		{"big-endian", with(func(f *elfFile) { f.data = 2 }), 0, NotCloudABI, []string{"little-endian"}},
		{"Linux OS/ABI 0", with(func(f *elfFile) { f.osabi = 0 }), 0, NotCloudABI, []string{"Linux", "CloudABI"}},
		{"Linux OS/ABI 3", with(func(f *elfFile) { f.osabi = 3 }), 0, NotCloudABI, []string{"Linux", "CloudABI"}},
		{"FreeBSD", with(func(f *elfFile) { f.osabi = 9 }), 0, NotCloudABI, []string{"FreeBSD"}},
		{"unknown OS/ABI", with(func(f *elfFile) { f.osabi = 200 }), 0, NotCloudABI, []string{"200"}},
		{"aarch64 CloudABI", with(func(f *elfFile) { f.machine = tEMAArch64 }), 0, WrongArch, []string{"aarch64", "x86-64"}},
		{"x86-64 wanted aarch64", minimal().build(), MachineAArch64, WrongArch, []string{"x86-64", "aarch64"}},
		{"unknown machine", with(func(f *elfFile) { f.machine = 3 }), 0, WrongArch, []string{"machine 3"}},
		{"ET_EXEC", with(func(f *elfFile) { f.typ = tETExec }), 0, NotCloudABI, []string{"ET_DYN"}},
		{"ET_REL", with(func(f *elfFile) { f.typ = tETRel }), 0, NotCloudABI, []string{"ET_DYN"}},
		{"ET_CORE", with(func(f *elfFile) { f.typ = tETCore }), 0, NotCloudABI, []string{"ET_DYN"}},
		{"phentsize 0", with(func(f *elfFile) { f.phentsize = 0 }), 0, Malformed, []string{"program header size", "0"}},
		{"phentsize 32", with(func(f *elfFile) { f.phentsize = 32 }), 0, Malformed, []string{"program header size", "32"}},
		{"phentsize 64", with(func(f *elfFile) { f.phentsize = 64 }), 0, Malformed, []string{"program header size", "64"}},
		{"phnum 0", with(func(f *elfFile) { f.phnum = 0 }), 0, Malformed, []string{"program headers"}},
		{"phnum 65535", with(func(f *elfFile) { f.phnum = 0xffff; f.size = 64 + 0xffff*56 }), 0, Malformed, []string{"program headers"}},
		{"phnum 1000", with(func(f *elfFile) { f.phnum = 1000; f.size = 64 + 1000*56 }), 0, Malformed, []string{"program headers"}},
		{"phnum past EOF", with(func(f *elfFile) { f.phnum = 5 }), 0, Malformed, []string{"program headers", "end of the file"}},
		{"phoff past EOF", with(func(f *elfFile) { f.phoff = 0x111 }), 0, Malformed, []string{"program headers", "end of the file"}},
		{"phoff at EOF", with(func(f *elfFile) { f.phoff = 0x110 }), 0, Malformed, []string{"program headers", "end of the file"}},
		{"phdr straddles EOF", with(func(f *elfFile) { f.phoff = 0x110 - 55 }), 0, Malformed, []string{"program headers", "end of the file"}},
		{"phoff overflowing", with(func(f *elfFile) { f.phoff = max64 - 8 }), 0, Malformed, []string{"program headers"}},
		{"phoff 2^63", with(func(f *elfFile) { f.phoff = 1 << 63 }), 0, Malformed, []string{"program headers"}},
		{"PT_INTERP", with(func(f *elfFile) {
			f.phdrs = append(f.phdrs, ph{typ: tPTInterp, flags: tPFR, off: 0x100, vaddr: 0x100, filesz: 8, memsz: 8})
		}), 0, NotCloudABI, []string{"PT_INTERP"}},
		{"PT_INTERP first", with(func(f *elfFile) {
			f.phdrs = append([]ph{{typ: tPTInterp, flags: tPFR, off: 0x100, vaddr: 0x100, filesz: 8, memsz: 8}}, f.phdrs...)
		}), 0, NotCloudABI, []string{"PT_INTERP"}},
		{"filesz > memsz", with(func(f *elfFile) { f.phdrs[0].memsz = 0x10f }), 0, Malformed, []string{"segment 0", "file size"}},
		{"file range past EOF", with(func(f *elfFile) { f.phdrs[0].filesz, f.phdrs[0].memsz = 0x111, 0x2000 }), 0, Malformed, []string{"segment 0", "end of the file"}},
		{"file offset past EOF", sized(0x110, layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0x1000, vaddr: 0x2000, filesz: 0x10, memsz: 0x10},
		)), 0, Malformed, []string{"segment 1", "end of the file"}},
		{"file range overflowing", sized(0x110, layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: max64 - 0xfff, vaddr: 0x1000, filesz: 0x2000, memsz: 0x2000},
		)), 0, Malformed, []string{"segment 1", "end of the file"}},
		{"file size huge", sized(0x110, layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0x10, vaddr: 0x1010, filesz: max64 - 0x8, memsz: max64},
		)), 0, Malformed, []string{"segment 1", "end of the file"}},
		{"non-congruent", layout(0x1900,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0x1800, filesz: 0x110, memsz: 0x200},
		).build(), 0, Malformed, []string{"segment 0", "congruent"}},
		{"non-congruent by one", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR, off: 0x100, vaddr: 0x1101, filesz: 0x10, memsz: 0x10},
		).build(), 0, Malformed, []string{"segment 1", "congruent"}},
		{"segment past MaxSpan", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0, vaddr: MaxSpan - tPage, filesz: 0, memsz: tPage + 1},
		).build(), 0, Malformed, []string{"segment 1", "outside"}},
		{"segment at MaxSpan", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0, vaddr: MaxSpan, filesz: 0, memsz: 1},
		).build(), 0, Malformed, []string{"segment 1", "outside"}},
		{"memsz larger than MaxSpan", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: MaxSpan + 1},
		).build(), 0, Malformed, []string{"segment 0", "outside"}},
		{"vaddr+memsz overflowing", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0, vaddr: max64 - 0xfff, filesz: 0, memsz: 0x2000},
		).build(), 0, Malformed, []string{"segment 1", "outside"}},
		{"memsz overflowing", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0, vaddr: 0x1000, filesz: 0, memsz: max64},
		).build(), 0, Malformed, []string{"segment 1", "outside"}},
		{"segments out of order", layout(0x2100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0x2000, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
		).build(), 0, Malformed, []string{"segment 1", "overlaps or precedes"}},
		{"segments overlapping", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x1800},
			ph{typ: tPTLoad, flags: tPFR, off: 0, vaddr: 0x1000, filesz: 0x110, memsz: 0x110},
		).build(), 0, Malformed, []string{"segment 1", "overlaps"}},
		{"segments overlapping by one byte", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x1001},
			ph{typ: tPTLoad, flags: tPFR, off: 0, vaddr: 0x1000, filesz: 0x110, memsz: 0x110},
		).build(), 0, Malformed, []string{"segment 1", "overlaps"}},
		{"same vaddr twice", layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
		).build(), 0, Malformed, []string{"segment 1", "overlaps"}},
		{"no PT_LOAD", layout(0x100,
			ph{typ: tPTNote, flags: tPFR, off: 0x40, vaddr: 0x40, filesz: 0x10, memsz: 0x10},
		).build(), 0, Malformed, []string{"no loadable"}},
		{"only empty PT_LOAD", layout(0,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0, memsz: 0},
		).build(), 0, Malformed, []string{"no loadable"}},
		{"entry in data segment", layout(0x1010,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0, vaddr: 0x1000, filesz: 0x110, memsz: 0x110},
		).build(), 0, Malformed, []string{"entry point"}},
		{"entry at end of text", with(func(f *elfFile) { f.entry = 0x110 }), 0, Malformed, []string{"entry point"}},
		{"entry far away", with(func(f *elfFile) { f.entry = 1 << 40 }), 0, Malformed, []string{"entry point"}},
		{"entry huge", with(func(f *elfFile) { f.entry = max64 }), 0, Malformed, []string{"entry point"}},
		{"entry in gap", layout(0x1800,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0x2000, filesz: 0x110, memsz: 0x110},
		).build(), 0, Malformed, []string{"entry point"}},
		{"entry only in non-executable", with(func(f *elfFile) { f.phdrs[0].flags = tPFR | tPFW }), 0, Malformed, []string{"entry point"}},
		{"entry in ignored empty segment", layout(0x5000,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0x5000, filesz: 0, memsz: 0},
		).build(), 0, Malformed, []string{"entry point"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == 0 {
				want = MachineX86_64
			}
			checkReject(t, tt.data, want, tt.kind, tt.msg...)
		})
	}
}

func checkReject(t *testing.T, data []byte, want Machine, kind ErrorKind, msg ...string) {
	t.Helper()
	exe, err := Parse(data, want)
	if err == nil {
		t.Fatalf("Parse accepted the file: %+v", exe)
	}
	if exe != nil {
		t.Errorf("Parse returned an executable with error %v", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *loader.Error", err, err)
	}
	if e.Kind != kind {
		t.Errorf("kind = %d, want %d (%v)", e.Kind, kind, err)
	}
	for _, m := range msg {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(m)) {
			t.Errorf("message %q does not mention %q", err, m)
		}
	}
}

func TestParseTruncatedHeader(t *testing.T) {
	full := minimal().build()
	for n := 0; n < 64; n++ {
		checkReject(t, full[:n], MachineX86_64, NotELF, "ELF")
		if n >= 4 {
			// With the magic present, the problem is the truncation.
			checkReject(t, full[:n], MachineX86_64, NotELF, "truncated")
		}
	}
	if _, err := Parse(full, MachineX86_64); err != nil {
		t.Fatalf("untruncated file rejected: %v", err)
	}
}

func TestParseEveryForeignOSABI(t *testing.T) {
	for osabi := 0; osabi < 256; osabi++ {
		if osabi == 17 {
			continue
		}
		data := with(func(f *elfFile) { f.osabi = byte(osabi) })
		checkReject(t, data, MachineX86_64, NotCloudABI, "OS/ABI")
	}
}

func TestParseAccepts(t *testing.T) {
	rx, r, rw := uint32(tPFR|tPFX), uint32(tPFR), uint32(tPFR|tPFW)
	lld := layout(0x1210,
		ph{typ: tPTPhdr, flags: r, off: 64, vaddr: 64, filesz: 7 * 56, memsz: 7 * 56},
		ph{typ: tPTLoad, flags: r, off: 0, vaddr: 0, filesz: 0x20d, memsz: 0x20d},
		ph{typ: tPTLoad, flags: rx, off: 0x210, vaddr: 0x1210, filesz: 0xd, memsz: 0xd},
		ph{typ: tPTLoad, flags: rw, off: 0x220, vaddr: 0x2220, filesz: 0x90, memsz: 0x90},
		ph{typ: tPTDynamic, flags: rw, off: 0x220, vaddr: 0x2220, filesz: 0x90, memsz: 0x90},
		ph{typ: 0x6474e552, flags: r, off: 0x220, vaddr: 0x2220, filesz: 0x90, memsz: 0xde0},
		ph{typ: tPTGNUStk, flags: rw},
	)
	tests := []struct {
		name       string
		file       elfFile
		entry      uint64
		segs       []Segment
		span       uint64
		phdrMapped bool
		phdrVaddr  uint64
	}{
		{
			name:  "minimal",
			file:  minimal(),
			entry: 0x100,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5}},
			span:  tPage, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name:  "lld-style congruent offsets",
			file:  lld,
			entry: 0x1210,
			segs: []Segment{
				{Vaddr: 0, Memsz: 0x20d, Offset: 0, Filesz: 0x20d, Prot: 1},
				{Vaddr: 0x1210, Memsz: 0xd, Offset: 0x210, Filesz: 0xd, Prot: 5},
				{Vaddr: 0x2220, Memsz: 0x90, Offset: 0x220, Filesz: 0x90, Prot: 3},
			},
			span: 0x3000, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "bss-only segment",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTLoad, flags: rw, off: 0x110, vaddr: 0x1110, filesz: 0, memsz: 0x5000},
			),
			entry: 0x100,
			segs: []Segment{
				{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5},
				{Vaddr: 0x1110, Memsz: 0x5000, Offset: 0x110, Filesz: 0, Prot: 3},
			},
			span: 0x7000, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "PT_TLS outside every PT_LOAD",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTTLS, flags: r, off: 0x100, vaddr: 0x900000, filesz: 0x10, memsz: 0x40},
			),
			entry: 0x100,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5}},
			span:  tPage, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "zero-memsz PT_LOAD ignored",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTLoad, flags: rw, off: ^uint64(0) - 5, vaddr: 0x77, filesz: 0x100, memsz: 0},
				ph{typ: tPTLoad, flags: rw, off: 0x110, vaddr: 0x1110, filesz: 0x10, memsz: 0x10},
			),
			entry: 0x100,
			segs: []Segment{
				{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5},
				{Vaddr: 0x1110, Memsz: 0x10, Offset: 0x110, Filesz: 0x10, Prot: 3},
			},
			span: 0x2000, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "PT_PHDR honoured",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTLoad, flags: r, off: 0, vaddr: 0x2000, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTPhdr, flags: r, off: 64, vaddr: 0x2040, filesz: 3 * 56, memsz: 3 * 56},
			),
			entry: 0x100,
			segs: []Segment{
				{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5},
				{Vaddr: 0x2000, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 1},
			},
			span: 0x3000, phdrMapped: true, phdrVaddr: 0x2040,
		},
		{
			name: "PT_PHDR outside segments, found via e_phoff",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTPhdr, flags: r, off: 64, vaddr: 0x8000, filesz: 2 * 56, memsz: 2 * 56},
			),
			entry: 0x100,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5}},
			span:  tPage, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "phdrs found via a segment with an offset",
			file: func() elfFile {
				f := layout(0x3010,
					ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0x3000, filesz: 0x40, memsz: 0x40},
					ph{typ: tPTLoad, flags: r, off: 0x1000, vaddr: 0x5000, filesz: 0x100, memsz: 0x100},
				)
				f.phoff = 0x1020
				f.size = 0x1100
				return f
			}(),
			entry: 0x3010,
			segs: []Segment{
				{Vaddr: 0x3000, Memsz: 0x40, Offset: 0, Filesz: 0x40, Prot: 5},
				{Vaddr: 0x5000, Memsz: 0x100, Offset: 0x1000, Filesz: 0x100, Prot: 1},
			},
			span: 0x6000, phdrMapped: true, phdrVaddr: 0x5020,
		},
		{
			name: "phdrs not mapped",
			file: func() elfFile {
				f := layout(0x10, ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x40, memsz: 0x1000})
				f.phoff = 0x800
				f.size = 0x800 + 56
				return f
			}(),
			entry: 0x10,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x1000, Offset: 0, Filesz: 0x40, Prot: 5}},
			span:  tPage, phdrMapped: false,
		},
		{
			name: "phdrs only partly in file bytes",
			file: func() elfFile {
				f := layout(0x10, ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 64 + 20, memsz: 0x1000})
				f.size = 64 + 56
				return f
			}(),
			entry: 0x10,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x1000, Offset: 0, Filesz: 84, Prot: 5}},
			span:  tPage, phdrMapped: false,
		},
		{
			name: "adjacent segments",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x1000},
				ph{typ: tPTLoad, flags: rw, off: 0, vaddr: 0x1000, filesz: 0x110, memsz: 0x1000},
			),
			entry: 0x100,
			segs: []Segment{
				{Vaddr: 0, Memsz: 0x1000, Offset: 0, Filesz: 0x110, Prot: 5},
				{Vaddr: 0x1000, Memsz: 0x1000, Offset: 0, Filesz: 0x110, Prot: 3},
			},
			span: 0x2000, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "span one byte past a page",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x1001},
			),
			entry: 0x100,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x1001, Offset: 0, Filesz: 0x110, Prot: 5}},
			span:  0x2000, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name: "span up to MaxSpan",
			file: layout(0x100,
				ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
				ph{typ: tPTLoad, flags: rw, off: 0, vaddr: MaxSpan - tPage, filesz: 0, memsz: tPage},
			),
			entry: 0x100,
			segs: []Segment{
				{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5},
				{Vaddr: MaxSpan - tPage, Memsz: tPage, Offset: 0, Filesz: 0, Prot: 3},
			},
			span: MaxSpan, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name:  "entry at last byte of text",
			file:  func() elfFile { f := minimal(); f.entry = 0x10f; return f }(),
			entry: 0x10f,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x110, Offset: 0, Filesz: 0x110, Prot: 5}},
			span:  tPage, phdrMapped: true, phdrVaddr: 64,
		},
		{
			name:  "entry in zero-filled part of text",
			file:  layout(0x800, ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x1000}),
			entry: 0x800,
			segs:  []Segment{{Vaddr: 0, Memsz: 0x1000, Offset: 0, Filesz: 0x110, Prot: 5}},
			span:  tPage, phdrMapped: true, phdrVaddr: 64,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.file.build()
			exe, err := Parse(data, MachineX86_64)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if exe.Machine != MachineX86_64 {
				t.Errorf("Machine = %v", exe.Machine)
			}
			if exe.Entry != tt.entry {
				t.Errorf("Entry = %#x, want %#x", exe.Entry, tt.entry)
			}
			if fmt.Sprint(exe.Segments) != fmt.Sprint(tt.segs) {
				t.Errorf("Segments = %+v\nwant       %+v", exe.Segments, tt.segs)
			}
			if exe.Span != tt.span {
				t.Errorf("Span = %#x, want %#x", exe.Span, tt.span)
			}
			if exe.PhdrMapped != tt.phdrMapped || (tt.phdrMapped && exe.PhdrVaddr != tt.phdrVaddr) {
				t.Errorf("PhdrMapped, PhdrVaddr = %v, %#x; want %v, %#x", exe.PhdrMapped, exe.PhdrVaddr, tt.phdrMapped, tt.phdrVaddr)
			}
			n := len(tt.file.phdrs)
			if exe.Phnum != n {
				t.Errorf("Phnum = %d, want %d", exe.Phnum, n)
			}
			phoff := tt.file.phoff
			if !bytes.Equal(exe.Phdrs, data[phoff:phoff+uint64(n)*56]) {
				t.Errorf("Phdrs are not the program header bytes of the file")
			}
			if !bytes.Equal(exe.Data, data) {
				t.Errorf("Data is not the file")
			}
			checkInvariants(t, data, exe)
		})
	}
}

// TestParseProt checks the translation of p_flags into PROT_* bits.
func TestParseProt(t *testing.T) {
	for flags := uint32(0); flags < 8; flags++ {
		var want uint8
		if flags&tPFR != 0 {
			want |= 1 // PROT_READ
		}
		if flags&tPFW != 0 {
			want |= 2 // PROT_WRITE
		}
		if flags&tPFX != 0 {
			want |= 4 // PROT_EXEC
		}
		data := layout(0x100,
			ph{typ: tPTLoad, flags: tPFR | tPFX, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x110},
			ph{typ: tPTLoad, flags: flags | 0xf0000000, off: 0, vaddr: 0x1000, filesz: 0x110, memsz: 0x110},
		).build()
		exe, err := Parse(data, MachineX86_64)
		if err != nil {
			t.Fatalf("flags %#x: %v", flags, err)
		}
		if got := exe.Segments[1].Prot; got != want {
			t.Errorf("flags %#x: Prot = %#x, want %#x", flags, got, want)
		}
	}
}

// checkInvariants checks what later stages rely on for any accepted file.
func checkInvariants(t *testing.T, data []byte, exe *Executable) {
	t.Helper()
	if len(exe.Segments) == 0 {
		t.Fatalf("accepted with no segments")
	}
	if exe.Span%tPage != 0 {
		t.Errorf("Span %#x is not page aligned", exe.Span)
	}
	if exe.Span > MaxSpan {
		t.Errorf("Span %#x exceeds MaxSpan", exe.Span)
	}
	entryOK := false
	for i, s := range exe.Segments {
		if s.Memsz == 0 {
			t.Errorf("segment %d: empty", i)
		}
		if s.Filesz > s.Memsz {
			t.Errorf("segment %d: filesz %#x > memsz %#x", i, s.Filesz, s.Memsz)
		}
		if s.Offset > uint64(len(data)) || s.Filesz > uint64(len(data))-s.Offset {
			t.Errorf("segment %d: file range %#x+%#x outside the %d-byte file", i, s.Offset, s.Filesz, len(data))
		}
		if s.Filesz > 0 && s.Vaddr%tPage != s.Offset%tPage {
			t.Errorf("segment %d: vaddr %#x and offset %#x not congruent", i, s.Vaddr, s.Offset)
		}
		end := s.Vaddr + s.Memsz
		if end < s.Vaddr || end > exe.Span {
			t.Errorf("segment %d: %#x+%#x not covered by Span %#x", i, s.Vaddr, s.Memsz, exe.Span)
		}
		if i > 0 {
			prev := exe.Segments[i-1]
			if s.Vaddr < prev.Vaddr+prev.Memsz {
				t.Errorf("segment %d at %#x overlaps or precedes segment %d ending at %#x", i, s.Vaddr, i-1, prev.Vaddr+prev.Memsz)
			}
		}
		if s.Prot&^7 != 0 {
			t.Errorf("segment %d: Prot %#x has unknown bits", i, s.Prot)
		}
		if s.Prot&4 != 0 && exe.Entry >= s.Vaddr && exe.Entry < end {
			entryOK = true
		}
	}
	if last := exe.Segments[len(exe.Segments)-1]; exe.Span != (last.Vaddr+last.Memsz+tPage-1)&^(tPage-1) {
		t.Errorf("Span %#x is not the page-rounded end of the last segment", exe.Span)
	}
	if !entryOK {
		t.Errorf("entry %#x is not inside an executable segment", exe.Entry)
	}
	if len(exe.Phdrs) != exe.Phnum*56 {
		t.Errorf("len(Phdrs) = %d, Phnum = %d", len(exe.Phdrs), exe.Phnum)
	}
	if exe.PhdrMapped {
		n := uint64(len(exe.Phdrs))
		covered := false
		for _, s := range exe.Segments {
			if exe.PhdrVaddr >= s.Vaddr && exe.PhdrVaddr+n >= exe.PhdrVaddr && exe.PhdrVaddr+n <= s.Vaddr+s.Memsz {
				covered = true
			}
		}
		if !covered {
			t.Errorf("PhdrVaddr %#x+%#x not inside one segment", exe.PhdrVaddr, n)
		}
	}
}

// TestParseClang checks a real executable produced by the CloudABI
// toolchain.
func TestParseClang(t *testing.T) {
	clang, err := exec.LookPath("clang-14")
	if err != nil {
		t.Skip("clang-14 not on PATH")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	out := filepath.Join(dir, "prog")
	code := "static volatile int counter = 1;\nint table[1024];\nvoid _start(void *auxv) { for (;;) { table[counter & 1023]++; } }\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clang, "--target=x86_64-unknown-cloudabi", "-fuse-ld=lld", "-nostdlib",
		"-ffreestanding", "-fno-sanitize=safe-stack", "-O1", "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("clang-14 cannot build CloudABI executables here: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	if f.OSABI != elf.ELFOSABI_CLOUDABI || f.Type != elf.ET_DYN {
		t.Fatalf("clang produced OS/ABI %v type %v", f.OSABI, f.Type)
	}
	exe, err := Parse(data, MachineX86_64)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if exe.Entry != f.Entry {
		t.Errorf("Entry = %#x, debug/elf says %#x", exe.Entry, f.Entry)
	}
	var loads []*elf.Prog
	var phdr *elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			if p.Memsz > 0 {
				loads = append(loads, p)
			}
		case elf.PT_PHDR:
			phdr = p
		}
	}
	if len(exe.Segments) != len(loads) || len(loads) == 0 {
		t.Fatalf("%d segments, debug/elf finds %d PT_LOAD", len(exe.Segments), len(loads))
	}
	var end uint64
	for i, p := range loads {
		s := exe.Segments[i]
		var prot uint8
		if p.Flags&elf.PF_R != 0 {
			prot |= 1
		}
		if p.Flags&elf.PF_W != 0 {
			prot |= 2
		}
		if p.Flags&elf.PF_X != 0 {
			prot |= 4
		}
		want := Segment{Vaddr: p.Vaddr, Memsz: p.Memsz, Offset: p.Off, Filesz: p.Filesz, Prot: prot}
		if s != want {
			t.Errorf("segment %d = %+v, debug/elf says %+v", i, s, want)
		}
		end = max(end, p.Vaddr+p.Memsz)
	}
	if want := (end + tPage - 1) &^ (tPage - 1); exe.Span != want {
		t.Errorf("Span = %#x, want %#x", exe.Span, want)
	}
	if exe.Phnum != len(f.Progs) {
		t.Errorf("Phnum = %d, debug/elf finds %d", exe.Phnum, len(f.Progs))
	}
	if phdr != nil && (!exe.PhdrMapped || exe.PhdrVaddr != phdr.Vaddr) {
		t.Errorf("PhdrMapped, PhdrVaddr = %v, %#x; PT_PHDR says %#x", exe.PhdrMapped, exe.PhdrVaddr, phdr.Vaddr)
	}
	checkInvariants(t, data, exe)

	checkReject(t, data, MachineAArch64, WrongArch, "x86-64")
}

// seeds returns interesting inputs for FuzzParse; testdata/fuzz/FuzzParse
// holds the same kinds of files.
func seeds() [][]byte {
	rx := uint32(tPFR | tPFX)
	return [][]byte{
		minimal().build(),
		layout(0x1210,
			ph{typ: tPTPhdr, flags: tPFR, off: 64, vaddr: 64, filesz: 4 * 56, memsz: 4 * 56},
			ph{typ: tPTLoad, flags: tPFR, off: 0, vaddr: 0, filesz: 0x20d, memsz: 0x20d},
			ph{typ: tPTLoad, flags: rx, off: 0x210, vaddr: 0x1210, filesz: 0xd, memsz: 0xd},
			ph{typ: tPTLoad, flags: tPFR | tPFW, off: 0x220, vaddr: 0x2220, filesz: 0x90, memsz: 0x1000},
		).build(),
		with(func(f *elfFile) { f.osabi = 0 }),
		with(func(f *elfFile) { f.phnum = 0 }),
		with(func(f *elfFile) { f.phoff = ^uint64(0) - 8 }),
		layout(0x100,
			ph{typ: tPTLoad, flags: rx, off: 0, vaddr: 0, filesz: 0x110, memsz: 0x1800},
			ph{typ: tPTLoad, flags: tPFR, off: 0, vaddr: 0x1000, filesz: 0x110, memsz: 0x110},
		).build(),
		[]byte("#!/bin/sh\n"),
		{},
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, want := range []Machine{MachineX86_64, MachineAArch64} {
			exe, err := Parse(data, want)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Kind < NotELF || e.Kind > Malformed || e.Reason == "" {
					t.Fatalf("bad error %T %v", err, err)
				}
				if exe != nil {
					t.Fatalf("executable returned with error %v", err)
				}
				continue
			}
			if exe.Machine != want {
				t.Fatalf("accepted machine %v when %v was wanted", exe.Machine, want)
			}
			checkInvariants(t, data, exe)
		}
	})
}

// TestFuzzCorpus checks that the committed seed corpus holds the kinds of
// input it should: at least one accepted file and rejections of every kind.
func TestFuzzCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no seed corpus in testdata/fuzz/FuzzParse")
	}
	accepted := 0
	kinds := map[ErrorKind]int{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := parseCorpusFile(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		exe, err := Parse(data, MachineX86_64)
		if err == nil {
			accepted++
			checkInvariants(t, data, exe)
			continue
		}
		kinds[err.(*Error).Kind]++
	}
	if accepted == 0 {
		t.Errorf("no seed is a valid executable")
	}
	for _, k := range []ErrorKind{NotELF, NotCloudABI, Malformed} {
		if kinds[k] == 0 {
			t.Errorf("no seed is rejected with kind %d", k)
		}
	}
}

// parseCorpusFile decodes a one-value "go test fuzz v1" file holding a
// []byte.
func parseCorpusFile(b []byte) ([]byte, error) {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("not a fuzz corpus file")
	}
	v := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("value %.40q is not a []byte", v)
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}
