package kernel

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// handler implements one system call. It reads its arguments from c.args,
// in the order of the C prototype, and returns the errno the guest sees.
type handler func(t *thread, c *call) abi.Errno

// syscallTable holds the implemented system calls; a nil entry answers
// ENOSYS. Implemented lists the same set for documentation and tests.
var syscallTable = [abi.NumSyscalls]handler{
	abi.SysClockResGet:  sysClockResGet,
	abi.SysClockTimeGet: sysClockTimeGet,
	abi.SysFdClose:      sysFdClose,
	abi.SysFdRead:       sysFdRead,
	abi.SysFdStatGet:    sysFdStatGet,
	abi.SysFdWrite:      sysFdWrite,
	abi.SysMemMap:       sysMemMap,
	abi.SysMemProtect:   sysMemProtect,
	abi.SysMemUnmap:     sysMemUnmap,
	abi.SysProcExit:     sysProcExit,
	abi.SysProcRaise:    sysProcRaise,
	abi.SysRandomGet:    sysRandomGet,
	abi.SysThreadYield:  sysThreadYield,
}

// Implemented reports whether the runtime implements system call s.
func Implemented(s abi.Syscall) bool {
	return int(s) < len(syscallTable) && syscallTable[s] != nil
}

// noReply is returned by handlers of calls that do not return to the guest
// (proc_exit, a fatal proc_raise): the guest thread is left waiting until
// the process is gone.
const noReply = abi.Errno(0xffff)

// Clocks.

func (t *thread) linuxClock(id abi.Clockid) (int32, abi.Errno) {
	switch id {
	case abi.ClockMonotonic:
		return unix.CLOCK_MONOTONIC, abi.ESUCCESS
	case abi.ClockRealtime:
		return unix.CLOCK_REALTIME, abi.ESUCCESS
	case abi.ClockProcessCputimeId:
		// The CPU-time clock of another process: ((~pid) << 3) | CPUCLOCK_SCHED.
		return int32(^uint32(t.proc.sb.Pid())<<3 | 2), abi.ESUCCESS
	case abi.ClockThreadCputimeId:
		return -1, abi.ESUCCESS // read from /proc: see threadCPUTime
	}
	return 0, abi.EINVAL
}

// threadCPUTime reads a guest thread's CPU time. Linux only lets a process
// read the thread CPU-time clocks of its own threads, so the supervisor
// reads the scheduler's nanosecond counter instead.
func (t *thread) threadCPUTime() (uint64, abi.Errno) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", t.proc.sb.Pid(), t.linuxTid))
	if err != nil {
		return 0, abi.EINVAL
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, abi.EIO
	}
	ns, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0, abi.EIO
	}
	return ns, abi.ESUCCESS
}

func sysClockResGet(t *thread, c *call) abi.Errno {
	id, errno := t.linuxClock(abi.Clockid(c.args[0]))
	if errno != abi.ESUCCESS {
		return errno
	}
	res := uint64(1) // the thread clock counts nanoseconds
	if abi.Clockid(c.args[0]) != abi.ClockThreadCputimeId {
		var ts unix.Timespec
		if err := unix.ClockGetres(id, &ts); err != nil {
			return errnoOf(err)
		}
		res = uint64(ts.Nano())
	}
	return t.proc.putUint64(c.args[1], res)
}

func sysClockTimeGet(t *thread, c *call) abi.Errno {
	id, errno := t.linuxClock(abi.Clockid(c.args[0]))
	if errno != abi.ESUCCESS {
		return errno
	}
	// c.args[1] is the precision the caller can tolerate; the host's
	// clocks are always read at full precision.
	if errno := t.proc.checkWritable(c.args[2], 8); errno != abi.ESUCCESS {
		return errno
	}
	var now uint64
	if abi.Clockid(c.args[0]) == abi.ClockThreadCputimeId {
		now, errno = t.threadCPUTime()
		if errno != abi.ESUCCESS {
			return errno
		}
	} else {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return errnoOf(err)
		}
		now = uint64(ts.Nano())
	}
	return t.proc.putUint64(c.args[2], now)
}

// File descriptors.

func sysFdClose(t *thread, c *call) abi.Errno {
	if c.args[0] > 0xffffffff {
		return abi.EBADF
	}
	return t.proc.fds.close(abi.Fd(c.args[0]))
}

func sysFdStatGet(t *thread, c *call) abi.Errno {
	p := t.proc
	d, errno := p.fds.get(abi.Fd(c.args[0]), 0)
	if errno != abi.ESUCCESS || c.args[0] > 0xffffffff {
		if errno == abi.ESUCCESS {
			d.file.release()
		}
		return abi.EBADF
	}
	defer d.file.release()
	buf, errno := p.bytes(c.args[1], abi.SizeofFdstat, memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	var flags abi.Fdflags
	if fl, err := unix.FcntlInt(uintptr(d.file.fd()), unix.F_GETFL, 0); err == nil {
		if fl&unix.O_APPEND != 0 {
			flags |= abi.FdflagAppend
		}
		if fl&unix.O_NONBLOCK != 0 {
			flags |= abi.FdflagNonblock
		}
		if fl&unix.O_DSYNC != 0 {
			flags |= abi.FdflagDsync
		}
		if fl&unix.O_SYNC == unix.O_SYNC {
			flags |= abi.FdflagSync | abi.FdflagRsync
		}
	}
	var st [abi.SizeofFdstat]byte
	le := binary.LittleEndian
	st[abi.OffsetofFdstatFsFiletype] = uint8(d.filetype)
	le.PutUint16(st[abi.OffsetofFdstatFsFlags:], uint16(flags))
	le.PutUint64(st[abi.OffsetofFdstatFsRightsBase:], uint64(d.rights))
	le.PutUint64(st[abi.OffsetofFdstatFsRightsInheriting:], uint64(d.inheriting))
	copy(buf, st[:])
	return abi.ESUCCESS
}

// fdIO runs a read or write on a guest fd with the guest's buffers.
func (t *thread) fdIO(c *call, right abi.Rights, prot memory.Prot, events int16, op func(fd int, iovs [][]byte) (int, error)) abi.Errno {
	p := t.proc
	if c.args[0] > 0xffffffff {
		return abi.EBADF
	}
	d, errno := p.fds.get(abi.Fd(c.args[0]), right)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	iovs, errno := p.iovecs(c.args[1], c.args[2], prot)
	if errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(c.args[3], 8); errno != abi.ESUCCESS {
		return errno
	}
	n := 0
	if len(iovs) > 0 {
		var err error
		n, err = retryIO(d.file.fd(), events, func() (int, error) { return op(d.file.fd(), iovs) })
		if err != nil {
			if err == unix.EPIPE && right == abi.RightFdWrite {
				// As on other systems, writing to a pipe nobody
				// reads raises SIGPIPE in the writer.
				t.proc.raise(abi.SigPipe)
			}
			return errnoOf(err)
		}
	}
	return p.putUint64(c.args[3], uint64(n))
}

// retryIO runs op, waiting for readiness instead of failing with EAGAIN:
// descriptors inherited from the launcher may share a non-blocking open
// file with other processes, and the guest asked for a blocking call.
func retryIO(fd int, events int16, op func() (int, error)) (int, error) {
	for {
		n, err := op()
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: events}}, int(time.Second/time.Millisecond))
			continue
		}
		return n, err
	}
}

func sysFdRead(t *thread, c *call) abi.Errno {
	return t.fdIO(c, abi.RightFdRead, memory.ProtWrite, unix.POLLIN, unix.Readv)
}

func sysFdWrite(t *thread, c *call) abi.Errno {
	return t.fdIO(c, abi.RightFdWrite, memory.ProtRead, unix.POLLOUT, unix.Writev)
}

// Memory.

// linuxProt converts CloudABI protection bits, refusing unknown bits and
// pages that would be writable and executable at once (W^X), as the
// FreeBSD implementation does.
func linuxProt(prot uint64) (memory.Prot, abi.Errno) {
	const all = uint64(abi.ProtRead | abi.ProtWrite | abi.ProtExec)
	if prot&^all != 0 {
		return 0, abi.ENOTSUP
	}
	if prot&uint64(abi.ProtWrite) != 0 && prot&uint64(abi.ProtExec) != 0 {
		return 0, abi.ENOTSUP
	}
	var p memory.Prot
	if prot&uint64(abi.ProtRead) != 0 {
		p |= memory.ProtRead
	}
	if prot&uint64(abi.ProtWrite) != 0 {
		p |= memory.ProtWrite
	}
	if prot&uint64(abi.ProtExec) != 0 {
		p |= memory.ProtExec
	}
	return p, abi.ESUCCESS
}

func memErrno(err error) abi.Errno {
	switch err {
	case nil:
		return abi.ESUCCESS
	case memory.ErrInvalid:
		return abi.EINVAL
	case memory.ErrFault, memory.ErrNoSpace, memory.ErrLimit:
		return abi.ENOMEM
	}
	return abi.EIO
}

// mprotectAfterReply makes the guest thread apply prot to its own mapping
// once it has the reply (see internal/transport).
func (c *call) mprotectAfterReply(addr, length uint64, prot memory.Prot) {
	c.post = unix.SYS_MPROTECT
	c.postArgs = [3]uint64{addr, length, uint64(prot)}
}

func sysMemMap(t *thread, c *call) abi.Errno {
	p := t.proc
	addr, length, protArg, flags, fd, off, out := c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5], c.args[6]
	prot, errno := linuxProt(protArg)
	if errno != abi.ESUCCESS {
		return errno
	}
	const known = uint64(abi.MapAnon | abi.MapFixed | abi.MapPrivate | abi.MapShared)
	if flags&^known != 0 {
		return abi.EINVAL
	}
	private, shared := flags&uint64(abi.MapPrivate) != 0, flags&uint64(abi.MapShared) != 0
	if private == shared {
		return abi.EINVAL
	}
	if flags&uint64(abi.MapAnon) == 0 {
		// Mappings of files come with file support.
		return abi.ENOSYS
	}
	if fd != uint64(abi.MapAnonFd) || off != 0 {
		return abi.EINVAL
	}
	if length == 0 {
		return abi.EINVAL
	}
	size, ok := memory.RoundUp(length)
	if !ok {
		return abi.ENOMEM
	}
	fixed := flags&uint64(abi.MapFixed) != 0
	if fixed && addr%memory.PageSize != 0 {
		return abi.EINVAL
	}
	if errno := p.checkWritable(out, 8); errno != abi.ESUCCESS {
		return errno
	}
	got, err := p.mem.Map(addr, size, prot, fixed)
	if err != nil {
		if fixed && err == memory.ErrInvalid {
			return abi.ENOMEM
		}
		return memErrno(err)
	}
	c.mprotectAfterReply(got, size, prot)
	return p.putUint64(out, got)
}

func sysMemProtect(t *thread, c *call) abi.Errno {
	addr, length := c.args[0], c.args[1]
	prot, errno := linuxProt(c.args[2])
	if errno != abi.ESUCCESS {
		return errno
	}
	if addr%memory.PageSize != 0 {
		return abi.EINVAL
	}
	size, ok := memory.RoundUp(length)
	if !ok || size == 0 {
		return abi.EINVAL
	}
	if err := t.proc.mem.Protect(addr, size, prot); err != nil {
		return memErrno(err)
	}
	c.mprotectAfterReply(addr, size, prot)
	return abi.ESUCCESS
}

func sysMemUnmap(t *thread, c *call) abi.Errno {
	addr, length := c.args[0], c.args[1]
	if addr%memory.PageSize != 0 {
		return abi.EINVAL
	}
	size, ok := memory.RoundUp(length)
	if !ok || size == 0 {
		return abi.EINVAL
	}
	if err := t.proc.mem.Unmap(addr, size); err != nil {
		return memErrno(err)
	}
	c.mprotectAfterReply(addr, size, 0)
	return abi.ESUCCESS
}

// Processes.

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
	p.sb.Signal(toLinuxSignal(sig))
	return fatal
}

func sysRandomGet(t *thread, c *call) abi.Errno {
	buf, errno := t.proc.bytes(c.args[0], c.args[1], memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	for len(buf) > 0 {
		n, err := unix.Getrandom(buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return errnoOf(err)
		}
		buf = buf[n:]
	}
	return abi.ESUCCESS
}

// Threads.

func sysThreadYield(t *thread, c *call) abi.Errno {
	// The guest thread is what should yield, not the supervisor.
	c.post = unix.SYS_SCHED_YIELD
	return abi.ESUCCESS
}
