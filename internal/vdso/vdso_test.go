package vdso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/transport"
)

var le = binary.LittleEndian

// dynInfo is what a C library learns from the vDSO's dynamic section.
type dynInfo struct {
	hash, strtab, symtab, strsz, syment uint64
	seen                                map[elf.DynTag]int
}

// parsed is the image as a dynamic linker sees it.
type parsed struct {
	img  *Image
	f    *elf.File
	load *elf.Prog
	dyn  dynInfo
}

func parse(t *testing.T) parsed {
	t.Helper()
	img := BuildAMD64()
	f, err := elf.NewFile(bytes.NewReader(img.Bytes))
	if err != nil {
		t.Fatalf("debug/elf cannot read the image: %v", err)
	}
	p := parsed{img: img, f: f}
	var dynamic *elf.Prog
	for _, prog := range f.Progs {
		switch prog.Type {
		case elf.PT_LOAD:
			if p.load != nil {
				t.Fatalf("more than one PT_LOAD")
			}
			p.load = prog
		case elf.PT_DYNAMIC:
			dynamic = prog
		}
	}
	if p.load == nil || dynamic == nil {
		t.Fatalf("PT_LOAD %v, PT_DYNAMIC %v", p.load, dynamic)
	}
	// The dynamic section, read through its address as the C library does.
	p.dyn.seen = map[elf.DynTag]int{}
	raw := p.mem(t, dynamic.Vaddr, dynamic.Memsz)
	terminated := false
	for i := 0; i+16 <= len(raw); i += 16 {
		tag, val := elf.DynTag(le.Uint64(raw[i:])), le.Uint64(raw[i+8:])
		if tag == elf.DT_NULL {
			terminated = true
			break
		}
		p.dyn.seen[tag]++
		switch tag {
		case elf.DT_HASH:
			p.dyn.hash = val
		case elf.DT_STRTAB:
			p.dyn.strtab = val
		case elf.DT_SYMTAB:
			p.dyn.symtab = val
		case elf.DT_STRSZ:
			p.dyn.strsz = val
		case elf.DT_SYMENT:
			p.dyn.syment = val
		}
	}
	if !terminated {
		t.Fatalf("dynamic section has no DT_NULL")
	}
	return p
}

// mem returns n bytes at image address addr, which must be inside the
// PT_LOAD segment's file bytes.
func (p parsed) mem(t *testing.T, addr, n uint64) []byte {
	t.Helper()
	l := p.load
	if addr < l.Vaddr || addr+n < addr || addr+n > l.Vaddr+l.Filesz {
		t.Fatalf("range %#x+%#x is outside the loaded image", addr, n)
	}
	off := l.Off + (addr - l.Vaddr)
	return p.img.Bytes[off : off+n]
}

func wantNames() map[string]int {
	names := map[string]int{}
	for i := 0; i < int(abi.NumSyscalls); i++ {
		names["cloudabi_sys_"+abi.Syscall(i).String()] = i
	}
	return names
}

func TestHeader(t *testing.T) {
	p := parse(t)
	f, img := p.f, p.img
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		t.Errorf("class %v data %v", f.Class, f.Data)
	}
	if f.Type != elf.ET_DYN {
		t.Errorf("type %v, want ET_DYN", f.Type)
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine %v, want EM_X86_64", f.Machine)
	}
	if f.OSABI != 17 { // ELFOSABI_CLOUDABI
		t.Errorf("OS/ABI %v, want 17", f.OSABI)
	}
	if f.Version != elf.EV_CURRENT {
		t.Errorf("version %v", f.Version)
	}
	if got := le.Uint16(img.Bytes[52:]); got != 64 {
		t.Errorf("e_ehsize = %d", got)
	}
	if got := le.Uint16(img.Bytes[54:]); got != 56 {
		t.Errorf("e_phentsize = %d", got)
	}
	l := p.load
	if l.Flags != elf.PF_R|elf.PF_X {
		t.Errorf("PT_LOAD flags %v, want R+X", l.Flags)
	}
	if l.Off != 0 || l.Vaddr != 0 || l.Filesz != uint64(len(img.Bytes)) || l.Memsz != l.Filesz {
		t.Errorf("PT_LOAD off %#x vaddr %#x filesz %#x memsz %#x does not cover the %#x-byte image",
			l.Off, l.Vaddr, l.Filesz, l.Memsz, len(img.Bytes))
	}
	if l.Align < 4096 || l.Align&(l.Align-1) != 0 {
		t.Errorf("PT_LOAD align %#x", l.Align)
	}
	if img.Text >= img.TextEnd || img.TextEnd > l.Vaddr+l.Memsz || img.Text < l.Vaddr {
		t.Errorf("text %#x..%#x outside the segment", img.Text, img.TextEnd)
	}
	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_STRTAB, elf.DT_SYMTAB, elf.DT_STRSZ, elf.DT_SYMENT} {
		if p.dyn.seen[tag] != 1 {
			t.Errorf("%v appears %d times in the dynamic section", tag, p.dyn.seen[tag])
		}
	}
	if p.dyn.syment != 24 {
		t.Errorf("DT_SYMENT = %d, want 24", p.dyn.syment)
	}
	// The tables do not overlap the code.
	for name, addr := range map[string]uint64{"hash": p.dyn.hash, "symtab": p.dyn.symtab, "strtab": p.dyn.strtab} {
		if addr >= img.Text && addr < img.TextEnd {
			t.Errorf("%s at %#x is inside the text", name, addr)
		}
	}
}

// symbols walks the dynamic symbol table the way a C library does: the
// number of symbols is nchain from DT_HASH.
func (p parsed) symbols(t *testing.T) (nchain int, syms []elf.Symbol) {
	t.Helper()
	h := p.mem(t, p.dyn.hash, 8)
	nchain = int(le.Uint32(h[4:]))
	strtab := p.mem(t, p.dyn.strtab, p.dyn.strsz)
	if len(strtab) == 0 || strtab[0] != 0 || strtab[len(strtab)-1] != 0 {
		t.Errorf("string table does not start and end with NUL")
	}
	for i := 0; i < nchain; i++ {
		s := p.mem(t, p.dyn.symtab+uint64(i)*p.dyn.syment, 24)
		name := le.Uint32(s[0:])
		if uint64(name) >= p.dyn.strsz {
			t.Fatalf("symbol %d: name offset %d outside DT_STRSZ %d", i, name, p.dyn.strsz)
		}
		end := bytes.IndexByte(strtab[name:], 0)
		if end < 0 {
			t.Fatalf("symbol %d: unterminated name", i)
		}
		syms = append(syms, elf.Symbol{
			Name:    string(strtab[name : name+uint32(end)]),
			Info:    s[4],
			Other:   s[5],
			Section: elf.SectionIndex(le.Uint16(s[6:])),
			Value:   le.Uint64(s[8:]),
			Size:    le.Uint64(s[16:]),
		})
	}
	return nchain, syms
}

func TestSymbols(t *testing.T) {
	p := parse(t)
	_, syms := p.symbols(t)
	if len(syms) == 0 {
		t.Fatal("no symbols")
	}
	if syms[0] != (elf.Symbol{}) {
		t.Errorf("symbol 0 is not the null symbol: %+v", syms[0])
	}
	want := wantNames()
	if len(want) != 49 {
		t.Fatalf("%d system call names, want 49", len(want))
	}
	found := map[string]bool{}
	for i, s := range syms[1:] {
		if _, ok := want[s.Name]; !ok {
			t.Errorf("symbol %d: unexpected name %q", i+1, s.Name)
			continue
		}
		if found[s.Name] {
			t.Errorf("symbol %q defined twice", s.Name)
		}
		found[s.Name] = true
		if elf.ST_BIND(s.Info) != elf.STB_GLOBAL || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			t.Errorf("%s: bind %v type %v", s.Name, elf.ST_BIND(s.Info), elf.ST_TYPE(s.Info))
		}
		if elf.ST_VISIBILITY(s.Other) != elf.STV_DEFAULT {
			t.Errorf("%s: visibility %v", s.Name, elf.ST_VISIBILITY(s.Other))
		}
		if s.Section == elf.SHN_UNDEF {
			t.Errorf("%s: undefined", s.Name)
		}
		if s.Value < p.img.Text || s.Value >= p.img.TextEnd || s.Value+s.Size > p.img.TextEnd {
			t.Errorf("%s: %#x+%#x outside the text %#x..%#x", s.Name, s.Value, s.Size, p.img.Text, p.img.TextEnd)
		}
		if got, ok := p.img.Symbols[s.Name]; !ok || got != s.Value {
			t.Errorf("%s: Image.Symbols says %#x (%v), symbol table says %#x", s.Name, got, ok, s.Value)
		}
	}
	if len(found) != len(want) || len(syms)-1 != len(want) {
		t.Errorf("%d symbols (%d distinct names), want %d", len(syms)-1, len(found), len(want))
	}
	if len(p.img.Symbols) != len(want) {
		t.Errorf("Image.Symbols has %d entries, want %d", len(p.img.Symbols), len(want))
	}
	// Stubs do not overlap each other.
	for a, sa := range syms[1:] {
		for b, sb := range syms[1:] {
			if a != b && sa.Value < sb.Value+sb.Size && sb.Value < sa.Value+sa.Size {
				t.Errorf("%s and %s overlap", sa.Name, sb.Name)
			}
		}
	}
}

// sysvHash is the symbol hash function of the System V ABI, as given there.
func sysvHash(name string) uint32 {
	var h uint32
	for _, c := range []byte(name) {
		h = (h << 4) + uint32(c)
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
			h &^= g
		}
	}
	return h
}

func TestSysvHashFunction(t *testing.T) {
	// Values of the System V ABI hash function computed independently of
	// this package.
	tests := []struct {
		name string
		want uint32
	}{
		{"", 0},
		{"a", 0x61},
		{"ab", 0x672},
		{"printf", 0x077905a6},
		{"exit", 0x0006cf04},
		{"syscall", 0x0b09985c},
		{"flapenguin.me", 0x03987915},
		{"abcdefghijklmnopqrstuvwxyz", 0x08d1e00a}, // long enough for the high nibble to fold
		{"cloudabi_sys_proc_exit", 0x073f8894},
	}
	for _, tt := range tests {
		if got := sysvHash(tt.name); got != tt.want {
			t.Errorf("sysvHash(%q) = %#x, want %#x", tt.name, got, tt.want)
		}
		if got := elfHash(tt.name); got != tt.want {
			t.Errorf("elfHash(%q) = %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// lookup finds name through the DT_HASH table as a dynamic linker does.
func (p parsed) lookup(t *testing.T, name string) (uint64, bool) {
	t.Helper()
	h := p.mem(t, p.dyn.hash, 8)
	nbucket, nchain := le.Uint32(h[0:]), le.Uint32(h[4:])
	if nbucket == 0 {
		t.Fatal("nbucket is 0")
	}
	table := p.mem(t, p.dyn.hash, 8+4*uint64(nbucket)+4*uint64(nchain))
	buckets := table[8 : 8+4*nbucket]
	chains := table[8+4*nbucket:]
	strtab := p.mem(t, p.dyn.strtab, p.dyn.strsz)
	steps := 0
	for i := le.Uint32(buckets[4*(sysvHash(name)%nbucket):]); i != 0; i = le.Uint32(chains[4*i:]) {
		if i >= nchain {
			t.Fatalf("chain index %d out of range (nchain %d)", i, nchain)
		}
		if steps++; steps > int(nchain) {
			t.Fatalf("hash chain for %q loops", name)
		}
		s := p.mem(t, p.dyn.symtab+uint64(i)*p.dyn.syment, 24)
		off := le.Uint32(s[0:])
		end := bytes.IndexByte(strtab[off:], 0)
		if string(strtab[off:off+uint32(end)]) == name {
			return le.Uint64(s[8:]), true
		}
	}
	return 0, false
}

func TestHashLookup(t *testing.T) {
	p := parse(t)
	nchain, syms := p.symbols(t)
	if nchain != 50 {
		t.Errorf("nchain = %d, want 50 (null symbol + 49)", nchain)
	}
	for name := range wantNames() {
		addr, ok := p.lookup(t, name)
		if !ok {
			t.Errorf("%s not found through DT_HASH", name)
			continue
		}
		if addr != p.img.Symbols[name] {
			t.Errorf("%s: hash lookup gives %#x, Image.Symbols %#x", name, addr, p.img.Symbols[name])
		}
	}
	for _, name := range []string{"", "cloudabi_sys_", "cloudabi_sys_proc_exitt", "proc_exit", "cloudabi_sys_PROC_EXIT", "main"} {
		if _, ok := p.lookup(t, name); ok {
			t.Errorf("%q found through DT_HASH", name)
		}
	}
	// Every symbol is reachable from exactly one bucket.
	h := p.mem(t, p.dyn.hash, 8)
	nbucket := le.Uint32(h[0:])
	table := p.mem(t, p.dyn.hash, 8+4*uint64(nbucket)+4*uint64(nchain))
	reached := map[uint32]int{}
	for b := uint32(0); b < nbucket; b++ {
		for i := le.Uint32(table[8+4*b:]); i != 0; i = le.Uint32(table[8+4*nbucket+4*i:]) {
			reached[i]++
			if sysvHash(syms[i].Name)%nbucket != b {
				t.Errorf("%s is in bucket %d, hashes to %d", syms[i].Name, b, sysvHash(syms[i].Name)%nbucket)
			}
			if reached[i] > 1 {
				t.Fatalf("symbol %d reached twice", i)
			}
		}
	}
	if len(reached) != nchain-1 {
		t.Errorf("%d symbols reachable through buckets, want %d", len(reached), nchain-1)
	}
}

// common returns where the common routine starts: the target of the first
// stub's jump, checked by TestStubs for every stub.
func stubTarget(t *testing.T, img *Image, nr int, name string) uint64 {
	t.Helper()
	at := img.Symbols[name]
	s := img.Bytes[at : at+16]
	if s[0] != 0xb8 || le.Uint32(s[1:]) != uint32(nr) {
		t.Fatalf("%s does not begin with mov $%d, %%eax: % x", name, nr, s)
	}
	p := 5
	r10 := []byte{0x4c, 0x8b, 0x54, 0x24, 0x08} // mov 0x8(%rsp), %r10
	hasR10 := bytes.HasPrefix(s[p:], r10)
	if want := abi.Syscalls[nr].NumArgs > 6; hasR10 != want {
		t.Errorf("%s (%d arguments): loads the seventh argument: %v, want %v", name, abi.Syscalls[nr].NumArgs, hasR10, want)
	}
	if hasR10 {
		p += len(r10)
	}
	if s[p] != 0xe9 {
		t.Fatalf("%s: no jmp rel32 at byte %d: % x", name, p, s)
	}
	next := at + uint64(p) + 5
	target := uint64(int64(next) + int64(int32(le.Uint32(s[p+1:]))))
	for i := p + 5; i < 16; i++ {
		if s[i] != 0xcc {
			t.Errorf("%s: byte %d after the jump is %#x, want int3 padding", name, i, s[i])
		}
	}
	return target
}

func TestStubs(t *testing.T) {
	img := BuildAMD64()
	names := wantNames()
	var common uint64
	var sevenArgs int
	for name, nr := range names {
		target := stubTarget(t, img, nr, name)
		switch abi.Syscall(nr) {
		case abi.SysProcFork:
			// proc_fork saves its registers first (forkEntry).
			target -= forkEntry
		case abi.SysClockTimeGet:
			// clock_time_get may read a CPU-time clock first.
			target -= clockEntry
		}
		if common == 0 {
			common = target
		}
		if target != common {
			t.Errorf("%s jumps to %#x, others to %#x", name, target, common)
		}
		if abi.Syscalls[nr].NumArgs > 6 {
			sevenArgs++
		}
		if abi.Syscalls[nr].NumArgs > transport.NumArgs {
			t.Errorf("%s takes %d arguments, the mailbox holds %d", name, abi.Syscalls[nr].NumArgs, transport.NumArgs)
		}
	}
	if sevenArgs == 0 {
		t.Errorf("no system call takes seven arguments; the %%r10 path is untested")
	}
	// The common routine lies after every stub, inside the text.
	for name, addr := range img.Symbols {
		if addr+16 > common {
			t.Errorf("%s at %#x overlaps the common routine at %#x", name, addr, common)
		}
	}
	if common >= img.TextEnd {
		t.Fatalf("common routine at %#x, text ends at %#x", common, img.TextEnd)
	}
	if !bytes.Equal(img.Bytes[common:img.TextEnd], commonAMD64) {
		t.Errorf("bytes at the jump target are not the common routine")
	}
}

func TestBuildDeterministic(t *testing.T) {
	a, b := BuildAMD64(), BuildAMD64()
	if !bytes.Equal(a.Bytes, b.Bytes) {
		t.Fatal("two builds differ")
	}
	if a.Text != b.Text || a.TextEnd != b.TextEnd || fmt.Sprint(a.Symbols) != fmt.Sprint(b.Symbols) {
		t.Fatal("two builds describe different layouts")
	}
	// The builds do not share memory.
	a.Bytes[0] ^= 0xff
	if a.Bytes[0] == b.Bytes[0] {
		t.Fatal("two builds share their bytes")
	}
}

type insn struct {
	addr uint64
	text string // mnemonic and operands, single-spaced
}

var (
	objdumpLine = regexp.MustCompile(`^\s*([0-9a-f]+):\t([0-9a-f ]+)\t?(.*)$`)
	branch      = regexp.MustCompile(`^(j[a-z]+|call|loop[a-z]*)\s+0x([0-9a-f]+)`)
)

func disassemble(t *testing.T, img *Image, start, end uint64) []insn {
	t.Helper()
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		// llvm-objdump cannot read raw binaries; GNU objdump can.
		t.Skip("no GNU objdump on PATH")
	}
	file := filepath.Join(t.TempDir(), "vdso.bin")
	if err := os.WriteFile(file, img.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "i386:x86-64",
		"--start-address="+strconv.FormatUint(start, 10), "--stop-address="+strconv.FormatUint(end, 10), file).CombinedOutput()
	if err != nil {
		t.Skipf("objdump failed: %v\n%s", err, out)
	}
	var insns []insn
	for _, line := range strings.Split(string(out), "\n") {
		m := objdumpLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		text := strings.Join(strings.Fields(m[3]), " ")
		if text == "" {
			continue // continuation of a long instruction's bytes
		}
		addr, _ := strconv.ParseUint(m[1], 16, 64)
		insns = append(insns, insn{addr, text})
	}
	if len(insns) == 0 {
		t.Fatalf("no instructions in objdump output:\n%s", out)
	}
	return insns
}

func TestCommonRoutineDisassembly(t *testing.T) {
	img := BuildAMD64()
	start := stubTarget(t, img, 0, "cloudabi_sys_"+abi.Syscall(0).String())
	end := start + forkEntry // the fork routines follow; see TestForkRoutines
	insns := disassemble(t, img, start, end)
	var listing strings.Builder
	for _, in := range insns {
		fmt.Fprintf(&listing, "%#x: %s\n", in.addr, in.text)
	}
	text := listing.String()
	t.Logf("common routine:\n%s", text)

	if insns[0].addr != start {
		t.Errorf("first instruction at %#x, want %#x", insns[0].addr, start)
	}
	index := map[uint64]int{}
	for i, in := range insns {
		index[in.addr] = i
	}
	for _, in := range insns {
		if strings.Contains(in.text, "(bad)") {
			t.Errorf("undecodable bytes at %#x", in.addr)
		}
		m := branch.FindStringSubmatch(in.text)
		if m == nil {
			continue
		}
		target, _ := strconv.ParseUint(m[2], 16, 64)
		if target < start || target >= end {
			t.Errorf("%#x: %s: target outside the routine %#x..%#x", in.addr, in.text, start, end)
		} else if _, ok := index[target]; !ok {
			t.Errorf("%#x: %s: target is not an instruction boundary", in.addr, in.text)
		}
	}
	// Execution cannot run off the end, and the routine returns.
	if last := insns[len(insns)-1].text; !isRet(last) && !strings.HasPrefix(last, "jmp ") {
		t.Errorf("routine ends in %q, want ret or an unconditional jump", last)
	}
	if !strings.Contains(text, ": ret") {
		t.Errorf("no ret in the routine")
	}
	checkStackBalance(t, insns, index)

	off := func(o int, reg string) string {
		if o == 0 {
			return "(" + reg + ")"
		}
		return fmt.Sprintf("%#x(%s)", o, reg)
	}
	// Instructions that must appear, in this order, derived from the
	// mailbox layout, the Linux system call numbers and the x86-64
	// calling conventions. %r11 and then %r8 hold the mailbox, %r9 the
	// process's shared area.
	want := []string{
		fmt.Sprintf("mov %%fs:%#x,%%r11", transport.FSMailboxPointer),
		"mov %rax," + off(transport.OffNr, "%r11"),
	}
	for i, reg := range []string{"%rdi", "%rsi", "%rdx", "%rcx", "%r8", "%r9", "%r10"} {
		want = append(want, fmt.Sprintf("mov %s,%s", reg, off(transport.OffArgs+8*i, "%r11")))
	}
	want = append(want,
		"movq $0x0,"+off(transport.OffPost, "%r11"),
		"mov %r11,%r8",
		fmt.Sprintf("mov $%#x,%%ecx", transport.StateRequest),
		"xchg %ecx,"+off(transport.OffState, "%r8"),
		"mov "+off(transport.OffShared, "%r8")+",%r9",
		"mov "+off(transport.OffSlot, "%r8")+",%eax",
		fmt.Sprintf("lock bts %%rcx,%#x(%%r9,%%rax,8)", transport.SharedPending),
		"lock incl "+off(transport.SharedDoorbell, "%r9"),
		"cmpl $0x0,"+off(transport.SharedDispatcherWaiting, "%r9"),
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_FUTEX),
		"mov %r9,%rdi",
		fmt.Sprintf("mov $%#x,%%esi", futexWake),
		"syscall",
		// Spin while State is Request: done at Response, sleep at once
		// at anything else (Blocked).
		"mov "+off(transport.OffState, "%r8")+",%eax",
		fmt.Sprintf("cmp $%#x,%%eax", transport.StateResponse),
		fmt.Sprintf("cmp $%#x,%%eax", transport.StateRequest),
		"pause",
		"xchg %eax,"+off(transport.OffGuestWaiting, "%r8"),
		// Sleep while State is what it was, until it is Response.
		"mov "+off(transport.OffState, "%r8")+",%edx",
		fmt.Sprintf("cmp $%#x,%%edx", transport.StateResponse),
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_FUTEX),
		"mov %r8,%rdi",
		"xor %esi,%esi",   // FUTEX_WAIT is 0
		"xor %r10d,%r10d", // no timeout
		"syscall",
		"movl $0x0,"+off(transport.OffGuestWaiting, "%r8"),
		"mov "+off(transport.OffPost, "%r8")+",%rax",
		"mov "+off(transport.OffPostArgs, "%r8")+",%rdi",
		"mov "+off(transport.OffPostArgs+8, "%r8")+",%rsi",
		"mov "+off(transport.OffPostArgs+16, "%r8")+",%rdx",
		"mov "+off(transport.OffPostArgs+24, "%r8")+",%r10",
		fmt.Sprintf("cmp $%#x,%%rax", unix.SYS_CLONE),
		"mov "+off(transport.OffPostArgs+32, "%r8")+",%r8",
		"syscall",
		"movzwl "+off(transport.OffResult, "%r8")+",%eax",
		"ret",
		"syscall",
		fmt.Sprintf("mov $%#x,%%eax", int(abi.EAGAIN)),
		"ret",
		// The file mapping: pidfd_getfd(token), mmap, close.
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_PIDFD_GETFD),
		fmt.Sprintf("mov %#x(%%rbx),%%rdi", transport.OffPostArgs+32),
		"syscall",
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_MMAP),
		fmt.Sprintf("mov $%#x,%%r10d", unix.MAP_SHARED|unix.MAP_FIXED),
		"syscall",
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_CLOSE),
		"syscall",
		fmt.Sprintf("mov %#x(%%r8),%%rbx", transport.OffScratch),
		fmt.Sprintf("mov $%#x,%%eax", int(abi.ENOMEM)),
		"ret",
	)
	if futexWait != 0 {
		t.Fatalf("FUTEX_WAIT is %d", futexWait)
	}
	if transport.NumPostArgs != 5 {
		t.Errorf("transport.NumPostArgs = %d; this test expects the routine to pass 5", transport.NumPostArgs)
	}
	i := 0
	for _, in := range insns {
		txt := in.text
		if isRet(txt) {
			txt = "ret"
		}
		if i < len(want) && txt == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("instruction %q not found (in order) in the common routine", want[i])
	}
	// The displacements named by the mailbox layout, textually.
	for _, s := range []string{
		fmt.Sprintf("%%fs:%#x", transport.FSMailboxPointer),
		"0x8(%r11)", "0x10(%r11)", "0x18(%r11)", "0x20(%r11)", "0x28(%r11)", "0x30(%r11)", "0x38(%r11)", "0x40(%r11)",
		"0x50(%r11)", // Post
		"0x4(%r9)",   // the supervisor's (dispatcher's) waiting flag
		"0x4(%r8)",   // the guest's waiting flag
		"0x48(%r8)",  // Result
	} {
		if !strings.Contains(text, s) {
			t.Errorf("disassembly does not mention %s", s)
		}
	}
	// No access through the mailbox pointer beyond the mailbox.
	mem := regexp.MustCompile(`(0x[0-9a-f]+)\(%r(8|11)\)`)
	for _, m := range mem.FindAllStringSubmatch(text, -1) {
		o, _ := strconv.ParseUint(m[1], 0, 64)
		if o+4 > transport.Size {
			t.Errorf("access at %s outside the %d-byte mailbox", m[0], transport.Size)
		}
	}
	// Seven system calls: wake, wait, the posted one on two paths, and
	// pidfd_getfd, mmap and close for a file mapping.
	if n := strings.Count(text, ": syscall\n"); n != 7 {
		t.Errorf("%d syscall instructions, want 7", n)
	}
}

func isRet(s string) bool { return s == "ret" || s == "retq" }

// checkStackBalance follows every path through the routine and checks that
// each ret finds the stack as it was on entry. An indirect jump (the new
// thread's start after clone, on a fresh stack) ends a path.
func checkStackBalance(t *testing.T, insns []insn, index map[uint64]int) {
	t.Helper()
	depth := make([]int, len(insns))
	seen := make([]bool, len(insns))
	type state struct{ i, d int }
	work := []state{{0, 0}}
	for len(work) > 0 {
		s := work[len(work)-1]
		work = work[:len(work)-1]
		if s.i >= len(insns) {
			t.Errorf("a path runs off the end of the routine")
			continue
		}
		if seen[s.i] {
			if depth[s.i] != s.d {
				t.Errorf("%#x reached with stack depths %d and %d", insns[s.i].addr, depth[s.i], s.d)
			}
			continue
		}
		seen[s.i], depth[s.i] = true, s.d
		in := insns[s.i].text
		d := s.d
		switch {
		case strings.HasPrefix(in, "push "):
			d++
		case strings.HasPrefix(in, "pop "):
			d--
		case isRet(in):
			if d != 0 {
				t.Errorf("%#x: ret with %d words left on the stack", insns[s.i].addr, d)
			}
			continue
		case strings.HasPrefix(in, "jmp *"):
			continue
		}
		if m := branch.FindStringSubmatch(in); m != nil {
			target, _ := strconv.ParseUint(m[2], 16, 64)
			if j, ok := index[target]; ok {
				work = append(work, state{j, d})
			}
			if m[1] == "jmp" {
				continue
			}
		}
		work = append(work, state{s.i + 1, d})
	}
	for i, ok := range seen {
		if !ok {
			t.Errorf("%#x: %s is unreachable", insns[i].addr, insns[i].text)
		}
	}
}

func TestStubsDisassembly(t *testing.T) {
	img := BuildAMD64()
	names := wantNames()
	common := stubTarget(t, img, 0, "cloudabi_sys_"+abi.Syscall(0).String())
	insns := disassemble(t, img, img.Text, common)
	byAddr := map[uint64]int{}
	for i, in := range insns {
		byAddr[in.addr] = i
	}
	for name, nr := range names {
		i, ok := byAddr[img.Symbols[name]]
		if !ok {
			t.Errorf("%s at %#x is not an instruction boundary", name, img.Symbols[name])
			continue
		}
		want := []string{fmt.Sprintf("mov $%#x,%%eax", nr)}
		if nr == 0 {
			want[0] = "mov $0x0,%eax"
		}
		if abi.Syscalls[nr].NumArgs > 6 {
			want = append(want, "mov 0x8(%rsp),%r10")
		}
		target := common
		switch abi.Syscall(nr) {
		case abi.SysProcFork:
			target += forkEntry
		case abi.SysClockTimeGet:
			target += clockEntry
		}
		want = append(want, fmt.Sprintf("jmp %#x", target))
		for j, w := range want {
			if i+j >= len(insns) || insns[i+j].text != w {
				got := ""
				if i+j < len(insns) {
					got = insns[i+j].text
				}
				t.Errorf("%s: instruction %d is %q, want %q", name, j, got, w)
				break
			}
		}
	}
}

// Linux futex operations (linux/futex.h).
const (
	futexWait = 0
	futexWake = 1
)

// TestForkRoutines checks the routines after the common one: forkEntry
// saves the callee-saved registers and the stack pointer at
// transport.OffSaved and goes on to the common routine; forkMap maps the
// files the supervisor hands over until it refuses, then goes on to
// forkChild, which restores the registers from the same place and
// returns 0.
func TestForkRoutines(t *testing.T) {
	img := BuildAMD64()
	common := stubTarget(t, img, 0, "cloudabi_sys_"+abi.Syscall(0).String())
	if img.ForkChild != common+forkChild {
		t.Errorf("Image.ForkChild is %#x, want %#x", img.ForkChild, common+forkChild)
	}
	if img.ForkMap != common+forkMap {
		t.Errorf("Image.ForkMap is %#x, want %#x", img.ForkMap, common+forkMap)
	}
	post := func(i int) string { return fmt.Sprintf("%#x(%%rbx)", transport.OffPostArgs+8*i) }
	fmap := []string{
		fmt.Sprintf("mov %%fs:%#x,%%rbx", transport.FSMailboxPointer),
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_PIDFD_GETFD),
		"mov " + post(4) + ",%rdi",
		"xor %esi,%esi",
		"xor %edx,%edx",
		"syscall",
		"test %rax,%rax",
		fmt.Sprintf("js %#x", common+forkChild),
		"mov %rax,%r8",
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_MMAP),
		"mov " + post(0) + ",%rdi",
		"mov " + post(1) + ",%rsi",
		"mov " + post(2) + ",%rdx",
		fmt.Sprintf("mov $%#x,%%r10d", unix.MAP_SHARED|unix.MAP_FIXED),
		"mov " + post(3) + ",%r9",
		"syscall",
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_CLOSE),
		"mov %r8,%rdi",
		"syscall",
		fmt.Sprintf("jmp %#x", common+forkMap+9),
	}
	regs := []string{"%rbx", "%rbp", "%r12", "%r13", "%r14", "%r15", "%rsp"}
	entry := []string{fmt.Sprintf("mov %%fs:%#x,%%r11", transport.FSMailboxPointer)}
	child := []string{fmt.Sprintf("mov %%fs:%#x,%%r11", transport.FSMailboxPointer)}
	for i, r := range regs {
		entry = append(entry, fmt.Sprintf("mov %s,%#x(%%r11)", r, transport.OffSaved+8*i))
		child = append(child, fmt.Sprintf("mov %#x(%%r11),%s", transport.OffSaved+8*i, r))
	}
	entry = append(entry, fmt.Sprintf("jmp %#x", common))
	child = append(child, "xor %eax,%eax", "ret")
	for _, r := range []struct {
		name       string
		start, end uint64
		want       []string
	}{
		{"forkEntry", common + forkEntry, common + forkMap, entry},
		{"forkMap", common + forkMap, common + forkChild, fmap},
		{"forkChild", common + forkChild, common + clockEntry, child},
	} {
		insns := disassemble(t, img, r.start, r.end)
		if len(insns) != len(r.want) {
			t.Errorf("%s: %d instructions, want %d", r.name, len(insns), len(r.want))
		}
		for i := range min(len(insns), len(r.want)) {
			if insns[i].text != r.want[i] {
				t.Errorf("%s: instruction %d is %q, want %q", r.name, i, insns[i].text, r.want[i])
			}
		}
	}
}

// TestClockEntry checks the routine clock_time_get's stub jumps to: for
// CloudABI's clocks 1-4 (monotonic, process CPU time, realtime, thread CPU
// time) it checks the output pointer with time(2) (EFAULT, and for NULL,
// which time(2) would accept), reads the
// Linux clock into transport.OffTimespec (EIO if that fails), and stores
// the nanoseconds; other clock ids go on to the common routine with the
// call number and arguments intact.
func TestClockEntry(t *testing.T) {
	img := BuildAMD64()
	common := stubTarget(t, img, 0, "cloudabi_sys_"+abi.Syscall(0).String())
	at := common + clockEntry
	const linuxClocks = 0x03000201
	want := []string{
		"lea -0x1(%rdi),%ecx",
		"cmp $0x3,%ecx",
		fmt.Sprintf("ja %#x", common),
		"shl $0x3,%ecx",
		fmt.Sprintf("mov $%#x,%%r9d", linuxClocks),
		"shr %cl,%r9d",
		"and $0xff,%r9d",
		"mov %rdx,%r8",
		"test %r8,%r8",
		fmt.Sprintf("je %#x", at+0x69),
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_TIME),
		"mov %r8,%rdi",
		"syscall",
		"cmp $0xfffffffffffff001,%rax",
		fmt.Sprintf("jae %#x", at+0x69),
		"mov %r9d,%edi",
		fmt.Sprintf("mov %%fs:%#x,%%rsi", transport.FSMailboxPointer),
		fmt.Sprintf("add $%#x,%%rsi", transport.OffTimespec),
		fmt.Sprintf("mov $%#x,%%eax", unix.SYS_CLOCK_GETTIME),
		"syscall",
		"test %rax,%rax",
		fmt.Sprintf("jne %#x", at+0x6f),
		"imul $0x3b9aca00,(%rsi),%rax",
		"add 0x8(%rsi),%rax",
		"mov %rax,(%r8)",
		"xor %eax,%eax",
		"ret",
		fmt.Sprintf("mov $%#x,%%eax", uint16(abi.EFAULT)),
		"ret",
		fmt.Sprintf("mov $%#x,%%eax", uint16(abi.EIO)),
		"ret",
	}
	insns := disassemble(t, img, at, img.TextEnd)
	if len(insns) != len(want) {
		t.Errorf("clockEntry: %d instructions, want %d", len(insns), len(want))
	}
	for i := range min(len(insns), len(want)) {
		if insns[i].text != want[i] {
			t.Errorf("clockEntry: instruction %d is %q, want %q", i, insns[i].text, want[i])
		}
	}
	// The table of Linux clocks the routine indexes.
	for cloudabi, linux := range map[abi.Clockid]int{
		abi.ClockMonotonic: unix.CLOCK_MONOTONIC, abi.ClockProcessCputimeId: unix.CLOCK_PROCESS_CPUTIME_ID,
		abi.ClockRealtime: unix.CLOCK_REALTIME, abi.ClockThreadCputimeId: unix.CLOCK_THREAD_CPUTIME_ID,
	} {
		if got := linuxClocks >> (8 * (cloudabi - 1)) & 0xff; int(got) != linux {
			t.Errorf("CloudABI clock %d becomes Linux clock %d, want %d", cloudabi, got, linux)
		}
	}
}
