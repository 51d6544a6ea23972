package kernel

import (
	"encoding/binary"
	"math"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/transport"
	"golang.org/x/sys/unix"
)

// Clocks and randomness.
var clockSyscalls = map[abi.Syscall]handler{
	abi.SysClockResGet:  sysClockResGet,
	abi.SysClockTimeGet: sysClockTimeGet,
	abi.SysRandomGet:    sysRandomGet,
}

// linuxClock is the host clock behind a CloudABI clock.
func linuxClock(id abi.Clockid) (int32, abi.Errno) {
	switch id {
	case abi.ClockMonotonic:
		return unix.CLOCK_MONOTONIC, abi.ESUCCESS
	case abi.ClockRealtime:
		return unix.CLOCK_REALTIME, abi.ESUCCESS
	case abi.ClockProcessCputimeId:
		return unix.CLOCK_PROCESS_CPUTIME_ID, abi.ESUCCESS
	case abi.ClockThreadCputimeId:
		return unix.CLOCK_THREAD_CPUTIME_ID, abi.ESUCCESS
	}
	return 0, abi.EINVAL
}

// callerTime is the calling thread's own reading of a CPU-time clock,
// left in its mailbox (transport.OffTimespec): Linux reads these clocks
// precisely only for the calling process or thread (another process gets
// what the scheduler last accounted, up to a tick, 4 ms at HZ=250, old,
// and no thread clock at all). The value is the guest's own word, so a
// guest can only mislead itself; one that is not a valid timespec gives
// EIO.
func (t *thread) callerTime() (uint64, abi.Errno) {
	ns, ok := timespecNanos(t.proc.mem.Raw(t.mailbox+transport.OffTimespec, 16))
	if !ok {
		return 0, abi.EIO
	}
	return ns, abi.ESUCCESS
}

// timespecNanos converts a Linux struct timespec, as the guest left it,
// to nanoseconds; ok is false if it is not a valid, representable time.
func timespecNanos(ts []byte) (ns uint64, ok bool) {
	sec := int64(binary.LittleEndian.Uint64(ts))
	nsec := int64(binary.LittleEndian.Uint64(ts[8:]))
	if sec < 0 || sec >= math.MaxInt64/1_000_000_000 || nsec < 0 || nsec >= 1_000_000_000 {
		return 0, false
	}
	return uint64(sec)*1_000_000_000 + uint64(nsec), true
}

func sysClockResGet(t *thread, c *call) abi.Errno {
	id, errno := linuxClock(abi.Clockid(c.args[0]))
	if errno != abi.ESUCCESS {
		return errno
	}
	// The guest reads the clocks itself, from the same kernel.
	var ts unix.Timespec
	if err := unix.ClockGetres(id, &ts); err != nil {
		return errnoOf(err)
	}
	return t.proc.putUint64(c.args[1], uint64(ts.Nano()))
}

func sysClockTimeGet(t *thread, c *call) abi.Errno {
	id, errno := linuxClock(abi.Clockid(c.args[0]))
	if errno != abi.ESUCCESS {
		return errno
	}
	// c.args[1] is the precision the caller can tolerate; the host's
	// clocks are always read at full precision.
	if errno := t.proc.checkWritable(c.args[2], 8); errno != abi.ESUCCESS {
		return errno
	}
	// The vDSO serves this call itself (internal/vdso, clockentry); it
	// reaches the supervisor only from a guest that drives its mailbox
	// without the vDSO, whose CPU-time clocks can then only come from
	// what it left in the mailbox.
	if id == unix.CLOCK_PROCESS_CPUTIME_ID || id == unix.CLOCK_THREAD_CPUTIME_ID {
		now, errno := t.callerTime()
		if errno != abi.ESUCCESS {
			return errno
		}
		return t.proc.putUint64(c.args[2], now)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return errnoOf(err)
	}
	return t.proc.putUint64(c.args[2], uint64(ts.Nano()))
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
