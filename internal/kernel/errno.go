package kernel

import (
	"errors"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// linuxErrno maps Linux error numbers to CloudABI's. Linux has errors
// CloudABI lacks; those map to the nearest meaning, and anything unknown to
// EIO rather than to a misleading specific error.
var linuxErrno = map[unix.Errno]abi.Errno{
	unix.E2BIG: abi.E2BIG, unix.EACCES: abi.EACCES, unix.EADDRINUSE: abi.EADDRINUSE,
	unix.EADDRNOTAVAIL: abi.EADDRNOTAVAIL, unix.EAFNOSUPPORT: abi.EAFNOSUPPORT,
	unix.EAGAIN: abi.EAGAIN, unix.EALREADY: abi.EALREADY, unix.EBADF: abi.EBADF,
	unix.EBADMSG: abi.EBADMSG, unix.EBUSY: abi.EBUSY, unix.ECANCELED: abi.ECANCELED,
	unix.ECHILD: abi.ECHILD, unix.ECONNABORTED: abi.ECONNABORTED,
	unix.ECONNREFUSED: abi.ECONNREFUSED, unix.ECONNRESET: abi.ECONNRESET,
	unix.EDEADLK: abi.EDEADLK, unix.EDESTADDRREQ: abi.EDESTADDRREQ, unix.EDOM: abi.EDOM,
	unix.EDQUOT: abi.EDQUOT, unix.EEXIST: abi.EEXIST, unix.EFAULT: abi.EFAULT,
	unix.EFBIG: abi.EFBIG, unix.EHOSTUNREACH: abi.EHOSTUNREACH, unix.EIDRM: abi.EIDRM,
	unix.EILSEQ: abi.EILSEQ, unix.EINPROGRESS: abi.EINPROGRESS, unix.EINTR: abi.EINTR,
	unix.EINVAL: abi.EINVAL, unix.EIO: abi.EIO, unix.EISCONN: abi.EISCONN,
	unix.EISDIR: abi.EISDIR, unix.ELOOP: abi.ELOOP, unix.EMFILE: abi.EMFILE,
	unix.EMLINK: abi.EMLINK, unix.EMSGSIZE: abi.EMSGSIZE, unix.EMULTIHOP: abi.EMULTIHOP,
	unix.ENAMETOOLONG: abi.ENAMETOOLONG, unix.ENETDOWN: abi.ENETDOWN,
	unix.ENETRESET: abi.ENETRESET, unix.ENETUNREACH: abi.ENETUNREACH,
	unix.ENFILE: abi.ENFILE, unix.ENOBUFS: abi.ENOBUFS, unix.ENODEV: abi.ENODEV,
	unix.ENOENT: abi.ENOENT, unix.ENOEXEC: abi.ENOEXEC, unix.ENOLCK: abi.ENOLCK,
	unix.ENOLINK: abi.ENOLINK, unix.ENOMEM: abi.ENOMEM, unix.ENOMSG: abi.ENOMSG,
	unix.ENOPROTOOPT: abi.ENOPROTOOPT, unix.ENOSPC: abi.ENOSPC, unix.ENOSYS: abi.ENOSYS,
	unix.ENOTCONN: abi.ENOTCONN, unix.ENOTDIR: abi.ENOTDIR, unix.ENOTEMPTY: abi.ENOTEMPTY,
	unix.ENOTRECOVERABLE: abi.ENOTRECOVERABLE, unix.ENOTSOCK: abi.ENOTSOCK,
	unix.EOPNOTSUPP: abi.ENOTSUP, unix.ENOTTY: abi.ENOTTY, unix.ENXIO: abi.ENXIO,
	unix.EOVERFLOW: abi.EOVERFLOW, unix.EOWNERDEAD: abi.EOWNERDEAD, unix.EPERM: abi.EPERM,
	unix.EPIPE: abi.EPIPE, unix.EPROTO: abi.EPROTO, unix.EPROTONOSUPPORT: abi.EPROTONOSUPPORT,
	unix.EPROTOTYPE: abi.EPROTOTYPE, unix.ERANGE: abi.ERANGE, unix.EROFS: abi.EROFS,
	unix.ESPIPE: abi.ESPIPE, unix.ESRCH: abi.ESRCH, unix.ESTALE: abi.ESTALE,
	unix.ETIMEDOUT: abi.ETIMEDOUT, unix.ETXTBSY: abi.ETXTBSY, unix.EXDEV: abi.EXDEV,
	// Linux-only errors with a CloudABI counterpart in meaning.
	unix.ENOTBLK: abi.EINVAL, unix.ENOSR: abi.ENOBUFS, unix.ENOSTR: abi.EINVAL,
	unix.ETIME: abi.ETIMEDOUT, unix.ENODATA: abi.ENOMSG, unix.ECOMM: abi.EIO,
	unix.ENOTUNIQ: abi.EINVAL, unix.ENOMEDIUM: abi.ENXIO, unix.EMEDIUMTYPE: abi.ENXIO,
	unix.EKEYEXPIRED: abi.EACCES, unix.EKEYREJECTED: abi.EACCES, unix.EKEYREVOKED: abi.EACCES,
	unix.ERFKILL: abi.ENETDOWN, unix.EHWPOISON: abi.EIO, unix.EREMOTEIO: abi.EIO,
	unix.EUCLEAN: abi.EIO, unix.ESHUTDOWN: abi.EPIPE, unix.ETOOMANYREFS: abi.EMFILE,
	unix.EHOSTDOWN: abi.EHOSTUNREACH, unix.EUSERS: abi.EPERM, unix.ESTRPIPE: abi.EPIPE,
}

// errnoOf converts an error from a host operation to a CloudABI errno.
func errnoOf(err error) abi.Errno {
	if err == nil {
		return abi.ESUCCESS
	}
	var en unix.Errno
	if errors.As(err, &en) {
		if e, ok := linuxErrno[en]; ok {
			return e
		}
	}
	return abi.EIO
}
