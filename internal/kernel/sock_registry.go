package kernel

import (
	"sync"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// Rights travel with passed descriptors.
//
// SCM_RIGHTS carries host file descriptors and nothing else, but a guest
// descriptor is a host file plus rights, a file type and emulated flags. A
// program that passes a descriptor whose rights it has narrowed must not
// give the receiver more than it had, so the supervisor remembers, for each
// message in flight, what the sender knew about every descriptor in it.
//
// The record is tied to the message, not to the files: when a descriptor
// needs its attributes carried (fewer rights than its type allows, a file
// type the host cannot tell, emulated flags), sock_send appends one more
// descriptor to the message, a "ticket": the read end of a new pipe whose
// write end the registry keeps, indexed by the pipe's inode. A CloudABI
// receiver finds the ticket as the last descriptor of the message, looks it
// up, checks with kcmp(KCMP_FILE) that every other descriptor of the
// message is the very open file recorded at that position, installs them
// with the recorded attributes and closes the ticket. Descriptors that
// arrive without a ticket (from a program outside the sandbox, from the
// runtime's listeners, or passed by a guest with every right of their type)
// get the maximum rights of their type.
//
// Lifetime: an entry lives exactly as long as its message can still be
// received. It is removed when the message is received; if the message is
// destroyed unread (the receiving socket is closed with it in its queue, or
// it is read with fd_read, which discards descriptors), the host closes the
// ticket, the pipe's write end reports POLLERR, and the next sweep removes
// the entry. Nothing is ever evicted while its message is in flight: an
// evicted entry would turn narrowed rights into full ones. Instead the
// registry is bounded: at most maxPassEntries messages in flight in the
// whole supervisor and maxPassEntriesPerFamily per program (a process and
// the processes forked from it); sock_send beyond that fails with ENOBUFS,
// as a host refuses to queue more descriptors than a user may have open.
//
// The registry is the one piece of supervisor-wide state in the kernel:
// a message sent by one program can be received by any other program of
// the same supervisor (the two ends of a socket pair handed to two
// programs), so no per-process structure could hold it. It holds no guest
// state beyond the records of messages in flight.
var passed = &passRegistry{entries: map[pipeID]*passEntry{}, perFamily: map[*family]int{}}

const (
	maxPassEntries          = 4096
	maxPassEntriesPerFamily = 1024
	// maxPassFDs is how many descriptors one sock_send may pass: Linux
	// accepts at most 253 (SCM_MAX_FD) in one message, one of which may
	// be the ticket.
	maxPassFDs = 252
	// sweepMin is the number of entries below which the registry does
	// not look for expired ones.
	sweepMin = 64
)

// passedFD is what the sender knew about one descriptor it passed.
type passedFD struct {
	// dup is a duplicate of the host descriptor, sharing its open file
	// description, against which the receiver checks what it got.
	dup        int
	filetype   abi.Filetype
	rights     abi.Rights
	inheriting abi.Rights
	flags      abi.Fdflags
}

type pipeID struct{ dev, ino uint64 }

// passEntry is one message in flight with a ticket.
type passEntry struct {
	id     pipeID
	writer int // the ticket pipe's write end
	fds    []passedFD
	owner  *family
}

type passRegistry struct {
	mu        sync.Mutex
	entries   map[pipeID]*passEntry
	perFamily map[*family]int
	sweepAt   int
}

// needsTicket reports whether a descriptor's attributes would be lost if
// it were passed bare: a receiver would give it the maximum rights of the
// type the host file appears to have, and no emulated flags.
func needsTicket(d descriptor) bool {
	if d.file.fdflags() != 0 {
		return true
	}
	ft, err := filetypeOf(d.file.fd())
	if err != nil || ft != d.filetype {
		return true
	}
	base, inh := maxRights(ft)
	return d.rights != base || d.inheriting != inh
}

// register records the descriptors of a message about to be sent and
// returns the ticket to append to it, which the caller must close once
// the message is sent (or failed). On failure nothing is recorded.
func (r *passRegistry) register(owner *family, ds []descriptor) (*passEntry, int, abi.Errno) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.entries) >= r.sweepAt {
		r.sweepLocked()
	}
	if len(r.entries) >= maxPassEntries || r.perFamily[owner] >= maxPassEntriesPerFamily {
		return nil, -1, abi.ENOBUFS
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, errnoOf(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(p[1], &st); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, -1, errnoOf(err)
	}
	e := &passEntry{id: pipeID{st.Dev, st.Ino}, writer: p[1], owner: owner}
	for _, d := range ds {
		dup, err := unix.FcntlInt(uintptr(d.file.fd()), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			e.closeLocked()
			unix.Close(p[0])
			return nil, -1, errnoOf(err)
		}
		e.fds = append(e.fds, passedFD{dup: dup, filetype: d.filetype, rights: d.rights, inheriting: d.inheriting, flags: d.file.fdflags()})
	}
	r.entries[e.id] = e
	r.perFamily[owner]++
	return e, p[0], abi.ESUCCESS
}

// drop forgets an entry whose message was never sent.
func (r *passRegistry) drop(e *passEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries[e.id] == e {
		r.removeLocked(e)
	}
}

// isTicket reports whether fd is the ticket of a message in flight; a
// program must not pass one on (it would speak for another message).
func (r *passRegistry) isTicket(fd int) bool {
	id, ok := ticketID(fd)
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries[id] != nil
}

// ticketID returns the pipe identity of fd, if it is a pipe.
func ticketID(fd int) (pipeID, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return pipeID{}, false
	}
	return pipeID{st.Dev, st.Ino}, true
}

// claim looks at the descriptors of a received message. If the last one
// is the ticket of a message in flight and the others are exactly the
// open files recorded for it, it returns their attributes (one per
// descriptor before the ticket) and true; unless peek is set, the entry
// is removed. The caller closes the ticket.
func (r *passRegistry) claim(fds []int, peek bool) ([]passedFD, bool) {
	if len(fds) == 0 {
		return nil, false
	}
	id, ok := ticketID(fds[len(fds)-1])
	if !ok {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entries[id]
	if e == nil || len(e.fds) != len(fds)-1 {
		return nil, false
	}
	for i, pf := range e.fds {
		if !sameFile(pf.dup, fds[i]) {
			// Not the message the ticket was made for: someone outside
			// the sandbox sent the ticket on with other files.
			return nil, false
		}
	}
	out := make([]passedFD, len(e.fds))
	copy(out, e.fds)
	for i := range out {
		out[i].dup = -1
	}
	if !peek {
		r.removeLocked(e)
	}
	return out, true
}

// sameFile reports whether two descriptors of the supervisor refer to the
// same open file description. If kcmp is unavailable it trusts the
// ticket, which only the message it was made for can carry.
func sameFile(a, b int) bool {
	pid := uintptr(unix.Getpid())
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, pid, pid, 0 /* KCMP_FILE */, uintptr(a), uintptr(b), 0)
	if errno == unix.ENOSYS || errno == unix.EPERM {
		return true
	}
	return errno == 0 && r == 0
}

// sweepLocked removes the entries whose ticket is gone: their message was
// destroyed without being received.
func (r *passRegistry) sweepLocked() {
	if len(r.entries) > 0 {
		pfds := make([]unix.PollFd, 0, len(r.entries))
		es := make([]*passEntry, 0, len(r.entries))
		for _, e := range r.entries {
			pfds = append(pfds, unix.PollFd{Fd: int32(e.writer)})
			es = append(es, e)
		}
		for {
			_, err := unix.Poll(pfds, 0)
			if err != unix.EINTR {
				break
			}
		}
		for i, pfd := range pfds {
			if pfd.Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				r.removeLocked(es[i])
			}
		}
	}
	r.sweepAt = max(sweepMin, 2*len(r.entries))
}

func (r *passRegistry) removeLocked(e *passEntry) {
	delete(r.entries, e.id)
	if r.perFamily[e.owner]--; r.perFamily[e.owner] <= 0 {
		delete(r.perFamily, e.owner)
	}
	e.closeLocked()
}

func (e *passEntry) closeLocked() {
	for _, pf := range e.fds {
		if pf.dup >= 0 {
			unix.Close(pf.dup)
		}
	}
	e.fds = nil
	if e.writer >= 0 {
		unix.Close(e.writer)
		e.writer = -1
	}
}

// inFlight returns the number of messages recorded, for tests.
func (r *passRegistry) inFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepLocked()
	return len(r.entries)
}
