package kernel

import (
	"strings"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// Path resolution.
//
// Every path a program passes is resolved beneath a directory descriptor,
// never outside it: lookups use openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_MAGICLINKS on the directory's host fd, so absolute paths, ".."
// above the directory and symbolic links that lead out of it fail
// (ENOTCAPABLE), while relative symbolic links inside the tree work.
// Operations that have no openat2 form (mkdirat, unlinkat, renameat,
// linkat, symlinkat) first open the parent directory of the path that way
// and then apply the *at call to the last component alone, a plain name
// that the kernel looks up in that directory without following it.

// maxPath bounds the length of a path, as Linux's PATH_MAX (4096 bytes
// including the terminating NUL) does.
const maxPath = 4096

// resolveFlags are the openat2 resolution flags of every lookup.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// path copies a path out of guest memory (see checkPath).
func (p *Process) path(addr, n uint64) (string, abi.Errno) {
	if n >= maxPath {
		return "", abi.ENAMETOOLONG
	}
	b, errno := p.bytes(addr, n, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return "", errno
	}
	return checkPath(b)
}

// checkPath validates a path and copies it (the guest may change its
// buffer meanwhile). As on FreeBSD, a path as long as PATH_MAX is
// ENAMETOOLONG and a NUL byte in it is EINVAL.
func checkPath(b []byte) (string, abi.Errno) {
	if len(b) >= maxPath {
		return "", abi.ENAMETOOLONG
	}
	s := string(b)
	if strings.IndexByte(s, 0) >= 0 {
		return "", abi.EINVAL
	}
	return s, abi.ESUCCESS
}

// openBeneath opens path beneath the directory dirfd with openat2. A path
// that would leave the directory is ENOTCAPABLE.
func openBeneath(dirfd int, path string, flags int, mode uint32) (int, abi.Errno) {
	if path == "" {
		return -1, abi.ENOENT
	}
	if path[0] == '/' {
		return -1, abi.ENOTCAPABLE
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveFlags}
	if flags&unix.O_CREAT != 0 {
		how.Mode = uint64(mode)
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(dirfd, path, &how)
		switch {
		case err == nil:
			return fd, abi.ESUCCESS
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && tries < 64:
			// RESOLVE_BENEATH refuses ".." while a rename is in
			// progress anywhere on the system; try again.
			continue
		case err == unix.EXDEV:
			// Only the resolution restrictions make openat2 fail
			// with EXDEV: the path leads out of the directory.
			return -1, abi.ENOTCAPABLE
		}
		return -1, errnoOf(err)
	}
}

// parentDir is the directory that holds the last component of a path,
// opened beneath a directory descriptor.
type parentDir struct {
	fd   int    // O_PATH descriptor of the directory; close with close()
	name string // the last component: no slashes, not empty
	// slash is set when the path ended in slashes: the last component
	// must be a directory.
	slash bool
}

func (pd parentDir) close() {
	if pd.fd >= 0 {
		unix.Close(pd.fd)
	}
}

// dot reports whether the last component is "." or "..", which name a
// directory by a path rather than an entry of its parent.
func (pd parentDir) dot() bool { return pd.name == "." || pd.name == ".." }

// openParent opens, beneath dirfd, the directory that contains the last
// component of path. When that component is "." or "..", the whole path
// must still stay beneath dirfd (else ENOTCAPABLE), and callers answer as
// FreeBSD does for such names.
func openParent(dirfd int, path string) (parentDir, abi.Errno) {
	if path == "" {
		return parentDir{fd: -1}, abi.ENOENT
	}
	if path[0] == '/' {
		return parentDir{fd: -1}, abi.ENOTCAPABLE
	}
	trimmed := strings.TrimRight(path, "/")
	pd := parentDir{fd: -1, slash: len(trimmed) != len(path)}
	dir := "."
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		dir, pd.name = trimmed[:i+1], trimmed[i+1:]
	} else {
		pd.name = trimmed
	}
	fd, errno := openBeneath(dirfd, dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if errno != abi.ESUCCESS {
		return pd, errno
	}
	pd.fd = fd
	if pd.name == ".." {
		// The parent of the parent must be beneath dirfd too.
		check, errno := openBeneath(dirfd, trimmed, unix.O_PATH|unix.O_DIRECTORY, 0)
		if errno != abi.ESUCCESS {
			pd.close()
			pd.fd = -1
			return pd, errno
		}
		unix.Close(check)
	}
	return pd, abi.ESUCCESS
}

// lstat looks up the last component in its parent without following it.
func (pd parentDir) lstat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(pd.fd, pd.name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// requireDir answers for a path that ended in a slash: the entry must be a
// directory (a symbolic link is not followed to one). It returns ESUCCESS
// if the path had no trailing slash or names a directory, ENOENT if the
// entry does not exist and ENOTDIR otherwise.
func (pd parentDir) requireDir() abi.Errno {
	if !pd.slash {
		return abi.ESUCCESS
	}
	st, err := pd.lstat()
	if err != nil {
		return errnoOf(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return abi.ENOTDIR
	}
	return abi.ESUCCESS
}
