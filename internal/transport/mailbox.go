// Package transport defines the per-thread mailbox through which the vDSO in a
// sandbox hands system calls to the supervisor, and the supervisor's side of
// that exchange.
//
// A mailbox is a small structure in guest memory. Because guest memory is a
// memfd mapped MAP_SHARED both in the sandbox process and in the supervisor, a
// store by one side is visible to the other, and both can sleep on the state
// word with a (non-private) futex. The sequence for one call is:
//
//	guest:      write Nr and Args, clear Post, State = Request,
//	            set the thread's bit in the shared Pending bitmap,
//	            increment the shared Doorbell and futex_wake it if
//	            DispatcherWaiting
//	            spin, then sleep (GuestWaiting = 1) while State == Request
//	supervisor: one dispatcher per process spins on the Doorbell, then
//	            sleeps on it (DispatcherWaiting = 1); it takes the Pending
//	            bits, and for each thread with State == Request runs the
//	            call, writes Result and Post, State = Response, and
//	            futex_wakes State if GuestWaiting
//	guest:      if Post != 0, run Linux syscall Post(PostArgs...) locally;
//	            return Result as the errno
//
// The waiting flags spare both sides a futex call when the other is
// spinning, which is most of the time for a busy program: a round trip
// then costs a few cache-line transfers instead of two wake-ups. One
// dispatcher serves all of a process's threads, so threads blocked in a
// call (which the kernel finishes on a goroutine) cost no host thread.
//
// Post = clone is special: the child thread starts on the stack the
// supervisor prepared, pops the entry point, thread id and argument from
// it and jumps to the entry point.
//
// Post lets the supervisor ask the guest thread to change its own address
// space (mprotect after mem_map, for example): such a change can only be made
// from inside the process. The seccomp filter still applies to it, so the
// mechanism grants the guest nothing it could not do by itself.
//
// Everything in a mailbox is written by untrusted code. The supervisor treats
// every field as hostile input: it validates the call number and every
// argument, and never relies on the guest leaving the structure alone.
package transport

// Layout of a mailbox, in bytes from its start. The vDSO's machine code
// hard-codes these offsets; internal/vdso's tests check that the two agree.
const (
	OffState = 0 // uint32: one of the State values
	// OffGuestWaiting is a uint32, non-zero while the guest thread sleeps
	// (or is about to) on State.
	OffGuestWaiting = 4
	OffNr           = 8  // uint64: CloudABI system call number
	OffArgs         = 16 // [7]uint64: arguments in C calling-convention order
	OffResult       = 72 // uint64: errno, in the low 16 bits
	OffPost         = 80 // uint64: Linux syscall number to run after the reply, or 0
	OffPostArgs     = 88 // [5]uint64: its arguments
	// OffSlot is the uint32 index of the thread's bit in the pending
	// bitmap, and OffShared the uint64 address of the process's shared
	// area; both are written by the supervisor when it creates the thread.
	OffSlot   = 136
	OffShared = 144
	// OffLinuxTid is a uint32 the host kernel fills with the thread's Linux
	// id when it is created and clears (with a futex wake-up) when it has
	// exited (CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID).
	OffLinuxTid = 152
	// OffSaved holds the callee-saved registers rbx, rbp, r12-r15 and rsp
	// (7 uint64) of a thread calling proc_fork, from which the child
	// resumes it.
	OffSaved = 160
	// OffScratch holds the guest's %rbx while the vDSO runs a post action:
	// the vDSO must not touch the stack then (see common_amd64.S).
	OffScratch = 216
	// OffTimespec is a Linux struct timespec (two int64): where the vDSO's
	// clock_time_get reads the host clock before it stores the result
	// (the supervisor takes a CPU-time clock's reading from here for a
	// guest that calls without the vDSO), and where a poll on clocks
	// alone gets its deadline for the post action clock_nanosleep.
	OffTimespec = 224
	Size        = 256 // bytes reserved per mailbox
	NumArgs     = 7
	NumPostArgs = 5
)

// Layout of the per-process shared area, where threads ring the
// supervisor's doorbell.
const (
	// SharedDoorbell is a uint32 every call increments after setting its
	// thread's pending bit; the dispatcher sleeps on it.
	SharedDoorbell = 0
	// SharedDispatcherWaiting is a uint32, non-zero while the dispatcher
	// sleeps (or is about to) on the doorbell.
	SharedDispatcherWaiting = 4
	// SharedPending is a bitmap of MaxThreads bits, one per thread slot:
	// set by a thread that has a call waiting in its mailbox.
	SharedPending = 64
	MaxThreads    = 4096
	SharedSize    = SharedPending + MaxThreads/8
)

// Values of the state word. StateBlocked replaces StateRequest when the
// supervisor has moved the call to a goroutine of its own, where it may
// wait for a long time: the guest thread then stops spinning and sleeps at
// once, so that only calls answered straight away are worth a long spin.
const (
	StateIdle     = 0
	StateRequest  = 1
	StateResponse = 2
	StateBlocked  = 3
)

// FSMailboxPointer is the offset from the FS base of each guest thread at
// which the address of that thread's mailbox is stored. The bytes at FS base
// 0 belong to the C library (the TCB pointer) and 0x28 to stack-protector
// code compiled for Linux, so the runtime keeps clear of both.
const FSMailboxPointer = 0x40
