package kernel

import (
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

func testDescriptor(t *testing.T, rights abi.Rights) descriptor {
	t.Helper()
	fd, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := newHostFD(fd, "null")
	t.Cleanup(h.release)
	return descriptor{file: h, filetype: abi.FiletypeCharacterDevice, rights: rights}
}

// TestPassRegistry checks the life of a message's record: claimed once
// by the message it was made for, never by other files, and swept when
// its ticket is gone.
func TestPassRegistry(t *testing.T) {
	fam := &family{}
	d := testDescriptor(t, abi.RightFdRead)
	if !needsTicket(d) {
		t.Fatal("a descriptor with reduced rights needs no ticket")
	}
	before := passed.inFlight()
	e, ticket, errno := passed.register(fam, []descriptor{d})
	if errno != abi.ESUCCESS {
		t.Fatal(errno)
	}
	_ = e
	// What the receiver gets: new descriptors of the same open files.
	recvFD, _ := unix.FcntlInt(uintptr(d.file.fd()), unix.F_DUPFD_CLOEXEC, 0)
	recvTicket, _ := unix.FcntlInt(uintptr(ticket), unix.F_DUPFD_CLOEXEC, 0)
	unix.Close(ticket)
	defer unix.Close(recvFD)
	defer unix.Close(recvTicket)

	// Another file in the same place is not the message.
	other := testDescriptor(t, 0)
	if _, ok := passed.claim([]int{other.file.fd(), recvTicket}, false); ok {
		t.Error("a ticket was accepted with another file")
	}
	// Without the ticket last, there is no record.
	if _, ok := passed.claim([]int{recvTicket, recvFD}, false); ok {
		t.Error("a message without a ticket last was claimed")
	}
	attrs, ok := passed.claim([]int{recvFD, recvTicket}, true)
	if !ok || len(attrs) != 1 || attrs[0].rights != abi.RightFdRead || attrs[0].filetype != abi.FiletypeCharacterDevice {
		t.Fatalf("peek: %v %+v", ok, attrs)
	}
	if _, ok := passed.claim([]int{recvFD, recvTicket}, false); !ok {
		t.Fatal("claim after peek failed")
	}
	if _, ok := passed.claim([]int{recvFD, recvTicket}, false); ok {
		t.Error("a record was claimed twice")
	}
	if n := passed.inFlight(); n != before {
		t.Errorf("%d records in flight, want %d", n, before)
	}

	// A message destroyed unread: its ticket closes, its record goes.
	_, ticket, errno = passed.register(fam, []descriptor{d})
	if errno != abi.ESUCCESS {
		t.Fatal(errno)
	}
	if n := passed.inFlight(); n != before+1 {
		t.Errorf("%d records in flight, want %d", n, before+1)
	}
	unix.Close(ticket)
	if n := passed.inFlight(); n != before {
		t.Errorf("after the ticket closed: %d records in flight, want %d", n, before)
	}

	// The per-program bound.
	var tickets []int
	for {
		_, tk, errno := passed.register(fam, []descriptor{d})
		if errno != abi.ESUCCESS {
			if errno != abi.ENOBUFS {
				t.Errorf("register: %v, want ENOBUFS", errno)
			}
			break
		}
		tickets = append(tickets, tk)
	}
	if len(tickets) != maxPassEntriesPerFamily {
		t.Errorf("%d messages in flight allowed, want %d", len(tickets), maxPassEntriesPerFamily)
	}
	if _, tk, errno := passed.register(&family{}, []descriptor{d}); errno != abi.ESUCCESS {
		t.Errorf("another program cannot pass: %v", errno)
	} else {
		unix.Close(tk)
	}
	for _, tk := range tickets {
		unix.Close(tk)
	}
	if n := passed.inFlight(); n > before+1 {
		t.Errorf("%d records left", n)
	}
}
