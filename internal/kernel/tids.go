package kernel

import (
	"sync"

	"github.com/cloudabi-go/cloudabi/abi"
)

// Thread ids are unique among all the processes of the supervisor, as a
// host kernel's are: a lock word in memory that processes share names its
// owner by id, and must not name two threads. A forked child's thread
// gets an id of its own too (proc_fork reports it), and so does the new
// image of proc_exec.
//
// Ids are handed out in increasing order and wrap around only after the
// whole 30-bit space has been used, so an id a lock word may still hold
// after its thread ended is not soon given to another thread.
var tids = tidSpace{next: firstTid, used: make(map[abi.Tid]struct{})}

const (
	// firstTid is the lowest id handed out. Ids 0 and 1 are never used: C
	// libraries and other implementations give them special meanings.
	firstTid = abi.Tid(2)
	// maxTid bounds thread ids: the low 30 bits of a lock word hold one.
	maxTid = abi.Tid(1<<30 - 1)
)

type tidSpace struct {
	mu   sync.Mutex
	next abi.Tid
	used map[abi.Tid]struct{}
}

// alloc returns an unused id. EAGAIN means every id is in use (more
// threads than the space holds, which the thread limits rule out).
func (s *tidSpace) alloc() (abi.Tid, abi.Errno) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.used) >= int(maxTid-firstTid+1) {
		return 0, abi.EAGAIN
	}
	tid := s.next
	for {
		if tid < firstTid || tid > maxTid {
			tid = firstTid
		}
		if _, taken := s.used[tid]; !taken {
			break
		}
		tid++
	}
	s.used[tid] = struct{}{}
	s.next = tid + 1
	return tid, abi.ESUCCESS
}

// free makes an id available again.
func (s *tidSpace) free(tid abi.Tid) {
	s.mu.Lock()
	delete(s.used, tid)
	s.mu.Unlock()
}

// inUse reports how many ids are taken.
func (s *tidSpace) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.used)
}
