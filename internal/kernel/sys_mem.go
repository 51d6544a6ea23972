package kernel

import (
	"fmt"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"github.com/cloudabi-go/cloudabi/internal/transport"
	"golang.org/x/sys/unix"
)

// Memory.
var memSyscalls = map[abi.Syscall]handler{
	abi.SysMemMap:     sysMemMap,
	abi.SysMemProtect: sysMemProtect,
	abi.SysMemUnmap:   sysMemUnmap,
	abi.SysMemSync:    sysMemSync,
	abi.SysMemAdvise:  sysMemAdvise,
}

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
	case memory.ErrAccess:
		return abi.EACCES
	}
	if errno, ok := err.(unix.Errno); ok {
		return errnoOf(errno)
	}
	return abi.EIO
}

// mprotectAfterReply makes the guest thread apply prot to its own mapping
// once it has the reply (see internal/transport).
func (c *call) mprotectAfterReply(addr, length uint64, prot memory.Prot) {
	c.post = unix.SYS_MPROTECT
	c.postArgs = [transport.NumPostArgs]uint64{addr, length, uint64(prot)}
}

// mapAfterReply makes the guest thread map the file open as fd (which it
// takes) over its own range once it has the reply: the vDSO fetches the
// file from the supervisor (see sandbox.Offer) and maps it MAP_SHARED |
// MAP_FIXED with prot.
func (c *call) mapAfterReply(t *thread, addr, length uint64, prot memory.Prot, fd int, off uint64) {
	token := t.proc.sb.Offer(t.slot, []sandbox.Offered{{FD: fd}}, false)
	c.post = unix.SYS_MMAP
	c.postArgs = [transport.NumPostArgs]uint64{addr, length, uint64(prot), off, token}
}

// memfdAfterReply makes the guest thread map its memory back over a range
// that held file pages: a protection change would leave the file there.
func (c *call) memfdAfterReply(t *thread, addr, length uint64, prot memory.Prot) abi.Errno {
	m := t.proc.mem
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		// The range must not stay a file in the guest while the
		// supervisor counts it as memory.
		t.proc.Kill()
		return noReply
	}
	c.mapAfterReply(t, addr, length, prot, fd, addr-m.Base())
	return abi.ESUCCESS
}

func sysMemMap(t *thread, c *call) abi.Errno {
	p := t.proc
	addr, length, protArg, flags, fdArgument, off, out := c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5], c.args[6]
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
	anon := flags&uint64(abi.MapAnon) != 0
	if length == 0 || off%memory.PageSize != 0 {
		return abi.EINVAL
	}
	if anon && (fdArgument != uint64(abi.MapAnonFd) || off != 0) {
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

	// A private mapping of a file is a copy of its contents in memory.
	// A shared one is the file itself, mapped by the guest (see mapShared).
	//
	// Every file mapping needs FD_READ, even one made without PROT_READ:
	// the guest can make any of its pages readable with a raw mprotect,
	// which no record of the supervisor's can stop, and a Linux mapping
	// of a file (or the copy in a private one) holds its bytes.
	// MEM_MAP_EXEC bounds what mem_protect may add later, as FreeBSD
	// bounds a mapping's maximum protection by the descriptor's rights.
	var file descriptor
	var deny memory.Prot
	if !anon {
		need := abi.RightMemMap | abi.RightFdRead
		if prot&memory.ProtExec != 0 {
			need |= abi.RightMemMapExec
		}
		if shared && prot&memory.ProtWrite != 0 {
			need |= abi.RightFdWrite
		}
		file, errno = t.fd(fdArgument, need)
		if errno != abi.ESUCCESS {
			return errno
		}
		defer file.file.release()
		if file.filetype != abi.FiletypeRegularFile && file.filetype != abi.FiletypeSharedMemory {
			return abi.ENODEV
		}
		if file.rights&abi.RightMemMapExec == 0 {
			deny |= memory.ProtExec
		}
		if off > 1<<62 {
			return abi.EINVAL
		}
	}
	if errno := p.checkWritable(out, 8); errno != abi.ESUCCESS {
		return errno
	}
	var hostFlags int
	if !anon {
		// As mmap(2), refuse a file the host cannot read before anything
		// changes.
		var err error
		if hostFlags, err = unix.FcntlInt(uintptr(file.file.fd()), unix.F_GETFL, 0); err != nil {
			return errnoOf(err)
		}
		if hostFlags&unix.O_ACCMODE == unix.O_WRONLY {
			return abi.EACCES
		}
	}
	if shared && !anon {
		return mapShared(t, c, addr, size, prot, deny, fixed, &file, hostFlags, off, out)
	}
	got, hadFiles, err := p.mem.MapAnon(addr, size, prot, deny, fixed)
	if err != nil {
		if fixed && err == memory.ErrInvalid {
			return abi.ENOMEM
		}
		return memErrno(err)
	}
	if !anon {
		if errno := copyFile(p.mem.Raw(got, size), file.file.fd(), int64(off)); errno != abi.ESUCCESS {
			if hadFiles {
				// The guest still has the file there; it must not
				// outlive the supervisor's record of it.
				if errno := c.memfdAfterReply(t, got, size, 0); errno != abi.ESUCCESS {
					return errno
				}
			}
			p.mem.Unmap(got, size)
			return errno
		}
	}
	if hadFiles {
		if errno := c.memfdAfterReply(t, got, size, prot); errno != abi.ESUCCESS {
			return errno
		}
	} else {
		c.mprotectAfterReply(got, size, prot)
	}
	return p.putUint64(out, got)
}

// mapShared maps a file shared: the supervisor maps it over its own view
// of the range (memory.MapFile), and the guest thread maps it over its
// own once it has the reply.
//
// The open file the guest maps decides what it can do with the mapping
// later, whatever it asks the supervisor: a raw mprotect can make any
// mapping writable unless the host kernel forbids it, which it does for a
// shared mapping of a file not open for writing. So unless the descriptor
// has the right to write (and its host file is open for reading and
// writing), the guest gets a read-only open file, reopened through
// /proc/self/fd, as FreeBSD limits the mapping's maximum protection by the
// descriptor's rights.
func mapShared(t *thread, c *call, addr, size uint64, prot, deny memory.Prot, fixed bool, file *descriptor, fl int, off, out uint64) abi.Errno {
	p := t.proc
	// Two host descriptors: the supervisor's view and the guest's.
	if errno := hostFilesExhausted(2); errno != abi.ESUCCESS {
		return errno
	}
	hostFD := file.file.fd()
	acc := fl & unix.O_ACCMODE // never O_WRONLY: sysMemMap refused it
	hostWritable := acc == unix.O_RDWR && fl&unix.O_APPEND == 0
	if prot&memory.ProtWrite != 0 && !hostWritable {
		return abi.EACCES // as mmap(2): the open file does not allow it
	}
	writable := hostWritable && file.rights&abi.RightFdWrite != 0
	var fd int
	var err error
	if writable || acc == unix.O_RDONLY {
		fd, err = unix.FcntlInt(uintptr(hostFD), unix.F_DUPFD_CLOEXEC, 0)
	} else {
		fd, err = unix.Open(fmt.Sprintf("/proc/self/fd/%d", hostFD), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	}
	if err != nil {
		return errnoOf(err)
	}
	guestFD, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return errnoOf(err)
	}
	if !writable {
		deny |= memory.ProtWrite
	}
	got, err := p.mem.MapFile(addr, size, prot, deny, fixed, fd, off)
	if err != nil {
		unix.Close(guestFD)
		if fixed && err == memory.ErrInvalid {
			return abi.ENOMEM
		}
		return memErrno(err)
	}
	c.mapAfterReply(t, got, size, prot, guestFD, off)
	return p.putUint64(out, got)
}

// copyFile fills dst with the file's bytes from off; what lies beyond the
// end of the file stays zero, as in a mapping.
func copyFile(dst []byte, fd int, off int64) abi.Errno {
	for len(dst) > 0 {
		n, err := unix.Pread(fd, dst, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return errnoOf(err)
		}
		if n == 0 {
			break
		}
		dst, off = dst[n:], off+int64(n)
	}
	return abi.ESUCCESS
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
	hadFiles, err := t.proc.mem.Release(addr, size)
	if err != nil {
		return memErrno(err)
	}
	if hadFiles {
		return c.memfdAfterReply(t, addr, size, 0)
	}
	c.mprotectAfterReply(addr, size, 0)
	return abi.ESUCCESS
}

// mappedRange checks an address range named by mem_sync or mem_advise: page
// aligned, and mapped throughout (ENOMEM otherwise).
func (p *Process) mappedRange(addr, length uint64) abi.Errno {
	if addr%memory.PageSize != 0 {
		return abi.EINVAL
	}
	size, ok := memory.RoundUp(length)
	if !ok || size == 0 {
		return abi.EINVAL
	}
	if !p.mem.Covered(addr, size) {
		return abi.ENOMEM
	}
	return abi.ESUCCESS
}

// mem_sync writes the file pages of the range back to their files (the
// supervisor's view of them is the same shared mapping of the file, see
// memory.MapFile); anonymous memory and private copies have nothing to
// write back. As on FreeBSD, exactly one of MS_ASYNC and MS_SYNC must be
// given, and MS_INVALIDATE only with MS_SYNC.
func sysMemSync(t *thread, c *call) abi.Errno {
	addr, length := c.args[0], c.args[1]
	flags := abi.Msflags(c.args[2])
	if flags&^(abi.MsAsync|abi.MsInvalidate|abi.MsSync) != 0 {
		return abi.EINVAL
	}
	var linux int
	switch flags &^ abi.MsInvalidate {
	case abi.MsAsync:
		if flags&abi.MsInvalidate != 0 {
			return abi.EINVAL
		}
		linux = unix.MS_ASYNC
	case abi.MsSync:
		linux = unix.MS_SYNC
		if flags&abi.MsInvalidate != 0 {
			linux |= unix.MS_INVALIDATE
		}
	default:
		return abi.EINVAL
	}
	if errno := t.proc.mappedRange(addr, length); errno != abi.ESUCCESS {
		return errno
	}
	size, _ := memory.RoundUp(length)
	if err := t.proc.mem.Sync(addr, size, linux); err != nil {
		return memErrno(err)
	}
	return abi.ESUCCESS
}

// mem_advise is advice: it is checked and accepted. (The ABI's advice is
// that of posix_madvise, which never discards data.)
func sysMemAdvise(t *thread, c *call) abi.Errno {
	switch abi.Advice(c.args[2]) {
	case abi.AdviceDontneed, abi.AdviceNoreuse, abi.AdviceNormal, abi.AdviceRandom, abi.AdviceSequential, abi.AdviceWillneed:
	default:
		return abi.EINVAL
	}
	return t.proc.mappedRange(c.args[0], c.args[1])
}
