// Package loader checks CloudABI executables and describes how to lay them
// out in memory.
//
// A CloudABI executable is a static position-independent ELF64 file with
// OS/ABI 17. The program relocates itself in its own start-up code, so
// loading means no more than copying each PT_LOAD segment to a chosen base
// and zero-filling the rest of it. Every field of the file is untrusted and
// checked here, once, so that later stages can use the result without
// re-checking: offsets and sizes are bounded and free of overflow.
package loader

import (
	"encoding/binary"
	"fmt"
)

// Machine identifies the instruction set an executable is built for.
type Machine uint16

const (
	MachineX86_64  Machine = 62
	MachineAArch64 Machine = 183
)

func (m Machine) String() string {
	switch m {
	case MachineX86_64:
		return "x86-64"
	case MachineAArch64:
		return "aarch64"
	}
	return fmt.Sprintf("machine %d", uint16(m))
}

// Limits on what a valid executable may ask for.
const (
	pageSize   = 4096
	maxPhnum   = 256
	MaxSpan    = 1 << 32 // bytes of address space one executable may cover
	osabiCloud = 17
	etDyn      = 3
	ptLoad     = 1
	ptDynamic  = 2
	ptInterp   = 3
	ptPhdr     = 6
	ptTLS      = 7
	pfX        = 1
	pfW        = 2
	pfR        = 4
	ehdrSize   = 64
	phentSize  = 56
)

// ErrorKind classifies why a file is not a runnable executable.
type ErrorKind int

const (
	// NotELF: the file is not an ELF file at all (a script, a text file,
	// a truncated header).
	NotELF ErrorKind = iota + 1
	// NotCloudABI: a well-formed ELF file for another operating system,
	// or not a static PIE.
	NotCloudABI
	// WrongArch: a CloudABI executable for another instruction set.
	WrongArch
	// Malformed: claims to be a CloudABI executable but its headers are
	// inconsistent.
	Malformed
)

// Error explains why an executable was rejected.
type Error struct {
	Kind   ErrorKind
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func errorf(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// Segment is one PT_LOAD segment. Vaddr and the file range are those of the
// file; Prot uses the memory package's PROT_* values (read 1, write 2,
// exec 4).
type Segment struct {
	Vaddr, Memsz   uint64
	Offset, Filesz uint64
	Prot           uint8
}

// Executable is a checked CloudABI executable.
type Executable struct {
	Machine  Machine
	Entry    uint64 // relative to the load base
	Segments []Segment
	// Span is the number of bytes from 0 that the segments cover, rounded
	// up to a page: the executable is loaded at a page-aligned base and
	// occupies [base, base+Span).
	Span uint64
	// Phdrs holds the raw program headers; PhdrVaddr is where they are
	// found in the loaded image, if they are (PhdrMapped).
	Phdrs      []byte
	Phnum      int
	PhdrVaddr  uint64
	PhdrMapped bool
	// Data is the whole file.
	Data []byte
}

// Parse checks data and describes its layout. want is the machine the
// runtime can run; anything else is a WrongArch error.
func Parse(data []byte, want Machine) (*Executable, error) {
	if len(data) < 4 || string(data[:4]) != "\x7fELF" {
		return nil, errorf(NotELF, "not an ELF executable")
	}
	if len(data) < ehdrSize {
		return nil, errorf(NotELF, "truncated ELF header (%d bytes)", len(data))
	}
	if data[4] != 2 || data[5] != 1 {
		return nil, errorf(NotCloudABI, "not a 64-bit little-endian ELF file")
	}
	le := binary.LittleEndian
	machine := Machine(le.Uint16(data[18:]))
	if osabi := data[7]; osabi != osabiCloud {
		name := map[byte]string{0: "System V/Linux", 3: "Linux", 9: "FreeBSD"}[osabi]
		if name == "" {
			name = fmt.Sprintf("OS/ABI %d", osabi)
		}
		return nil, errorf(NotCloudABI, "not a CloudABI executable (ELF OS/ABI is %s, want Nuxi CloudABI)", name)
	}
	if machine != want {
		return nil, errorf(WrongArch, "CloudABI executable for %v; this runtime runs %v programs", machine, want)
	}
	if typ := le.Uint16(data[16:]); typ != etDyn {
		return nil, errorf(NotCloudABI, "ELF type %d is not a position-independent executable (ET_DYN)", typ)
	}
	entry := le.Uint64(data[24:])
	phoff := le.Uint64(data[32:])
	phentsize := le.Uint16(data[54:])
	phnum := int(le.Uint16(data[56:]))
	if phentsize != phentSize {
		return nil, errorf(Malformed, "program header size %d, want %d", phentsize, phentSize)
	}
	if phnum == 0 || phnum > maxPhnum {
		return nil, errorf(Malformed, "%d program headers (want 1 to %d)", phnum, maxPhnum)
	}
	phsize := uint64(phnum) * phentSize
	if phoff > uint64(len(data)) || phsize > uint64(len(data))-phoff {
		return nil, errorf(Malformed, "program headers (offset %#x) extend past the end of the file (%d bytes)", phoff, len(data))
	}
	exe := &Executable{
		Machine: machine,
		Entry:   entry,
		Phdrs:   data[phoff : phoff+phsize],
		Phnum:   phnum,
		Data:    data,
	}
	var phdrVaddr uint64
	hasPhdr := false
	for i := 0; i < phnum; i++ {
		ph := exe.Phdrs[i*phentSize:]
		typ := le.Uint32(ph[0:])
		flags := le.Uint32(ph[4:])
		off, vaddr := le.Uint64(ph[8:]), le.Uint64(ph[16:])
		filesz, memsz := le.Uint64(ph[32:]), le.Uint64(ph[40:])
		switch typ {
		case ptInterp:
			return nil, errorf(NotCloudABI, "executable asks for a dynamic linker (PT_INTERP); CloudABI programs are static")
		case ptPhdr:
			phdrVaddr, hasPhdr = vaddr, true
		case ptLoad:
			if memsz == 0 {
				continue
			}
			if filesz > memsz {
				return nil, errorf(Malformed, "segment %d: file size %#x exceeds memory size %#x", i, filesz, memsz)
			}
			if off > uint64(len(data)) || filesz > uint64(len(data))-off {
				return nil, errorf(Malformed, "segment %d: file range %#x+%#x extends past the end of the file", i, off, filesz)
			}
			if vaddr%pageSize != off%pageSize && filesz > 0 {
				return nil, errorf(Malformed, "segment %d: address %#x and file offset %#x are not congruent modulo the page size", i, vaddr, off)
			}
			if vaddr >= MaxSpan || memsz > MaxSpan-vaddr {
				return nil, errorf(Malformed, "segment %d: %#x+%#x lies outside the %d GiB an executable may span", i, vaddr, memsz, MaxSpan>>30)
			}
			if n := len(exe.Segments); n > 0 {
				if prev := exe.Segments[n-1]; vaddr < prev.Vaddr+prev.Memsz {
					return nil, errorf(Malformed, "segment %d: overlaps or precedes the segment before it", i)
				}
			}
			var prot uint8
			if flags&pfR != 0 {
				prot |= 1
			}
			if flags&pfW != 0 {
				prot |= 2
			}
			if flags&pfX != 0 {
				prot |= 4
			}
			exe.Segments = append(exe.Segments, Segment{Vaddr: vaddr, Memsz: memsz, Offset: off, Filesz: filesz, Prot: prot})
			if end := (vaddr + memsz + pageSize - 1) &^ (pageSize - 1); end > exe.Span {
				exe.Span = end
			}
		}
	}
	if len(exe.Segments) == 0 {
		return nil, errorf(Malformed, "no loadable segments")
	}
	if !exe.executable(entry) {
		return nil, errorf(Malformed, "entry point %#x is not inside an executable segment", entry)
	}
	// Tell the program where its headers are: where PT_PHDR says, or
	// where a segment maps the file bytes that hold them.
	if hasPhdr && exe.covered(phdrVaddr, phsize) {
		exe.PhdrVaddr, exe.PhdrMapped = phdrVaddr, true
	} else {
		for _, s := range exe.Segments {
			if phoff >= s.Offset && phoff+phsize <= s.Offset+s.Filesz {
				exe.PhdrVaddr, exe.PhdrMapped = s.Vaddr+(phoff-s.Offset), true
				break
			}
		}
	}
	return exe, nil
}

func (e *Executable) executable(addr uint64) bool {
	for _, s := range e.Segments {
		if s.Prot&4 != 0 && addr >= s.Vaddr && addr < s.Vaddr+s.Memsz {
			return true
		}
	}
	return false
}

func (e *Executable) covered(addr, n uint64) bool {
	for _, s := range e.Segments {
		if addr >= s.Vaddr && addr+n <= s.Vaddr+s.Memsz && addr+n >= addr {
			return true
		}
	}
	return false
}
