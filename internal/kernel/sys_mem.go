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
