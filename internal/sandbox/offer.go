package sandbox

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cloudabi-go/cloudabi/internal/memory"
	"golang.org/x/sys/unix"
)

// Handing files to a sandbox process.
//
// A sandbox holds no file descriptors, yet a shared mapping of a file
// must be made by the process itself. The supervisor therefore offers the
// file under a token and replies to the guest thread with a post action
// (see internal/transport and the vDSO) that asks for it with the system
// call pidfd_getfd(token, 0, 0). The seccomp filter does not allow that
// call: it reaches the supervisor as a notification, and the supervisor
// answers it by installing the file in the process with
// SECCOMP_IOCTL_NOTIF_ADDFD, whose number becomes the call's result. The
// vDSO maps the file and closes it at once.
//
// The descriptor goes to the very thread that asks with the token, which
// the supervisor put in that thread's reply only: two threads mapping at
// the same time each receive their own file. A token is good for one
// request. A request with an unknown token is a forbidden system call
// like any other, and stops the process. What a guest can gain by
// stealing another thread's token is the file that thread was to map,
// with no more access than the mapping allows (the kernel chooses a
// read-only descriptor for a mapping the guest may not write).

// GetFDSyscall is the Linux system call a guest thread makes to fetch a
// file offered to it.
const GetFDSyscall = unix.SYS_PIDFD_GETFD

// Offered is one file offered to a sandbox process.
type Offered struct {
	// FD is the supervisor's descriptor; Offer takes ownership of it.
	FD int
	// Before, if not nil, runs just before the file is handed over (while
	// the asking thread waits in the system call).
	Before func()
}

type offerQueue struct {
	key   int
	files []Offered
	end   bool // after the files, one more request is answered ENOENT
}

// offers is a process's table of files waiting for their thread.
type offers struct {
	mu      sync.Mutex
	next    uint64
	byToken map[uint64]*offerQueue
	byKey   map[int]uint64
	closed  bool
}

// Offer makes files available, in order, to requests with the returned
// token. With end, one more request after the last file gets ENOENT (the
// end of a list the guest walks). Offers are grouped by key (a thread
// slot, say): a new offer under the same key withdraws an older one not
// yet taken, so a guest that never takes its files cannot make the
// supervisor hold more than one offer per key.
func (p *Process) Offer(key int, files []Offered, end bool) uint64 {
	countOffered(files, 1)
	o := &p.offers
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		closeOffered(files)
		return 0
	}
	o.init()
	if old, ok := o.byKey[key]; ok {
		closeOffered(o.byToken[old].files)
		delete(o.byToken, old)
	}
	o.next++
	if o.next == 0 {
		o.next++
	}
	token := o.next
	o.byToken[token] = &offerQueue{key: key, files: files, end: end}
	o.byKey[key] = token
	return token
}

func (o *offers) init() {
	if o.byToken == nil {
		o.byToken = make(map[uint64]*offerQueue)
		o.byKey = make(map[int]uint64)
		o.next = randomToken()
	}
}

func randomToken() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// startOffers holds files offered to sandbox processes not yet started:
// their first thread may ask before Start returns.
var startOffers struct {
	mu sync.Mutex
	m  map[*memory.Memory]startOffer
}

type startOffer struct {
	token uint64
	files []Offered
}

// OfferAtStart offers files, as a list with an end, to the sandbox
// process that Start will run over mem, and returns the token. (A forked
// child maps its parent's shared files before its thread resumes.) The
// files are closed with the process, or by DropStartOffers if it never
// starts.
func OfferAtStart(mem *memory.Memory, files []Offered) uint64 {
	startOffers.mu.Lock()
	defer startOffers.mu.Unlock()
	if startOffers.m == nil {
		startOffers.m = make(map[*memory.Memory]startOffer)
	}
	if old, ok := startOffers.m[mem]; ok {
		closeOffered(old.files)
	}
	countOffered(files, 1)
	token := randomToken()
	startOffers.m[mem] = startOffer{token: token, files: files}
	return token
}

// DropStartOffers closes the files offered with OfferAtStart for mem, if
// no process has taken them.
func DropStartOffers(mem *memory.Memory) {
	startOffers.mu.Lock()
	defer startOffers.mu.Unlock()
	if old, ok := startOffers.m[mem]; ok {
		closeOffered(old.files)
		delete(startOffers.m, mem)
	}
}

// adopt takes over the offers made for mem before the process started.
func (o *offers) adopt(mem *memory.Memory) {
	startOffers.mu.Lock()
	so, ok := startOffers.m[mem]
	delete(startOffers.m, mem)
	startOffers.mu.Unlock()
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	o.byToken[so.token] = &offerQueue{key: -1, files: so.files, end: true}
	o.byKey[-1] = so.token
}

// take removes the next file offered under token. It reports false for an
// unknown token, and a negative FD for the end of a list.
func (o *offers) take(token uint64) (Offered, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q, ok := o.byToken[token]
	if !ok {
		return Offered{}, false
	}
	if len(q.files) == 0 {
		delete(o.byToken, token)
		delete(o.byKey, q.key)
		return Offered{FD: -1}, q.end
	}
	f := q.files[0]
	q.files = q.files[1:]
	countOffered([]Offered{f}, -1) // the caller closes it
	if len(q.files) == 0 && !q.end {
		delete(o.byToken, token)
		delete(o.byKey, q.key)
	}
	return f, true
}

// close releases every offer when the process is gone.
func (o *offers) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	for _, q := range o.byToken {
		closeOffered(q.files)
	}
	o.byToken, o.byKey = nil, nil
}

// offeredFiles counts the host descriptors all processes' offers hold,
// which count against the supervisor's descriptor budget (OfferedFiles).
var offeredFiles atomic.Int64

// OfferedFiles is how many host descriptors wait in offers, in all
// sandboxes of this supervisor.
func OfferedFiles() int64 { return offeredFiles.Load() }

func countOffered(files []Offered, sign int64) {
	for _, f := range files {
		if f.FD >= 0 {
			offeredFiles.Add(sign)
		}
	}
}

func closeOffered(files []Offered) {
	countOffered(files, -1)
	for _, f := range files {
		if f.FD >= 0 {
			unix.Close(f.FD)
		}
	}
}

// seccompNotifAddfd is struct seccomp_notif_addfd.
type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// seccompNotifResp is struct seccomp_notif_resp.
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// answerGetFD handles a notification that may be a request for an offered
// file. It reports false if the notification is anything else (or the
// file could not be installed), for the caller to stop the process.
func (p *Process) answerGetFD(listener uintptr, n *seccompNotif) bool {
	if n.Arch != auditArchX86_64 || n.Nr != GetFDSyscall || n.Args[1] != 0 || n.Args[2] != 0 {
		return false
	}
	f, ok := p.offers.take(n.Args[0])
	if !ok {
		return false
	}
	if f.FD < 0 {
		resp := seccompNotifResp{ID: n.ID, Error: -int32(unix.ENOENT)}
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, listener, unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
		return errno == 0 || errno == unix.ENOENT
	}
	defer unix.Close(f.FD)
	if f.Before != nil {
		f.Before()
	}
	add := seccompNotifAddfd{ID: n.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, SrcFD: uint32(f.FD), NewFDFlags: unix.O_CLOEXEC}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, listener, unix.SECCOMP_IOCTL_NOTIF_ADDFD, uintptr(unsafe.Pointer(&add)))
	// ENOENT: the thread is gone (killed while it waited).
	return errno == 0 || errno == unix.ENOENT
}
