package kernel

import (
	"syscall"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// signals maps CloudABI signals to Linux's, with their names.
var signals = map[abi.Signal]struct {
	linux syscall.Signal
	name  string
}{
	abi.SigAbrt: {unix.SIGABRT, "SIGABRT"}, abi.SigAlrm: {unix.SIGALRM, "SIGALRM"},
	abi.SigBus: {unix.SIGBUS, "SIGBUS"}, abi.SigChld: {unix.SIGCHLD, "SIGCHLD"},
	abi.SigCont: {unix.SIGCONT, "SIGCONT"}, abi.SigFpe: {unix.SIGFPE, "SIGFPE"},
	abi.SigHup: {unix.SIGHUP, "SIGHUP"}, abi.SigIll: {unix.SIGILL, "SIGILL"},
	abi.SigInt: {unix.SIGINT, "SIGINT"}, abi.SigKill: {unix.SIGKILL, "SIGKILL"},
	abi.SigPipe: {unix.SIGPIPE, "SIGPIPE"}, abi.SigQuit: {unix.SIGQUIT, "SIGQUIT"},
	abi.SigSegv: {unix.SIGSEGV, "SIGSEGV"}, abi.SigStop: {unix.SIGSTOP, "SIGSTOP"},
	abi.SigSys: {unix.SIGSYS, "SIGSYS"}, abi.SigTerm: {unix.SIGTERM, "SIGTERM"},
	abi.SigTrap: {unix.SIGTRAP, "SIGTRAP"}, abi.SigTstp: {unix.SIGTSTP, "SIGTSTP"},
	abi.SigTtin: {unix.SIGTTIN, "SIGTTIN"}, abi.SigTtou: {unix.SIGTTOU, "SIGTTOU"},
	abi.SigUrg: {unix.SIGURG, "SIGURG"}, abi.SigUsr1: {unix.SIGUSR1, "SIGUSR1"},
	abi.SigUsr2: {unix.SIGUSR2, "SIGUSR2"}, abi.SigVtalrm: {unix.SIGVTALRM, "SIGVTALRM"},
	abi.SigXcpu: {unix.SIGXCPU, "SIGXCPU"}, abi.SigXfsz: {unix.SIGXFSZ, "SIGXFSZ"},
}

// toLinuxSignal returns the host signal for sig, or 0 if sig is invalid.
func toLinuxSignal(sig abi.Signal) syscall.Signal { return signals[sig].linux }

// fromLinuxSignal maps a host signal back; signals with no CloudABI
// counterpart become 0.
func fromLinuxSignal(sig syscall.Signal) abi.Signal {
	for s, v := range signals {
		if v.linux == sig {
			return s
		}
	}
	return 0
}

// SignalName names a CloudABI signal ("SIGSEGV").
func SignalName(sig abi.Signal) string {
	if v, ok := signals[sig]; ok {
		return v.name
	}
	return "unknown signal"
}

// defaultTerminates reports whether a signal's default action ends the
// process. The others are ignored (SIGCHLD, SIGURG), continue (SIGCONT) or
// stop it (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
func defaultTerminates(sig abi.Signal) bool {
	switch sig {
	case abi.SigChld, abi.SigUrg, abi.SigCont, abi.SigStop, abi.SigTstp, abi.SigTtin, abi.SigTtou:
		return false
	}
	return true
}
