package kernel

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
)

// User-space locks and condition variables, as C libraries use them.
//
// A lock is a 32-bit word in guest memory: 0 when free; LockWrlocked|tid
// when write-locked by thread tid; n when read-locked by n readers.
// LockKernelManaged is set while threads are queued here: the C library
// then calls lock_unlock instead of clearing the word itself, and takes the
// lock through poll. When the last holder releases a lock that others wait
// for, the supervisor leaves it free but kernel-managed and wakes them all
// to try again; a waiter's poll returns once it holds the lock. (Handing
// the lock to the first waiter instead, as FreeBSD does, makes every
// contended operation wait for a wake-up: a convoy, very slow where
// wake-ups are slow.)
//
// A condition variable is a 32-bit word that is non-zero while threads
// wait on it, which tells the C library that condvar_signal must call the
// supervisor. A waiter releases its lock and queues on the condition
// variable in one step; once signalled it queues for the lock, and its
// poll returns when it holds the lock again.
//
// All words are in guest memory and may be changed by the guest at any
// moment; every update is a compare-and-swap, and a guest that keeps
// changing a word only delays its own threads.
const (
	lockWrlocked      = uint32(abi.LockWrlocked)
	lockKernelManaged = uint32(abi.LockKernelManaged)
	lockOwnerMask     = lockWrlocked - 1
)

// casRetries bounds the compare-and-swap loops on words that the guest
// may be changing concurrently.
const casRetries = 1 << 16

type lockWaiter struct {
	t     *thread
	write bool
	wake  chan struct{} // closed when the waiter should try again
}

type lockQueue struct {
	writers, readers []*lockWaiter
}

func (q *lockQueue) empty() bool { return q == nil || len(q.writers)+len(q.readers) == 0 }

type condWaiter struct {
	t         *thread
	signalled chan struct{} // closed by condvar_signal
}

// lockTable holds queues of waiters on lock and condition-variable words.
//
// Each process has one, for words only it can see, keyed by guest address:
// private-scope words, and shared-scope words outside file mappings (its
// memory is its own). Shared-scope words in memory mapped from a file,
// which other processes may map too (fd_create1 shared memory, or a file
// mapped MAP_SHARED, before or across a fork), are queued in one of the
// sharedLocks tables, keyed by file and offset, where every process
// mapping the page finds the same queue. As thread ids are unique across
// processes (see tids), the owner a shared lock word names is unambiguous.
type lockTable struct {
	mu    sync.Mutex
	locks map[lockKey]*lockQueue
	conds map[lockKey][]*condWaiter
	// shard is the table's index in sharedLocks plus one; 0 for a
	// process's table.
	shard int
}

// lockKey names a word's queue: its guest address in a process's table
// (dev and ino zero), its file and offset in sharedLocks.
type lockKey struct {
	dev, ino, off uint64
}

// sharedLocks are the supervisor-wide tables of shared-scope words in
// file mappings, a word's table chosen by its key: programs that contend
// on words of their own seldom share a table, and so seldom wait for each
// other's table operations. A waiter whose process dies leaves its table
// (see acquire).
var sharedLocks [64]lockTable

func init() {
	for i := range sharedLocks {
		sharedLocks[i].shard = i + 1
	}
}

// sharedLockTable is the table of the shared-scope word with key k.
func sharedLockTable(k lockKey) *lockTable {
	h := k.dev*0x9e3779b97f4a7c15 ^ k.ino*0xc2b2ae3d27d4eb4f ^ (k.off>>2)*0x165667b19e3779f9
	return &sharedLocks[(h^h>>29)%uint64(len(sharedLocks))]
}

// lockRef is a validated lock or condition-variable word: the calling
// process's view of it, and where its waiters queue.
type lockRef struct {
	w   *uint32
	lt  *lockTable
	key lockKey
}

// locked runs f with lt.mu held. The lock words f touches are guest
// memory, which can fault (see recoverFault); the deferred unlock keeps
// such a fault from leaving the table locked for good, which would hang
// every later lock call of the process and its teardown.
func (lt *lockTable) locked(f func()) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	f()
}

// lockedWith runs f with the mutexes of lt and other held (once if they
// are the same), a process's table before any of sharedLocks and those in
// their order: the only order in which two are ever taken.
func (lt *lockTable) lockedWith(other *lockTable, f func()) {
	if lt == other {
		lt.locked(f)
		return
	}
	first, second := lt, other
	if first.shard > second.shard {
		first, second = second, first
	}
	first.locked(func() { second.locked(f) })
}

// lockWord validates a lock or condition variable address and returns the
// word and its queue.
func (p *Process) lockWord(addr uint64, scope abi.Scope) (lockRef, abi.Errno) {
	if scope != abi.ScopePrivate && scope != abi.ScopeShared {
		return lockRef{}, abi.EINVAL
	}
	if addr%4 != 0 {
		return lockRef{}, abi.EINVAL
	}
	if _, errno := p.bytes(addr, 4, memory.ProtRead|memory.ProtWrite); errno != abi.ESUCCESS {
		return lockRef{}, errno
	}
	r := lockRef{w: p.word(addr), lt: &p.locks, key: lockKey{off: addr}}
	if scope == abi.ScopeShared {
		if dev, ino, off, ok := p.mem.FileAt(addr); ok {
			r.key = lockKey{dev: dev, ino: ino, off: off}
			r.lt = sharedLockTable(r.key)
		}
	}
	return r, abi.ESUCCESS
}

// tryAcquire takes the lock at once if it is free; otherwise, with queue,
// it queues a waiter (marking the lock kernel-managed) and returns it.
// Called with lt.mu held.
//
// A free lock is taken even when others are queued (they have been woken
// and will retry): handing a lock to a sleeping waiter instead makes every
// contended lock operation wait for a wake-up, a convoy that is very slow
// where wake-ups are slow.
func (lt *lockTable) tryAcquire(w *uint32, key lockKey, t *thread, write, queue bool) (*lockWaiter, abi.Errno) {
	tid := t.tid
	if lt.locks == nil {
		lt.locks = make(map[lockKey]*lockQueue)
	}
	q := lt.locks[key]
	km := uint32(0)
	if !q.empty() {
		km = lockKernelManaged
	}
	for i := 0; i < casRetries; i++ {
		v := atomic.LoadUint32(w)
		if v&^lockKernelManaged == lockWrlocked|uint32(tid) {
			return nil, abi.EDEADLK
		}
		switch {
		case write && v&^lockKernelManaged == 0:
			if atomic.CompareAndSwapUint32(w, v, lockWrlocked|uint32(tid)|km) {
				return nil, abi.ESUCCESS
			}
			continue
		case !write && v&lockWrlocked == 0:
			if v&lockOwnerMask == lockOwnerMask {
				return nil, abi.EAGAIN // reader count would overflow
			}
			if atomic.CompareAndSwapUint32(w, v, (v+1)&^lockKernelManaged|km) {
				return nil, abi.ESUCCESS
			}
			continue
		}
		if !queue {
			return nil, abi.EBUSY
		}
		if v&lockKernelManaged == 0 && !atomic.CompareAndSwapUint32(w, v, v|lockKernelManaged) {
			continue
		}
		if q == nil {
			q = &lockQueue{}
			lt.locks[key] = q
		}
		wt := &lockWaiter{t: t, write: write, wake: make(chan struct{})}
		if write {
			q.writers = append(q.writers, wt)
		} else {
			q.readers = append(q.readers, wt)
		}
		return wt, abi.ESUCCESS
	}
	return nil, abi.EAGAIN
}

// release drops the caller's hold on the lock. If threads wait, it wakes
// them all to try again and leaves the lock free but kernel-managed, so
// that user space takes it only through the supervisor until they have had
// their turn. Called with lt.mu held.
func (lt *lockTable) release(w *uint32, key lockKey, t *thread) abi.Errno {
	tid := t.tid
	for i := 0; i < casRetries; i++ {
		v := atomic.LoadUint32(w)
		if v&lockWrlocked != 0 {
			if v&lockOwnerMask != uint32(tid) {
				return abi.EPERM
			}
		} else {
			n := v & lockOwnerMask
			if n == 0 {
				return abi.EPERM
			}
			if n > 1 {
				if atomic.CompareAndSwapUint32(w, v, v-1) {
					return abi.ESUCCESS
				}
				continue
			}
		}
		// The caller was the last holder.
		q := lt.locks[key]
		next := uint32(0)
		if !q.empty() {
			next = lockKernelManaged
		}
		if !atomic.CompareAndSwapUint32(w, v, next) {
			continue
		}
		if q != nil {
			delete(lt.locks, key)
			for _, wt := range q.writers {
				close(wt.wake)
				wt.t.woken(t.proc)
			}
			for _, wt := range q.readers {
				close(wt.wake)
				wt.t.woken(t.proc)
			}
		}
		return abi.ESUCCESS
	}
	return abi.EAGAIN
}

// withdraw takes a waiter out of its queue after a timeout, or when its
// process has died. It reports false if the waiter was woken in the
// meantime. w is nil when the word must not be touched (the process is
// gone, and its memory may be); a word left kernel-managed with nobody
// queued costs one lock_unlock call and is then plain again. Called with
// lt.mu held.
func (lt *lockTable) withdraw(w *uint32, key lockKey, wt *lockWaiter) bool {
	select {
	case <-wt.wake:
		return false
	default:
	}
	q := lt.locks[key]
	if q != nil {
		q.writers = remove(q.writers, wt)
		q.readers = remove(q.readers, wt)
		if q.empty() {
			delete(lt.locks, key)
			if w == nil {
				return true
			}
			// Nobody is queued any more: let user space take the
			// lock by itself again.
			for i := 0; i < casRetries; i++ {
				v := atomic.LoadUint32(w)
				if v&lockKernelManaged == 0 || atomic.CompareAndSwapUint32(w, v, v&^lockKernelManaged) {
					break
				}
			}
		}
	}
	return true
}

// acquire takes a lock for a thread, waiting (until tmo fires, if it is not
// nil) as long as it is busy. It reports whether the lock was taken;
// false means the deadline passed, or the process died (noReply).
func acquire(t *thread, r lockRef, write bool, tmo *timeout) (bool, abi.Errno) {
	p, lt, w, key := t.proc, r.lt, r.w, r.key
	for {
		if p.dead.Load() {
			// Woken after the process died: it must not take the lock,
			// which may be shared with live processes.
			return false, noReply
		}
		var wt *lockWaiter
		var errno abi.Errno
		lt.locked(func() { wt, errno = lt.tryAcquire(w, key, t, write, true) })
		if errno != abi.ESUCCESS {
			return false, errno
		}
		if wt == nil {
			return true, abi.ESUCCESS
		}
		if waitTimeout(t, wt.wake, tmo) {
			continue // woken: try again
		}
		if p.dead.Load() {
			// Leave the queue, which may be shared with live processes.
			lt.locked(func() { lt.withdraw(nil, key, wt) })
			return false, noReply
		}
		var withdrawn bool
		lt.locked(func() {
			withdrawn = lt.withdraw(w, key, wt)
			if !withdrawn {
				// Woken as the time ran out: one last try.
				_, errno = lt.tryAcquire(w, key, t, write, false)
			}
		})
		return !withdrawn && errno == abi.ESUCCESS, abi.ESUCCESS
	}
}

func remove[T comparable](s []T, x T) []T {
	for i, y := range s {
		if y == x {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}

// unlock implements lock_unlock (and the release in thread_exit).
func (t *thread) unlock(addr uint64, scope abi.Scope) abi.Errno {
	r, errno := t.proc.lockWord(addr, scope)
	if errno != abi.ESUCCESS {
		return errno
	}
	r.lt.locked(func() { errno = r.lt.release(r.w, r.key, t) })
	return errno
}

func sysLockUnlock(t *thread, c *call) abi.Errno {
	return t.unlock(c.args[0], abi.Scope(c.args[1]))
}

func sysCondvarSignal(t *thread, c *call) abi.Errno {
	p := t.proc
	addr, scope, n := c.args[0], abi.Scope(c.args[1]), uint32(c.args[2])
	r, errno := p.lockWord(addr, scope)
	if errno != abi.ESUCCESS {
		return errno
	}
	r.lt.locked(func() {
		lt := r.lt
		waiters := lt.conds[r.key]
		// A waiter whose process has died takes no signal: it would be
		// lost to a live waiter in another process. (It leaves the queue
		// by itself too, but maybe only after its death is seen.)
		for n > 0 && len(waiters) > 0 {
			cw := waiters[0]
			waiters = waiters[1:]
			if !cw.t.proc.dead.Load() {
				n--
			}
			close(cw.signalled)
			cw.t.woken(p)
		}
		if len(waiters) == 0 {
			delete(lt.conds, r.key)
			atomic.StoreUint32(r.w, uint32(abi.CondvarHasNoWaiters))
		} else {
			lt.conds[r.key] = waiters
		}
	})
	return abi.ESUCCESS
}

// isLockPoll reports whether a poll is one of the forms that wait on a lock
// or condition variable: the lock or condition variable alone, or followed
// by a clock giving a timeout.
func isLockPoll(subs []subscription) bool {
	return isLockType(subs[0].typ) && (len(subs) == 1 || len(subs) == 2 && subs[1].typ == abi.EventtypeClock)
}

func isLockType(t abi.Eventtype) bool {
	return t == abi.EventtypeLockRdlock || t == abi.EventtypeLockWrlock || t == abi.EventtypeCondvar
}

// pollLocks acquires a lock, or waits on a condition variable, with an
// optional timeout.
func (t *thread) pollLocks(c *call, subs []subscription, out, neventsAddr uint64) abi.Errno {
	p := t.proc
	s := subs[0]
	result := func(errno abi.Errno) abi.Errno {
		return p.writeEvents(out, neventsAddr, []event{{userdata: s.userdata, typ: s.typ, errno: errno}})
	}
	timeout := time.Duration(-1)
	if len(subs) == 2 {
		d, errno := clockDeadline(subs[1])
		if errno != abi.ESUCCESS {
			return p.writeEvents(out, neventsAddr, []event{{userdata: subs[1].userdata, typ: abi.EventtypeClock, errno: errno}})
		}
		timeout = d
	}
	timedOut := func() abi.Errno {
		return p.writeEvents(out, neventsAddr, []event{{userdata: subs[1].userdata, typ: abi.EventtypeClock}})
	}
	lr, errno := p.lockWord(s.lock, s.lockScope)
	if errno != abi.ESUCCESS {
		return result(errno)
	}

	if s.typ != abi.EventtypeCondvar {
		write := s.typ == abi.EventtypeLockWrlock
		var errno abi.Errno
		lr.lt.locked(func() { _, errno = lr.lt.tryAcquire(lr.w, lr.key, t, write, false) })
		if errno != abi.EBUSY {
			return result(errno) // taken at once, or an error
		}
		tmo := t.startTimeout(timeout)
		return t.async(c, func(c *call) abi.Errno {
			defer p.timeouts.stop(tmo)
			ok, errno := acquire(t, lr, write, tmo)
			switch {
			case errno == noReply:
				return noReply
			case errno != abi.ESUCCESS:
				return result(errno)
			case !ok:
				return timedOut()
			}
			return result(abi.ESUCCESS)
		})
	}

	// Condition variable.
	cr, errno := p.lockWord(s.condvar, s.condScope)
	if errno != abi.ESUCCESS {
		return result(errno)
	}
	// Queue and mark the condition variable before releasing the lock:
	// once the lock is free, a signaller may look at the word, and must
	// see the waiter.
	waiter := &condWaiter{t: t, signalled: make(chan struct{})}
	cr.lt.lockedWith(lr.lt, func() {
		if cr.lt.conds == nil {
			cr.lt.conds = make(map[lockKey][]*condWaiter)
		}
		cr.lt.conds[cr.key] = append(cr.lt.conds[cr.key], waiter)
		atomic.StoreUint32(cr.w, ^uint32(abi.CondvarHasNoWaiters))
		if errno = lr.lt.release(lr.w, lr.key, t); errno != abi.ESUCCESS {
			cr.lt.dequeueCond(cr.w, cr.key, waiter)
		}
	})
	if errno != abi.ESUCCESS {
		return result(errno)
	}
	tmo := t.startTimeout(timeout)
	return t.async(c, func(c *call) abi.Errno {
		signalled := waitTimeout(t, waiter.signalled, tmo)
		p.timeouts.stop(tmo)
		if !signalled {
			w := cr.w
			if p.dead.Load() {
				w = nil // see withdraw
			}
			cr.lt.locked(func() {
				select {
				case <-waiter.signalled:
					signalled = true
				default:
					cr.lt.dequeueCond(w, cr.key, waiter)
				}
			})
		}
		if p.dead.Load() {
			return noReply
		}
		// Either way the caller gets its lock back before poll
		// returns, as pthread_cond_wait requires.
		if _, errno := acquire(t, lr, true, nil); errno != abi.ESUCCESS {
			if errno == noReply {
				return noReply
			}
			return result(errno)
		}
		if !signalled {
			return timedOut()
		}
		return result(abi.ESUCCESS)
	})
}

// dequeueCond takes a waiter off a condition variable's queue, clearing
// the word (unless w is nil, see withdraw) when nobody waits any more.
// Called with lt.mu held.
func (lt *lockTable) dequeueCond(w *uint32, key lockKey, waiter *condWaiter) {
	rest := remove(lt.conds[key], waiter)
	if len(rest) == 0 {
		delete(lt.conds, key)
		if w != nil {
			atomic.StoreUint32(w, uint32(abi.CondvarHasNoWaiters))
		}
	} else {
		lt.conds[key] = rest
	}
}

// waitTimeout waits, on t's goroutine, for ch to be closed, until tmo
// fires (forever if tmo is nil). It reports whether ch was closed; false
// also when the process died.
func waitTimeout(t *thread, ch <-chan struct{}, tmo *timeout) bool {
	p := t.proc
	t.park()
	defer t.unpark()
	select {
	case <-ch:
		return true
	case <-tmo.C():
		return false
	case <-p.died:
		return false
	}
}
