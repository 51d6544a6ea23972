package kernel

import (
	"encoding/binary"
	"time"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/memory"
	"github.com/cloudabi-go/cloudabi/internal/transport"
	"golang.org/x/sys/unix"
)

// poll.
var pollSyscalls = map[abi.Syscall]handler{
	abi.SysPoll: sysPoll,
}

// maxSubscriptions bounds one poll call, so a guest cannot make the
// supervisor allocate without limit.
const maxSubscriptions = 4096

// subscription is a decoded cloudabi_subscription_t.
type subscription struct {
	userdata uint64
	typ      abi.Eventtype
	// clock
	clockID abi.Clockid
	timeout uint64
	abstime bool
	// fd_read, fd_write, proc_terminate
	fd abi.Fd
	// lock, condvar
	lock, condvar        uint64
	lockScope, condScope abi.Scope
}

// event is a cloudabi_event_t to be written back.
type event struct {
	userdata uint64
	errno    abi.Errno
	typ      abi.Eventtype
	nbytes   uint64
	flags    abi.Eventrwflags
	// proc_terminate
	signal   abi.Signal
	exitcode uint32
}

func decodeSubscriptions(raw []byte, n int) []subscription {
	le := binary.LittleEndian
	subs := make([]subscription, n)
	for i := range subs {
		b := raw[i*abi.SizeofSubscription:]
		u := b[abi.OffsetofSubscriptionUnion:]
		s := &subs[i]
		s.userdata = le.Uint64(b[abi.OffsetofSubscriptionUserdata:])
		s.typ = abi.Eventtype(b[abi.OffsetofSubscriptionType])
		switch s.typ {
		case abi.EventtypeClock:
			s.clockID = abi.Clockid(le.Uint32(u[abi.OffsetofSubscriptionClockClockId:]))
			s.timeout = le.Uint64(u[abi.OffsetofSubscriptionClockTimeout:])
			flags := abi.Subclockflags(le.Uint16(u[abi.OffsetofSubscriptionClockFlags:]))
			s.abstime = flags&abi.SubscriptionClockAbstime != 0
		case abi.EventtypeFdRead, abi.EventtypeFdWrite:
			s.fd = abi.Fd(le.Uint32(u[abi.OffsetofSubscriptionFdReadwriteFd:]))
		case abi.EventtypeProcTerminate:
			s.fd = abi.Fd(le.Uint32(u[abi.OffsetofSubscriptionProcTerminateFd:]))
		case abi.EventtypeLockRdlock, abi.EventtypeLockWrlock:
			s.lock = le.Uint64(u[abi.OffsetofSubscriptionLockLock:])
			s.lockScope = abi.Scope(u[abi.OffsetofSubscriptionLockLockScope])
		case abi.EventtypeCondvar:
			s.condvar = le.Uint64(u[abi.OffsetofSubscriptionCondvarCondvar:])
			s.lock = le.Uint64(u[abi.OffsetofSubscriptionCondvarLock:])
			s.condScope = abi.Scope(u[abi.OffsetofSubscriptionCondvarCondvarScope])
			s.lockScope = abi.Scope(u[abi.OffsetofSubscriptionCondvarLockScope])
		}
	}
	return subs
}

// writeEvents stores events at the guest's out array (checked writable
// for all subscriptions beforehand) and their number at nevents.
func (p *Process) writeEvents(out, neventsAddr uint64, events []event) abi.Errno {
	le := binary.LittleEndian
	buf, errno := p.bytes(out, uint64(len(events))*abi.SizeofEvent, memory.ProtWrite)
	if errno != abi.ESUCCESS {
		return errno
	}
	for i, ev := range events {
		var e [abi.SizeofEvent]byte
		le.PutUint64(e[abi.OffsetofEventUserdata:], ev.userdata)
		le.PutUint16(e[abi.OffsetofEventError:], uint16(ev.errno))
		e[abi.OffsetofEventType] = uint8(ev.typ)
		u := e[abi.OffsetofEventUnion:]
		switch ev.typ {
		case abi.EventtypeFdRead, abi.EventtypeFdWrite:
			le.PutUint64(u[abi.OffsetofEventFdReadwriteNbytes:], ev.nbytes)
			le.PutUint16(u[abi.OffsetofEventFdReadwriteFlags:], uint16(ev.flags))
		case abi.EventtypeProcTerminate:
			u[abi.OffsetofEventProcTerminateSignal] = uint8(ev.signal)
			le.PutUint32(u[abi.OffsetofEventProcTerminateExitcode:], ev.exitcode)
		}
		copy(buf[i*abi.SizeofEvent:], e[:])
	}
	return p.putUint64(neventsAddr, uint64(len(events)))
}

func sysPoll(t *thread, c *call) abi.Errno {
	p := t.proc
	in, out, n, neventsAddr := c.args[0], c.args[1], c.args[2], c.args[3]
	if n > maxSubscriptions {
		return abi.EINVAL
	}
	raw, errno := p.bytes(in, n*abi.SizeofSubscription, memory.ProtRead)
	if errno != abi.ESUCCESS {
		return errno
	}
	// Copy: the guest may rewrite its subscriptions while we look.
	subs := decodeSubscriptions(append([]byte(nil), raw...), int(n))
	if errno := p.checkWritable(out, n*abi.SizeofEvent); errno != abi.ESUCCESS {
		return errno
	}
	if errno := p.checkWritable(neventsAddr, 8); errno != abi.ESUCCESS {
		return errno
	}
	if len(subs) == 0 {
		return p.writeEvents(out, neventsAddr, nil)
	}
	// The valid forms: a lock or condition variable alone, or followed
	// by a clock; or any number of clocks, fds and processes. Anything
	// else is EINVAL, as on other implementations.
	if isLockPoll(subs) {
		return t.pollLocks(c, subs, out, neventsAddr)
	}
	for _, s := range subs {
		if isLockType(s.typ) {
			return abi.EINVAL
		}
	}
	return t.pollGeneral(c, subs, out, neventsAddr)
}

// clockDeadline returns when a clock subscription fires, as a duration
// from now, or an errno for a clock that cannot be waited on.
func clockDeadline(s subscription) (time.Duration, abi.Errno) {
	if !s.abstime {
		// A relative timeout is the same on every clock.
		if s.timeout > uint64(1<<63-1) {
			return 1<<63 - 1, abi.ESUCCESS
		}
		return time.Duration(s.timeout), abi.ESUCCESS
	}
	var id int32
	switch s.clockID {
	case abi.ClockMonotonic:
		id = unix.CLOCK_MONOTONIC
	case abi.ClockRealtime:
		id = unix.CLOCK_REALTIME
	case abi.ClockProcessCputimeId, abi.ClockThreadCputimeId:
		return 0, abi.ENOTSUP // waiting until an amount of CPU time is not supported
	default:
		return 0, abi.EINVAL
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, errnoOf(err)
	}
	now := uint64(ts.Nano())
	if s.timeout <= now {
		return 0, abi.ESUCCESS
	}
	d := s.timeout - now
	if d > uint64(1<<63-1) {
		d = 1<<63 - 1
	}
	return time.Duration(d), abi.ESUCCESS
}

// fdWait is one fd subscription being waited for.
type fdWait struct {
	index  int
	file   *hostFile
	events <-chan int16
	cancel func() bool
}

// sleepDeadline is the host clock and absolute time a guest thread sleeps
// until for clock subscription s, which fires d from now, the earliest of
// the poll's. An absolute deadline on the realtime clock stays one when s
// is the only subscription (clock_nanosleep then follows changes of the
// clock); with others, a change of the realtime clock could make it pass
// theirs, so it becomes, like every other one, a deadline on the
// monotonic clock.
func sleepDeadline(s subscription, d time.Duration, alone bool) (int32, unix.Timespec, abi.Errno) {
	if s.abstime && s.clockID == abi.ClockRealtime && alone {
		return unix.CLOCK_REALTIME, unix.NsecToTimespec(int64(s.timeout)), abi.ESUCCESS
	}
	if s.abstime && s.clockID == abi.ClockMonotonic {
		return unix.CLOCK_MONOTONIC, unix.NsecToTimespec(int64(s.timeout)), abi.ESUCCESS
	}
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		return 0, now, errnoOf(err)
	}
	return unix.CLOCK_MONOTONIC, unix.NsecToTimespec(now.Nano() + int64(d)), abi.ESUCCESS
}

// pollGeneral handles clocks, fd readiness and (later) process
// termination. Every subscription that is ready at once yields an event;
// if none is, the call waits on a goroutine until one is.
func (t *thread) pollGeneral(c *call, subs []subscription, out, neventsAddr uint64) abi.Errno {
	p := t.proc
	var ready, failed []event
	var timeout time.Duration = -1
	timeoutIndex := -1
	type fdSub struct {
		index int
		d     descriptor
	}
	var fdSubs, procSubs []fdSub
	release := func() {
		for _, f := range fdSubs {
			f.d.file.release()
		}
		for _, f := range procSubs {
			f.d.file.release()
		}
	}
	// collectReady appends the events of the fds and processes that are
	// ready, without waiting.
	collectReady := func(ready []event) []event {
		for _, f := range fdSubs {
			if ev, ok := fdReady(subs[f.index], f.d, 0); ok {
				ready = append(ready, ev)
			}
		}
		for _, f := range procSubs {
			if ev, ok := procEnded(subs[f.index], f.d.file.proc); ok {
				ready = append(ready, ev)
			}
		}
		return ready
	}
	for i, s := range subs {
		ev := event{userdata: s.userdata, typ: s.typ}
		switch s.typ {
		case abi.EventtypeClock:
			d, errno := clockDeadline(s)
			if errno != abi.ESUCCESS {
				ev.errno = errno
				failed = append(failed, ev)
				continue
			}
			if d == 0 {
				ready = append(ready, ev)
			} else if timeout < 0 || d < timeout {
				timeout, timeoutIndex = d, i
			}
		case abi.EventtypeFdRead, abi.EventtypeFdWrite:
			d, errno := p.fds.get(s.fd, abi.RightPollFdReadwrite)
			if errno != abi.ESUCCESS {
				ev.errno = errno
				failed = append(failed, ev)
				continue
			}
			fdSubs = append(fdSubs, fdSub{i, d})
		case abi.EventtypeProcTerminate:
			d, errno := p.fds.get(s.fd, abi.RightPollProcTerminate)
			if errno == abi.ESUCCESS && d.file.proc == nil {
				d.file.release()
				errno = abi.EBADF // not a process descriptor
			}
			if errno != abi.ESUCCESS {
				ev.errno = errno
				failed = append(failed, ev)
				continue
			}
			procSubs = append(procSubs, fdSub{i, d})
		default:
			ev.errno = abi.EINVAL
			failed = append(failed, ev)
		}
	}
	// Subscriptions that could not be registered are reported alone and at
	// once, as on FreeBSD.
	if len(failed) > 0 {
		release()
		return p.writeEvents(out, neventsAddr, failed)
	}
	// Check every fd and process once without waiting.
	ready = collectReady(ready)
	if len(ready) > 0 {
		release()
		return p.writeEvents(out, neventsAddr, ready)
	}
	if len(fdSubs) == 0 && len(procSubs) == 0 && (timeout < 0 || timeout >= maxTimeout) {
		// Only clocks that never fire: wait until the process ends.
		t.busy.Store(true)
		t.blocked()
		return noReply
	}
	if len(fdSubs) == 0 && len(procSubs) == 0 {
		// Only clocks: the outcome is known, so the supervisor writes
		// the event now and the guest thread sleeps until the first
		// deadline by itself, with clock_nanosleep as the post action.
		// The host wakes it as it would a native program; neither the
		// dispatcher nor a goroutine stands in between, nor waits. (So
		// the event is in memory before the poll returns: only another
		// thread reading the buffer during the poll can tell.)
		errno := p.writeEvents(out, neventsAddr, []event{{userdata: subs[timeoutIndex].userdata, typ: abi.EventtypeClock}})
		if errno != abi.ESUCCESS {
			return errno
		}
		clock, deadline, errno := sleepDeadline(subs[timeoutIndex], timeout, len(subs) == 1)
		if errno != abi.ESUCCESS {
			return errno
		}
		ts := p.mem.Raw(t.mailbox+transport.OffTimespec, 16)
		binary.LittleEndian.PutUint64(ts, uint64(deadline.Sec))
		binary.LittleEndian.PutUint64(ts[8:], uint64(deadline.Nsec))
		c.post = unix.SYS_CLOCK_NANOSLEEP
		c.postArgs = [transport.NumPostArgs]uint64{uint64(clock), unix.TIMER_ABSTIME, t.mailbox + transport.OffTimespec}
		return abi.ESUCCESS
	}
	tmo := t.startTimeout(timeout)
	return t.async(c, func(c *call) abi.Errno {
		defer release()
		defer p.timeouts.stop(tmo)
		fp, err := p.fdPollerOf()
		if err != nil && len(fdSubs) > 0 {
			return errnoOf(err)
		}
		wake := make(chan int, len(fdSubs)+len(procSubs))
		var cancels []func() bool
		defer func() {
			for _, cancel := range cancels {
				cancel()
			}
		}()
		for _, f := range fdSubs {
			events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
			if subs[f.index].typ == abi.EventtypeFdWrite {
				events = unix.EPOLLOUT
			}
			ch, cancel, err := fp.wait(f.d.file.fd(), events)
			if err != nil {
				// An fd epoll cannot watch is always ready.
				wake <- f.index
				continue
			}
			cancels = append(cancels, cancel)
			go func(index int) {
				if _, ok := <-ch; ok {
					wake <- index
				}
			}(f.index)
		}
		stop := make(chan struct{})
		defer close(stop)
		for _, f := range procSubs {
			go func(index int, child *Process) {
				select {
				case <-child.done:
					wake <- index
				case <-stop:
				}
			}(f.index, f.d.file.proc)
		}
		t.park()
		select {
		case <-p.died:
			t.unpark()
			return noReply
		case <-tmo.C():
			ready = append(ready, event{userdata: subs[timeoutIndex].userdata, typ: abi.EventtypeClock})
		case <-wake:
		}
		t.unpark()
		// Report everything that is ready now, not just the first. A
		// wake-up for an fd that is no longer ready (another reader took
		// the data) reports no events, as poll may.
		return p.writeEvents(out, neventsAddr, collectReady(ready))
	})
}

// fdReady checks one fd subscription with poll(2) and builds its event.
func fdReady(s subscription, d descriptor, timeoutMs int) (event, bool) {
	ev := event{userdata: s.userdata, typ: s.typ}
	events := int16(unix.POLLIN)
	if s.typ == abi.EventtypeFdWrite {
		events = unix.POLLOUT
	}
	fd := d.file.fd()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := unix.Poll(pfd, timeoutMs)
	if err != nil || n == 0 {
		return ev, false
	}
	re := pfd[0].Revents
	if re&unix.POLLNVAL != 0 {
		ev.errno = abi.EBADF
		return ev, true
	}
	if re&(unix.POLLHUP|unix.POLLERR) != 0 {
		ev.flags |= abi.EventFdReadwriteHangup
	}
	if s.typ == abi.EventtypeFdRead {
		ev.nbytes = readableBytes(fd, d.filetype)
	} else {
		ev.nbytes = writableBytes(fd, d.filetype)
	}
	return ev, true
}

// readableBytes estimates how much a read would return without waiting.
func readableBytes(fd int, ft abi.Filetype) uint64 {
	if ft == abi.FiletypeRegularFile {
		var st unix.Stat_t
		off, err := unix.Seek(fd, 0, 1)
		if err == nil && unix.Fstat(fd, &st) == nil && st.Size > off {
			return uint64(st.Size - off)
		}
		return 0
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	if err != nil || n < 0 {
		return 0
	}
	return uint64(n)
}

// writableBytes estimates how much a write could take without waiting.
func writableBytes(fd int, ft abi.Filetype) uint64 {
	switch ft {
	case abi.FiletypeSocketStream, abi.FiletypeSocketDgram:
		if size, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err == nil {
			queued, _ := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
			if size > queued {
				return uint64(size - queued)
			}
			return 0
		}
		if size, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0); err == nil {
			queued, _ := unix.IoctlGetInt(fd, unix.TIOCINQ)
			if size > queued {
				return uint64(size - queued)
			}
			return 0
		}
	}
	return 0
}

// procEnded builds the PROC_TERMINATE event of a process that has ended.
func procEnded(s subscription, child *Process) (event, bool) {
	select {
	case <-child.done:
	default:
		return event{}, false
	}
	ev := event{userdata: s.userdata, typ: s.typ}
	ev.signal, ev.exitcode = child.exit.exitEvent()
	return ev, true
}
