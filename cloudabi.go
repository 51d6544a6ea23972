// Package cloudabi runs unmodified CloudABI programs on Linux.
//
// CloudABI is POSIX with capability-based security: a program can only use
// the file descriptors it was given, each carrying rights that can only
// shrink. This package loads a CloudABI executable (a static PIE ELF file
// for x86-64), starts it in a sandbox process whose only way out is a
// supervisor in this process, and implements the ABI's system calls there.
//
// Most users want Run, which does what the cloudabi-run command does: it
// reads a YAML configuration naming the program's resources and runs the
// program with them. Open and Program.Start give finer control, for example
// to a server that runs many programs at once; nothing is global, so any
// number of programs can run in one process.
//
// A program that links this package can host sandboxes: the sandbox
// process is this same executable, started again in a mode that never
// reaches the Go runtime.
package cloudabi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/config"
	"github.com/cloudabi-go/cloudabi/internal/kernel"
	"github.com/cloudabi-go/cloudabi/internal/loader"
	"github.com/cloudabi-go/cloudabi/internal/sandbox"
)

// maxExecutableSize bounds the size of an executable file read into memory.
const maxExecutableSize = 1 << 30

// Program is a checked CloudABI executable, ready to be started any number
// of times.
type Program struct {
	path string
	file *os.File
	exe  *loader.Executable
}

// ProgramError reports a file that cannot be run.
type ProgramError struct {
	Path string
	// NotExecutable is true when the file was read but is not a CloudABI
	// executable for this machine; false when it could not be read.
	NotExecutable bool
	Err           error
}

func (e *ProgramError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ProgramError) Unwrap() error { return e.Err }

// Open reads and checks the executable at path.
func Open(path string) (*Program, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ProgramError{Path: path, Err: unwrapPath(err)}
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	} else if err == nil && fi.Size() > maxExecutableSize {
		err = fmt.Errorf("file of %d bytes is too large to be an executable", fi.Size())
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(f, maxExecutableSize))
	}
	if err != nil {
		f.Close()
		return nil, &ProgramError{Path: path, Err: unwrapPath(err)}
	}
	exe, err := loader.Parse(data, loader.MachineX86_64)
	if err != nil {
		f.Close()
		return nil, &ProgramError{Path: path, NotExecutable: true, Err: err}
	}
	return &Program{path: path, file: f, exe: exe}, nil
}

// unwrapPath drops the operation and path from an *os.PathError, which
// ProgramError already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Close releases the program's file. Running processes are not affected.
func (p *Program) Close() error { return p.file.Close() }

// File is the open executable, for configurations that pass the program
// an fd to itself (!executable).
func (p *Program) File() *os.File { return p.file }

// FD is a file descriptor handed to a new process. Its number in the
// process is its index in the slice given to Start.
type FD struct {
	// File is the host file. Start takes ownership of it.
	File *os.File
	// Rights and Inheriting limit the descriptor's rights (see
	// abi.Rights). When both are zero the descriptor gets every right
	// that applies to its file type.
	Rights, Inheriting abi.Rights
}

// Options tunes a process. The zero value gives sane defaults.
type Options struct {
	// MemoryLimit bounds the memory the program may map, in bytes
	// (0: no limit beyond the address space).
	MemoryLimit uint64
	// AddressSpace is the size of the program's address space in bytes
	// (default 8 GiB; it is reserved, not allocated).
	AddressSpace uint64
	// StackSize is the size of the main thread's stack (default 8 MiB).
	StackSize uint64
	// MaxProcesses bounds how many processes the program and the
	// processes it forks may have at once (default 64); proc_fork fails
	// with EAGAIN beyond it.
	MaxProcesses int
	// MaxThreads bounds the threads of each process, the main thread
	// included (default and maximum 4096); thread_create fails with
	// EAGAIN beyond it.
	MaxThreads int
	// MaxFDs bounds the descriptors of each process (default 1024, at
	// most 65,536); calls that would create more fail with EMFILE.
	// Every descriptor of a program is one of the host process's, so this
	// keeps one program from using them all up.
	MaxFDs int
	// CPUTime bounds the CPU time of each process, all its threads
	// together, in whole seconds (rounded up; 0: no limit). A process
	// over it is stopped with SIGXCPU (ExitStatus.CPUTimeExceeded).
	CPUTime time.Duration
	// Listening, if not nil, is called by Run once it has bound the
	// configuration's !listen sockets, before the program starts, with
	// their addresses in the order the grants appear in the
	// configuration (config.Config.Grants): how a caller learns the port
	// of a "tcp:127.0.0.1:0" listener. Start ignores it.
	Listening func(addrs []net.Addr)
	// Confined, if not nil, is called once the program's first process
	// exists, before any of its system calls is served, with what
	// Isolation returns. The first program of a supervisor decides the
	// isolation as it starts, so asking here, unlike calling Isolation
	// beforehand, costs no probe process. The program waits for it to
	// return.
	Confined func(description string, degraded error)
}

// Process is a running program.
type Process struct {
	k *kernel.Process
}

// Start starts the program with argdata (encoded, see package argdata) and
// the given file descriptors.
func (p *Program) Start(argdata []byte, fds []FD, opts *Options) (*Process, error) {
	if opts == nil {
		opts = &Options{}
	}
	kfds := make([]kernel.FD, len(fds))
	for i, f := range fds {
		kfds[i] = kernel.FD{File: f.File, Rights: f.Rights, Inheriting: f.Inheriting}
	}
	k, err := kernel.Start(p.exe, argdata, kfds, kernel.Options{
		MemorySize:   opts.AddressSpace,
		MemoryLimit:  opts.MemoryLimit,
		StackSize:    opts.StackSize,
		MaxProcesses: opts.MaxProcesses,
		MaxThreads:   opts.MaxThreads,
		MaxFDs:       opts.MaxFDs,
		CPUTime:      opts.CPUTime,
		Started:      confined(opts.Confined),
	})
	if err != nil {
		return nil, err
	}
	return &Process{k: k}, nil
}

// confined is the kernel's Started hook for an Options.Confined.
func confined(f func(string, error)) func() {
	if f == nil {
		return nil
	}
	return func() { f(Isolation()) }
}

// Kill stops the process at once.
func (p *Process) Kill() { p.k.Kill() }

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.k.Done() }

// Wait waits for the process to end.
func (p *Process) Wait() ExitStatus {
	s := p.k.Wait()
	return ExitStatus{
		Exited:              s.Exited,
		Code:                s.Code,
		Signal:              s.Signal,
		LinuxSignal:         s.LinuxSignal,
		Crashed:             s.Crashed,
		ForbiddenSyscall:    s.ForbiddenSyscall,
		MemoryLimitExceeded: s.MemoryLimitExceeded,
		CPUTimeExceeded:     s.CPUTimeExceeded,
	}
}

// ExitStatus describes how a process ended.
type ExitStatus struct {
	// Exited is true when the program ended by itself with Code.
	Exited bool
	Code   uint32
	// Signal is the CloudABI signal that ended the process, and
	// LinuxSignal the host signal a shell would report.
	Signal      abi.Signal
	LinuxSignal syscall.Signal
	// Crashed: the signal came from a fault in the program's code.
	Crashed bool
	// ForbiddenSyscall names the Linux system call the program tried to
	// make directly, if that is why it was stopped.
	ForbiddenSyscall string
	// MemoryLimitExceeded: the program was killed for using more memory
	// than Options.MemoryLimit.
	MemoryLimitExceeded bool
	// CPUTimeExceeded: the program was stopped for using more CPU time
	// than Options.CPUTime.
	CPUTimeExceeded bool
}

// ShellStatus is the status a shell would report for the process: the exit
// code modulo 256, or 128 plus the host signal number.
func (s ExitStatus) ShellStatus() int { return s.kernel().ShellStatus() }

// String describes the status in a few words.
func (s ExitStatus) String() string { return s.kernel().String() }

func (s ExitStatus) kernel() kernel.ExitStatus {
	return kernel.ExitStatus{Exited: s.Exited, Code: s.Code, Signal: s.Signal, LinuxSignal: s.LinuxSignal, Crashed: s.Crashed,
		ForbiddenSyscall: s.ForbiddenSyscall, MemoryLimitExceeded: s.MemoryLimitExceeded, CPUTimeExceeded: s.CPUTimeExceeded}
}

// Run runs the program at path with the resources described by a parsed
// configuration, and waits for it. Cancelling ctx kills the program.
//
// Each !listen grant becomes a listener handle: a datagram socket on which
// the program receives, with sock_recv, one message per accepted
// connection, carrying the connected socket as its only descriptor and the
// argdata map {address: "tcp:HOST:PORT"} (or "unix:PATH") of the peer as
// its data. The runtime stops accepting and closes the listening sockets
// when the program ends. A message without a descriptor (zero bytes) means
// the runtime closed the listener. See the README, "Network access".
func Run(ctx context.Context, path string, cfg *config.Config, opts *Options) (ExitStatus, error) {
	prog, err := Open(path)
	if err != nil {
		return ExitStatus{}, err
	}
	defer prog.Close()
	files, err := cfg.Open(prog.File())
	if err != nil {
		return ExitStatus{}, err
	}
	var listeners []*kernel.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	fds := make([]FD, len(files))
	var addrs []net.Addr
	for i, f := range files {
		if f.Listener != nil {
			handle, l, err := kernel.ServeListener(f.Listener)
			if err != nil {
				for _, g := range files[i:] {
					g.Close()
				}
				for _, g := range fds[:i] {
					g.File.Close()
				}
				return ExitStatus{}, &config.Error{Pos: f.Grant.Pos, Msg: fmt.Sprintf("cannot serve %s: %v", f.Grant.Address, err), Err: err}
			}
			listeners = append(listeners, l)
			addrs = append(addrs, l.Addr())
			fds[i] = FD{File: handle, Rights: listenerHandleRights, Inheriting: socketRights}
			continue
		}
		fds[i] = FD{File: f.File}
		fds[i].Rights, fds[i].Inheriting = accessRights(f.Access)
	}
	ad, err := argdata.Marshal(cfg.Argdata)
	if err != nil {
		for _, f := range fds {
			f.File.Close()
		}
		return ExitStatus{}, err
	}
	if opts != nil && opts.Listening != nil && len(addrs) > 0 {
		opts.Listening(addrs)
	}
	proc, err := prog.Start(ad, fds, opts)
	if err != nil {
		return ExitStatus{}, err
	}
	select {
	case <-proc.Done():
	case <-ctx.Done():
		proc.Kill()
	}
	return proc.Wait(), nil
}

// Rights of the descriptors the launcher opens, by config.Access. The
// kernel narrows them further to what applies to the file's type.
const (
	// readOnlyDirectoryRights may look at a directory and open what is
	// beneath it, nothing more.
	readOnlyDirectoryRights = abi.RightFileOpen | abi.RightFileReaddir | abi.RightFileReadlink |
		abi.RightFileStatGet | abi.RightFileStatFget | abi.RightPollFdReadwrite
	// writeOnlyFileRights are those of a regular file that do not read.
	writeOnlyFileRights = abi.RightFdDatasync | abi.RightFdSeek | abi.RightFdStatPutFlags |
		abi.RightFdSync | abi.RightFdTell | abi.RightFdWrite | abi.RightFileAdvise |
		abi.RightFileAllocate | abi.RightFileStatFget | abi.RightFileStatFputSize |
		abi.RightFileStatFputTimes | abi.RightPollFdReadwrite
	// appendFileRights add to the end of a file opened with O_APPEND and
	// change nothing already in it: no fd_seek (hence no fd_pwrite), no
	// fd_stat_put (which could clear FDFLAG_APPEND), no file_stat_fput,
	// no file_allocate, no mem_map.
	appendFileRights = abi.RightFdDatasync | abi.RightFdSync | abi.RightFdTell | abi.RightFdWrite |
		abi.RightFileAdvise | abi.RightFileStatFget | abi.RightPollFdReadwrite
	// listenerHandleRights receive connections from a listener handle
	// (and wait for them with poll, and make the handle non-blocking);
	// the program cannot send on it.
	listenerHandleRights = abi.RightFdRead | abi.RightPollFdReadwrite | abi.RightFileStatFget |
		abi.RightFdStatPutFlags
	// socketRights are every right of a socket.
	socketRights = abi.RightFdRead | abi.RightFdWrite | abi.RightFdStatPutFlags |
		abi.RightFileStatFget | abi.RightPollFdReadwrite | abi.RightSockShutdown
)

// accessRights gives the rights of a descriptor the launcher opened: a
// file named in the configuration without a mode is read-only, as in the
// original launcher; a file opened with mode write or append gets only the
// rights of that mode; a directory granted with mode read gets a read-only
// tree. Directories with full rights, files opened read-write and inherited
// descriptors get every right that applies to their type (zero means
// exactly that to Start).
func accessRights(a config.Access) (base, inheriting abi.Rights) {
	switch a {
	case config.AccessReadOnlyFile:
		return kernel.ReadOnlyFileRights, 0
	case config.AccessWriteOnlyFile:
		return writeOnlyFileRights, 0
	case config.AccessAppendFile:
		return appendFileRights, 0
	case config.AccessReadOnlyDirectory:
		return readOnlyDirectoryRights, readOnlyDirectoryRights | kernel.ReadOnlyFileRights
	}
	return 0, 0
}

// Isolation describes how this host confines programs beyond what it always
// does (the seccomp filter, Landlock where the kernel has it, no_new_privs,
// resource limits): normally user, pid, mount, network, IPC and UTS namespaces
// of their own. If the host does not allow user namespaces
// (or, for a root supervisor, namespaces at all), programs still run, with
// less isolation, and the error says why; cloudabi-run prints it as a
// warning. The first program started decides it; asked before, Isolation
// decides it with a probe process that ends at once.
func Isolation() (description string, degraded error) {
	level, err := sandbox.Isolation()
	return level.String(), err
}
