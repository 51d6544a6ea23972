package kernel

import (
	"fmt"

	"github.com/cloudabi-go/cloudabi/abi"
)

// handler implements one system call. It reads its arguments from c.args,
// in the order of the C prototype, and returns the errno the guest sees.
type handler func(t *thread, c *call) abi.Errno

// syscallTable holds the implemented system calls; a nil entry answers
// ENOSYS. Each area of the ABI keeps its own table in its sys_*.go file.
var syscallTable [abi.NumSyscalls]handler

// The table is filled in by init, not by its declaration: handlers reach
// the table themselves (proc_fork starts a dispatcher), which would be an
// initialization cycle.
func init() {
	syscallTable = buildTable(clockSyscalls, fdSyscalls, fileSyscalls, memSyscalls, procSyscalls, threadSyscalls, pollSyscalls, sockSyscalls)
}

func buildTable(areas ...map[abi.Syscall]handler) [abi.NumSyscalls]handler {
	var t [abi.NumSyscalls]handler
	for _, area := range areas {
		for s, h := range area {
			if t[s] != nil {
				panic(fmt.Sprintf("kernel: system call %v implemented twice", s))
			}
			t[s] = h
		}
	}
	return t
}

// Implemented reports whether the runtime implements system call s.
func Implemented(s abi.Syscall) bool {
	return int(s) < len(syscallTable) && syscallTable[s] != nil
}

// noReply is returned by handlers of calls that do not return to the guest
// (proc_exit, a fatal proc_raise): the guest thread is left waiting until
// the process is gone.
const noReply = abi.Errno(0xffff)
