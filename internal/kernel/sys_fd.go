package kernel

import (
	"encoding/binary"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// File descriptors.
var fdSyscalls = map[abi.Syscall]handler{
	abi.SysFdClose:   sysFdClose,
	abi.SysFdRead:    sysFdRead,
	abi.SysFdStatGet: sysFdStatGet,
	abi.SysFdWrite:   sysFdWrite,
}

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
