package kernel

import (
	"encoding/binary"
	"math"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// Reading directories.
//
// A cookie is the position Linux itself reports for a directory entry
// (getdents64's d_off, the value telldir returns): seeking a directory
// to it with lseek resumes reading after that entry. File systems keep
// these positions valid while entries are added and removed (ext4 and
// others use name hashes, tmpfs a cursor), which indexes into a snapshot
// of the directory would not be. Cookie 0 is the start of the directory.
//
// Each call seeks a private open file description of the directory (not
// the descriptor the guest holds, which other descriptors may share) and
// reads entries from there, so reading is positioned only by the cookie.

// readdir fills buf with directory entries from cookie on and returns the
// number of bytes stored. The last entry is cut short if it does not fit;
// a result shorter than buf means the end of the directory was reached.
func (h *hostFile) readdir(buf []byte, cookie abi.Dircookie) (int, abi.Errno) {
	if uint64(cookie) > math.MaxInt64 {
		return 0, abi.EINVAL
	}
	h.dirMu.Lock()
	defer h.dirMu.Unlock()
	if h.dir < 0 {
		fd, err := unix.Openat(h.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, errnoOf(err)
		}
		h.dir = fd
	}
	if _, err := unix.Seek(h.dir, int64(cookie), unix.SEEK_SET); err != nil {
		return 0, errnoOf(err)
	}
	var raw [32 << 10]byte
	used := 0
	le := binary.LittleEndian
	for used < len(buf) {
		n, err := unix.Getdents(h.dir, raw[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, errnoOf(err)
		}
		if n == 0 {
			break
		}
		// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16,
		// d_type u8, d_name (NUL-terminated).
		for off := 0; off < n && used < len(buf); {
			rec := raw[off:n]
			if len(rec) < 19 {
				return 0, abi.EIO
			}
			reclen := int(le.Uint16(rec[16:]))
			if reclen < 19 || reclen > len(rec) {
				return 0, abi.EIO
			}
			ino := le.Uint64(rec[0:])
			next := le.Uint64(rec[8:])
			dtype := rec[18]
			name := rec[19:reclen]
			for i, ch := range name {
				if ch == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen

			ft := direntType(dtype)
			if dtype == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if unix.Fstatat(h.dir, string(name), &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
					ft = filetypeOfMode(st.Mode)
				}
			}
			var ent [abi.SizeofDirent]byte
			le.PutUint64(ent[abi.OffsetofDirentDNext:], next)
			le.PutUint64(ent[abi.OffsetofDirentDIno:], ino)
			le.PutUint32(ent[abi.OffsetofDirentDNamlen:], uint32(len(name)))
			ent[abi.OffsetofDirentDType] = uint8(ft)
			used += copy(buf[used:], ent[:])
			used += copy(buf[used:], name)
		}
	}
	return used, abi.ESUCCESS
}

// direntType converts a Linux d_type. FIFOs and sockets are stream
// sockets, as on FreeBSD (a socket's kind cannot be told from its inode).
func direntType(t uint8) abi.Filetype {
	switch t {
	case unix.DT_BLK:
		return abi.FiletypeBlockDevice
	case unix.DT_CHR:
		return abi.FiletypeCharacterDevice
	case unix.DT_DIR:
		return abi.FiletypeDirectory
	case unix.DT_FIFO, unix.DT_SOCK:
		return abi.FiletypeSocketStream
	case unix.DT_LNK:
		return abi.FiletypeSymbolicLink
	case unix.DT_REG:
		return abi.FiletypeRegularFile
	}
	return abi.FiletypeUnknown
}
