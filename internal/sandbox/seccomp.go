package sandbox

import (
	"fmt"

	"github.com/cloudabi-go/cloudabi/internal/futex"
	"golang.org/x/sys/unix"
)

// The sandbox's seccomp policy. A guest reaches the supervisor only through
// futex wake-ups on its mailbox; the Linux system calls it may make itself
// are the few the vDSO and the stub need. Everything else is not refused
// but reported: the filter returns SECCOMP_RET_USER_NOTIF, the supervisor
// receives the notification before the call has any effect, names the call
// and kills the process. See docs/SECURITY.md for why each entry is here.
//
// Allowed:
//   - futex, operations FUTEX_WAIT and FUTEX_WAKE only (with or without
//     FUTEX_PRIVATE_FLAG): the transport, and nothing of the futex
//     subsystem's more intricate operations.
//   - mprotect: the guest changes its own mappings after mem_map,
//     mem_protect and mem_unmap. The process has no file descriptors, so
//     it has nothing but guest memory and the stub's own pages to protect.
//   - arch_prctl(ARCH_SET_FS): the stub sets the guest's thread area.
//   - exit, exit_group: the vDSO ends threads and the process.
//   - sched_yield: harmless, and lets thread_yield stay in the guest later.
//   - clone, with exactly ThreadCloneFlags: the vDSO starts the threads the
//     supervisor has set up for thread_create. Nothing else: no new
//     processes, no namespaces, no shared-nothing threads.
//   - mmap, with exactly MAP_SHARED|MAP_FIXED and a range inside guest
//     memory: the vDSO maps a file the supervisor handed it for mem_map,
//     or guest memory back over it. The process holds no descriptor but
//     the one it is mapping, and a fixed shared mapping inside the region
//     can only replace guest memory.
//   - close: the vDSO closes the file it has just mapped.
//
// A thread fetching the file to map (pidfd_getfd with a token, see
// offer.go) is not allowed but answered by the supervisor.

// AllowedSyscalls lists the Linux system calls a sandbox may make, for
// documentation and tests.
var AllowedSyscalls = []string{"futex (FUTEX_WAIT, FUTEX_WAKE)", "mprotect", "arch_prctl (ARCH_SET_FS)", "exit", "exit_group", "sched_yield", "clone (ThreadCloneFlags only)", "mmap (MAP_SHARED|MAP_FIXED inside guest memory)", "close"}

// ThreadCloneFlags are the only clone flags a sandbox may use: a thread
// sharing everything with its process, with its own thread area
// (CLONE_SETTLS), whose Linux id is written into its mailbox at creation
// and cleared, with a futex wake-up, when it has exited.
const ThreadCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID |
	unix.CLONE_CHILD_CLEARTID

const (
	auditArchX86_64 = 0xc000003e
	x32SyscallBit   = 0x40000000
	archSetFS       = 0x1002

	offNr   = 0
	offArch = 4
	offArg0 = 16
)

// bpf assembles a classic BPF program with symbolic jump targets.
type bpf struct {
	insns  []unix.SockFilter
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at        int
	jt, jf    string
	trueFirst bool
}

func (p *bpf) label(name string) { p.labels[name] = len(p.insns) }

func (p *bpf) stmt(code uint16, k uint32) {
	p.insns = append(p.insns, unix.SockFilter{Code: code, K: k})
}

// jump adds a conditional jump to label jt when the condition holds, else
// to jf ("" means the next instruction).
func (p *bpf) jump(code uint16, k uint32, jt, jf string) {
	p.fixups = append(p.fixups, fixup{at: len(p.insns), jt: jt, jf: jf})
	p.insns = append(p.insns, unix.SockFilter{Code: code, K: k})
}

func (p *bpf) resolve() ([]unix.SockFilter, error) {
	for _, f := range p.fixups {
		for _, t := range []struct {
			name string
			dst  *uint8
		}{{f.jt, &p.insns[f.at].Jt}, {f.jf, &p.insns[f.at].Jf}} {
			if t.name == "" {
				continue
			}
			target, ok := p.labels[t.name]
			if !ok {
				return nil, fmt.Errorf("seccomp: undefined label %q", t.name)
			}
			off := target - f.at - 1
			if off < 0 || off > 255 {
				return nil, fmt.Errorf("seccomp: jump to %q out of range", t.name)
			}
			*t.dst = uint8(off)
		}
	}
	return p.insns, nil
}

const (
	ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	ldI  = unix.BPF_LD | unix.BPF_IMM
	ldxM = unix.BPF_LDX | unix.BPF_MEM
	st   = unix.BPF_ST
	tax  = unix.BPF_MISC | unix.BPF_TAX
	jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	jgt  = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	jeqX = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_X
	jgtX = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_X
	andK = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	addK = unix.BPF_ALU | unix.BPF_ADD | unix.BPF_K
	subX = unix.BPF_ALU | unix.BPF_SUB | unix.BPF_X
	ret  = unix.BPF_RET | unix.BPF_K
)

// Filter returns the seccomp program of a sandbox whose guest memory is
// [base, base+size).
func Filter(base, size uint64) ([]unix.SockFilter, error) {
	p := &bpf{labels: map[string]int{}}
	p.stmt(ldW, offArch)
	// Another architecture's calls (int $0x80, sysenter, 32-bit code)
	// are reported too, to be named, and never allowed.
	p.jump(jeq, auditArchX86_64, "", "notify")
	p.stmt(ldW, offNr)
	p.jump(jge, x32SyscallBit, "notify", "")
	p.jump(jeq, unix.SYS_FUTEX, "futex", "")
	p.jump(jeq, unix.SYS_MPROTECT, "allow", "")
	p.jump(jeq, unix.SYS_ARCH_PRCTL, "arch_prctl", "")
	p.jump(jeq, unix.SYS_EXIT, "allow", "")
	p.jump(jeq, unix.SYS_EXIT_GROUP, "allow", "")
	p.jump(jeq, unix.SYS_SCHED_YIELD, "allow", "")
	p.jump(jeq, unix.SYS_CLONE, "clone", "")
	p.jump(jeq, unix.SYS_MMAP, "mmap", "")
	p.jump(jeq, unix.SYS_CLOSE, "allow", "")
	p.jump(jeq, unix.SYS_CLOCK_GETTIME, "clock_gettime", "")
	p.jump(jeq, unix.SYS_TIME, "allow", "")
	p.jump(jeq, unix.SYS_CLOCK_NANOSLEEP, "clock_nanosleep", "")
	p.stmt(ret, unix.SECCOMP_RET_USER_NOTIF)

	// mmap(addr, len, prot, MAP_SHARED|MAP_FIXED, fd, off) with
	// base <= addr < end and len <= end - addr, in 32-bit halves.
	end, last := base+size, base+size-1
	p.label("mmap")
	p.stmt(ldW, offArg0+3*8) // flags
	p.jump(jeq, unix.MAP_SHARED|unix.MAP_FIXED, "", "notify")
	p.stmt(ldW, offArg0+3*8+4)
	p.jump(jeq, 0, "", "notify")
	p.stmt(ldW, offArg0+4) // addr >= base
	p.jump(jgt, uint32(base>>32), "mmap_above_base", "")
	p.jump(jeq, uint32(base>>32), "", "notify")
	p.stmt(ldW, offArg0)
	p.jump(jge, uint32(base), "", "notify")
	p.label("mmap_above_base")
	p.stmt(ldW, offArg0+4) // addr <= end-1
	p.jump(jgt, uint32(last>>32), "notify", "")
	p.jump(jeq, uint32(last>>32), "", "mmap_below_end")
	p.stmt(ldW, offArg0)
	p.jump(jgt, uint32(last), "notify", "")
	p.label("mmap_below_end")
	// M[0], M[1] = the low and high words of end - addr.
	p.stmt(ldW, offArg0)
	p.stmt(tax, 0)
	p.stmt(ldI, uint32(end))
	p.stmt(subX, 0)
	p.stmt(st, 0)
	p.stmt(ldW, offArg0+4)
	p.stmt(tax, 0)
	p.stmt(ldW, offArg0) // a borrow from the low words
	p.jump(jgt, uint32(end), "", "mmap_no_borrow")
	p.stmt(unix.BPF_MISC|unix.BPF_TXA, 0)
	p.stmt(addK, 1)
	p.stmt(tax, 0)
	p.label("mmap_no_borrow")
	p.stmt(ldI, uint32(end>>32))
	p.stmt(subX, 0)
	p.stmt(st, 1)
	p.stmt(ldxM, 1) // len <= end - addr
	p.stmt(ldW, offArg0+8+4)
	p.jump(jgtX, 0, "notify", "")
	p.jump(jeqX, 0, "", "allow")
	p.stmt(ldxM, 0)
	p.stmt(ldW, offArg0+8)
	p.jump(jgtX, 0, "notify", "allow")

	p.label("clone")
	p.stmt(ldW, offArg0) // flags, low word
	p.jump(jeq, ThreadCloneFlags, "", "notify")
	p.stmt(ldW, offArg0+4)
	p.jump(jeq, 0, "allow", "notify")

	p.label("futex")
	p.stmt(ldW, offArg0+8) // op, low word
	p.stmt(andK, ^uint32(futex.OpPrivateFlag))
	p.jump(jeq, futex.OpWait, "futex_hi", "")
	p.jump(jeq, futex.OpWake, "futex_hi", "notify")
	p.label("futex_hi")
	p.stmt(ldW, offArg0+8+4) // op, high word
	p.jump(jeq, 0, "allow", "notify")

	// clock_gettime of the ABI's four clocks only (CLOCK_REALTIME = 0 to
	// CLOCK_THREAD_CPUTIME_ID = 3): the calling process's and thread's
	// own CPU time, and no pid-encoded clock of another process.
	p.label("clock_gettime")
	p.stmt(ldW, offArg0+4)
	p.jump(jeq, 0, "", "notify")
	p.stmt(ldW, offArg0)
	p.jump(jgt, unix.CLOCK_THREAD_CPUTIME_ID, "notify", "allow")

	// clock_nanosleep(CLOCK_REALTIME or CLOCK_MONOTONIC, TIMER_ABSTIME):
	// the post action of a poll on clocks alone.
	p.label("clock_nanosleep")
	p.stmt(ldW, offArg0+4)
	p.jump(jeq, 0, "", "notify")
	p.stmt(ldW, offArg0)
	p.jump(jgt, unix.CLOCK_MONOTONIC, "notify", "")
	p.stmt(ldW, offArg0+8+4)
	p.jump(jeq, 0, "", "notify")
	p.stmt(ldW, offArg0+8)
	p.jump(jeq, unix.TIMER_ABSTIME, "allow", "notify")

	p.label("arch_prctl")
	p.stmt(ldW, offArg0)
	p.jump(jeq, archSetFS, "", "notify")
	p.stmt(ldW, offArg0+4)
	p.jump(jeq, 0, "allow", "notify")

	p.label("allow")
	p.stmt(ret, unix.SECCOMP_RET_ALLOW)
	p.label("notify")
	p.stmt(ret, unix.SECCOMP_RET_USER_NOTIF)
	return p.resolve()
}

// auditArchI386 is the architecture seccomp reports for the 32-bit entry
// points (int $0x80, sysenter, and syscall from 32-bit code).
const auditArchI386 = 0x40000003

// SyscallName names a Linux system call as seccomp reports it: its
// architecture and number.
func SyscallName(arch, nr uint32) string {
	if arch != auditArchX86_64 {
		if arch == auditArchI386 {
			return fmt.Sprintf("i386 system call %d (int $0x80 or 32-bit code)", nr)
		}
		return fmt.Sprintf("system call %d of architecture %#x", nr, arch)
	}
	if nr&x32SyscallBit != 0 {
		if name, ok := linuxSyscallNames[nr&^x32SyscallBit]; ok {
			return fmt.Sprintf("%s (x32 ABI)", name)
		}
		return fmt.Sprintf("syscall %#x (x32 ABI)", nr)
	}
	if name, ok := linuxSyscallNames[nr]; ok {
		return name
	}
	return fmt.Sprintf("syscall %d", nr)
}
