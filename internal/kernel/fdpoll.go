package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
)

// fdPoller waits for host file descriptors to become ready on behalf of
// guest threads blocked in poll, with one epoll instance and one goroutine
// per process: however many guest threads wait, they cost one host thread.
//
// Each wait registers a duplicate of the host fd (so that any number of
// waits on one fd are independent registrations) with EPOLLONESHOT; the
// poller goroutine hands the events to the waiter's channel.
type fdPoller struct {
	epfd  int
	stop  int // eventfd that ends the poller goroutine
	mu    sync.Mutex
	waits map[int32]chan int16 // by duplicate fd
}

// fdPollerOf returns the process's poller, starting it on first use.
func (p *Process) fdPollerOf() (*fdPoller, error) {
	p.pollerOnce.Do(func() {
		fp := &fdPoller{waits: make(map[int32]chan int16)}
		var err error
		if fp.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
			p.pollerErr = err
			return
		}
		if fp.stop, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
			unix.Close(fp.epfd)
			p.pollerErr = err
			return
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fp.stop)}
		if err = unix.EpollCtl(fp.epfd, unix.EPOLL_CTL_ADD, fp.stop, &ev); err != nil {
			unix.Close(fp.epfd)
			unix.Close(fp.stop)
			p.pollerErr = err
			return
		}
		p.poller = fp
		go fp.run()
	})
	return p.poller, p.pollerErr
}

func (fp *fdPoller) run() {
	defer unix.Close(fp.epfd)
	defer unix.Close(fp.stop)
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(fp.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == int32(fp.stop) {
				fp.mu.Lock()
				for fd, ch := range fp.waits {
					fp.forget(fd)
					close(ch)
				}
				fp.waits = nil
				fp.mu.Unlock()
				return
			}
			fp.mu.Lock()
			ch, ok := fp.waits[ev.Fd]
			if ok {
				delete(fp.waits, ev.Fd)
				fp.forget(ev.Fd)
			}
			fp.mu.Unlock()
			if ok {
				ch <- int16(ev.Events)
			}
		}
	}
}

// errAlwaysReady reports a file that epoll cannot watch because it is
// always ready (a regular file or directory).
type errAlwaysReady struct{}

func (errAlwaysReady) Error() string { return "always ready" }

// wait registers interest in events (EPOLLIN, EPOLLOUT) on a duplicate of
// hostFD. The returned channel receives the events that occurred, or is
// closed if the poller stops or the wait is cancelled; cancel withdraws the
// registration and reports whether it was still pending.
func (fp *fdPoller) wait(hostFD int, events uint32) (<-chan int16, func() bool, error) {
	dup, err := unix.FcntlInt(uintptr(hostFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan int16, 1)
	fp.mu.Lock()
	if fp.waits == nil {
		fp.mu.Unlock()
		unix.Close(dup)
		return nil, nil, unix.ESRCH
	}
	fp.waits[int32(dup)] = ch
	fp.mu.Unlock()
	ev := unix.EpollEvent{Events: events | unix.EPOLLONESHOT, Fd: int32(dup)}
	if err := unix.EpollCtl(fp.epfd, unix.EPOLL_CTL_ADD, dup, &ev); err != nil {
		fp.mu.Lock()
		delete(fp.waits, int32(dup))
		fp.mu.Unlock()
		unix.Close(dup)
		if err == unix.EPERM {
			return nil, nil, errAlwaysReady{}
		}
		return nil, nil, err
	}
	cancel := func() bool {
		fp.mu.Lock()
		defer fp.mu.Unlock()
		if _, ok := fp.waits[int32(dup)]; !ok {
			return false
		}
		ch := fp.waits[int32(dup)]
		delete(fp.waits, int32(dup))
		fp.forget(int32(dup))
		close(ch)
		return true
	}
	return ch, cancel, nil
}

// forget removes a duplicate from the epoll set and closes it. Closing
// alone would not do: epoll keeps a registration while the open file
// description has other fds, and the guest's own fd is one.
func (fp *fdPoller) forget(fd int32) {
	unix.EpollCtl(fp.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	unix.Close(int(fd))
}

// close stops the poller goroutine and releases every registration.
func (fp *fdPoller) close() {
	var one [8]byte
	one[0] = 1
	unix.Write(fp.stop, one[:])
}
