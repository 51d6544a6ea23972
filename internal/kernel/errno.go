package kernel

import (
	"errors"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// maxLinuxErrno is the highest error number Linux defines (EHWPOISON).
const maxLinuxErrno = 133

// linuxErrno maps every Linux error number, 1 to maxLinuxErrno, to
// CloudABI's. Errors CloudABI shares map to themselves; Linux-only errors
// map to the CloudABI error nearest in meaning for a program; the numbers
// Linux leaves unused (41, 58) and errors a program can do nothing about
// map to EIO. TestLinuxErrnoTableIsComplete checks that no entry is left
// out.
var linuxErrno = [maxLinuxErrno + 1]abi.Errno{
	unix.EPERM:           abi.EPERM,
	unix.ENOENT:          abi.ENOENT,
	unix.ESRCH:           abi.ESRCH,
	unix.EINTR:           abi.EINTR,
	unix.EIO:             abi.EIO,
	unix.ENXIO:           abi.ENXIO,
	unix.E2BIG:           abi.E2BIG,
	unix.ENOEXEC:         abi.ENOEXEC,
	unix.EBADF:           abi.EBADF,
	unix.ECHILD:          abi.ECHILD,
	unix.EAGAIN:          abi.EAGAIN,
	unix.ENOMEM:          abi.ENOMEM,
	unix.EACCES:          abi.EACCES,
	unix.EFAULT:          abi.EFAULT,
	unix.ENOTBLK:         abi.EINVAL, // block device required
	unix.EBUSY:           abi.EBUSY,
	unix.EEXIST:          abi.EEXIST,
	unix.EXDEV:           abi.EXDEV,
	unix.ENODEV:          abi.ENODEV,
	unix.ENOTDIR:         abi.ENOTDIR,
	unix.EISDIR:          abi.EISDIR,
	unix.EINVAL:          abi.EINVAL,
	unix.ENFILE:          abi.ENFILE,
	unix.EMFILE:          abi.EMFILE,
	unix.ENOTTY:          abi.ENOTTY,
	unix.ETXTBSY:         abi.ETXTBSY,
	unix.EFBIG:           abi.EFBIG,
	unix.ENOSPC:          abi.ENOSPC,
	unix.ESPIPE:          abi.ESPIPE,
	unix.EROFS:           abi.EROFS,
	unix.EMLINK:          abi.EMLINK,
	unix.EPIPE:           abi.EPIPE,
	unix.EDOM:            abi.EDOM,
	unix.ERANGE:          abi.ERANGE,
	unix.EDEADLK:         abi.EDEADLK,
	unix.ENAMETOOLONG:    abi.ENAMETOOLONG,
	unix.ENOLCK:          abi.ENOLCK,
	unix.ENOSYS:          abi.ENOSYS,
	unix.ENOTEMPTY:       abi.ENOTEMPTY,
	unix.ELOOP:           abi.ELOOP,
	41:                   abi.EIO, // unused by Linux
	unix.ENOMSG:          abi.ENOMSG,
	unix.EIDRM:           abi.EIDRM,
	unix.ECHRNG:          abi.EINVAL, // channel number out of range
	unix.EL2NSYNC:        abi.EIO,
	unix.EL3HLT:          abi.EIO,
	unix.EL3RST:          abi.EIO,
	unix.ELNRNG:          abi.EINVAL, // link number out of range
	unix.EUNATCH:         abi.EIO,
	unix.ENOCSI:          abi.EIO,
	unix.EL2HLT:          abi.EIO,
	unix.EBADE:           abi.EINVAL, // invalid exchange
	unix.EBADR:           abi.EINVAL, // invalid request descriptor
	unix.EXFULL:          abi.ENOBUFS,
	unix.ENOANO:          abi.EIO,
	unix.EBADRQC:         abi.EINVAL, // invalid request code
	unix.EBADSLT:         abi.EINVAL, // invalid slot
	58:                   abi.EIO,    // unused by Linux
	unix.EBFONT:          abi.EINVAL, // bad font file format
	unix.ENOSTR:          abi.EINVAL, // not a STREAMS device
	unix.ENODATA:         abi.ENOMSG, // no data (no such extended attribute)
	unix.ETIME:           abi.ETIMEDOUT,
	unix.ENOSR:           abi.ENOBUFS,
	unix.ENONET:          abi.ENETUNREACH,
	unix.ENOPKG:          abi.ENOSYS, // the kernel lacks the feature
	unix.EREMOTE:         abi.EIO,
	unix.ENOLINK:         abi.ENOLINK,
	unix.EADV:            abi.EIO,
	unix.ESRMNT:          abi.EIO,
	unix.ECOMM:           abi.EIO,
	unix.EPROTO:          abi.EPROTO,
	unix.EMULTIHOP:       abi.EMULTIHOP,
	unix.EDOTDOT:         abi.EIO,
	unix.EBADMSG:         abi.EBADMSG,
	unix.EOVERFLOW:       abi.EOVERFLOW,
	unix.ENOTUNIQ:        abi.EINVAL,
	unix.EBADFD:          abi.EBADF,
	unix.EREMCHG:         abi.EIO,
	unix.ELIBACC:         abi.ENOEXEC,
	unix.ELIBBAD:         abi.ENOEXEC,
	unix.ELIBSCN:         abi.ENOEXEC,
	unix.ELIBMAX:         abi.ENOEXEC,
	unix.ELIBEXEC:        abi.ENOEXEC,
	unix.EILSEQ:          abi.EILSEQ,
	unix.ERESTART:        abi.EINTR,
	unix.ESTRPIPE:        abi.EPIPE,
	unix.EUSERS:          abi.EPERM,
	unix.ENOTSOCK:        abi.ENOTSOCK,
	unix.EDESTADDRREQ:    abi.EDESTADDRREQ,
	unix.EMSGSIZE:        abi.EMSGSIZE,
	unix.EPROTOTYPE:      abi.EPROTOTYPE,
	unix.ENOPROTOOPT:     abi.ENOPROTOOPT,
	unix.EPROTONOSUPPORT: abi.EPROTONOSUPPORT,
	unix.ESOCKTNOSUPPORT: abi.EPROTONOSUPPORT,
	unix.EOPNOTSUPP:      abi.ENOTSUP,
	unix.EPFNOSUPPORT:    abi.EAFNOSUPPORT,
	unix.EAFNOSUPPORT:    abi.EAFNOSUPPORT,
	unix.EADDRINUSE:      abi.EADDRINUSE,
	unix.EADDRNOTAVAIL:   abi.EADDRNOTAVAIL,
	unix.ENETDOWN:        abi.ENETDOWN,
	unix.ENETUNREACH:     abi.ENETUNREACH,
	unix.ENETRESET:       abi.ENETRESET,
	unix.ECONNABORTED:    abi.ECONNABORTED,
	unix.ECONNRESET:      abi.ECONNRESET,
	unix.ENOBUFS:         abi.ENOBUFS,
	unix.EISCONN:         abi.EISCONN,
	unix.ENOTCONN:        abi.ENOTCONN,
	unix.ESHUTDOWN:       abi.EPIPE, // send after shutdown, as on BSD
	unix.ETOOMANYREFS:    abi.EMFILE,
	unix.ETIMEDOUT:       abi.ETIMEDOUT,
	unix.ECONNREFUSED:    abi.ECONNREFUSED,
	unix.EHOSTDOWN:       abi.EHOSTUNREACH,
	unix.EHOSTUNREACH:    abi.EHOSTUNREACH,
	unix.EALREADY:        abi.EALREADY,
	unix.EINPROGRESS:     abi.EINPROGRESS,
	unix.ESTALE:          abi.ESTALE,
	unix.EUCLEAN:         abi.EIO, // file system corrupted
	unix.ENOTNAM:         abi.EINVAL,
	unix.ENAVAIL:         abi.EIO,
	unix.EISNAM:          abi.EINVAL,
	unix.EREMOTEIO:       abi.EIO,
	unix.EDQUOT:          abi.EDQUOT,
	unix.ENOMEDIUM:       abi.ENXIO,
	unix.EMEDIUMTYPE:     abi.ENXIO,
	unix.ECANCELED:       abi.ECANCELED,
	unix.ENOKEY:          abi.EACCES,
	unix.EKEYEXPIRED:     abi.EACCES,
	unix.EKEYREVOKED:     abi.EACCES,
	unix.EKEYREJECTED:    abi.EACCES,
	unix.EOWNERDEAD:      abi.EOWNERDEAD,
	unix.ENOTRECOVERABLE: abi.ENOTRECOVERABLE,
	unix.ERFKILL:         abi.ENETDOWN,
	unix.EHWPOISON:       abi.EIO,
}

// linuxToErrno converts one Linux error number; numbers outside the table
// (none exist today) are EIO rather than a misleading specific error.
func linuxToErrno(en unix.Errno) abi.Errno {
	if en > 0 && int(en) < len(linuxErrno) && linuxErrno[en] != 0 {
		return linuxErrno[en]
	}
	return abi.EIO
}

// errnoOf converts an error from a host operation to a CloudABI errno.
func errnoOf(err error) abi.Errno {
	if err == nil {
		return abi.ESUCCESS
	}
	var en unix.Errno
	if errors.As(err, &en) {
		return linuxToErrno(en)
	}
	return abi.EIO
}
