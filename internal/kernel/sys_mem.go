package kernel

import (
	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
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
	}
	return abi.EIO
}

// mprotectAfterReply makes the guest thread apply prot to its own mapping
// once it has the reply (see internal/transport).
func (c *call) mprotectAfterReply(addr, length uint64, prot memory.Prot) {
	c.post = unix.SYS_MPROTECT
	c.postArgs = [transport.NumPostArgs]uint64{addr, length, uint64(prot)}
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

	// A file is mapped by copying its contents into private memory.
	// Shared mappings of files would need the file itself mapped into the
	// sandbox, which holds no file descriptors.
	var file descriptor
	if !anon {
		need := abi.RightMemMap
		if prot&memory.ProtRead != 0 {
			need |= abi.RightFdRead
		}
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
		if shared {
			return abi.ENOSYS
		}
		if off > 1<<62 {
			return abi.EINVAL
		}
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
	if !anon {
		if errno := copyFile(p.mem.Raw(got, size), file.file.fd(), int64(off)); errno != abi.ESUCCESS {
			p.mem.Unmap(got, size)
			return errno
		}
	}
	c.mprotectAfterReply(got, size, prot)
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
	if err := t.proc.mem.Unmap(addr, size); err != nil {
		return memErrno(err)
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
	if _, err := p.mem.Slice(addr, size, 0); err != nil {
		return abi.ENOMEM
	}
	return abi.ESUCCESS
}

// mem_sync has nothing to write back: every mapping is anonymous or a
// private copy of a file. It checks its arguments as msync does.
func sysMemSync(t *thread, c *call) abi.Errno {
	flags := abi.Msflags(c.args[2])
	if flags&^(abi.MsAsync|abi.MsInvalidate|abi.MsSync) != 0 {
		return abi.EINVAL
	}
	if flags&abi.MsAsync != 0 && flags&abi.MsSync != 0 {
		return abi.EINVAL
	}
	return t.proc.mappedRange(c.args[0], c.args[1])
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
