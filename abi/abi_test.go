package abi

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrno(t *testing.T) {
	tests := []struct {
		errno Errno
		value uint16
		name  string
		desc  string
	}{
		{ESUCCESS, 0, "ESUCCESS", "No error occurred. System call completed successfully"},
		{E2BIG, 1, "E2BIG", "Argument list too long"},
		{EACCES, 2, "EACCES", "Permission denied"},
		{EBADF, 8, "EBADF", "Bad file descriptor"},
		{EFAULT, 21, "EFAULT", "Bad address"},
		{EINVAL, 28, "EINVAL", "Invalid argument"},
		{ENOENT, 44, "ENOENT", "No such file or directory"},
		{ENOSYS, 52, "ENOSYS", "Function not supported"},
		{ENOTCAPABLE, 76, "ENOTCAPABLE", "Extension: Capabilities insufficient"},
		{Errno(999), 999, "Errno(999)", "unknown error 999"},
	}
	for _, tt := range tests {
		if uint16(tt.errno) != tt.value {
			t.Errorf("%s = %d, want %d", tt.name, tt.errno, tt.value)
		}
		if got := tt.errno.Name(); got != tt.name {
			t.Errorf("Errno(%d).Name() = %q, want %q", tt.value, got, tt.name)
		}
		if got := tt.errno.Error(); got != tt.desc {
			t.Errorf("Errno(%d).Error() = %q, want %q", tt.value, got, tt.desc)
		}
	}
	var err error = fmt.Errorf("open: %w", ENOENT)
	if !errors.Is(err, ENOENT) {
		t.Error("errors.Is(wrapped ENOENT, ENOENT) = false")
	}
}

func TestConstants(t *testing.T) {
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"RightFdRead", uint64(RightFdRead), 0x2},
		{"RightFileOpen", uint64(RightFileOpen), 0x4000},
		{"RightSockShutdown", uint64(RightSockShutdown), 0x8000000000},
		{"AtArgdata", uint64(AtArgdata), 256},
		{"AtSysinfoEhdr", uint64(AtSysinfoEhdr), 262},
		{"ClockMonotonic", uint64(ClockMonotonic), 1},
		{"FdflagNonblock", uint64(FdflagNonblock), 0x4},
		{"OCreat", uint64(OCreat), 0x1},
		{"MapAnon", uint64(MapAnon), 0x1},
		{"ProtRead", uint64(ProtRead), 0x4},
		{"SigSegv", uint64(SigSegv), 13},
		{"EventFdReadwriteHangup", uint64(EventFdReadwriteHangup), 0x1},
		{"FiletypeRegularFile", uint64(FiletypeRegularFile), 0x60},
		{"EventtypeClock", uint64(EventtypeClock), 1},
		{"WhenceSet", uint64(WhenceSet), 3},
		{"ScopePrivate", uint64(ScopePrivate), 4},
		{"AdviceNormal", uint64(AdviceNormal), 3},
		{"LockUnlocked", uint64(LockUnlocked), 0},
		{"LockWrlocked", uint64(LockWrlocked), 0x40000000},
		{"CondvarHasNoWaiters", uint64(CondvarHasNoWaiters), 0},
		{"DircookieStart", uint64(DircookieStart), 0},
		{"ProcessChild", uint64(ProcessChild), 0xffffffff},
		{"MapAnonFd", uint64(MapAnonFd), 0xffffffff},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		v    fmt.Stringer
		want string
	}{
		{FiletypeDirectory, "directory"},
		{Filetype(0xff), "Filetype(255)"},
		{RightFdRead | RightFdWrite, "fd_read|fd_write"},
		{Rights(0), "0"},
		{Oflags(0x81), "creat|0x80"},
		{SysFdWrite, "fd_write"},
		{Syscall(NumSyscalls), "Syscall(49)"},
		{ParamOut, "out"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestSyscalls(t *testing.T) {
	if NumSyscalls != 49 || len(Syscalls) != 49 {
		t.Fatalf("NumSyscalls = %d", NumSyscalls)
	}
	tests := []struct {
		sys      Syscall
		num      int
		name     string
		numArgs  int
		noReturn bool
	}{
		{SysClockResGet, 0, "clock_res_get", 2, false},
		{SysFdWrite, 16, "fd_write", 4, false},
		{SysFileOpen, 21, "file_open", 6, false},
		{SysMemMap, 33, "mem_map", 7, false},
		{SysPoll, 37, "poll", 4, false},
		{SysProcExit, 39, "proc_exit", 1, true},
		{SysProcFork, 40, "proc_fork", 2, false},
		{SysThreadExit, 47, "thread_exit", 2, true},
		{SysThreadYield, 48, "thread_yield", 0, false},
	}
	for _, tt := range tests {
		if int(tt.sys) != tt.num {
			t.Errorf("%s = %d, want %d", tt.name, tt.sys, tt.num)
		}
		info := Syscalls[tt.sys]
		if info.Name != tt.name || tt.sys.String() != tt.name {
			t.Errorf("Syscalls[%d].Name = %q, want %q", tt.num, info.Name, tt.name)
		}
		if info.NumArgs != tt.numArgs || len(info.Params) != tt.numArgs {
			t.Errorf("%s: NumArgs = %d, len(Params) = %d, want %d", tt.name, info.NumArgs, len(info.Params), tt.numArgs)
		}
		if info.NoReturn != tt.noReturn {
			t.Errorf("%s: NoReturn = %v", tt.name, info.NoReturn)
		}
	}
	for i, info := range Syscalls {
		if info.NumArgs > 7 {
			t.Errorf("%s takes %d arguments; the vDSO passes at most 7", info.Name, info.NumArgs)
		}
		seenOut := false
		for _, p := range info.Params {
			if p.Dir == ParamOut {
				seenOut = true
			} else if seenOut {
				t.Errorf("syscall %d (%s): input %q follows an output", i, info.Name, p.Name)
			}
		}
	}
	want := []Param{
		{Name: "dirfd", CType: "cloudabi_lookup_t", Dir: ParamIn},
		{Name: "path", CType: "const char *", Dir: ParamIn},
		{Name: "path_len", CType: "size_t", Dir: ParamIn},
		{Name: "oflags", CType: "cloudabi_oflags_t", Dir: ParamIn},
		{Name: "fds", CType: "const cloudabi_fdstat_t *", Dir: ParamIn},
		{Name: "fd", CType: "cloudabi_fd_t *", Dir: ParamOut},
	}
	for i, p := range Syscalls[SysFileOpen].Params {
		if p != want[i] {
			t.Errorf("file_open param %d = %+v, want %+v", i, p, want[i])
		}
	}
}

func TestVariantAccessors(t *testing.T) {
	var s Subscription
	s.Type = EventtypeClock
	s.SetClock(SubscriptionClock{Identifier: 7, ClockId: ClockMonotonic, Timeout: 1e9, Precision: 10, Flags: SubscriptionClockAbstime})
	// Little-endian guest memory: timeout lives at union offset 16.
	if s.Union[OffsetofSubscriptionClockTimeout] != 0x00 || s.Union[OffsetofSubscriptionClockTimeout+1] != 0xca {
		t.Errorf("union bytes = % x", s.Union)
	}
	if c := s.Clock(); c.Timeout != 1e9 || c.ClockId != ClockMonotonic || c.Flags != SubscriptionClockAbstime || c.Identifier != 7 {
		t.Errorf("Clock() = %+v", c)
	}
	s.SetFdReadwrite(SubscriptionFdReadwrite{Fd: 3, Flags: SubscriptionFdReadwritePoll})
	if s.Union[8] != 0 {
		t.Error("SetFdReadwrite did not clear the rest of the union")
	}
	var a Auxv
	a.SetAPtr(0x1234)
	if a.AVal() != 0x1234 {
		t.Errorf("AVal() = %#x", a.AVal())
	}
}
