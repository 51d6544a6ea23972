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

// AllowedSyscalls lists the Linux system calls a sandbox may make, for
// documentation and tests.
var AllowedSyscalls = []string{"futex (FUTEX_WAIT, FUTEX_WAKE)", "mprotect", "arch_prctl (ARCH_SET_FS)", "exit", "exit_group", "sched_yield", "clone (ThreadCloneFlags only)"}

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
	jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	andK = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	ret  = unix.BPF_RET | unix.BPF_K
)

// Filter returns the sandbox's seccomp program.
func Filter() ([]unix.SockFilter, error) {
	p := &bpf{labels: map[string]int{}}
	p.stmt(ldW, offArch)
	p.jump(jeq, auditArchX86_64, "", "kill")
	p.stmt(ldW, offNr)
	p.jump(jge, x32SyscallBit, "notify", "")
	p.jump(jeq, unix.SYS_FUTEX, "futex", "")
	p.jump(jeq, unix.SYS_MPROTECT, "allow", "")
	p.jump(jeq, unix.SYS_ARCH_PRCTL, "arch_prctl", "")
	p.jump(jeq, unix.SYS_EXIT, "allow", "")
	p.jump(jeq, unix.SYS_EXIT_GROUP, "allow", "")
	p.jump(jeq, unix.SYS_SCHED_YIELD, "allow", "")
	p.jump(jeq, unix.SYS_CLONE, "clone", "")
	p.stmt(ret, unix.SECCOMP_RET_USER_NOTIF)

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

	p.label("arch_prctl")
	p.stmt(ldW, offArg0)
	p.jump(jeq, archSetFS, "", "notify")
	p.stmt(ldW, offArg0+4)
	p.jump(jeq, 0, "allow", "notify")

	p.label("allow")
	p.stmt(ret, unix.SECCOMP_RET_ALLOW)
	p.label("notify")
	p.stmt(ret, unix.SECCOMP_RET_USER_NOTIF)
	p.label("kill")
	p.stmt(ret, unix.SECCOMP_RET_KILL_PROCESS)
	return p.resolve()
}

// SyscallName names a Linux x86-64 system call number as reported by seccomp.
func SyscallName(nr uint32) string {
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
