package kernel

import "github.com/cloudabi-go/cloudabi/abi"

// Processes.
var procSyscalls = map[abi.Syscall]handler{
	abi.SysProcExec:  sysProcExec,
	abi.SysProcExit:  sysProcExit,
	abi.SysProcFork:  sysProcFork,
	abi.SysProcRaise: sysProcRaise,
}

func sysProcExit(t *thread, c *call) abi.Errno {
	code := uint32(c.args[0])
	t.proc.exitCode.CompareAndSwap(nil, &code)
	t.proc.Kill()
	return noReply
}

func sysProcRaise(t *thread, c *call) abi.Errno {
	sig := abi.Signal(c.args[0])
	if c.args[0] > 0xff || toLinuxSignal(sig) == 0 {
		return abi.EINVAL
	}
	if t.proc.raise(sig) {
		return noReply
	}
	return abi.ESUCCESS
}

// raise delivers sig to the process with its default action, and reports
// whether that action ends the process.
func (p *Process) raise(sig abi.Signal) bool {
	fatal := defaultTerminates(sig)
	if fatal {
		p.raised.Store(uint32(sig))
	}
	if !fatal {
		// A fork's freeze ends with SIGCONT, which would undo a stop
		// raised meanwhile: wait for it to end.
		p.forkMu.Lock()
		defer p.forkMu.Unlock()
	}
	p.sb.Signal(toLinuxSignal(sig))
	return fatal
}
