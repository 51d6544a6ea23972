package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// Clocks and randomness.
var clockSyscalls = map[abi.Syscall]handler{
	abi.SysClockResGet:  sysClockResGet,
	abi.SysClockTimeGet: sysClockTimeGet,
	abi.SysRandomGet:    sysRandomGet,
}

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
	tid, err := t.hostTid()
	if err != nil {
		return 0, abi.EINVAL
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", t.proc.sb.Pid(), tid))
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
