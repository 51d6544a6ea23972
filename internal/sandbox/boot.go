package sandbox

import (
	"encoding/binary"
	"fmt"

	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// The boot block occupies the first BootSize bytes of guest memory. The
// supervisor fills it in before starting the sandbox; the stub reads it,
// reports through it, and makes it inaccessible before the guest runs.
// Offsets match struct cloudabi_boot in boot.h.
const (
	BootSize = 8192

	bootMagic       = 0x544f4f4249424143 // "CABIBOOT"
	bootMaxProt     = 240
	bootMaxFilter   = 256
	bootOffMagic    = 0
	bootOffStatus   = 8
	bootOffError    = 12
	bootOffStep     = 16
	bootOffNotifyFD = 20
	bootOffEntry    = 24
	bootOffSP       = 32
	bootOffAuxv     = 40
	bootOffFSBase   = 48
	bootOffNProt    = 56
	bootOffNFilter  = 64
	bootOffMaxTasks = 72
	bootOffCPUSecs  = 80
	bootOffLandlock = 88
	bootOffAttached = 96
	bootOffExited   = 100
	bootOffWaitStat = 104
	bootOffProt     = 128
	bootOffFilter   = bootOffProt + bootMaxProt*24

	bootStarting = 0
	bootReady    = 1
	bootFailed   = 2
)

// Entry says where and how the guest's first thread starts.
type Entry struct {
	PC     uint64 // the executable's entry point
	SP     uint64 // initial stack pointer, as after a call instruction
	Auxv   uint64 // first argument: the auxiliary vector
	FSBase uint64 // the thread area
}

// writeBoot fills in the boot block: the entry state, the limits, the
// protection of every guest mapping and the seccomp filter.
func writeBoot(mem *memory.Memory, e Entry, lim Limits, filter []unix.SockFilter) error {
	maps := mem.Mappings()
	if len(maps) > bootMaxProt {
		return fmt.Errorf("sandbox: %d initial mappings, at most %d fit the boot block", len(maps), bootMaxProt)
	}
	if len(filter) > bootMaxFilter {
		return fmt.Errorf("sandbox: seccomp filter of %d instructions is too long", len(filter))
	}
	b := mem.Raw(mem.Base(), BootSize)
	clear(b)
	le := binary.LittleEndian
	le.PutUint64(b[bootOffMagic:], bootMagic)
	le.PutUint64(b[bootOffEntry:], e.PC)
	le.PutUint64(b[bootOffSP:], e.SP)
	le.PutUint64(b[bootOffAuxv:], e.Auxv)
	le.PutUint64(b[bootOffFSBase:], e.FSBase)
	le.PutUint64(b[bootOffNProt:], uint64(len(maps)))
	le.PutUint64(b[bootOffNFilter:], uint64(len(filter)))
	le.PutUint64(b[bootOffMaxTasks:], uint64(lim.MaxTasks))
	le.PutUint64(b[bootOffCPUSecs:], lim.cpuSeconds())
	for i, m := range maps {
		if m.Start < mem.Base()+BootSize {
			return fmt.Errorf("sandbox: mapping at %#x overlaps the boot block", m.Start)
		}
		p := b[bootOffProt+24*i:]
		le.PutUint64(p[0:], m.Start)
		le.PutUint64(p[8:], m.End-m.Start)
		le.PutUint64(p[16:], uint64(m.Prot))
	}
	for i, f := range filter {
		p := b[bootOffFilter+8*i:]
		le.PutUint16(p[0:], f.Code)
		p[2], p[3] = f.Jt, f.Jf
		le.PutUint32(p[4:], f.K)
	}
	return nil
}
