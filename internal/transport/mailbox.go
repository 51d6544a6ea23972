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
//	            futex_wake(State) if SupervisorWaiting
//	            spin, then sleep (GuestWaiting = 1) while State == Request
//	supervisor: spin, then sleep (SupervisorWaiting = 1) until State == Request;
//	            run the call, write Result and Post, State = Response,
//	            futex_wake(State) if GuestWaiting
//	guest:      if Post != 0, run Linux syscall Post(PostArgs...) locally;
//	            return Result as the errno
//
// The waiting flags spare both sides a futex call when the other is
// spinning, which is most of the time for a busy program: a round trip
// then costs two cache-line transfers instead of two wake-ups.
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
	OffPostArgs     = 88 // [3]uint64: its arguments
	// OffSupervisorWaiting is a uint32, non-zero while the supervisor
	// sleeps (or is about to) on State.
	OffSupervisorWaiting = 112
	Size                 = 128 // bytes reserved per mailbox
	NumArgs              = 7
)

// Values of the state word.
const (
	StateIdle     = 0
	StateRequest  = 1
	StateResponse = 2
	// StateDead is written by the supervisor, never by a live guest, after
	// the sandbox process has died, to wake its own waiting server loops.
	StateDead = 3
)

// FSMailboxPointer is the offset from the FS base of each guest thread at
// which the address of that thread's mailbox is stored. The bytes at FS base
// 0 belong to the C library (the TCB pointer) and 0x28 to stack-protector
// code compiled for Linux, so the runtime keeps clear of both.
const FSMailboxPointer = 0x40
