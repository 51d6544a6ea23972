// Package vdso builds the virtual dynamic shared object that the runtime maps
// into every CloudABI process.
//
// CloudABI programs never trap into a kernel themselves: the C library looks
// up one function per system call, named cloudabi_sys_<name>, in the ELF image
// that the auxiliary vector entry AT_SYSINFO_EHDR points to. Ours is generated
// here, in memory: a minimal ELF64 shared object with a PT_DYNAMIC segment
// (DT_HASH, DT_SYMTAB, DT_STRTAB, DT_STRSZ, DT_SYMENT) and a text section in
// which every system call is a 16-byte stub that loads its number and jumps to
// one common routine. That routine copies the arguments into the calling
// thread's mailbox (see internal/transport) and waits for the supervisor.
// Two stubs jump elsewhere first: proc_fork's saves the registers a forked
// child resumes with, and clock_time_get's serves the clocks of the ABI in
// the calling thread, without the supervisor (clockEntry).
//
// Outputs need no code of their own: every output of a CloudABI system call is
// written through a pointer argument, and the supervisor writes it directly
// into guest memory before it answers.
package vdso

import (
	"encoding/binary"

	"github.com/cloudabi-go/cloudabi/abi"
)

// Layout of the generated image. Addresses are relative to the image base;
// the image is position independent.
const (
	ehdrSize   = 64
	phdrSize   = 56
	symSize    = 24
	dynSize    = 16
	stubSize   = 16
	nbucket    = 17
	SymbolBase = "cloudabi_sys_"
)

// commonAMD64 is the routine every stub jumps to, with the system call number
// in %eax and a seventh argument, if any, in %r10. Its source is
// testdata/common_amd64.S; the offsets are internal/transport's. In short:
//
//	store Nr and Args in the mailbox (%fs:0x40), clear Post
//	State = Request (xchg: a full barrier)
//	set this thread's bit in the shared Pending bitmap (lock bts),
//	increment the Doorbell (lock inc), futex_wake it if DispatcherWaiting
//	spin on State while it is Request; then (or at once when it is
//	Blocked) GuestWaiting = 1 (xchg) and futex_wait on State until it is
//	Response; GuestWaiting = 0
//	if Post != 0: run syscall Post(PostArgs[0..4])
//	  (for clone, the child pops entry, tid and argument from its new
//	  stack and jumps to the entry; a failed clone returns EAGAIN)
//	return Result
//
// Each side stores its own flag or the state with a locked instruction
// before it reads the other's (Dekker's pattern), so a wake-up is never
// lost while neither side makes a futex call it does not need. The futex
// calls are not FUTEX_PRIVATE: the supervisor waits on the same words
// through its own mapping of the memfd.
var commonAMD64 = []byte{
	// common:
	0x64, 0x4c, 0x8b, 0x1c, 0x25, 0x40, 0x00, 0x00, 0x00, // mov %fs:0x40,%r11
	0x49, 0x89, 0x43, 0x08, // mov %rax,0x8(%r11)
	0x49, 0x89, 0x7b, 0x10, // mov %rdi,0x10(%r11)
	0x49, 0x89, 0x73, 0x18, // mov %rsi,0x18(%r11)
	0x49, 0x89, 0x53, 0x20, // mov %rdx,0x20(%r11)
	0x49, 0x89, 0x4b, 0x28, // mov %rcx,0x28(%r11)
	0x4d, 0x89, 0x43, 0x30, // mov %r8,0x30(%r11)
	0x4d, 0x89, 0x4b, 0x38, // mov %r9,0x38(%r11)
	0x4d, 0x89, 0x53, 0x40, // mov %r10,0x40(%r11)
	0x49, 0xc7, 0x43, 0x50, 0x00, 0x00, 0x00, 0x00, // movq $0x0,0x50(%r11)
	0x4d, 0x89, 0xd8, // mov %r11,%r8
	0xb9, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%ecx
	0x41, 0x87, 0x08, // xchg %ecx,(%r8)
	0x4d, 0x8b, 0x88, 0x90, 0x00, 0x00, 0x00, // mov 0x90(%r8),%r9
	0x41, 0x8b, 0x80, 0x88, 0x00, 0x00, 0x00, // mov 0x88(%r8),%eax
	0x89, 0xc1, // mov %eax,%ecx
	0xc1, 0xe8, 0x06, // shr $0x6,%eax
	0x83, 0xe1, 0x3f, // and $0x3f,%ecx
	0xf0, 0x49, 0x0f, 0xab, 0x4c, 0xc1, 0x40, // lock bts %rcx,0x40(%r9,%rax,8)
	0xf0, 0x41, 0xff, 0x01, // lock incl (%r9)
	0x41, 0x83, 0x79, 0x04, 0x00, // cmpl $0x0,0x4(%r9)
	0x74, 0x14, // je 78
	0xb8, 0xca, 0x00, 0x00, 0x00, // mov $0xca,%eax
	0x4c, 0x89, 0xcf, // mov %r9,%rdi
	0xbe, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%esi
	0xba, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%edx
	0x0f, 0x05, // syscall
	0xb9, 0x00, 0x04, 0x00, 0x00, // mov $0x400,%ecx
	0x41, 0x8b, 0x00, // mov (%r8),%eax
	0x83, 0xf8, 0x02, // cmp $0x2,%eax
	0x74, 0x35, // je ba
	0x83, 0xf8, 0x01, // cmp $0x1,%eax
	0x75, 0x06, // jne 90
	0xf3, 0x90, // pause
	0xff, 0xc9, // dec %ecx
	0x75, 0xed, // jne 7d
	0xb8, 0x01, 0x00, 0x00, 0x00, // mov $0x1,%eax
	0x41, 0x87, 0x40, 0x04, // xchg %eax,0x4(%r8)
	0x41, 0x8b, 0x10, // mov (%r8),%edx
	0x83, 0xfa, 0x02, // cmp $0x2,%edx
	0x74, 0x11, // je b2
	0xb8, 0xca, 0x00, 0x00, 0x00, // mov $0xca,%eax
	0x4c, 0x89, 0xc7, // mov %r8,%rdi
	0x31, 0xf6, // xor %esi,%esi
	0x45, 0x31, 0xd2, // xor %r10d,%r10d
	0x0f, 0x05, // syscall
	0xeb, 0xe7, // jmp 99
	0x41, 0xc7, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, // movl $0x0,0x4(%r8)
	0x49, 0x8b, 0x40, 0x50, // mov 0x50(%r8),%rax
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x74, 0x36, // je f9
	0x49, 0x89, 0x98, 0xd8, 0x00, 0x00, 0x00, // mov %rbx,0xd8(%r8)
	0x4c, 0x89, 0xc3, // mov %r8,%rbx
	0x49, 0x8b, 0x78, 0x58, // mov 0x58(%r8),%rdi
	0x49, 0x8b, 0x70, 0x60, // mov 0x60(%r8),%rsi
	0x49, 0x8b, 0x50, 0x68, // mov 0x68(%r8),%rdx
	0x4d, 0x8b, 0x50, 0x70, // mov 0x70(%r8),%r10
	0x48, 0x83, 0xf8, 0x38, // cmp $0x38,%rax
	0x4d, 0x8b, 0x40, 0x78, // mov 0x78(%r8),%r8
	0x74, 0x18, // je ff
	0x48, 0x83, 0xf8, 0x09, // cmp $0x9,%rax
	0x74, 0x30, // je 11d
	0x0f, 0x05, // syscall
	0x49, 0x89, 0xd8, // mov %rbx,%r8
	0x49, 0x8b, 0x98, 0xd8, 0x00, 0x00, 0x00, // mov 0xd8(%r8),%rbx
	0x41, 0x0f, 0xb7, 0x40, 0x48, // movzwl 0x48(%r8),%eax
	0xc3,       // ret
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x74, 0x12, // je 118
	0x49, 0x89, 0xd8, // mov %rbx,%r8
	0x49, 0x8b, 0x98, 0xd8, 0x00, 0x00, 0x00, // mov 0xd8(%r8),%rbx
	0x79, 0xe7, // jns f9
	0xb8, 0x06, 0x00, 0x00, 0x00, // mov $0x6,%eax
	0xc3,       // ret
	0x58,       // pop %rax
	0x5f,       // pop %rdi
	0x5e,       // pop %rsi
	0xff, 0xe0, // jmp *%rax
	0xb8, 0xb6, 0x01, 0x00, 0x00, // mov $0x1b6,%eax
	0x48, 0x8b, 0x7b, 0x78, // mov 0x78(%rbx),%rdi
	0x31, 0xf6, // xor %esi,%esi
	0x31, 0xd2, // xor %edx,%edx
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x78, 0x42, // js 173
	0x49, 0x89, 0xc0, // mov %rax,%r8
	0xb8, 0x09, 0x00, 0x00, 0x00, // mov $0x9,%eax
	0x48, 0x8b, 0x7b, 0x58, // mov 0x58(%rbx),%rdi
	0x48, 0x8b, 0x73, 0x60, // mov 0x60(%rbx),%rsi
	0x48, 0x8b, 0x53, 0x68, // mov 0x68(%rbx),%rdx
	0x41, 0xba, 0x11, 0x00, 0x00, 0x00, // mov $0x11,%r10d
	0x4c, 0x8b, 0x4b, 0x70, // mov 0x70(%rbx),%r9
	0x0f, 0x05, // syscall
	0x49, 0x89, 0xc1, // mov %rax,%r9
	0xb8, 0x03, 0x00, 0x00, 0x00, // mov $0x3,%eax
	0x4c, 0x89, 0xc7, // mov %r8,%rdi
	0x0f, 0x05, // syscall
	0x49, 0x81, 0xf9, 0x01, 0xf0, 0xff, 0xff, // cmp $0xfffffffffffff001,%r9
	0x73, 0x0c, // jae 173
	0x49, 0x89, 0xd8, // mov %rbx,%r8
	0x49, 0x8b, 0x98, 0xd8, 0x00, 0x00, 0x00, // mov 0xd8(%r8),%rbx
	0xeb, 0x86, // jmp f9
	0x49, 0x89, 0xd8, // mov %rbx,%r8
	0x49, 0x8b, 0x98, 0xd8, 0x00, 0x00, 0x00, // mov 0xd8(%r8),%rbx
	0xb8, 0x30, 0x00, 0x00, 0x00, // mov $0x30,%eax
	0xc3, // ret
	// forkentry:
	0x64, 0x4c, 0x8b, 0x1c, 0x25, 0x40, 0x00, 0x00, 0x00, // mov %fs:0x40,%r11
	0x49, 0x89, 0x9b, 0xa0, 0x00, 0x00, 0x00, // mov %rbx,0xa0(%r11)
	0x49, 0x89, 0xab, 0xa8, 0x00, 0x00, 0x00, // mov %rbp,0xa8(%r11)
	0x4d, 0x89, 0xa3, 0xb0, 0x00, 0x00, 0x00, // mov %r12,0xb0(%r11)
	0x4d, 0x89, 0xab, 0xb8, 0x00, 0x00, 0x00, // mov %r13,0xb8(%r11)
	0x4d, 0x89, 0xb3, 0xc0, 0x00, 0x00, 0x00, // mov %r14,0xc0(%r11)
	0x4d, 0x89, 0xbb, 0xc8, 0x00, 0x00, 0x00, // mov %r15,0xc8(%r11)
	0x49, 0x89, 0xa3, 0xd0, 0x00, 0x00, 0x00, // mov %rsp,0xd0(%r11)
	0xe9, 0x3e, 0xfe, 0xff, 0xff, // jmp 0
	// forkmap:
	0x64, 0x48, 0x8b, 0x1c, 0x25, 0x40, 0x00, 0x00, 0x00, // mov %fs:0x40,%rbx
	0xb8, 0xb6, 0x01, 0x00, 0x00, // mov $0x1b6,%eax
	0x48, 0x8b, 0x7b, 0x78, // mov 0x78(%rbx),%rdi
	0x31, 0xf6, // xor %esi,%esi
	0x31, 0xd2, // xor %edx,%edx
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x78, 0x2c, // js 20b
	0x49, 0x89, 0xc0, // mov %rax,%r8
	0xb8, 0x09, 0x00, 0x00, 0x00, // mov $0x9,%eax
	0x48, 0x8b, 0x7b, 0x58, // mov 0x58(%rbx),%rdi
	0x48, 0x8b, 0x73, 0x60, // mov 0x60(%rbx),%rsi
	0x48, 0x8b, 0x53, 0x68, // mov 0x68(%rbx),%rdx
	0x41, 0xba, 0x11, 0x00, 0x00, 0x00, // mov $0x11,%r10d
	0x4c, 0x8b, 0x4b, 0x70, // mov 0x70(%rbx),%r9
	0x0f, 0x05, // syscall
	0xb8, 0x03, 0x00, 0x00, 0x00, // mov $0x3,%eax
	0x4c, 0x89, 0xc7, // mov %r8,%rdi
	0x0f, 0x05, // syscall
	0xeb, 0xc0, // jmp 1cb
	// forkchild:
	0x64, 0x4c, 0x8b, 0x1c, 0x25, 0x40, 0x00, 0x00, 0x00, // mov %fs:0x40,%r11
	0x49, 0x8b, 0x9b, 0xa0, 0x00, 0x00, 0x00, // mov 0xa0(%r11),%rbx
	0x49, 0x8b, 0xab, 0xa8, 0x00, 0x00, 0x00, // mov 0xa8(%r11),%rbp
	0x4d, 0x8b, 0xa3, 0xb0, 0x00, 0x00, 0x00, // mov 0xb0(%r11),%r12
	0x4d, 0x8b, 0xab, 0xb8, 0x00, 0x00, 0x00, // mov 0xb8(%r11),%r13
	0x4d, 0x8b, 0xb3, 0xc0, 0x00, 0x00, 0x00, // mov 0xc0(%r11),%r14
	0x4d, 0x8b, 0xbb, 0xc8, 0x00, 0x00, 0x00, // mov 0xc8(%r11),%r15
	0x49, 0x8b, 0xa3, 0xd0, 0x00, 0x00, 0x00, // mov 0xd0(%r11),%rsp
	0x31, 0xc0, // xor %eax,%eax
	0xc3, // ret
	// clockentry:
	0x8d, 0x4f, 0xff, // lea -0x1(%rdi),%ecx
	0x83, 0xf9, 0x03, // cmp $0x3,%ecx
	0x0f, 0x87, 0xac, 0xfd, 0xff, 0xff, // ja 0
	0xc1, 0xe1, 0x03, // shl $0x3,%ecx
	0x41, 0xb9, 0x01, 0x02, 0x00, 0x03, // mov $0x3000201,%r9d
	0x41, 0xd3, 0xe9, // shr %cl,%r9d
	0x41, 0x81, 0xe1, 0xff, 0x00, 0x00, 0x00, // and $0xff,%r9d
	0x49, 0x89, 0xd0, // mov %rdx,%r8
	0x4d, 0x85, 0xc0, // test %r8,%r8
	0x74, 0x42, // je 2b1
	0xb8, 0xc9, 0x00, 0x00, 0x00, // mov $0xc9,%eax
	0x4c, 0x89, 0xc7, // mov %r8,%rdi
	0x0f, 0x05, // syscall
	0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, // cmp $0xfffffffffffff001,%rax
	0x73, 0x30, // jae 2b1
	0x44, 0x89, 0xcf, // mov %r9d,%edi
	0x64, 0x48, 0x8b, 0x34, 0x25, 0x40, 0x00, 0x00, 0x00, // mov %fs:0x40,%rsi
	0x48, 0x81, 0xc6, 0xe0, 0x00, 0x00, 0x00, // add $0xe0,%rsi
	0xb8, 0xe4, 0x00, 0x00, 0x00, // mov $0xe4,%eax
	0x0f, 0x05, // syscall
	0x48, 0x85, 0xc0, // test %rax,%rax
	0x75, 0x17, // jne 2b7
	0x48, 0x69, 0x06, 0x00, 0xca, 0x9a, 0x3b, // imul $0x3b9aca00,(%rsi),%rax
	0x48, 0x03, 0x46, 0x08, // add 0x8(%rsi),%rax
	0x49, 0x89, 0x00, // mov %rax,(%r8)
	0x31, 0xc0, // xor %eax,%eax
	0xc3,                         // ret
	0xb8, 0x15, 0x00, 0x00, 0x00, // mov $0x15,%eax
	0xc3,                         // ret
	0xb8, 0x1d, 0x00, 0x00, 0x00, // mov $0x1d,%eax
	0xc3, // ret
}

// Offsets in commonAMD64 of the routines proc_fork uses: the stub of
// proc_fork jumps to forkEntry, which saves the callee-saved registers in
// the mailbox before it goes on to the common routine; a forked child
// starts at forkChild, which restores them and returns from proc_fork, or
// at forkMap if it must first map the files its parent had mapped shared.
const (
	forkEntry = 0x183
	forkMap   = 0x1c2
	forkChild = 0x20b
)

// clockEntry is the offset in commonAMD64 of the routine clock_time_get's
// stub jumps to: it serves the four clocks of the ABI in the calling
// thread, without the supervisor (the host kernel checks the output
// pointer with time(2), then clock_gettime(2) reads the clock into the
// mailbox, transport.OffTimespec); other clock ids go on to the common
// routine.
const clockEntry = 0x248

// spinCount is how many times a guest thread checks for the reply before
// it sleeps (the immediate in "mov $0x400,%ecx" above): some tens of
// microseconds on the development machine, longer than a host thread
// takes to wake up, so that a program making calls in a loop does not end
// up with both sides asleep and every call paying two wake-ups (with 0x100
// that happened to one call in thirty, and fd_write cost twice as much).
// Only calls answered straight away are spun on: a call the supervisor
// moves to a goroutine of its own, one that may wait, turns the state to
// Blocked and the guest thread sleeps at once, instead of taking the CPU
// from the threads that would reply or release a lock. Longer spins did
// not make calls faster, and made condition-variable hand-offs slower.
const spinCount = 0x400

// Image is a built vDSO.
type Image struct {
	Bytes []byte
	// Text and TextEnd bound the executable code, relative to the base.
	Text, TextEnd uint64
	// Symbols maps each exported symbol name to its offset from the base.
	Symbols map[string]uint64
	// ForkChild is the offset from the base of the entry point of a
	// forked child process, and ForkMap that of one that maps files
	// before it goes on as ForkChild.
	ForkChild, ForkMap uint64
}

// BuildAMD64 returns the x86-64 vDSO exporting every system call of the ABI.
func BuildAMD64() *Image {
	n := int(abi.NumSyscalls)
	names := make([]string, n)
	for i := range names {
		names[i] = SymbolBase + abi.Syscall(i).String()
	}

	// Offsets of each part, in file order.
	phoff := uint64(ehdrSize)
	hashOff := align(phoff+2*phdrSize, 8)
	nsyms := n + 1 // symbol 0 is the undefined symbol
	hashSize := uint64(4 * (2 + nbucket + nsyms))
	symOff := align(hashOff+hashSize, 8)
	strOff := symOff + uint64(nsyms*symSize)
	strtab := []byte{0}
	nameOff := make([]uint32, n)
	for i, name := range names {
		nameOff[i] = uint32(len(strtab))
		strtab = append(strtab, name...)
		strtab = append(strtab, 0)
	}
	dynOff := align(strOff+uint64(len(strtab)), 8)
	dyn := [][2]uint64{
		{4, hashOff},              // DT_HASH
		{5, strOff},               // DT_STRTAB
		{6, symOff},               // DT_SYMTAB
		{10, uint64(len(strtab))}, // DT_STRSZ
		{11, symSize},             // DT_SYMENT
		{0, 0},                    // DT_NULL
	}
	textOff := align(dynOff+uint64(len(dyn)*dynSize), 16)
	commonOff := textOff + uint64(n*stubSize)
	end := commonOff + uint64(len(commonAMD64))

	b := make([]byte, end)
	le := binary.LittleEndian

	// ELF header.
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1 /* version */, 17 /* CloudABI */})
	le.PutUint16(b[16:], 3)  // ET_DYN
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)  // EV_CURRENT
	le.PutUint64(b[32:], phoff)
	le.PutUint16(b[52:], ehdrSize)
	le.PutUint16(b[54:], phdrSize)
	le.PutUint16(b[56:], 2)
	le.PutUint16(b[58:], 64) // e_shentsize, although there are no sections

	// PT_LOAD covering the whole image, and PT_DYNAMIC.
	ph := b[phoff:]
	le.PutUint32(ph[0:], 1)    // PT_LOAD
	le.PutUint32(ph[4:], 5)    // PF_R|PF_X
	le.PutUint64(ph[32:], end) // p_filesz
	le.PutUint64(ph[40:], end) // p_memsz
	le.PutUint64(ph[48:], 4096)
	ph = b[phoff+phdrSize:]
	le.PutUint32(ph[0:], 2) // PT_DYNAMIC
	le.PutUint32(ph[4:], 4) // PF_R
	le.PutUint64(ph[8:], dynOff)
	le.PutUint64(ph[16:], dynOff)
	le.PutUint64(ph[24:], dynOff)
	le.PutUint64(ph[32:], uint64(len(dyn)*dynSize))
	le.PutUint64(ph[40:], uint64(len(dyn)*dynSize))
	le.PutUint64(ph[48:], 8)

	// SysV hash table: nbucket, nchain, buckets, chains.
	h := b[hashOff:]
	le.PutUint32(h[0:], nbucket)
	le.PutUint32(h[4:], uint32(nsyms))
	buckets := h[8:]
	chains := h[8+4*nbucket:]
	for i := n - 1; i >= 0; i-- {
		sym := uint32(i + 1)
		bkt := elfHash(names[i]) % nbucket
		le.PutUint32(chains[4*sym:], le.Uint32(buckets[4*bkt:]))
		le.PutUint32(buckets[4*bkt:], sym)
	}

	// Symbols: STB_GLOBAL, STT_FUNC, STV_DEFAULT, defined in section 1 (any
	// non-zero index: consumers only test for SHN_UNDEF).
	syms := make(map[string]uint64, n)
	for i := 0; i < n; i++ {
		s := b[symOff+uint64((i+1)*symSize):]
		addr := textOff + uint64(i*stubSize)
		le.PutUint32(s[0:], nameOff[i])
		s[4] = 1<<4 | 2 // STB_GLOBAL, STT_FUNC
		s[5] = 0        // STV_DEFAULT
		le.PutUint16(s[6:], 1)
		le.PutUint64(s[8:], addr)
		le.PutUint64(s[16:], stubSize)
		syms[names[i]] = addr
	}
	copy(b[strOff:], strtab)
	for i, d := range dyn {
		le.PutUint64(b[dynOff+uint64(i*dynSize):], d[0])
		le.PutUint64(b[dynOff+uint64(i*dynSize)+8:], d[1])
	}

	// Stubs: mov $nr, %eax; [mov 8(%rsp), %r10;] jmp common; padded with int3.
	for i := 0; i < n; i++ {
		at := textOff + uint64(i*stubSize)
		s := b[at : at+stubSize]
		for j := range s {
			s[j] = 0xcc
		}
		s[0] = 0xb8
		le.PutUint32(s[1:], uint32(i))
		p := 5
		if abi.Syscalls[i].NumArgs > 6 {
			// The seventh argument is on the stack above the return
			// address. Only stubs that take one read it: a thread's
			// first frame may sit at the very top of its stack.
			p += copy(s[p:], []byte{0x4c, 0x8b, 0x54, 0x24, 0x08})
		}
		target := commonOff
		switch abi.Syscall(i) {
		case abi.SysProcFork:
			target += forkEntry
		case abi.SysClockTimeGet:
			target += clockEntry
		}
		s[p] = 0xe9
		le.PutUint32(s[p+1:], uint32(int32(int64(target)-int64(at)-int64(p+5))))
	}
	copy(b[commonOff:], commonAMD64)

	return &Image{Bytes: b, Text: textOff, TextEnd: end, Symbols: syms, ForkChild: commonOff + forkChild, ForkMap: commonOff + forkMap}
}

func align(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

// elfHash is the System V ABI symbol hash function.
func elfHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		g := h & 0xf0000000
		if g != 0 {
			h ^= g >> 24
		}
		h &^= g
	}
	return h
}
