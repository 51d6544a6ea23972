package kernel

import (
	"sync"
	"testing"
)

// TestSharedLockTables: keys spread over the shared tables, and two
// tables are always taken in one order, whichever is named first, so
// condition-variable waits with their words in different tables (or one
// in a process's table) cannot deadlock.
func TestSharedLockTables(t *testing.T) {
	used := map[*lockTable]bool{}
	for off := uint64(0); off < 4096; off += 4 {
		used[sharedLockTable(lockKey{dev: 23, ino: 42, off: off})] = true
	}
	if len(used) < len(sharedLocks)/2 {
		t.Errorf("the words of one page use %d of %d tables", len(used), len(sharedLocks))
	}

	var own lockTable
	a, b := &sharedLocks[3], &sharedLocks[40]
	pairs := [][2]*lockTable{{a, b}, {b, a}, {&own, a}, {b, &own}, {a, a}}
	var wg sync.WaitGroup
	for _, pair := range pairs {
		wg.Add(1)
		go func(x, y *lockTable) {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				x.lockedWith(y, func() {})
			}
		}(pair[0], pair[1])
	}
	wg.Wait() // a wrong order deadlocks here (and the test times out)
}
