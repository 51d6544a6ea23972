package sandbox

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets a classic BPF program over a struct seccomp_data,
// with the instructions the filter uses.
func runFilter(t *testing.T, prog []unix.SockFilter, nr uint32, args [6]uint64) uint32 {
	t.Helper()
	var data [64]byte
	le := binary.LittleEndian
	le.PutUint32(data[0:], nr)
	le.PutUint32(data[4:], auditArchX86_64)
	for i, a := range args {
		le.PutUint64(data[16+8*i:], a)
	}
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case ldW:
			a = le.Uint32(data[in.K:])
		case ldI:
			a = in.K
		case ldxM:
			x = mem[in.K]
		case st:
			mem[in.K] = a
		case tax:
			x = a
		case unix.BPF_MISC | unix.BPF_TXA:
			a = x
		case andK:
			a &= in.K
		case addK:
			a += in.K
		case subX:
			a -= x
		case ret:
			return in.K
		case jeq, jge, jgt, jeqX, jgtX:
			k := in.K
			if in.Code&unix.BPF_X != 0 {
				k = x
			}
			var cond bool
			switch in.Code &^ unix.BPF_X {
			case jeq:
				cond = a == k
			case jge:
				cond = a >= k
			case jgt:
				cond = a > k
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		default:
			t.Fatalf("instruction %d: code %#x not interpreted", pc, in.Code)
		}
	}
	t.Fatal("the filter ran off its end")
	return 0
}

func TestFilterMmap(t *testing.T) {
	const base, size = uint64(0x12340000000), uint64(8 << 30)
	end := base + size
	prog, err := Filter(base, size)
	if err != nil {
		t.Fatal(err)
	}
	const ok, fixed = unix.SECCOMP_RET_ALLOW, unix.MAP_SHARED | unix.MAP_FIXED
	for _, c := range []struct {
		name            string
		addr, len, flag uint64
		want            uint32
	}{
		{"start", base, 4096, fixed, ok},
		{"whole", base, size, fixed, ok},
		{"last page", end - 4096, 4096, fixed, ok},
		{"low words borrow", base + 0x0ffff000, size - 0x0ffff000, fixed, ok},
		{"borrow, too long", base + 0x0ffff000, size - 0x0ffff000 + 4096, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"no borrow", base + 0xfffff000, size - 0xfffff000, fixed, ok},
		{"one page too long", base + 0xfffff000, size - 0xfffff000 + 4096, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"past the end", end - 4096, 8192, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"at the end", end, 4096, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"below", base - 4096, 4096, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"below, high word", base - 1<<32, 4096, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"zero", 0, 4096, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"huge length", base, 1 << 63, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"wrapping length", base + 4096, ^uint64(0) - 4095, fixed, unix.SECCOMP_RET_USER_NOTIF},
		{"private", base, 4096, unix.MAP_PRIVATE | unix.MAP_FIXED, unix.SECCOMP_RET_USER_NOTIF},
		{"anonymous", base, 4096, fixed | unix.MAP_ANONYMOUS, unix.SECCOMP_RET_USER_NOTIF},
		{"not fixed", base, 4096, unix.MAP_SHARED, unix.SECCOMP_RET_USER_NOTIF},
		{"noreplace", base, 4096, unix.MAP_SHARED | unix.MAP_FIXED_NOREPLACE, unix.SECCOMP_RET_USER_NOTIF},
		{"high flag bits", base, 4096, fixed | 1<<32, unix.SECCOMP_RET_USER_NOTIF},
	} {
		got := runFilter(t, prog, unix.SYS_MMAP, [6]uint64{c.addr, c.len, unix.PROT_READ, c.flag, 7, 0})
		if got != c.want {
			t.Errorf("%s: mmap(%#x, %#x, flags %#x) = %#x, want %#x", c.name, c.addr, c.len, c.flag, got, c.want)
		}
	}
	if got := runFilter(t, prog, unix.SYS_CLOSE, [6]uint64{5}); got != ok {
		t.Errorf("close = %#x, want allowed", got)
	}
	for _, nr := range []uint32{GetFDSyscall, unix.SYS_RECVMSG, unix.SYS_MREMAP, unix.SYS_MUNMAP, unix.SYS_OPEN} {
		if got := runFilter(t, prog, nr, [6]uint64{}); got != unix.SECCOMP_RET_USER_NOTIF {
			t.Errorf("%s = %#x, want a notification", SyscallName(auditArchX86_64, nr), got)
		}
	}
	for _, nr := range []uint32{unix.SYS_MPROTECT, unix.SYS_TIME} {
		if got := runFilter(t, prog, nr, [6]uint64{0x12340001000}); got != ok {
			t.Errorf("%s = %#x, want allowed", SyscallName(auditArchX86_64, nr), got)
		}
	}
}

func TestFilterClockGettime(t *testing.T) {
	prog, err := Filter(0x12340000000, 8<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		clock uint64
		want  uint32
	}{
		{"process CPU time", unix.CLOCK_PROCESS_CPUTIME_ID, unix.SECCOMP_RET_ALLOW},
		{"thread CPU time", unix.CLOCK_THREAD_CPUTIME_ID, unix.SECCOMP_RET_ALLOW},
		{"realtime", unix.CLOCK_REALTIME, unix.SECCOMP_RET_ALLOW},
		{"monotonic", unix.CLOCK_MONOTONIC, unix.SECCOMP_RET_ALLOW},
		{"monotonic raw", unix.CLOCK_MONOTONIC_RAW, unix.SECCOMP_RET_USER_NOTIF},
		{"boottime", unix.CLOCK_BOOTTIME, unix.SECCOMP_RET_USER_NOTIF},
		// ((~pid) << 3) | CPUCLOCK_SCHED: another process's CPU time.
		{"pid 1's clock", 0xfffffff2, unix.SECCOMP_RET_USER_NOTIF},
		{"thread clock with a high bit", 1<<32 | unix.CLOCK_THREAD_CPUTIME_ID, unix.SECCOMP_RET_USER_NOTIF},
	} {
		if got := runFilter(t, prog, unix.SYS_CLOCK_GETTIME, [6]uint64{c.clock, 0x12340001000}); got != c.want {
			t.Errorf("clock_gettime(%s) = %#x, want %#x", c.name, got, c.want)
		}
	}
}

func TestFilterClockNanosleep(t *testing.T) {
	prog, err := Filter(0x12340000000, 8<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name         string
		clock, flags uint64
		want         uint32
	}{
		{"monotonic, absolute", unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, unix.SECCOMP_RET_ALLOW},
		{"realtime, absolute", unix.CLOCK_REALTIME, unix.TIMER_ABSTIME, unix.SECCOMP_RET_ALLOW},
		{"monotonic, relative", unix.CLOCK_MONOTONIC, 0, unix.SECCOMP_RET_USER_NOTIF},
		{"process CPU time", unix.CLOCK_PROCESS_CPUTIME_ID, unix.TIMER_ABSTIME, unix.SECCOMP_RET_USER_NOTIF},
		{"boottime", unix.CLOCK_BOOTTIME, unix.TIMER_ABSTIME, unix.SECCOMP_RET_USER_NOTIF},
		{"pid 1's clock", 0xfffffff2, unix.TIMER_ABSTIME, unix.SECCOMP_RET_USER_NOTIF},
		{"clock with a high bit", 1<<32 | unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, unix.SECCOMP_RET_USER_NOTIF},
		{"flags with a high bit", unix.CLOCK_MONOTONIC, 1<<32 | unix.TIMER_ABSTIME, unix.SECCOMP_RET_USER_NOTIF},
		{"other flags", unix.CLOCK_MONOTONIC, 3, unix.SECCOMP_RET_USER_NOTIF},
	} {
		if got := runFilter(t, prog, unix.SYS_CLOCK_NANOSLEEP, [6]uint64{c.clock, c.flags, 0x12340001000, 0}); got != c.want {
			t.Errorf("clock_nanosleep(%s) = %#x, want %#x", c.name, got, c.want)
		}
	}
}
