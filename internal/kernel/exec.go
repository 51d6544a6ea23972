package kernel

import (
	"encoding/binary"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/loader"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// Limits on what proc_exec copies out of the caller.
const (
	maxExecSize    = 1 << 30
	maxExecArgdata = 64 << 20
	maxExecFDs     = 1 << 16
)

// proc_exec replaces the process's image with the executable behind fd,
// with new argdata, keeping only the descriptors listed in fds: descriptor
// fds[i] becomes number i in the new image, with its rights.
//
// The new image runs in a new sandbox process; this Process stands for it
// from then on (to a parent's process descriptor and to Wait), and the old
// sandbox is killed. On any error the caller continues unchanged.
func sysProcExec(t *thread, c *call) abi.Errno {
	p := t.proc
	fd, dataAddr, dataLen, fdsAddr, fdsLen := c.args[0], c.args[1], c.args[2], c.args[3], c.args[4]
	d, errno := t.fd(fd, abi.RightProcExec)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	if dataLen > maxExecArgdata || fdsLen > maxExecFDs {
		return abi.E2BIG
	}
	raw, errno := p.bytes(dataAddr, dataLen, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	argdata := append([]byte(nil), raw...)
	rawFDs, errno := p.bytes(fdsAddr, fdsLen*4, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	keep := make([]abi.Fd, fdsLen)
	for i := range keep {
		keep[i] = abi.Fd(binary.LittleEndian.Uint32(rawFDs[4*i:]))
	}

	exe, errno := readExecutable(d.file.fd())
	if errno != abi.ESUCCESS {
		return errno
	}
	fdt, errno := p.fds.subset(keep)
	if errno != abi.ESUCCESS {
		return errno
	}
	p.family.procs.Add(1)
	next, err := start(exe, argdata, fdt, p.opts, p.family)
	if err != nil {
		fdt.closeAll()
		return abi.ENOMEM
	}
	p.mu.Lock()
	replaced := !p.reaped
	if replaced {
		p.next.Store(next)
	}
	p.mu.Unlock()
	if !replaced {
		// The process ended while the new image started (proc_exit
		// by another thread, or a kill): nobody would wait for it.
		next.Kill()
		return noReply
	}
	// The old image is over at once, before its sandbox is reaped: a
	// thread of it that waits for a lock must not take it now.
	p.markDead()
	p.sb.Kill()
	return noReply
}

// readExecutable reads and checks the executable behind a host fd.
func readExecutable(fd int) (*loader.Executable, abi.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, errnoOf(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, abi.EACCES
	}
	if st.Size > maxExecSize {
		return nil, abi.ENOMEM
	}
	data := make([]byte, st.Size)
	for off := 0; off < len(data); {
		n, err := unix.Pread(fd, data[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, errnoOf(err)
		}
		if n == 0 {
			data = data[:off]
			break
		}
		off += n
	}
	exe, err := loader.Parse(data, loader.MachineX86_64)
	if err != nil {
		return nil, abi.ENOEXEC
	}
	return exe, abi.ESUCCESS
}
