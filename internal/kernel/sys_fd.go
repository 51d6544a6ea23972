package kernel

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// File descriptors.
var fdSyscalls = map[abi.Syscall]handler{
	abi.SysFdClose:    sysFdClose,
	abi.SysFdCreate1:  sysFdCreate1,
	abi.SysFdCreate2:  sysFdCreate2,
	abi.SysFdDatasync: sysFdDatasync,
	abi.SysFdDup:      sysFdDup,
	abi.SysFdPread:    sysFdPread,
	abi.SysFdPwrite:   sysFdPwrite,
	abi.SysFdRead:     sysFdRead,
	abi.SysFdReplace:  sysFdReplace,
	abi.SysFdSeek:     sysFdSeek,
	abi.SysFdStatGet:  sysFdStatGet,
	abi.SysFdStatPut:  sysFdStatPut,
	abi.SysFdSync:     sysFdSync,
	abi.SysFdWrite:    sysFdWrite,
}

// fdArg converts a descriptor argument. A value that does not fit in
// cloudabi_fd_t names no descriptor.
func fdArg(a uint64) (abi.Fd, abi.Errno) {
	if a > math.MaxUint32 {
		return 0, abi.EBADF
	}
	return abi.Fd(a), abi.ESUCCESS
}

// fd looks up the descriptor named by argument a and checks that it has
// every right in need (EBADF, ENOTCAPABLE). The caller must release
// d.file.
func (t *thread) fd(a uint64, need abi.Rights) (descriptor, abi.Errno) {
	fd, errno := fdArg(a)
	if errno != abi.ESUCCESS {
		return descriptor{}, errno
	}
	return t.proc.fds.get(fd, need)
}

func sysFdClose(t *thread, c *call) abi.Errno {
	fd, errno := fdArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	return t.proc.fds.close(fd)
}

// install puts a new host file into the table under the lowest free
// number and stores that number at guest address out (checked writable
// beforehand by the caller).
func (p *Process) install(h *hostFile, ft abi.Filetype, base, inheriting abi.Rights) (abi.Fd, abi.Errno) {
	return p.fds.insertLowest(&descriptor{file: h, filetype: ft, rights: base, inheriting: inheriting})
}

func (p *Process) putFd(addr uint64, fd abi.Fd) abi.Errno {
	b, errno := p.bytes(addr, 4, memory.ProtWrite)
	if errno == abi.ESUCCESS {
		binary.LittleEndian.PutUint32(b, uint32(fd))
	}
	return errno
}

func sysFdCreate1(t *thread, c *call) abi.Errno {
	p := t.proc
	if abi.Filetype(c.args[0]) != abi.FiletypeSharedMemory {
		return abi.EINVAL
	}
	if errno := p.checkWritable(c.args[1], 4); errno != abi.ESUCCESS {
		return errno
	}
	if errno := hostFilesExhausted(1); errno != abi.ESUCCESS {
		return errno
	}
	mfd, err := unix.MemfdCreate("cloudabi-shm", unix.MFD_CLOEXEC)
	if err != nil {
		return errnoOf(err)
	}
	fd, errno := p.install(newHostFD(mfd, "cloudabi-shm"), abi.FiletypeSharedMemory, rightsSharedMemory, 0)
	if errno != abi.ESUCCESS {
		return errno
	}
	return p.putFd(c.args[1], fd)
}

func sysFdCreate2(t *thread, c *call) abi.Errno {
	p := t.proc
	ft := abi.Filetype(c.args[0])
	var typ int
	switch ft {
	case abi.FiletypeSocketDgram:
		typ = unix.SOCK_DGRAM
	case abi.FiletypeSocketStream:
		typ = unix.SOCK_STREAM
	default:
		return abi.EINVAL
	}
	if errno := p.checkWritable(c.args[1], 4); errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(c.args[2], 4); errno != abi.ESUCCESS {
		return errno
	}
	if errno := hostFilesExhausted(2); errno != abi.ESUCCESS {
		return errno
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	base, inh := maxRights(ft)
	h1 := newHostFD(pair[0], "socketpair")
	h2 := newHostFD(pair[1], "socketpair")
	fd1, errno := p.install(h1, ft, base, inh)
	if errno != abi.ESUCCESS {
		h2.release()
		return errno
	}
	fd2, errno := p.install(h2, ft, base, inh)
	if errno != abi.ESUCCESS {
		p.fds.close(fd1)
		return errno
	}
	if errno := p.putFd(c.args[1], fd1); errno != abi.ESUCCESS {
		return errno
	}
	return p.putFd(c.args[2], fd2)
}

func sysFdDatasync(t *thread, c *call) abi.Errno {
	d, errno := t.fd(c.args[0], abi.RightFdDatasync)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	return errnoOf(unix.Fdatasync(d.file.fd()))
}

func sysFdSync(t *thread, c *call) abi.Errno {
	d, errno := t.fd(c.args[0], abi.RightFdSync)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	return errnoOf(unix.Fsync(d.file.fd()))
}

func sysFdDup(t *thread, c *call) abi.Errno {
	p := t.proc
	from, errno := fdArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(c.args[1], 4); errno != abi.ESUCCESS {
		return errno
	}
	fd, errno := p.fds.dup(from)
	if errno != abi.ESUCCESS {
		return errno
	}
	return p.putFd(c.args[1], fd)
}

func sysFdReplace(t *thread, c *call) abi.Errno {
	from, errno := fdArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	to, errno := fdArg(c.args[1])
	if errno != abi.ESUCCESS {
		return errno
	}
	return t.proc.fds.replace(from, to)
}

func sysFdSeek(t *thread, c *call) abi.Errno {
	p := t.proc
	offset := int64(c.args[1])
	var whence int
	switch abi.Whence(c.args[2]) {
	case abi.WhenceCur:
		whence = unix.SEEK_CUR
	case abi.WhenceEnd:
		whence = unix.SEEK_END
	case abi.WhenceSet:
		whence = unix.SEEK_SET
	default:
		return abi.EINVAL
	}
	d, errno := t.fd(c.args[0], 0)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	// Reading the offset (whence cur, offset 0) only needs FD_TELL,
	// which FD_SEEK implies; moving it needs FD_SEEK.
	tell := whence == unix.SEEK_CUR && offset == 0
	if d.rights&abi.RightFdSeek == 0 && !(tell && d.rights&abi.RightFdTell != 0) {
		return abi.ENOTCAPABLE
	}
	if errno := p.checkWritable(c.args[3], 8); errno != abi.ESUCCESS {
		return errno
	}
	off, err := unix.Seek(d.file.fd(), offset, whence)
	if err == unix.EINVAL && offset > 0 && whence != unix.SEEK_SET && seekOverflows(d.file.fd(), offset, whence) {
		return abi.EOVERFLOW // as FreeBSD; Linux says EINVAL
	}
	if err != nil {
		return errnoOf(err)
	}
	return p.putUint64(c.args[3], uint64(off))
}

// seekOverflows says whether moving the offset of fd by offset (> 0) from
// the current position or the end would pass the largest offset.
func seekOverflows(fd int, offset int64, whence int) bool {
	var from int64
	if whence == unix.SEEK_CUR {
		cur, err := unix.Seek(fd, 0, unix.SEEK_CUR)
		if err != nil {
			return false
		}
		from = cur
	} else {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			return false
		}
		from = st.Size
	}
	return from > math.MaxInt64-offset
}

func sysFdStatGet(t *thread, c *call) abi.Errno {
	p := t.proc
	d, errno := t.fd(c.args[0], 0)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	buf, errno := p.bytes(c.args[1], abi.SizeofFdstat, memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	flags := d.file.fdflags()
	if fl, err := unix.FcntlInt(uintptr(d.file.fd()), unix.F_GETFL, 0); err == nil && fl&unix.O_APPEND != 0 {
		flags |= abi.FdflagAppend
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

// allFdflags are the descriptor flags the ABI defines.
const allFdflags = abi.FdflagAppend | abi.FdflagDsync | abi.FdflagNonblock | abi.FdflagRsync | abi.FdflagSync

func sysFdStatPut(t *thread, c *call) abi.Errno {
	p := t.proc
	raw, errno := p.bytes(c.args[1], abi.SizeofFdstat, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	var st [abi.SizeofFdstat]byte
	copy(st[:], raw)
	le := binary.LittleEndian
	// As on FreeBSD, one call adjusts either the flags or the rights.
	switch abi.Fdsflags(c.args[2]) {
	case abi.FdstatFlags:
		d, errno := t.fd(c.args[0], abi.RightFdStatPutFlags)
		if errno != abi.ESUCCESS {
			return errno
		}
		defer d.file.release()
		flags := abi.Fdflags(le.Uint16(st[abi.OffsetofFdstatFsFlags:]))
		if flags&^allFdflags != 0 {
			return abi.EINVAL
		}
		fd := uintptr(d.file.fd())
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			return errnoOf(err)
		}
		want := fl &^ unix.O_APPEND
		if flags&abi.FdflagAppend != 0 {
			want |= unix.O_APPEND
		}
		if want != fl {
			if _, err := unix.FcntlInt(fd, unix.F_SETFL, want); err != nil {
				return errnoOf(err)
			}
		}
		d.file.flags.Store(uint32(flags & emulatedFlags))
		return abi.ESUCCESS
	case abi.FdstatRights:
		fd, errno := fdArg(c.args[0])
		if errno != abi.ESUCCESS {
			return errno
		}
		base := abi.Rights(le.Uint64(st[abi.OffsetofFdstatFsRightsBase:]))
		inh := abi.Rights(le.Uint64(st[abi.OffsetofFdstatFsRightsInheriting:]))
		return p.fds.restrict(fd, base, inh)
	}
	return abi.EINVAL
}

// ioKind describes one of the four read and write calls.
type ioKind struct {
	need       abi.Rights
	write      bool
	positional bool // offset argument before the result pointer
}

// fdIO runs a read or write on a guest fd with the guest's buffers.
// Arguments: fd, iovs, iovs_len, [offset], result.
func (t *thread) fdIO(c *call, k ioKind) abi.Errno {
	p := t.proc
	d, errno := t.fd(c.args[0], k.need)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	prot, events := memory.ProtWrite, int16(unix.POLLIN)
	if k.write {
		prot, events = memory.ProtRead, unix.POLLOUT
	}
	iovs, errno := p.iovecs(c.args[1], c.args[2], prot)
	if errno != abi.ESUCCESS {
		return errno
	}
	out := c.args[3]
	var offset int64
	if k.positional {
		if c.args[3] > math.MaxInt64 {
			return abi.EINVAL
		}
		offset, out = int64(c.args[3]), c.args[4]
	}
	if errno := p.checkWritable(out, 8); errno != abi.ESUCCESS {
		return errno
	}
	fd := d.file.fd()
	op := func() (int, error) {
		switch {
		case k.write && k.positional:
			return unix.Pwritev(fd, iovs, offset)
		case k.write:
			return unix.Writev(fd, iovs)
		case k.positional:
			return unix.Preadv(fd, iovs, offset)
		}
		return unix.Readv(fd, iovs)
	}
	if len(iovs) == 0 {
		return p.putUint64(out, 0)
	}
	flags := d.file.fdflags()
	if flags&abi.FdflagNonblock != 0 {
		n, err := tryIO(fd, events, op)
		return t.finishIO(d, k, flags, out, n, err)
	}
	if mayBlock(d.filetype) && !k.positional {
		// Try without waiting first; most calls complete at once.
		n, err := nowaitIO(fd, iovs, k.write)
		switch err {
		case unix.EAGAIN:
		case unix.EOPNOTSUPP, unix.EINVAL:
			// The file cannot say: ask poll(2).
			if readyNow(fd, events) {
				n, err := retryIO(fd, events, op)
				return t.finishIO(d, k, flags, out, n, err)
			}
		default:
			return t.finishIO(d, k, flags, out, n, err)
		}
		// Wait on a goroutine: the dispatcher must stay free for the
		// process's other threads, and a parked goroutine costs no
		// OS thread.
		d.file.acquire()
		return t.async(c, func(c *call) abi.Errno {
			defer d.file.release()
			if errno := t.waitReady(fd, events); errno != abi.ESUCCESS {
				return errno
			}
			n, err := retryIO(fd, events, op)
			return t.finishIO(d, k, flags, out, n, err)
		})
	}
	n, err := retryIO(fd, events, op)
	return t.finishIO(d, k, flags, out, n, err)
}

// finishIO turns the outcome of a read or write into the call's result.
func (t *thread) finishIO(d descriptor, k ioKind, flags abi.Fdflags, out uint64, n int, err error) abi.Errno {
	if err != nil {
		if err == unix.EPIPE && k.write {
			// As on other systems, writing to a pipe nobody reads
			// raises SIGPIPE in the writer.
			t.proc.raise(abi.SigPipe)
		}
		return errnoOf(err)
	}
	if k.write && n > 0 && (d.filetype == abi.FiletypeRegularFile || d.filetype == abi.FiletypeSharedMemory) {
		// Synchronous writes the guest asked for with fd_stat_put,
		// which Linux cannot switch on for an open file.
		switch {
		case flags&abi.FdflagSync != 0:
			err = unix.Fsync(d.file.fd())
		case flags&abi.FdflagDsync != 0:
			err = unix.Fdatasync(d.file.fd())
		}
		if err != nil {
			return errnoOf(err)
		}
	}
	return t.proc.putUint64(out, uint64(n))
}

// mayBlock reports whether reads and writes on a file of type ft can wait
// indefinitely: those of pipes, sockets and devices can; those of regular
// files, shared memory and directories cannot.
func mayBlock(ft abi.Filetype) bool {
	switch ft {
	case abi.FiletypeRegularFile, abi.FiletypeSharedMemory, abi.FiletypeDirectory:
		return false
	}
	return true
}

// nowaitIO reads or writes at the current position without waiting
// (RWF_NOWAIT): EAGAIN if it would have to wait, EOPNOTSUPP if the file
// cannot tell.
func nowaitIO(fd int, iovs [][]byte, write bool) (int, error) {
	for {
		var n int
		var err error
		if write {
			n, err = unix.Pwritev2(fd, iovs, -1, unix.RWF_NOWAIT)
		} else {
			n, err = unix.Preadv2(fd, iovs, -1, unix.RWF_NOWAIT)
		}
		if err != unix.EINTR {
			return n, err
		}
	}
}

// readyNow reports whether fd is ready for events without waiting.
func readyNow(fd int, events int16) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

// waitReady waits, on the process's epoll goroutine, until fd is ready for
// events. It returns noReply if the process dies meanwhile.
func (t *thread) waitReady(fd int, events int16) abi.Errno {
	p := t.proc
	fp, err := p.fdPollerOf()
	if err != nil {
		return errnoOf(err)
	}
	ev := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if events == unix.POLLOUT {
		ev = unix.EPOLLOUT
	}
	ch, cancel, err := fp.wait(fd, ev)
	if err != nil {
		return abi.ESUCCESS // a file epoll cannot watch is always ready
	}
	select {
	case <-ch:
		return abi.ESUCCESS
	case <-p.died:
		cancel()
		return noReply
	}
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

// tryIO runs op for a descriptor in non-blocking mode. The host file may
// be in blocking mode (it can be shared with other processes, so the flag
// is not set on it): op only runs if the file is ready, else the answer is
// EAGAIN.
func tryIO(fd int, events int16, op func() (int, error)) (int, error) {
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 || fds[0].Revents&(events|unix.POLLERR|unix.POLLHUP) == 0 {
			return 0, unix.EAGAIN
		}
		break
	}
	for {
		n, err := op()
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func sysFdRead(t *thread, c *call) abi.Errno {
	return t.fdIO(c, ioKind{need: abi.RightFdRead})
}

func sysFdWrite(t *thread, c *call) abi.Errno {
	return t.fdIO(c, ioKind{need: abi.RightFdWrite, write: true})
}

// fd_pread and fd_pwrite need FD_SEEK besides FD_READ or FD_WRITE: they
// name offsets in the file.
func sysFdPread(t *thread, c *call) abi.Errno {
	return t.fdIO(c, ioKind{need: abi.RightFdRead | abi.RightFdSeek, positional: true})
}

func sysFdPwrite(t *thread, c *call) abi.Errno {
	return t.fdIO(c, ioKind{need: abi.RightFdWrite | abi.RightFdSeek, write: true, positional: true})
}
