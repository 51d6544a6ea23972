package kernel

import (
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// TestLinuxErrnoTableIsComplete checks that every Linux error number has a
// deliberate CloudABI counterpart.
func TestLinuxErrnoTableIsComplete(t *testing.T) {
	for en := unix.Errno(1); en <= maxLinuxErrno; en++ {
		e := linuxErrno[en]
		if e == abi.ESUCCESS {
			t.Errorf("Linux errno %d (%s, %q) has no CloudABI counterpart", int(en), unix.ErrnoName(en), en.Error())
		}
		if e > abi.ENOTCAPABLE {
			t.Errorf("Linux errno %d (%s) maps to %d, which CloudABI does not define", int(en), unix.ErrnoName(en), e)
		}
	}
	if unix.EHWPOISON != maxLinuxErrno {
		t.Errorf("EHWPOISON is %d, the table ends at %d", int(unix.EHWPOISON), maxLinuxErrno)
	}
}

func TestErrnoOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want abi.Errno
	}{
		{nil, abi.ESUCCESS},
		{unix.ENOENT, abi.ENOENT},
		{unix.EOPNOTSUPP, abi.ENOTSUP},
		{unix.EWOULDBLOCK, abi.EAGAIN},
		{unix.EDEADLOCK, abi.EDEADLK},
		{unix.ENODATA, abi.ENOMSG},
		{unix.Errno(200), abi.EIO},
		{unix.Errno(41), abi.EIO},
	} {
		if got := errnoOf(tc.err); got != tc.want {
			t.Errorf("errnoOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	// Errors that share a name map to themselves.
	same := map[unix.Errno]abi.Errno{
		unix.EACCES: abi.EACCES, unix.EEXIST: abi.EEXIST, unix.EISDIR: abi.EISDIR,
		unix.ENOTDIR: abi.ENOTDIR, unix.ENOTEMPTY: abi.ENOTEMPTY, unix.ELOOP: abi.ELOOP,
		unix.ENAMETOOLONG: abi.ENAMETOOLONG, unix.EXDEV: abi.EXDEV, unix.EBADF: abi.EBADF,
		unix.EINVAL: abi.EINVAL, unix.ESPIPE: abi.ESPIPE, unix.EPIPE: abi.EPIPE,
	}
	for en, want := range same {
		if got := errnoOf(en); got != want {
			t.Errorf("errnoOf(%s) = %v, want %v", unix.ErrnoName(en), got, want)
		}
	}
}
