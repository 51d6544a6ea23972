package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Access says which rights the program should get on an opened grant.
type Access int

const (
	// AccessInherited is for a launcher descriptor (!fd): its rights are
	// to be derived from the kind of object it refers to and the mode it
	// was opened with.
	AccessInherited Access = iota
	// AccessReadOnlyFile is for a file opened read-only (!file on anything
	// but a directory, without a mode or with mode read, and !executable).
	AccessReadOnlyFile
	// AccessDirectory is for a directory (!file on a directory, without a
	// mode or with mode readwrite): full directory rights, so that files
	// beneath it can be opened, created, changed and removed.
	AccessDirectory
	// AccessReadOnlyDirectory is for a directory granted with mode read:
	// files beneath it can be looked up, listed and opened for reading,
	// and nothing can be created, written, renamed or removed.
	AccessReadOnlyDirectory
	// AccessWriteOnlyFile is for a file opened with mode write (O_WRONLY).
	AccessWriteOnlyFile
	// AccessReadWriteFile is for a file opened with mode readwrite (O_RDWR).
	AccessReadWriteFile
	// AccessAppendFile is for a file opened with mode append
	// (O_WRONLY|O_APPEND): the program may add to its end, and may not
	// seek, truncate, change its flags or write anywhere else.
	AccessAppendFile
	// AccessListener is for !listen: OpenFile.Listener is a listening
	// socket, which the runtime serves to the program through a listener
	// handle (OpenFile.File is nil).
	AccessListener
	// AccessSocket is for !connect: a connected socket, with every right
	// of a socket.
	AccessSocket
)

func (a Access) String() string {
	switch a {
	case AccessInherited:
		return "inherited"
	case AccessReadOnlyFile:
		return "read-only file"
	case AccessDirectory:
		return "directory"
	case AccessReadOnlyDirectory:
		return "read-only directory"
	case AccessWriteOnlyFile:
		return "write-only file"
	case AccessReadWriteFile:
		return "read-write file"
	case AccessAppendFile:
		return "append-only file"
	case AccessListener:
		return "listener"
	case AccessSocket:
		return "socket"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// OpenFile is an opened grant.
type OpenFile struct {
	// File is a descriptor of the launcher's own (close-on-exec), which
	// the caller owns and must close. It is nil for a !listen grant.
	File *os.File
	// Listener is the bound, listening socket of a !listen grant
	// (Access is AccessListener), which the caller owns and must close.
	Listener net.Listener
	Access   Access
	Grant    Grant
}

// Close closes the file or listener.
func (f OpenFile) Close() error {
	if f.Listener != nil {
		return f.Listener.Close()
	}
	if f.File != nil {
		return f.File.Close()
	}
	return nil
}

// Open opens every grant, in order, so that result[i] belongs to guest
// descriptor i.
//
// Launcher descriptors (!fd) are duplicated with F_DUPFD_CLOEXEC, so every
// OpenFile.File can be closed independently of the original; a descriptor
// that is not open is an error. Paths (!file) are opened close-on-exec: a
// directory with O_RDONLY|O_DIRECTORY (an ordinary descriptor, usable with
// openat), anything else with O_NOCTTY and the access mode of its mode
// attribute: O_RDONLY (no mode, or read), O_WRONLY (write), O_RDWR
// (readwrite) or O_WRONLY|O_APPEND (append), plus O_CREAT (create, with
// permissions 0666 less the umask), O_EXCL (exclusive) and O_TRUNC
// (truncate). A FIFO is opened without blocking. A directory cannot be
// opened with mode write or append, nor with create or truncate. exe is the
// program's already open executable, duplicated for !executable; it may be
// nil if the configuration does not use !executable.
//
// !listen binds a socket to the address and listens on it (for a UNIX
// socket, closing the listener removes the socket file); !connect connects
// a socket within ConnectTimeout and passes it in blocking mode.
//
// On failure Open closes whatever it opened and returns an *Error located at
// the grant, such as "config.yaml:4:9: cannot open /nonexistent: no such
// file or directory" or "config.yaml:2:9: cannot listen on
// tcp:127.0.0.1:80: address already in use".
func (c *Config) Open(exe *os.File) ([]OpenFile, error) {
	files := make([]OpenFile, 0, len(c.Grants))
	for _, g := range c.Grants {
		var of OpenFile
		var err error
		switch g.Kind {
		case GrantListen:
			of.Listener, err = listen(g)
			of.Access = AccessListener
		case GrantConnect:
			of.File, err = connect(g)
			of.Access = AccessSocket
		default:
			of.File, of.Access, err = openGrant(g, exe)
		}
		if err != nil {
			for _, of := range files {
				of.Close()
			}
			return nil, err
		}
		of.Grant = g
		files = append(files, of)
	}
	return files, nil
}

// ConnectTimeout bounds how long Open waits for a !connect connection.
const ConnectTimeout = 10 * time.Second

func listen(g Grant) (net.Listener, error) {
	ln, err := net.Listen(g.Network, g.Addr)
	if err != nil {
		return nil, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot listen on %s: %s", g.Address, netErrorText(err)), Err: err}
	}
	return ln, nil
}

func connect(g Grant) (*os.File, error) {
	fail := func(err error) (*os.File, error) {
		return nil, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot connect to %s: %s", g.Address, netErrorText(err)), Err: err}
	}
	conn, err := net.DialTimeout(g.Network, g.Addr, ConnectTimeout)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	f, err := conn.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		return fail(err)
	}
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return fail(err)
	}
	return f, nil
}

// netErrorText describes why a listen or connect failed, without repeating
// the address: "address already in use", "connection refused".
func netErrorText(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}

// dupFD duplicates fd close-on-exec, above the standard descriptors.
func dupFD(fd uintptr) (int, error) {
	for {
		nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
		if err != unix.EINTR {
			return nfd, err
		}
	}
}

func openGrant(g Grant, exe *os.File) (*os.File, Access, error) {
	switch g.Kind {
	case GrantHostFD:
		nfd, err := dupFD(uintptr(g.HostFD))
		if err == unix.EBADF {
			return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("descriptor %d is not open in the launcher", g.HostFD), Err: err}
		}
		if err != nil {
			return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot duplicate descriptor %d: %v", g.HostFD, err), Err: err}
		}
		return os.NewFile(uintptr(nfd), fmt.Sprintf("fd %d", g.HostFD)), AccessInherited, nil

	case GrantFile:
		return openPath(g)

	case GrantExecutable:
		if exe == nil {
			return nil, 0, &Error{Pos: g.Pos, Msg: "!executable is used, but no executable is available"}
		}
		rc, err := exe.SyscallConn()
		if err != nil {
			return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot duplicate the executable: %v", err), Err: err}
		}
		nfd := -1
		var derr error
		if err := rc.Control(func(fd uintptr) { nfd, derr = dupFD(fd) }); err != nil {
			derr = err
		}
		if derr != nil {
			return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot duplicate the executable: %v", derr), Err: derr}
		}
		return os.NewFile(uintptr(nfd), exe.Name()), AccessReadOnlyFile, nil
	}
	return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("unknown grant kind %v", g.Kind)}
}

func openPath(g Grant) (*os.File, Access, error) {
	fail := func(err error) (*os.File, Access, error) {
		return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot open %s: %v", g.Path, err), Err: err}
	}
	var st unix.Stat_t
	err := statRetry(g.Path, &st)
	switch {
	case err == unix.ENOENT && g.Create:
		// Created below.
	case err != nil:
		return fail(err)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR && !g.Exclusive:
		access, err := directoryAccess(g)
		if err != nil {
			return nil, 0, err
		}
		fd, err := openRetry(g.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail(err)
		}
		return os.NewFile(uintptr(fd), g.Path), access, nil
	}

	flags := unix.O_NOCTTY | unix.O_CLOEXEC | unix.O_NONBLOCK
	access := AccessReadOnlyFile
	switch g.Mode {
	case ModeDefault, ModeRead:
		flags |= unix.O_RDONLY
	case ModeWrite:
		flags |= unix.O_WRONLY
		access = AccessWriteOnlyFile
	case ModeReadWrite:
		flags |= unix.O_RDWR
		access = AccessReadWriteFile
	case ModeAppend:
		flags |= unix.O_WRONLY | unix.O_APPEND
		access = AccessAppendFile
	default:
		return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("unknown !file mode %v", g.Mode)}
	}
	if g.Create {
		flags |= unix.O_CREAT
	}
	if g.Exclusive {
		flags |= unix.O_EXCL
	}
	if g.Truncate {
		flags |= unix.O_TRUNC
	}
	// O_NONBLOCK keeps a FIFO without a writer (or reader) from hanging
	// the launcher; it is cleared again right away.
	fd, err := openRetry(g.Path, flags, 0o666)
	if err == unix.ENXIO {
		return nil, 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot open %s: %v (a FIFO that no process has open for reading)", g.Path, err), Err: err}
	}
	if err != nil {
		return fail(err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK)
	}
	if err == nil {
		// The path may have been replaced by a directory since the stat.
		err = unix.Fstat(fd, &st)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			access, err = directoryAccess(g)
			if err != nil {
				unix.Close(fd)
				return nil, 0, err
			}
		}
	}
	if err != nil {
		unix.Close(fd)
		return fail(err)
	}
	return os.NewFile(uintptr(fd), g.Path), access, nil
}

// directoryAccess returns the access of a grant that turned out to be a
// directory, or the error if its attributes only apply to files.
func directoryAccess(g Grant) (Access, error) {
	switch {
	case g.Mode == ModeWrite || g.Mode == ModeAppend:
		return 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot open %s with mode %v: it is a directory (a directory takes mode read or readwrite)", g.Path, g.Mode), Err: unix.EISDIR}
	case g.Create || g.Truncate:
		return 0, &Error{Pos: g.Pos, Msg: fmt.Sprintf("cannot open %s: it is a directory (create and truncate apply to files)", g.Path), Err: unix.EISDIR}
	case g.Mode == ModeRead:
		return AccessReadOnlyDirectory, nil
	}
	return AccessDirectory, nil
}

func statRetry(path string, st *unix.Stat_t) error {
	for {
		if err := unix.Stat(path, st); err != unix.EINTR {
			return err
		}
	}
}

func openRetry(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
