package kernel

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"github.com/cloudabi-go/cloudabi/internal/loader"
)

func TestTidSpace(t *testing.T) {
	s := tidSpace{next: firstTid, used: make(map[abi.Tid]struct{})}
	seen := map[abi.Tid]bool{}
	for i := 0; i < 1000; i++ {
		tid, errno := s.alloc()
		if errno != abi.ESUCCESS || tid < firstTid || tid > maxTid || seen[tid] {
			t.Fatalf("alloc %d: %d, %v (seen before: %v)", i, tid, errno, seen[tid])
		}
		seen[tid] = true
	}
	// A freed id is not handed out again until the space wraps around.
	s.free(firstTid + 10)
	if tid, _ := s.alloc(); tid == firstTid+10 {
		t.Errorf("a freed id came back at once")
	}
	// At the top, ids wrap around to the lowest free one.
	s.next = maxTid
	if tid, _ := s.alloc(); tid != maxTid {
		t.Errorf("alloc at the top: %d, want %d", tid, maxTid)
	}
	if tid, _ := s.alloc(); tid != firstTid+10 {
		t.Errorf("alloc after wrapping: %d, want the freed %d", tid, firstTid+10)
	}
	if n := s.inUse(); n != 1002 {
		t.Errorf("%d ids in use, want 1002", n)
	}
	for tid := range seen {
		s.free(tid)
	}
	s.free(maxTid)
	s.free(maxTid) // freeing twice is harmless here; dropThread avoids it
	if n := s.inUse(); n != 1 {
		t.Errorf("%d ids in use after freeing, want 1 (the one allocated after the loop)", n)
	}
}

// TestThreadIdsReturn runs a program that creates threads and forks
// children (which get ids of their own), some of which end while waiting:
// afterwards every id is free again.
func TestThreadIdsReturn(t *testing.T) {
	data, err := os.ReadFile(guestbuild.Build(t, "testdata/guests/process/sharedlocks.c"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := loader.Parse(data, loader.MachineX86_64)
	if err != nil {
		t.Fatal(err)
	}
	before := tids.inUse()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ad, _ := argdata.Marshal(argdata.Map{
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("iters"), Value: argdata.IntOf(100)},
		{Key: argdata.Str("rounds"), Value: argdata.IntOf(10)},
	})
	p, err := Start(exe, ad, []FD{{File: out}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Wait(); !st.Exited || st.Code != 0 {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("status %v, want exit 0; output:\n%s", st, b)
	}
	// The children end on their own; wait for their ids a little.
	for i := 0; i < 200 && tids.inUse() != before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := tids.inUse(); n != before {
		t.Errorf("%d thread ids in use afterwards, %d before", n, before)
	}
}
