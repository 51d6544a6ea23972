package kernel

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// Files and directories. Paths are resolved as described in path.go.
var fileSyscalls = map[abi.Syscall]handler{
	abi.SysFileAdvise:   sysFileAdvise,
	abi.SysFileAllocate: sysFileAllocate,
	abi.SysFileCreate:   sysFileCreate,
	abi.SysFileLink:     sysFileLink,
	abi.SysFileOpen:     sysFileOpen,
	abi.SysFileReaddir:  sysFileReaddir,
	abi.SysFileReadlink: sysFileReadlink,
	abi.SysFileRename:   sysFileRename,
	abi.SysFileStatFget: sysFileStatFget,
	abi.SysFileStatFput: sysFileStatFput,
	abi.SysFileStatGet:  sysFileStatGet,
	abi.SysFileStatPut:  sysFileStatPut,
	abi.SysFileSymlink:  sysFileSymlink,
	abi.SysFileUnlink:   sysFileUnlink,
}

// lookupArg splits a cloudabi_lookup_t, which is passed by value in one
// register: the descriptor in the low 32 bits, the flags in the high 32.
// Flags the ABI does not define are EINVAL.
func lookupArg(a uint64) (fd uint64, follow bool, errno abi.Errno) {
	flags := abi.Lookupflags(a >> 32)
	if flags&^abi.LookupSymlinkFollow != 0 {
		return 0, false, abi.EINVAL
	}
	return a & math.MaxUint32, flags&abi.LookupSymlinkFollow != 0, abi.ESUCCESS
}

// nofollow returns O_NOFOLLOW unless the lookup follows a symbolic link
// in the last component.
func nofollow(follow bool) int {
	if follow {
		return 0
	}
	return unix.O_NOFOLLOW
}

// filesize converts a cloudabi_filesize_t argument to a Linux offset.
func filesize(a uint64) (int64, abi.Errno) {
	if a > math.MaxInt64 {
		return 0, abi.EINVAL
	}
	return int64(a), abi.ESUCCESS
}

func sysFileAdvise(t *thread, c *call) abi.Errno {
	var advice int
	switch abi.Advice(c.args[3]) {
	case abi.AdviceDontneed:
		advice = unix.FADV_DONTNEED
	case abi.AdviceNoreuse:
		advice = unix.FADV_NOREUSE
	case abi.AdviceNormal:
		advice = unix.FADV_NORMAL
	case abi.AdviceRandom:
		advice = unix.FADV_RANDOM
	case abi.AdviceSequential:
		advice = unix.FADV_SEQUENTIAL
	case abi.AdviceWillneed:
		advice = unix.FADV_WILLNEED
	default:
		return abi.EINVAL
	}
	d, errno := t.fd(c.args[0], abi.RightFileAdvise)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	off, errno := filesize(c.args[1])
	if errno != abi.ESUCCESS {
		return errno
	}
	n, errno := filesize(c.args[2])
	if errno != abi.ESUCCESS {
		return errno
	}
	// As FreeBSD: a range past the largest offset is invalid, and only a
	// regular file takes advice (Linux ignores it for most other types).
	if off > math.MaxInt64-n {
		return abi.EINVAL
	}
	if d.filetype != abi.FiletypeRegularFile {
		return abi.ENODEV
	}
	return errnoOf(unix.Fadvise(d.file.fd(), off, n, advice))
}

func sysFileAllocate(t *thread, c *call) abi.Errno {
	d, errno := t.fd(c.args[0], abi.RightFileAllocate)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	off, errno := filesize(c.args[1])
	if errno != abi.ESUCCESS {
		return errno
	}
	n, errno := filesize(c.args[2])
	if errno != abi.ESUCCESS {
		return errno
	}
	if n == 0 {
		return abi.EINVAL
	}
	if off > math.MaxInt64-n {
		return abi.EFBIG
	}
	for {
		err := unix.Fallocate(d.file.fd(), 0, off, n)
		if err == unix.EINTR {
			continue
		}
		return errnoOf(err)
	}
}

// dirPath fetches the directory descriptor and path of a call that works
// on a path beneath a directory: the descriptor is checked for need, the
// path copied out of guest memory.
func (t *thread) dirPath(fdArg, addr, n uint64, need abi.Rights) (descriptor, string, abi.Errno) {
	d, errno := t.fd(fdArg, need)
	if errno != abi.ESUCCESS {
		return d, "", errno
	}
	path, errno := t.proc.path(addr, n)
	if errno != abi.ESUCCESS {
		d.file.release()
		return descriptor{}, "", errno
	}
	return d, path, abi.ESUCCESS
}

func sysFileCreate(t *thread, c *call) abi.Errno {
	path, errno := t.proc.path(c.args[1], c.args[2])
	if errno != abi.ESUCCESS {
		return errno
	}
	// Only directories can be created this way (files with file_open).
	if abi.Filetype(c.args[3]) != abi.FiletypeDirectory {
		return abi.EINVAL
	}
	d, errno := t.fd(c.args[0], abi.RightFileCreateDirectory)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	pd, errno := openParent(d.file.fd(), path)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer pd.close()
	if pd.dot() {
		return abi.EEXIST
	}
	// Permissions come from the supervisor's umask: CloudABI programs
	// have no notion of them.
	return errnoOf(unix.Mkdirat(pd.fd, pd.name, 0o777))
}

func sysFileLink(t *thread, c *call) abi.Errno {
	fd1, follow, errno := lookupArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	d1, path1, errno := t.dirPath(fd1, c.args[1], c.args[2], abi.RightFileLinkSource)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d1.file.release()
	d2, path2, errno := t.dirPath(c.args[3], c.args[4], c.args[5], abi.RightFileLinkTarget)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d2.file.release()

	dst, errno := openParent(d2.file.fd(), path2)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer dst.close()

	if follow {
		// Resolve the source, following symbolic links, beneath the
		// directory, and link what it names.
		src, errno := openBeneath(d1.file.fd(), path1, unix.O_PATH, 0)
		if errno != abi.ESUCCESS {
			return errno
		}
		defer unix.Close(src)
		if errno := linkTargetCheck(dst); errno != abi.ESUCCESS {
			return errno
		}
		return errnoOf(linkFD(src, dst))
	}
	src, errno := openParent(d1.file.fd(), path1)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer src.close()
	if src.dot() {
		return abi.EPERM // a directory cannot be linked
	}
	if src.slash {
		if errno := src.requireDir(); errno != abi.ESUCCESS {
			return errno
		}
		return abi.EPERM
	}
	if errno := linkTargetCheck(dst); errno != abi.ESUCCESS {
		return errno
	}
	return errnoOf(unix.Linkat(src.fd, src.name, dst.fd, dst.name, 0))
}

// linkTargetCheck answers for the new name of a link or symbolic link
// when it is "." or ".." or ends in a slash, as Linux does for a name
// that cannot be created.
func linkTargetCheck(dst parentDir) abi.Errno {
	if dst.dot() {
		return abi.EEXIST
	}
	if dst.slash {
		if _, err := dst.lstat(); err == nil {
			return abi.EEXIST
		}
		return abi.ENOENT
	}
	return abi.ESUCCESS
}

// linkFD creates the hard link dst to the file open as src (an O_PATH
// descriptor). linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on
// older kernels; the descriptor's /proc entry does the same without it.
func linkFD(src int, dst parentDir) error {
	err := unix.Linkat(src, "", dst.fd, dst.name, unix.AT_EMPTY_PATH)
	if err == unix.EPERM || err == unix.ENOENT {
		var st unix.Stat_t
		if unix.Fstat(src, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return unix.EPERM
		}
		if err2 := unix.Linkat(unix.AT_FDCWD, procSelfFD(src), dst.fd, dst.name, unix.AT_SYMLINK_FOLLOW); err2 != unix.ENOENT {
			return err2
		}
	}
	return err
}

func procSelfFD(fd int) string {
	var b [32]byte
	n := len(b)
	for v := fd; ; v /= 10 {
		n--
		b[n] = byte('0' + v%10)
		if v < 10 {
			break
		}
	}
	return "/proc/self/fd/" + string(b[n:])
}

// All open flags and the fs_flags file_open accepts.
const allOflags = abi.OCreat | abi.ODirectory | abi.OExcl | abi.OTrunc

func sysFileOpen(t *thread, c *call) abi.Errno {
	p := t.proc
	dirArg, follow, errno := lookupArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	oflags := abi.Oflags(c.args[3])
	raw, errno := p.bytes(c.args[4], abi.SizeofFdstat, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	le := binary.LittleEndian
	fsFlags := abi.Fdflags(le.Uint16(raw[abi.OffsetofFdstatFsFlags:]))
	reqBase := abi.Rights(le.Uint64(raw[abi.OffsetofFdstatFsRightsBase:]))
	reqInh := abi.Rights(le.Uint64(raw[abi.OffsetofFdstatFsRightsInheriting:]))

	dir, errno := t.fd(dirArg, abi.RightFileOpen)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer dir.file.release()
	if oflags&^allOflags != 0 || fsFlags&^allFdflags != 0 {
		return abi.EINVAL
	}
	// Creating a directory is file_create's. Linux before 6.4 would
	// create a regular file here and then fail with ENOTDIR.
	if oflags&(abi.OCreat|abi.ODirectory) == abi.OCreat|abi.ODirectory {
		return abi.EINVAL
	}
	// The new descriptor's rights, base and inheriting, come from the
	// directory's inheriting rights. So do the properties of the file
	// the flags ask for; creating a file is an action on the directory.
	if (reqBase|reqInh)&^dir.inheriting != 0 {
		return abi.ENOTCAPABLE
	}
	if oflags&abi.OCreat != 0 && dir.rights&abi.RightFileCreateFile == 0 {
		return abi.ENOTCAPABLE
	}
	if oflags&abi.OTrunc != 0 && dir.inheriting&abi.RightFileStatFputSize == 0 {
		return abi.ENOTCAPABLE
	}
	if fsFlags&abi.FdflagDsync != 0 && dir.inheriting&(abi.RightFdDatasync|abi.RightFdSync) == 0 {
		return abi.ENOTCAPABLE
	}
	if fsFlags&(abi.FdflagRsync|abi.FdflagSync) != 0 && dir.inheriting&abi.RightFdSync == 0 {
		return abi.ENOTCAPABLE
	}
	path, errno := p.path(c.args[1], c.args[2])
	if errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(c.args[5], 4); errno != abi.ESUCCESS {
		return errno
	}

	// The access mode follows the rights asked for, as on FreeBSD.
	read := reqBase&(abi.RightFdRead|abi.RightFileReaddir|abi.RightMemMapExec) != 0
	write := reqBase&(abi.RightFdDatasync|abi.RightFdWrite|abi.RightFileAllocate|abi.RightFileStatFputSize) != 0
	flags := unix.O_RDONLY
	switch {
	case write && read:
		flags = unix.O_RDWR
	case write:
		flags = unix.O_WRONLY
	}
	// O_NONBLOCK keeps opening a FIFO from blocking the supervisor; it
	// is cleared again below.
	flags |= unix.O_NOCTTY | unix.O_NONBLOCK | nofollow(follow)
	if oflags&abi.OCreat != 0 {
		flags |= unix.O_CREAT
	}
	if oflags&abi.ODirectory != 0 {
		flags |= unix.O_DIRECTORY
	}
	if oflags&abi.OExcl != 0 {
		flags |= unix.O_EXCL
	}
	if oflags&abi.OTrunc != 0 {
		flags |= unix.O_TRUNC
	}
	if fsFlags&abi.FdflagAppend != 0 {
		flags |= unix.O_APPEND
	}
	switch {
	case fsFlags&(abi.FdflagSync|abi.FdflagRsync) != 0:
		flags |= unix.O_SYNC
	case fsFlags&abi.FdflagDsync != 0:
		flags |= unix.O_DSYNC
	}
	if errno := hostFilesExhausted(1); errno != abi.ESUCCESS {
		return errno
	}
	hfd, errno := openTruncating(dir.file.fd(), path, flags)
	if errno != abi.ESUCCESS {
		return errno
	}
	if _, err := unix.FcntlInt(uintptr(hfd), unix.F_SETFL, flags&unix.O_APPEND); err != nil {
		unix.Close(hfd)
		return errnoOf(err)
	}
	ft, err := filetypeOf(hfd)
	if err != nil {
		unix.Close(hfd)
		return errnoOf(err)
	}
	// Rights that cannot apply to the file's type are dropped.
	base, inh := maxRights(ft)
	h := newHostFD(hfd, path)
	h.flags.Store(uint32(fsFlags & emulatedFlags))
	fd, errno := p.install(h, ft, base&reqBase, inh&reqInh)
	if errno != abi.ESUCCESS {
		return errno
	}
	return p.putFd(c.args[5], fd)
}

// openTruncating is openBeneath for file_open. A file that some guest has
// mapped shared must not shrink under the supervisor's view of the mapping
// (see memory.Truncate), so while any guest has such mappings, an open
// with O_TRUNC first opens the file without it, has the views of its pages
// detached, and only then truncates it, by opening the same file again
// with O_TRUNC.
func openTruncating(dirfd int, path string, flags int) (int, abi.Errno) {
	if flags&unix.O_TRUNC == 0 {
		return openBeneath(dirfd, path, flags, 0o666)
	}
	defer memory.LockTruncation()()
	if !memory.AnyFileMappings() {
		return openBeneath(dirfd, path, flags, 0o666)
	}
	hfd, errno := openBeneath(dirfd, path, flags&^unix.O_TRUNC, 0o666)
	if errno != abi.ESUCCESS {
		return hfd, errno
	}
	var st unix.Stat_t
	if err := unix.Fstat(hfd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return hfd, abi.ESUCCESS // O_TRUNC does nothing to other files
	}
	if err := memory.DetachBeyond(hfd, 0); err != nil {
		unix.Close(hfd)
		return -1, errnoOf(err)
	}
	again := flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_DIRECTORY) | unix.O_CLOEXEC
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", hfd), again, 0)
	unix.Close(hfd)
	if err != nil {
		return -1, errnoOf(err)
	}
	return fd, abi.ESUCCESS
}

func sysFileReaddir(t *thread, c *call) abi.Errno {
	p := t.proc
	d, errno := t.fd(c.args[0], abi.RightFileReaddir)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	if d.filetype != abi.FiletypeDirectory {
		return abi.ENOTDIR
	}
	buf, errno := p.bytes(c.args[1], c.args[2], memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(c.args[4], 8); errno != abi.ESUCCESS {
		return errno
	}
	n, errno := d.file.readdir(buf, abi.Dircookie(c.args[3]))
	if errno != abi.ESUCCESS {
		return errno
	}
	return p.putUint64(c.args[4], uint64(n))
}

func sysFileReadlink(t *thread, c *call) abi.Errno {
	p := t.proc
	d, path, errno := t.dirPath(c.args[0], c.args[1], c.args[2], abi.RightFileReadlink)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	buf, errno := p.bytes(c.args[3], c.args[4], memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(c.args[5], 8); errno != abi.ESUCCESS {
		return errno
	}
	// An O_PATH|O_NOFOLLOW descriptor of the last component refers to
	// the link itself.
	fd, errno := openBeneath(d.file.fd(), path, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errnoOf(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return abi.EINVAL
	}
	var target [maxPath]byte
	n, err := unix.Readlinkat(fd, "", target[:])
	if err != nil {
		return errnoOf(err)
	}
	// Like readlink(2), a buffer too small gets the start of the
	// contents.
	n = copy(buf, target[:n])
	return p.putUint64(c.args[5], uint64(n))
}

func sysFileRename(t *thread, c *call) abi.Errno {
	d1, path1, errno := t.dirPath(c.args[0], c.args[1], c.args[2], abi.RightFileRenameSource)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d1.file.release()
	d2, path2, errno := t.dirPath(c.args[3], c.args[4], c.args[5], abi.RightFileRenameTarget)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d2.file.release()
	src, errno := openParent(d1.file.fd(), path1)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer src.close()
	dst, errno := openParent(d2.file.fd(), path2)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer dst.close()
	if src.dot() || dst.dot() {
		return abi.EINVAL
	}
	if src.slash || dst.slash {
		// Trailing slashes: only a directory can be renamed.
		src.slash = true
		if errno := src.requireDir(); errno != abi.ESUCCESS {
			return errno
		}
	}
	return errnoOf(unix.Renameat(src.fd, src.name, dst.fd, dst.name))
}

// putFilestat writes a cloudabi_filestat_t to guest memory.
func (p *Process) putFilestat(addr uint64, st *unix.Stat_t, ft abi.Filetype) abi.Errno {
	buf, errno := p.bytes(addr, abi.SizeofFilestat, memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	var b [abi.SizeofFilestat]byte
	le := binary.LittleEndian
	le.PutUint64(b[abi.OffsetofFilestatStDev:], st.Dev)
	le.PutUint64(b[abi.OffsetofFilestatStIno:], st.Ino)
	b[abi.OffsetofFilestatStFiletype] = uint8(ft)
	nlink := st.Nlink
	if nlink > math.MaxUint32 {
		nlink = math.MaxUint32
	}
	le.PutUint32(b[abi.OffsetofFilestatStNlink:], uint32(nlink))
	le.PutUint64(b[abi.OffsetofFilestatStSize:], uint64(st.Size))
	le.PutUint64(b[abi.OffsetofFilestatStAtim:], timestamp(st.Atim))
	le.PutUint64(b[abi.OffsetofFilestatStMtim:], timestamp(st.Mtim))
	le.PutUint64(b[abi.OffsetofFilestatStCtim:], timestamp(st.Ctim))
	copy(buf, b[:])
	return abi.ESUCCESS
}

// timestamp converts a time to nanoseconds since 1970; times before 1970
// (which a timestamp cannot express) become 0.
func timestamp(ts unix.Timespec) uint64 {
	if ts.Sec < 0 {
		return 0
	}
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}

// filestatIn is the part of a cloudabi_filestat_t that file_stat_fput and
// file_stat_put read.
type filestatIn struct {
	size       uint64
	atim, mtim uint64
}

func (p *Process) getFilestat(addr uint64) (filestatIn, abi.Errno) {
	raw, errno := p.bytes(addr, abi.SizeofFilestat, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return filestatIn{}, errno
	}
	le := binary.LittleEndian
	return filestatIn{
		size: le.Uint64(raw[abi.OffsetofFilestatStSize:]),
		atim: le.Uint64(raw[abi.OffsetofFilestatStAtim:]),
		mtim: le.Uint64(raw[abi.OffsetofFilestatStMtim:]),
	}, abi.ESUCCESS
}

const timeFlags = abi.FilestatAtim | abi.FilestatAtimNow | abi.FilestatMtim | abi.FilestatMtimNow

// utimes converts the timestamps to set into utimensat's arguments; a
// *_NOW flag takes precedence over the value, as on FreeBSD.
func utimes(fs filestatIn, flags abi.Fsflags) []unix.Timespec {
	one := func(v uint64, set, now abi.Fsflags) unix.Timespec {
		switch {
		case flags&now != 0:
			return unix.Timespec{Nsec: unix.UTIME_NOW}
		case flags&set != 0:
			return unix.Timespec{Sec: int64(v / 1e9), Nsec: int64(v % 1e9)}
		}
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return []unix.Timespec{
		one(fs.atim, abi.FilestatAtim, abi.FilestatAtimNow),
		one(fs.mtim, abi.FilestatMtim, abi.FilestatMtimNow),
	}
}

func sysFileStatFget(t *thread, c *call) abi.Errno {
	d, errno := t.fd(c.args[0], abi.RightFileStatFget)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	var st unix.Stat_t
	if err := unix.Fstat(d.file.fd(), &st); err != nil {
		return errnoOf(err)
	}
	// The descriptor knows its type better than the inode does (shared
	// memory, datagram sockets).
	return t.proc.putFilestat(c.args[1], &st, d.filetype)
}

func sysFileStatFput(t *thread, c *call) abi.Errno {
	flags := abi.Fsflags(c.args[2])
	// The size and the times are set by separate calls, as on FreeBSD.
	var need abi.Rights
	switch {
	case flags == abi.FilestatSize:
		need = abi.RightFileStatFputSize
	case flags != 0 && flags&^timeFlags == 0:
		need = abi.RightFileStatFputTimes
	default:
		return abi.EINVAL
	}
	d, errno := t.fd(c.args[0], need)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	fs, errno := t.proc.getFilestat(c.args[1])
	if errno != abi.ESUCCESS {
		return errno
	}
	if flags == abi.FilestatSize {
		size, errno := filesize(fs.size)
		if errno != abi.ESUCCESS {
			return errno
		}
		return errnoOf(memory.Truncate(d.file.fd(), size))
	}
	return errnoOf(unix.UtimesNanoAt(d.file.fd(), "", utimes(fs, flags), unix.AT_EMPTY_PATH))
}

func sysFileStatGet(t *thread, c *call) abi.Errno {
	fdArg, follow, errno := lookupArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	d, path, errno := t.dirPath(fdArg, c.args[1], c.args[2], abi.RightFileStatGet)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	if errno := t.proc.checkWritable(c.args[3], abi.SizeofFilestat); errno != abi.ESUCCESS {
		return errno
	}
	fd, errno := openBeneath(d.file.fd(), path, unix.O_PATH|nofollow(follow), 0)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errnoOf(err)
	}
	return t.proc.putFilestat(c.args[3], &st, filetypeOfMode(st.Mode))
}

func sysFileStatPut(t *thread, c *call) abi.Errno {
	fdArg, follow, errno := lookupArg(c.args[0])
	if errno != abi.ESUCCESS {
		return errno
	}
	// There is no truncation by path: only the times can be set.
	flags := abi.Fsflags(c.args[4])
	if flags&^timeFlags != 0 {
		return abi.EINVAL
	}
	d, path, errno := t.dirPath(fdArg, c.args[1], c.args[2], abi.RightFileStatPutTimes)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	fs, errno := t.proc.getFilestat(c.args[3])
	if errno != abi.ESUCCESS {
		return errno
	}
	fd, errno := openBeneath(d.file.fd(), path, unix.O_PATH|nofollow(follow), 0)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer unix.Close(fd)
	return errnoOf(unix.UtimesNanoAt(fd, "", utimes(fs, flags), unix.AT_EMPTY_PATH))
}

func sysFileSymlink(t *thread, c *call) abi.Errno {
	// The contents are any string without NUL bytes; they are only
	// ever resolved beneath a directory, when the link is followed.
	target, errno := t.proc.path(c.args[0], c.args[1])
	if errno != abi.ESUCCESS {
		return errno
	}
	d, path, errno := t.dirPath(c.args[2], c.args[3], c.args[4], abi.RightFileSymlink)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	pd, errno := openParent(d.file.fd(), path)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer pd.close()
	if errno := linkTargetCheck(pd); errno != abi.ESUCCESS {
		return errno
	}
	return errnoOf(unix.Symlinkat(target, pd.fd, pd.name))
}

func sysFileUnlink(t *thread, c *call) abi.Errno {
	flags := abi.Ulflags(c.args[3])
	if flags&^abi.UnlinkRemovedir != 0 {
		return abi.EINVAL
	}
	d, path, errno := t.dirPath(c.args[0], c.args[1], c.args[2], abi.RightFileUnlink)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer d.file.release()
	pd, errno := openParent(d.file.fd(), path)
	if errno != abi.ESUCCESS {
		return errno
	}
	defer pd.close()
	if flags&abi.UnlinkRemovedir != 0 {
		switch pd.name {
		case ".":
			return abi.EINVAL
		case "..":
			return abi.ENOTEMPTY
		}
		if errno := pd.requireDir(); errno != abi.ESUCCESS {
			return errno
		}
		return errnoOf(unix.Unlinkat(pd.fd, pd.name, unix.AT_REMOVEDIR))
	}
	// Unlinking a directory is EPERM, as POSIX and FreeBSD have it
	// (Linux says EISDIR).
	if pd.dot() {
		return abi.EPERM
	}
	if pd.slash {
		if errno := pd.requireDir(); errno != abi.ESUCCESS {
			return errno
		}
		return abi.EPERM
	}
	err := unix.Unlinkat(pd.fd, pd.name, 0)
	if err == unix.EISDIR {
		return abi.EPERM
	}
	return errnoOf(err)
}
