package kernel

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/loader"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"github.com/cloudabi-go/cloudabi/internal/transport"
	"github.com/cloudabi-go/cloudabi/internal/vdso"
)

// The layout of a new process's memory, from the start of its region:
//
//	boot block      sandbox.BootSize, the stub's; inaccessible to the guest
//	vDSO            read + execute
//	shared area     read + write: the doorbell (internal/transport)
//	thread areas    2 pages read + write for each possible thread (slot),
//	                FS base at the second page; reserved, not allocated
//	start-up data   auxv, argdata, canary, process UUID, [program headers]
//	(guard page)
//	stack           read + write
//	(guard page)
//	executable      at a page-aligned base, segments with their protections
//	...             mem_map allocations above the executable
//
// The region itself starts at a random address, which randomises all of
// the above together.
const (
	pageSize        = memory.PageSize
	threadAreaPages = 2
	threadAreaSize  = threadAreaPages * pageSize
	canaryLen       = 16
)

// vdsoImage is built once: it is the same for every process.
var vdsoImage = vdso.BuildAMD64()

type image struct {
	entry         sandbox.Entry
	tid           abi.Tid
	shared, areas uint64
	mailbox       uint64
	vdso          uint64
}

func roundUp(n uint64) uint64 { return (n + pageSize - 1) &^ (pageSize - 1) }

// buildImage lays out a new process in mem.
func buildImage(mem *memory.Memory, exe *loader.Executable, argdata []byte, tid abi.Tid, stackSize, memoryLimit uint64) (*image, error) {
	le := binary.LittleEndian
	cursor := mem.Base() + sandbox.BootSize
	mapAt := func(size uint64, prot memory.Prot) (uint64, error) {
		addr, err := mem.Map(cursor, roundUp(size), prot, true)
		cursor = addr + roundUp(size)
		return addr, err
	}

	// vDSO.
	vdsoAddr, err := mapAt(uint64(len(vdsoImage.Bytes)), memory.ProtRead|memory.ProtExec)
	if err != nil {
		return nil, err
	}
	copy(mem.Raw(vdsoAddr, uint64(len(vdsoImage.Bytes))), vdsoImage.Bytes)

	// The shared area, and the main thread's area.
	shared, err := mapAt(transport.SharedSize, memory.ProtRead|memory.ProtWrite)
	if err != nil {
		return nil, err
	}
	areas, err := mapAt(transport.MaxThreads*threadAreaSize, memory.ProtRead|memory.ProtWrite)
	if err != nil {
		return nil, err
	}
	fsBase, mailbox, err := initThreadArea(mem, areas, shared, 0)
	if err != nil {
		return nil, err
	}

	// Start-up data: auxv first (it has the strictest alignment), then the
	// byte strings.
	const nauxv = 13
	phdrs := uint64(0)
	if !exe.PhdrMapped {
		phdrs = uint64(len(exe.Phdrs))
	}
	dataSize := nauxv*16 + canaryLen + 16 + phdrs + uint64(len(argdata))
	data, err := mapAt(dataSize, memory.ProtRead|memory.ProtWrite)
	if err != nil {
		return nil, err
	}
	auxvAddr := data
	canaryAddr := auxvAddr + nauxv*16
	pidAddr := canaryAddr + canaryLen
	phdrCopy := pidAddr + 16
	argdataAddr := phdrCopy + phdrs
	if _, err := rand.Read(mem.Raw(canaryAddr, canaryLen+16)); err != nil {
		return nil, err
	}
	uuid := mem.Raw(pidAddr, 16)
	uuid[6] = uuid[6]&0x0f | 0x40 // version 4
	uuid[8] = uuid[8]&0x3f | 0x80 // RFC 4122 variant
	copy(mem.Raw(argdataAddr, uint64(len(argdata))), argdata)

	// Stack, with a guard page on either side.
	cursor += pageSize
	stack, err := mapAt(stackSize, memory.ProtRead|memory.ProtWrite)
	if err != nil {
		return nil, err
	}
	cursor += pageSize
	// As after a call: the return address (0) at %rsp, %rsp+8 16-aligned.
	sp := (stack + roundUp(stackSize)) &^ 15
	sp -= 8
	le.PutUint64(mem.Raw(sp, 8), 0)

	// The executable.
	loadBase := (cursor + (2<<20 - 1)) &^ (2<<20 - 1)
	if loadBase+exe.Span < loadBase || loadBase+exe.Span > mem.Base()+mem.Size() {
		return nil, fmt.Errorf("executable of %d MiB does not fit in the %d MiB address space", exe.Span>>20, mem.Size()>>20)
	}
	if err := loadSegments(mem, exe, loadBase); err != nil {
		return nil, err
	}
	phdrAddr := phdrCopy
	if exe.PhdrMapped {
		phdrAddr = loadBase + exe.PhdrVaddr
	} else {
		copy(mem.Raw(phdrCopy, phdrs), exe.Phdrs)
	}
	// The guest may map, unmap and protect anything above its runtime
	// structures (boot block, vDSO, shared area, thread areas): replacing
	// those would only break the process in ways the supervisor could
	// not tell from a hostile one (a lost wake-up, say).
	mem.Reserve(areas+transport.MaxThreads*threadAreaSize, loadBase+exe.Span+pageSize)
	mem.SetLimit(memoryLimit)

	auxv := []struct {
		typ abi.Auxtype
		val uint64
	}{
		{abi.AtArgdata, argdataAddr},
		{abi.AtArgdatalen, uint64(len(argdata))},
		{abi.AtBase, loadBase},
		{abi.AtCanary, canaryAddr},
		{abi.AtCanarylen, canaryLen},
		{abi.AtNcpus, uint64(runtime.NumCPU())},
		{abi.AtPagesz, pageSize},
		{abi.AtPhdr, phdrAddr},
		{abi.AtPhnum, uint64(exe.Phnum)},
		{abi.AtPid, pidAddr},
		{abi.AtSysinfoEhdr, vdsoAddr},
		{abi.AtTid, uint64(tid)},
		{abi.AtNull, 0},
	}
	if len(auxv) != nauxv {
		panic("kernel: auxv size mismatch")
	}
	for i, a := range auxv {
		e := mem.Raw(auxvAddr+uint64(i)*16, 16)
		le.PutUint64(e[0:], uint64(a.typ))
		le.PutUint64(e[8:], a.val)
	}
	return &image{
		entry:   sandbox.Entry{PC: loadBase + exe.Entry, SP: sp, Auxv: auxvAddr, FSBase: fsBase},
		tid:     tid,
		shared:  shared,
		areas:   areas,
		mailbox: mailbox,
		vdso:    vdsoAddr,
	}, nil
}

// initThreadArea prepares a thread area of threadAreaPages pages at area,
// for the thread in the given slot of the pending bitmap:
// the FS base is the start of the last page, whose first word points to
// itself so that TLS accesses made before the C library has set up TLS read
// zeroes from the page below instead of faulting. A Linux-style stack
// canary sits at FS+0x28 and the mailbox pointer at FS+0x40; the mailbox
// itself follows at FS+0x100.
func initThreadArea(mem *memory.Memory, area, shared uint64, slot int) (fsBase, mailbox uint64, err error) {
	le := binary.LittleEndian
	clear(mem.Raw(area, threadAreaPages*pageSize))
	fsBase = area + (threadAreaPages-1)*pageSize
	mailbox = fsBase + 0x100
	page := mem.Raw(fsBase, pageSize)
	le.PutUint64(page[0:], fsBase)
	if _, err := rand.Read(page[0x28:0x30]); err != nil {
		return 0, 0, err
	}
	page[0x28] = 0 // as glibc does: a NUL byte stops string overflows
	le.PutUint64(page[transport.FSMailboxPointer:], mailbox)
	mb := mem.Raw(mailbox, transport.Size)
	le.PutUint32(mb[transport.OffSlot:], uint32(slot))
	le.PutUint64(mb[transport.OffShared:], shared)
	return fsBase, mailbox, nil
}

// loadSegments maps every PT_LOAD segment at base and copies its file bytes.
// A page shared by two segments gets the union of their protections.
func loadSegments(mem *memory.Memory, exe *loader.Executable, base uint64) error {
	var lastEnd uint64
	var lastProt memory.Prot
	for _, s := range exe.Segments {
		start := (base + s.Vaddr) &^ (pageSize - 1)
		end := roundUp(base + s.Vaddr + s.Memsz)
		prot := memory.Prot(s.Prot)
		if start < lastEnd {
			if err := mem.Protect(start, min(end, lastEnd)-start, prot|lastProt); err != nil {
				return err
			}
			start = lastEnd
		}
		if end > start {
			if _, err := mem.Map(start, end-start, prot, true); err != nil {
				return err
			}
		}
		if end > lastEnd {
			lastEnd, lastProt = end, prot
		}
	}
	for _, s := range exe.Segments {
		copy(mem.Raw(base+s.Vaddr, s.Filesz), exe.Data[s.Offset:s.Offset+s.Filesz])
	}
	return nil
}
