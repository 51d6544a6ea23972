package abi

import (
	"testing"
	"unsafe"
)

// TestKnownLayouts checks the Go structures against sizes and offsets
// derived by hand from the C rules for LP64 targets (x86-64 and AArch64):
// every member is aligned to its size (pointers and size_t are 8 bytes),
// unions are aligned to their most aligned member, and structures are
// padded to a multiple of their alignment.
func TestKnownLayouts(t *testing.T) {
	tests := []struct {
		name      string
		got, want uintptr
	}{
		// auxv: uint32 a_type; union { size_t; void * } at 8.
		{"sizeof auxv", unsafe.Sizeof(Auxv{}), 16},
		{"sizeof auxv (const)", SizeofAuxv, 16},
		{"auxv.a_type", unsafe.Offsetof(Auxv{}.AType), 0},
		{"auxv.union", unsafe.Offsetof(Auxv{}.Union), 8},
		{"auxv.a_val", OffsetofAuxvAVal, 8},
		{"auxv.a_ptr", OffsetofAuxvAPtr, 8},

		// ciovec, iovec: pointer + length.
		{"sizeof ciovec", unsafe.Sizeof(Ciovec{}), 16},
		{"ciovec.buf_len", unsafe.Offsetof(Ciovec{}.BufLen), 8},
		{"sizeof iovec", unsafe.Sizeof(Iovec{}), 16},
		{"iovec.buf_len", OffsetofIovecBufLen, 8},

		// dirent: u64, u64, u32, u8 + 3 bytes padding.
		{"sizeof dirent", unsafe.Sizeof(Dirent{}), 24},
		{"sizeof dirent (const)", SizeofDirent, 24},
		{"dirent.d_ino", unsafe.Offsetof(Dirent{}.DIno), 8},
		{"dirent.d_namlen", unsafe.Offsetof(Dirent{}.DNamlen), 16},
		{"dirent.d_type", unsafe.Offsetof(Dirent{}.DType), 20},

		// event: u64 userdata, u16 error, u8 type, union at 16.
		{"sizeof event", unsafe.Sizeof(Event{}), 32},
		{"sizeof event (const)", SizeofEvent, 32},
		{"event.error", unsafe.Offsetof(Event{}.Error), 8},
		{"event.type", unsafe.Offsetof(Event{}.Type), 10},
		{"event.union", OffsetofEventUnion, 16},
		{"sizeof event.fd_readwrite", SizeofEventFdReadwrite, 16},
		{"event.fd_readwrite.nbytes", unsafe.Offsetof(EventFdReadwrite{}.Nbytes), 0},
		{"event.fd_readwrite.unused", unsafe.Offsetof(EventFdReadwrite{}.Unused), 8},
		{"event.fd_readwrite.flags", OffsetofEventFdReadwriteFlags, 12},
		{"sizeof event.proc_terminate", SizeofEventProcTerminate, 12},
		{"event.proc_terminate.signal", unsafe.Offsetof(EventProcTerminate{}.Signal), 4},
		{"event.proc_terminate.exitcode", OffsetofEventProcTerminateExitcode, 8},

		// fdstat: u8, u16 at 2, u64 at 8, u64 at 16.
		{"sizeof fdstat", unsafe.Sizeof(Fdstat{}), 24},
		{"fdstat.fs_flags", unsafe.Offsetof(Fdstat{}.FsFlags), 2},
		{"fdstat.fs_rights_base", OffsetofFdstatFsRightsBase, 8},
		{"fdstat.fs_rights_inheriting", OffsetofFdstatFsRightsInheriting, 16},

		// filestat: u64, u64, u8, u32 at 20, then five u64.
		{"sizeof filestat", unsafe.Sizeof(Filestat{}), 56},
		{"filestat.st_filetype", OffsetofFilestatStFiletype, 16},
		{"filestat.st_nlink", unsafe.Offsetof(Filestat{}.StNlink), 20},
		{"filestat.st_size", OffsetofFilestatStSize, 24},
		{"filestat.st_ctim", unsafe.Offsetof(Filestat{}.StCtim), 48},

		// lookup: two u32.
		{"sizeof lookup", unsafe.Sizeof(Lookup{}), 8},
		{"lookup.flags", OffsetofLookupFlags, 4},

		// recv_in, send_in: two ranges, then u16 flags, padded to 8.
		{"sizeof recv_in", unsafe.Sizeof(RecvIn{}), 40},
		{"recv_in.ri_fds", OffsetofRecvInRiFds, 16},
		{"recv_in.ri_fds_len", unsafe.Offsetof(RecvIn{}.RiFdsLen), 24},
		{"recv_in.ri_flags", OffsetofRecvInRiFlags, 32},
		{"sizeof send_in", SizeofSendIn, 40},
		{"send_in.si_data_len", unsafe.Offsetof(SendIn{}.SiDataLen), 8},
		{"send_in.si_flags", OffsetofSendInSiFlags, 32},

		// send_out: size_t. recv_out: 2 size_t, char[40], u16, padded.
		{"sizeof send_out", unsafe.Sizeof(SendOut{}), 8},
		{"sizeof recv_out", unsafe.Sizeof(RecvOut{}), 64},
		{"recv_out.ro_unused", OffsetofRecvOutRoUnused, 16},
		{"recv_out.ro_flags", unsafe.Offsetof(RecvOut{}.RoFlags), 56},

		// subscription: u64, u16, u8, union at 16 of size 40.
		{"sizeof subscription", unsafe.Sizeof(Subscription{}), 56},
		{"sizeof subscription (const)", SizeofSubscription, 56},
		{"subscription.unused", OffsetofSubscriptionUnused, 8},
		{"subscription.type", unsafe.Offsetof(Subscription{}.Type), 10},
		{"subscription.union", unsafe.Offsetof(Subscription{}.Union), 16},
		{"sizeof subscription.clock", unsafe.Sizeof(SubscriptionClock{}), 40},
		{"subscription.clock.clock_id", OffsetofSubscriptionClockClockId, 8},
		{"subscription.clock.timeout", unsafe.Offsetof(SubscriptionClock{}.Timeout), 16},
		{"subscription.clock.precision", OffsetofSubscriptionClockPrecision, 24},
		{"subscription.clock.flags", unsafe.Offsetof(SubscriptionClock{}.Flags), 32},
		{"sizeof subscription.condvar", SizeofSubscriptionCondvar, 24},
		{"subscription.condvar.lock", unsafe.Offsetof(SubscriptionCondvar{}.Lock), 8},
		{"subscription.condvar.condvar_scope", OffsetofSubscriptionCondvarCondvarScope, 16},
		{"subscription.condvar.lock_scope", unsafe.Offsetof(SubscriptionCondvar{}.LockScope), 17},
		{"sizeof subscription.fd_readwrite", SizeofSubscriptionFdReadwrite, 8},
		{"subscription.fd_readwrite.flags", OffsetofSubscriptionFdReadwriteFlags, 4},
		{"sizeof subscription.lock", unsafe.Sizeof(SubscriptionLock{}), 16},
		{"subscription.lock.lock_scope", OffsetofSubscriptionLockLockScope, 8},
		{"sizeof subscription.proc_terminate", SizeofSubscriptionProcTerminate, 4},

		// tcb: one pointer. threadattr: pointer, range, pointer.
		{"sizeof tcb", unsafe.Sizeof(Tcb{}), 8},
		{"sizeof threadattr", unsafe.Sizeof(Threadattr{}), 32},
		{"threadattr.stack", OffsetofThreadattrStack, 8},
		{"threadattr.stack_len", unsafe.Offsetof(Threadattr{}.StackLen), 16},
		{"threadattr.argument", OffsetofThreadattrArgument, 24},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
