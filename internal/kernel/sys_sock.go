package kernel

import (
	"encoding/binary"
	"unsafe"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// Sockets. There is no socket, bind, connect or accept: sockets arrive as
// descriptors (fd_create2, the launcher, or a message on another socket),
// and these three calls use them. Rights and errors are those of the
// FreeBSD implementation: sock_recv needs FD_READ, sock_send FD_WRITE,
// sock_shutdown SOCK_SHUTDOWN; a descriptor that is no socket is ENOTSOCK.
var sockSyscalls = map[abi.Syscall]handler{
	abi.SysSockRecv:     sysSockRecv,
	abi.SysSockSend:     sysSockSend,
	abi.SysSockShutdown: sysSockShutdown,
}

// recvControlSize is room for the largest SCM_RIGHTS message Linux
// delivers (253 descriptors) and a little more, so that the host never
// truncates the descriptors of a message: the runtime applies the
// program's own limit, closing what does not fit.
var recvControlSize = unix.CmsgSpace(256*4) + unix.CmsgSpace(64)

func sysSockShutdown(t *thread, c *call) abi.Errno {
	var how int
	switch abi.Sdflags(c.args[1]) {
	case abi.ShutRd:
		how = unix.SHUT_RD
	case abi.ShutWr:
		how = unix.SHUT_WR
	case abi.ShutRd | abi.ShutWr:
		how = unix.SHUT_RDWR
	default:
		return abi.EINVAL
	}
	d, errno := t.fd(c.args[0], abi.RightSockShutdown)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	return errnoOf(unix.Shutdown(d.file.fd(), how))
}

// iovecsOf builds the host iovec array for guest buffers.
func iovecsOf(bufs [][]byte) []unix.Iovec {
	iov := make([]unix.Iovec, len(bufs))
	for i, b := range bufs {
		iov[i].Base = &b[0]
		iov[i].SetLen(len(b))
	}
	return iov
}

// msg runs recvmsg or sendmsg once, without waiting. The buffers are guest
// memory, which is not Go memory and never moves.
func msg(nr uintptr, fd int, iov []unix.Iovec, control []byte, flags int) (n int, controlLen int, msgFlags int, err error) {
	var h unix.Msghdr
	if len(iov) > 0 {
		h.Iov = &iov[0]
		h.SetIovlen(len(iov))
	}
	if len(control) > 0 {
		h.Control = &control[0]
		h.SetControllen(len(control))
	}
	for {
		r, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&h)), uintptr(flags|unix.MSG_DONTWAIT))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, 0, 0, e
		}
		return int(r), int(h.Controllen), int(h.Flags), nil
	}
}

// advance drops the first n bytes of bufs.
func advance(bufs [][]byte, n int) [][]byte {
	for n > 0 && len(bufs) > 0 {
		if n < len(bufs[0]) {
			bufs[0] = bufs[0][n:]
			return bufs
		}
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	return bufs
}

func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// recvOp is one sock_recv in progress.
type recvOp struct {
	t        *thread
	sock     descriptor
	bufs     [][]byte
	fdsAddr  uint64
	fdsLen   uint64
	out      uint64
	peek     bool
	waitall  bool
	nonblock bool

	got     int
	fds     []int
	roflags abi.Roflags
	control []byte
}

func sysSockRecv(t *thread, c *call) abi.Errno {
	p := t.proc
	d, errno := t.fd(c.args[0], abi.RightFdRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	raw, errno := p.bytes(c.args[1], abi.SizeofRecvIn, memory.ProtRead)
	if errno != abi.ESUCCESS {
		d.file.release()
		return errno
	}
	var in [abi.SizeofRecvIn]byte
	copy(in[:], raw)
	le := binary.LittleEndian
	r := &recvOp{t: t, sock: d, out: c.args[2], control: make([]byte, recvControlSize)}
	r.bufs, errno = p.iovecs(le.Uint64(in[abi.OffsetofRecvInRiData:]), le.Uint64(in[abi.OffsetofRecvInRiDataLen:]), memory.ProtWrite)
	if errno == abi.ESUCCESS {
		r.fdsAddr, r.fdsLen = le.Uint64(in[abi.OffsetofRecvInRiFds:]), le.Uint64(in[abi.OffsetofRecvInRiFdsLen:])
		if r.fdsLen > maxFDs {
			errno = abi.EINVAL
		} else {
			errno = p.checkWritable(r.fdsAddr, 4*r.fdsLen)
		}
	}
	if errno == abi.ESUCCESS {
		errno = p.checkWritable(r.out, abi.SizeofRecvOut)
	}
	if errno != abi.ESUCCESS {
		d.file.release()
		return errno
	}
	flags := abi.Riflags(le.Uint16(in[abi.OffsetofRecvInRiFlags:]))
	r.peek = flags&abi.SockRecvPeek != 0
	r.waitall = flags&abi.SockRecvWaitall != 0 && !r.peek && d.filetype == abi.FiletypeSocketStream
	r.nonblock = d.file.fdflags()&abi.FdflagNonblock != 0

	if done, errno := r.step(); done {
		defer d.file.release()
		return r.finish(errno)
	}
	return t.async(c, func(c *call) abi.Errno {
		defer d.file.release()
		for {
			if errno := t.waitReady(d.file.fd(), unix.POLLIN); errno != abi.ESUCCESS {
				r.closeFDs()
				return errno
			}
			if done, errno := r.step(); done {
				return r.finish(errno)
			}
		}
	})
}

// step receives what is there without waiting. It reports whether the
// call is complete, and its error if it failed.
func (r *recvOp) step() (bool, abi.Errno) {
	flags := unix.MSG_CMSG_CLOEXEC
	if r.peek {
		flags |= unix.MSG_PEEK
	}
	for {
		n, clen, mflags, err := msg(unix.SYS_RECVMSG, r.sock.file.fd(), iovecsOf(r.bufs), r.control, flags)
		switch {
		case err == unix.EAGAIN:
			if r.nonblock || r.got > 0 && !r.waitall {
				if r.got > 0 {
					return true, abi.ESUCCESS
				}
				return true, abi.EAGAIN
			}
			return false, abi.ESUCCESS
		case err != nil:
			if r.got > 0 {
				return true, abi.ESUCCESS // report the data; the error comes again
			}
			return true, errnoOf(err)
		}
		if mflags&unix.MSG_TRUNC != 0 {
			r.roflags |= abi.SockRecvDataTruncated
		}
		if mflags&unix.MSG_CTRUNC != 0 {
			r.roflags |= abi.SockRecvFdsTruncated
		}
		r.fds = append(r.fds, parseRights(r.control[:clen])...)
		r.got += n
		r.bufs = advance(r.bufs, n)
		if !r.waitall || n == 0 || len(r.fds) > 0 || len(r.bufs) == 0 {
			return true, abi.ESUCCESS
		}
		if r.nonblock {
			return true, abi.ESUCCESS
		}
	}
}

// parseRights returns the descriptors of the SCM_RIGHTS messages in a
// control buffer.
func parseRights(control []byte) []int {
	if len(control) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(control)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_RIGHTS {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	return fds
}

func (r *recvOp) closeFDs() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}

// finish installs the received descriptors and writes the results.
func (r *recvOp) finish(errno abi.Errno) abi.Errno {
	p := r.t.proc
	if errno != abi.ESUCCESS {
		r.closeFDs()
		return errno
	}
	fds := r.fds
	r.fds = nil
	attrs, ticketed := passed.claim(fds, r.peek)
	if ticketed {
		unix.Close(fds[len(fds)-1])
		fds = fds[:len(fds)-1]
	}
	var installed []abi.Fd
	for i, hfd := range fds {
		// Descriptors beyond the caller's array, or beyond the
		// supervisor's budget, are dropped as POSIX drops those beyond
		// the array: the message itself still arrives.
		if uint64(len(installed)) >= r.fdsLen || hostFilesExhausted(1) != abi.ESUCCESS {
			r.roflags |= abi.SockRecvFdsTruncated
			unix.Close(hfd)
			continue
		}
		h := newHostFD(hfd, "received")
		var d descriptor
		if ticketed {
			a := attrs[i]
			h.flags.Store(uint32(a.flags))
			d = descriptor{file: h, filetype: a.filetype, rights: a.rights, inheriting: a.inheriting}
		} else {
			ft, err := filetypeOf(hfd)
			if err != nil {
				ft = abi.FiletypeUnknown
			}
			base, inh := maxRights(ft)
			d = descriptor{file: h, filetype: ft, rights: base, inheriting: inh}
		}
		fd, errno := p.fds.insertLowest(&d)
		if errno != abi.ESUCCESS {
			// The table is full: what does not fit is lost, as the
			// data already is.
			r.roflags |= abi.SockRecvFdsTruncated
			continue
		}
		installed = append(installed, fd)
	}
	if len(installed) > 0 {
		b, errno := p.bytes(r.fdsAddr, 4*uint64(len(installed)), memory.ProtWrite)
		if errno != abi.ESUCCESS {
			return errno
		}
		for i, fd := range installed {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(fd))
		}
	}
	out, errno := p.bytes(r.out, abi.SizeofRecvOut, memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	var res [abi.SizeofRecvOut]byte
	le := binary.LittleEndian
	le.PutUint64(res[abi.OffsetofRecvOutRoDatalen:], uint64(r.got))
	le.PutUint64(res[abi.OffsetofRecvOutRoFdslen:], uint64(len(installed)))
	le.PutUint16(res[abi.OffsetofRecvOutRoFlags:], uint16(r.roflags))
	copy(out, res[:])
	return abi.ESUCCESS
}

// sendOp is one sock_send in progress.
type sendOp struct {
	sock    descriptor
	passing []descriptor // held references
	iov     []unix.Iovec
	control []byte
	entry   *passEntry
	ticket  int
}

func sysSockSend(t *thread, c *call) abi.Errno {
	p := t.proc
	d, errno := t.fd(c.args[0], abi.RightFdWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	s := &sendOp{sock: d, ticket: -1}
	raw, errno := p.bytes(c.args[1], abi.SizeofSendIn, memory.ProtRead)
	if errno == abi.ESUCCESS {
		errno = p.checkWritable(c.args[2], abi.SizeofSendOut)
	}
	if errno != abi.ESUCCESS {
		s.release()
		return errno
	}
	var in [abi.SizeofSendIn]byte
	copy(in[:], raw)
	le := binary.LittleEndian
	bufs, errno := p.iovecs(le.Uint64(in[abi.OffsetofSendInSiData:]), le.Uint64(in[abi.OffsetofSendInSiDataLen:]), memory.ProtRead)
	if errno == abi.ESUCCESS {
		errno = s.prepareFDs(t, le.Uint64(in[abi.OffsetofSendInSiFds:]), le.Uint64(in[abi.OffsetofSendInSiFdsLen:]))
	}
	if errno != abi.ESUCCESS {
		s.release()
		return errno
	}
	s.iov = iovecsOf(bufs)
	out := c.args[2]
	nonblock := d.file.fdflags()&abi.FdflagNonblock != 0

	if n, errno, done := s.step(nonblock); done {
		return s.finish(p, out, n, errno)
	}
	return t.async(c, func(c *call) abi.Errno {
		for {
			if errno := t.waitReady(d.file.fd(), unix.POLLOUT); errno != abi.ESUCCESS {
				s.finish(p, out, 0, errno)
				return errno
			}
			if n, errno, done := s.step(false); done {
				return s.finish(p, out, n, errno)
			}
		}
	})
}

// prepareFDs looks up the descriptors to pass and builds the control
// message, with a ticket if their attributes must travel with them.
func (s *sendOp) prepareFDs(t *thread, addr, n uint64) abi.Errno {
	if n == 0 {
		return abi.ESUCCESS
	}
	if n > maxPassFDs {
		return abi.EINVAL
	}
	raw, errno := t.proc.bytes(addr, 4*n, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	nums := append([]byte(nil), raw...)
	ticket := false
	for i := uint64(0); i < n; i++ {
		d, errno := t.proc.fds.get(abi.Fd(binary.LittleEndian.Uint32(nums[4*i:])), 0)
		if errno != abi.ESUCCESS {
			return errno
		}
		s.passing = append(s.passing, d)
		if d.file.proc != nil {
			// A process descriptor stands for a process of this
			// supervisor, which a bare pidfd does not carry.
			return abi.ENOTSUP
		}
		if passed.isTicket(d.file.fd()) {
			return abi.EINVAL
		}
		ticket = ticket || needsTicket(d)
	}
	hostFDs := make([]int, 0, n+1)
	for _, d := range s.passing {
		hostFDs = append(hostFDs, d.file.fd())
	}
	if ticket {
		e, r, errno := passed.register(t.proc.family, s.passing)
		if errno != abi.ESUCCESS {
			return errno
		}
		s.entry, s.ticket = e, r
		hostFDs = append(hostFDs, r)
	}
	s.control = unix.UnixRights(hostFDs...)
	return abi.ESUCCESS
}

// step sends without waiting. It reports whether the call is complete.
func (s *sendOp) step(nonblock bool) (int, abi.Errno, bool) {
	n, _, _, err := msg(unix.SYS_SENDMSG, s.sock.file.fd(), s.iov, s.control, unix.MSG_NOSIGNAL)
	switch {
	case err == unix.EAGAIN && !nonblock:
		return 0, abi.ESUCCESS, false
	case err != nil:
		// As on FreeBSD, a broken connection is EPIPE without SIGPIPE.
		return 0, errnoOf(err), true
	}
	return n, abi.ESUCCESS, true
}

// finish releases everything and writes the result.
func (s *sendOp) finish(p *Process, out uint64, n int, errno abi.Errno) abi.Errno {
	if errno != abi.ESUCCESS && s.entry != nil {
		passed.drop(s.entry)
	}
	s.release()
	if errno != abi.ESUCCESS {
		return errno
	}
	return p.putUint64(out, uint64(n))
}

func (s *sendOp) release() {
	if s.ticket >= 0 {
		unix.Close(s.ticket)
		s.ticket = -1
	}
	for _, d := range s.passing {
		d.file.release()
	}
	s.passing = nil
	s.sock.file.release()
}
