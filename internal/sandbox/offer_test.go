package sandbox

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestOfferedFilesCounted: every descriptor waiting in an offer counts
// against the supervisor's budget until it is taken or closed.
func TestOfferedFilesCounted(t *testing.T) {
	newFiles := func(n int) []Offered {
		var files []Offered
		for i := 0; i < n; i++ {
			fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, Offered{FD: fd})
		}
		return files
	}
	base := OfferedFiles()
	check := func(when string, want int64) {
		t.Helper()
		if got := OfferedFiles() - base; got != want {
			t.Errorf("%s: %d descriptors counted, want %d", when, got, want)
		}
	}
	p := &Process{}
	token := p.Offer(1, newFiles(2), false)
	check("after an offer of two", 2)
	p.Offer(1, newFiles(3), false) // withdraws the first offer
	check("after a second offer under the same key", 3)
	if _, ok := p.offers.take(token); ok {
		t.Errorf("the withdrawn offer's token still works")
	}
	token = p.Offer(2, newFiles(1), false)
	check("after an offer under another key", 4)
	f, ok := p.offers.take(token)
	if !ok || f.FD < 0 {
		t.Fatalf("take: %v %v", f, ok)
	}
	unix.Close(f.FD)
	check("after a file was taken", 3)
	p.offers.close()
	check("after the process ended", 0)
}
