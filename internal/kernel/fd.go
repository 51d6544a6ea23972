package kernel

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
	"golang.org/x/sys/unix"
)

// hostFile is an open host file shared by every guest fd that refers to it
// (after fd_dup, say): the guest's counterpart of an open file
// description. It is closed when the last reference goes: a call that is
// using it holds a reference, so a concurrent fd_close from another guest
// thread can never make the host fd number be reused under it.
type hostFile struct {
	f    *os.File
	refs atomic.Int32

	// flags holds the descriptor flags the runtime emulates instead of
	// setting them on the host file, which may be shared with other
	// processes (a launcher's stdout) or cannot change them (Linux
	// ignores O_SYNC and O_DSYNC in F_SETFL): NONBLOCK, SYNC, DSYNC and
	// RSYNC. APPEND lives on the host file itself.
	flags atomic.Uint32

	// dirMu guards dir, a private open file description of the same
	// directory used by file_readdir, so that seeking to a cookie never
	// races with another reader.
	dirMu sync.Mutex
	dir   int

	// proc is the process a process descriptor (from proc_fork) stands
	// for; f is then a pidfd. Closing the last descriptor of a running
	// process ends it, as on FreeBSD.
	proc *Process
}

// Every guest descriptor is a host descriptor of the supervisor, which
// needs descriptors of its own as well: for every sandbox it starts, every
// listener it serves, every file a configuration names. However many
// programs it runs, guest descriptors together may use only a part of its
// RLIMIT_NOFILE (hostFDShare), so that a set of programs each within its
// own limit (Options.MaxFDs) cannot starve the supervisor or the others:
// beyond it, calls that would create one fail with ENFILE, the error for a
// system-wide table that is full.
const hostFDShare = 0.75

var (
	// hostFiles counts the host files guest descriptors refer to.
	hostFiles atomic.Int64
	// hostFileBudget is the most host files guest descriptors may
	// use; 0 until first needed.
	hostFileBudget atomic.Int64
)

func hostFileLimit() int64 {
	if n := hostFileBudget.Load(); n > 0 {
		return n
	}
	n := int64(1024 * hostFDShare)
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<40 {
		n = int64(float64(rl.Cur) * hostFDShare)
	}
	hostFileBudget.CompareAndSwap(0, n)
	return hostFileBudget.Load()
}

// hostFilesExhausted is checked before a call creates host descriptors
// for the guest: ENFILE when n more would exceed the supervisor-wide
// budget. The budget also covers the descriptors behind shared file
// mappings (one per range at most) and those offered to sandboxes but not
// yet taken. Concurrent calls may overshoot it by a few; the rest of
// RLIMIT_NOFILE absorbs that.
func hostFilesExhausted(n int) abi.Errno {
	used := hostFiles.Load() + memory.FileRanges() + sandbox.OfferedFiles()
	if used+int64(n) > hostFileLimit() {
		return abi.ENFILE
	}
	return abi.ESUCCESS
}

// emulatedFlags are the descriptor flags kept in hostFile.flags.
const emulatedFlags = abi.FdflagNonblock | abi.FdflagSync | abi.FdflagDsync | abi.FdflagRsync

func newHostFile(f *os.File) *hostFile {
	h := &hostFile{f: f, dir: -1}
	h.refs.Store(1)
	hostFiles.Add(1)
	// Synchronous writes requested when the host file was opened stay
	// visible to the guest; O_NONBLOCK on a shared host file does not
	// (the guest's calls block unless it asks otherwise).
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err == nil {
		var flags abi.Fdflags
		switch {
		case fl&unix.O_SYNC == unix.O_SYNC:
			flags |= abi.FdflagSync | abi.FdflagRsync
		case fl&unix.O_DSYNC != 0:
			flags |= abi.FdflagDsync
		}
		h.flags.Store(uint32(flags))
	}
	return h
}

// newHostFD wraps a host file descriptor the runtime created itself.
func newHostFD(fd int, name string) *hostFile {
	return newHostFile(os.NewFile(uintptr(fd), name))
}

func (h *hostFile) acquire() { h.refs.Add(1) }

func (h *hostFile) release() {
	if h.refs.Add(-1) == 0 {
		if h.proc != nil {
			h.proc.Kill()
		}
		if h.dir >= 0 {
			unix.Close(h.dir)
			h.dir = -1
		}
		h.f.Close()
		hostFiles.Add(-1)
	}
}

// fd returns the host file descriptor number.
func (h *hostFile) fd() int { return int(h.f.Fd()) }

// fdflags returns the emulated descriptor flags.
func (h *hostFile) fdflags() abi.Fdflags { return abi.Fdflags(h.flags.Load()) }

// descriptor is one entry of a process's fd table.
type descriptor struct {
	file       *hostFile
	filetype   abi.Filetype
	rights     abi.Rights // base
	inheriting abi.Rights
}

// maxFDs bounds the number of descriptors of one process; the limit in
// force is Options.MaxFDs (EMFILE beyond it), DefaultMaxFDs by default.
// Every guest descriptor is a host descriptor of the supervisor, so the
// limit keeps one program from using up the supervisor's.
const maxFDs = 1 << 16

// fdTable maps guest fd numbers to descriptors.
type fdTable struct {
	mu  sync.Mutex
	fds map[abi.Fd]*descriptor
	max int // descriptors at most
}

func newFDTable() *fdTable { return &fdTable{fds: make(map[abi.Fd]*descriptor), max: DefaultMaxFDs} }

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

// lowestFree returns the lowest unused fd number; t.mu must be held.
func (t *fdTable) lowestFree() (abi.Fd, abi.Errno) {
	if len(t.fds) >= t.max {
		return 0, abi.EMFILE
	}
	for fd := abi.Fd(0); ; fd++ {
		if _, used := t.fds[fd]; !used {
			return fd, abi.ESUCCESS
		}
	}
}

// insertLowest installs d under the lowest free number, as FreeBSD and
// POSIX allocate descriptors. The table takes over the caller's reference
// to d.file; on failure the reference is released.
func (t *fdTable) insertLowest(d *descriptor) (abi.Fd, abi.Errno) {
	t.mu.Lock()
	fd, errno := t.lowestFree()
	if errno == abi.ESUCCESS {
		t.fds[fd] = d
	}
	t.mu.Unlock()
	if errno != abi.ESUCCESS {
		d.file.release()
	}
	return fd, errno
}

// dup installs a copy of from (same open file, same rights) under the
// lowest free number.
func (t *fdTable) dup(from abi.Fd) (abi.Fd, abi.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.fds[from]
	if !ok {
		return 0, abi.EBADF
	}
	fd, errno := t.lowestFree()
	if errno != abi.ESUCCESS {
		return 0, errno
	}
	c := *d
	c.file.acquire()
	t.fds[fd] = &c
	return fd, abi.ESUCCESS
}

// replace makes to a copy of from, atomically closing what to referred
// to. Both must exist.
func (t *fdTable) replace(from, to abi.Fd) abi.Errno {
	t.mu.Lock()
	d, ok := t.fds[from]
	old, okTo := t.fds[to]
	if !ok || !okTo {
		t.mu.Unlock()
		return abi.EBADF
	}
	if from == to {
		t.mu.Unlock()
		return abi.ESUCCESS
	}
	c := *d
	c.file.acquire()
	t.fds[to] = &c
	t.mu.Unlock()
	old.file.release()
	return abi.ESUCCESS
}

// restrict replaces the rights of fd by a subset of them; asking for a
// right the descriptor does not have is ENOTCAPABLE.
func (t *fdTable) restrict(fd abi.Fd, base, inheriting abi.Rights) abi.Errno {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.fds[fd]
	if !ok {
		return abi.EBADF
	}
	if base&^d.rights != 0 || inheriting&^d.inheriting != 0 {
		return abi.ENOTCAPABLE
	}
	d.rights, d.inheriting = base, inheriting
	return abi.ESUCCESS
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

// clone copies the table for a forked process: the same open files (one
// more reference each) with the same rights, as fork does.
func (t *fdTable) clone() *fdTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := newFDTable()
	c.max = t.max
	for fd, d := range t.fds {
		d.file.acquire()
		cp := *d
		c.fds[fd] = &cp
	}
	return c
}

// subset builds the table of a new image from proc_exec's list: fd keep[i]
// of this table becomes fd i, with its rights. A number that is not open
// is EBADF.
func (t *fdTable) subset(keep []abi.Fd) (*fdTable, abi.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := newFDTable()
	c.max = t.max
	for i, fd := range keep {
		d, ok := t.fds[fd]
		if !ok {
			t.mu.Unlock()
			c.closeAll()
			t.mu.Lock()
			return nil, abi.EBADF
		}
		d.file.acquire()
		cp := *d
		c.fds[abi.Fd(i)] = &cp
	}
	return c, abi.ESUCCESS
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
	// rightsSharedMemory are the rights FreeBSD gives a new shared memory
	// object (read, write, stat, resize, map): it has no file offset a
	// program could move, and no advice or allocation.
	rightsSharedMemory = abi.RightFdRead | abi.RightFdWrite | abi.RightFileStatFget |
		abi.RightFileStatFputSize | abi.RightMemMap | abi.RightMemMapExec
	rightsAll = ^abi.Rights(0)
)

// maxRights returns the rights a descriptor of type ft may carry.
func maxRights(ft abi.Filetype) (base, inheriting abi.Rights) {
	switch ft {
	case abi.FiletypeDirectory:
		return rightsDirectoryBase, rightsDirectoryInheriting
	case abi.FiletypeRegularFile:
		return rightsRegularFile, 0
	case abi.FiletypeSharedMemory:
		return rightsSharedMemory, 0
	case abi.FiletypeSocketDgram, abi.FiletypeSocketStream:
		return rightsSocket, rightsAll
	case abi.FiletypeProcess:
		return rightsAll &^ (abi.RightFileAdvise | abi.RightPollFdReadwrite), 0
	default:
		return rightsAll, 0
	}
}

// filetypeOf classifies an open host file. Pipes and FIFOs appear as
// stream sockets, as they do on FreeBSD. Shared memory the runtime creates
// (fd_create1) is typed when it is created: on Linux it looks like a
// regular file.
func filetypeOf(fd int) (abi.Filetype, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return abi.FiletypeUnknown, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return filetypeOfMode(st.Mode), nil
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return abi.FiletypeUnknown, err
	}
	if typ == unix.SOCK_DGRAM {
		return abi.FiletypeSocketDgram, nil
	}
	return abi.FiletypeSocketStream, nil
}

// filetypeOfMode classifies a file by its mode, as stat by path does: a
// socket's kind cannot be told from its inode, so it is a stream socket.
func filetypeOfMode(mode uint32) abi.Filetype {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return abi.FiletypeRegularFile
	case unix.S_IFDIR:
		return abi.FiletypeDirectory
	case unix.S_IFCHR:
		return abi.FiletypeCharacterDevice
	case unix.S_IFBLK:
		return abi.FiletypeBlockDevice
	case unix.S_IFLNK:
		return abi.FiletypeSymbolicLink
	case unix.S_IFIFO, unix.S_IFSOCK:
		return abi.FiletypeSocketStream
	}
	return abi.FiletypeUnknown
}
