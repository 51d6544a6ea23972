package kernel

import (
	"encoding/binary"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
)

// Helpers that move values between the supervisor and guest memory. Every
// address comes from the guest and is checked against its mappings; a bad
// one is EFAULT, never a supervisor fault.

// maxIovecs bounds the vectors one read or write may name, as Linux does.
const maxIovecs = 1024

func (p *Process) bytes(addr, n uint64, prot memory.Prot) ([]byte, abi.Errno) {
	b, err := p.mem.Slice(addr, n, prot)
	if err != nil {
		return nil, abi.EFAULT
	}
	return b, abi.ESUCCESS
}

func (p *Process) putUint64(addr, v uint64) abi.Errno {
	b, errno := p.bytes(addr, 8, memory.ProtWrite)
	if errno == abi.ESUCCESS {
		binary.LittleEndian.PutUint64(b, v)
	}
	return errno
}

// checkWritable reports whether n bytes at addr may be written, so that a
// call can fail before it has side effects.
func (p *Process) checkWritable(addr, n uint64) abi.Errno {
	_, errno := p.bytes(addr, n, memory.ProtWrite)
	return errno
}

// iovecs resolves an array of n ciovec/iovec structures (they share one
// layout) into slices of guest memory with access prot.
func (p *Process) iovecs(addr, n uint64, prot memory.Prot) ([][]byte, abi.Errno) {
	if n > maxIovecs {
		return nil, abi.EINVAL
	}
	raw, errno := p.bytes(addr, n*abi.SizeofIovec, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return nil, errno
	}
	// Copy the array first: the guest may rewrite it while we look.
	arr := append([]byte(nil), raw...)
	out := make([][]byte, 0, n)
	for i := uint64(0); i < n; i++ {
		e := arr[i*abi.SizeofIovec:]
		buf := binary.LittleEndian.Uint64(e[abi.OffsetofIovecBuf:])
		length := binary.LittleEndian.Uint64(e[abi.OffsetofIovecBufLen:])
		b, errno := p.bytes(buf, length, prot)
		if errno != abi.ESUCCESS {
			return nil, errno
		}
		if len(b) > 0 {
			out = append(out, b)
		}
	}
	return out, abi.ESUCCESS
}
