package kernel

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// hostFile is an open host file shared by every guest fd that refers to it
// (after fd_dup, say). It is closed when the last reference goes: a call
// that is using it holds a reference, so a concurrent fd_close from another
// guest thread can never make the host fd number be reused under it.
type hostFile struct {
	f    *os.File
	refs atomic.Int32
}

func newHostFile(f *os.File) *hostFile {
	h := &hostFile{f: f}
	h.refs.Store(1)
	return h
}

func (h *hostFile) acquire() { h.refs.Add(1) }

func (h *hostFile) release() {
	if h.refs.Add(-1) == 0 {
		h.f.Close()
	}
}

// fd returns the host file descriptor number.
func (h *hostFile) fd() int { return int(h.f.Fd()) }

// descriptor is one entry of a process's fd table.
type descriptor struct {
	file       *hostFile
	filetype   abi.Filetype
	rights     abi.Rights // base
	inheriting abi.Rights
}

// fdTable maps guest fd numbers to descriptors.
type fdTable struct {
	mu  sync.Mutex
	fds map[abi.Fd]*descriptor
}

func newFDTable() *fdTable { return &fdTable{fds: make(map[abi.Fd]*descriptor)} }

// get looks up fd and checks that it carries every right in need. On
// success the caller holds a reference to the host file and must call
// release when done.
func (t *fdTable) get(fd abi.Fd, need abi.Rights) (descriptor, abi.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.fds[fd]
	if !ok {
		return descriptor{}, abi.EBADF
	}
	if d.rights&need != need {
		return descriptor{}, abi.ENOTCAPABLE
	}
	d.file.acquire()
	return *d, abi.ESUCCESS
}

// insertAt installs d as fd, which must be free.
func (t *fdTable) insertAt(fd abi.Fd, d *descriptor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fds[fd] = d
}

// close removes fd from the table.
func (t *fdTable) close(fd abi.Fd) abi.Errno {
	t.mu.Lock()
	d, ok := t.fds[fd]
	delete(t.fds, fd)
	t.mu.Unlock()
	if !ok {
		return abi.EBADF
	}
	d.file.release()
	return abi.ESUCCESS
}

// closeAll empties the table, when the process has ended.
func (t *fdTable) closeAll() {
	t.mu.Lock()
	fds := t.fds
	t.fds = make(map[abi.Fd]*descriptor)
	t.mu.Unlock()
	for _, d := range fds {
		d.file.release()
	}
}

// Rights that make sense for each file type, as in the FreeBSD
// implementation: a descriptor never carries rights that cannot apply to it,
// so fd_stat_get reports what the program can really do.
const (
	rightsDirectoryBase = abi.RightFdStatPutFlags | abi.RightFdSync | abi.RightFileAdvise |
		abi.RightFileCreateDirectory | abi.RightFileCreateFile | abi.RightFileLinkSource |
		abi.RightFileLinkTarget | abi.RightFileOpen | abi.RightFileReaddir | abi.RightFileReadlink |
		abi.RightFileRenameSource | abi.RightFileRenameTarget | abi.RightFileStatFget |
		abi.RightFileStatFputTimes | abi.RightFileStatGet | abi.RightFileStatPutTimes |
		abi.RightFileSymlink | abi.RightFileUnlink | abi.RightPollFdReadwrite
	rightsDirectoryInheriting = rightsDirectoryBase | rightsRegularFile
	rightsRegularFile         = abi.RightFdDatasync | abi.RightFdRead | abi.RightFdSeek |
		abi.RightFdStatPutFlags | abi.RightFdSync | abi.RightFdTell | abi.RightFdWrite |
		abi.RightFileAdvise | abi.RightFileAllocate | abi.RightFileStatFget |
		abi.RightFileStatFputSize | abi.RightFileStatFputTimes | abi.RightMemMap |
		abi.RightMemMapExec | abi.RightPollFdReadwrite | abi.RightProcExec
	// rightsReadOnlyFile is what the launcher grants a file it opens for
	// reading: everything of a regular file that does not modify it.
	rightsReadOnlyFile = rightsRegularFile &^ (abi.RightFdWrite | abi.RightFileAllocate |
		abi.RightFileStatFputSize | abi.RightFileStatFputTimes | abi.RightFdDatasync | abi.RightFdSync)
	// ReadOnlyFileRights are the rights of a file the launcher opens for
	// reading.
	ReadOnlyFileRights = rightsReadOnlyFile
	rightsSocket       = abi.RightFdRead | abi.RightFdStatPutFlags | abi.RightFdWrite |
		abi.RightFileStatFget | abi.RightPollFdReadwrite | abi.RightSockShutdown
	rightsAll = ^abi.Rights(0)
)

// maxRights returns the rights a descriptor of type ft may carry.
func maxRights(ft abi.Filetype) (base, inheriting abi.Rights) {
	switch ft {
	case abi.FiletypeDirectory:
		return rightsDirectoryBase, rightsDirectoryInheriting
	case abi.FiletypeRegularFile:
		return rightsRegularFile, 0
	case abi.FiletypeSocketDgram, abi.FiletypeSocketStream:
		return rightsSocket, rightsAll
	default:
		return rightsAll, 0
	}
}

// filetypeOf classifies an open host file. Pipes and FIFOs appear as
// stream sockets, as they do on FreeBSD.
func filetypeOf(fd int) (abi.Filetype, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return abi.FiletypeUnknown, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return abi.FiletypeRegularFile, nil
	case unix.S_IFDIR:
		return abi.FiletypeDirectory, nil
	case unix.S_IFCHR:
		return abi.FiletypeCharacterDevice, nil
	case unix.S_IFBLK:
		return abi.FiletypeBlockDevice, nil
	case unix.S_IFLNK:
		return abi.FiletypeSymbolicLink, nil
	case unix.S_IFIFO:
		return abi.FiletypeSocketStream, nil
	case unix.S_IFSOCK:
		typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil {
			return abi.FiletypeUnknown, err
		}
		if typ == unix.SOCK_DGRAM {
			return abi.FiletypeSocketDgram, nil
		}
		return abi.FiletypeSocketStream, nil
	}
	return abi.FiletypeUnknown, nil
}
