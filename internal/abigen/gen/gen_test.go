package gen

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudabi-go/cloudabi/internal/abigen/spec"
)

const testSpec = `enum uint16 errno
	@cprefix E
	0 success
		| No error occurred.
	1 2big
		| Argument list too long.
	44 noent
		| No such file or directory.
opaque uint32 fd
	@cprefix
	0xffffffff process_child
flags uint64 rights
	@cprefix RIGHT_
	0x02 fd_read
flags uint16 eventrwflags
	@cprefix EVENT_FD_READWRITE_
	0x01 hangup
enum uint8 eventtype
	1 clock
	3 fd_read
	4 fd_write
flags uint32 lookupflags
	@cprefix LOOKUP_
	1 symlink_follow
opaque uint32 lock
	0 unlocked
enum uint8 scope
	4 private
alias uint64 filesize
struct lookup
	fd fd
	lookupflags flags
struct ciovec
	crange void buf
struct event
	uint64 userdata
	errno error
	eventtype type
	variant type
		fd_read fd_write
			struct fd_readwrite
				filesize nbytes
				eventrwflags flags
		clock
			uint8 tick
syscall fd_write
	| Writes to a file descriptor.
	in
		fd fd
		crange ciovec iovs
	out
		size nwritten
syscall file_open
	in
		lookup dirfd
		crange char path
		cptr fd fds
	out
		fd fd
syscall mem_map
	in
		ptr void addr
	out
		ptr void mem
syscall lock_unlock
	in
		ptr atomic lock lock
		scope scope
syscall proc_exit
	in
		fd rval
	noreturn
syscall thread_yield
`

func parseTest(t *testing.T) *spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNames(t *testing.T) {
	s := parseTest(t)
	tests := []struct {
		typ, member, goName, cName string
	}{
		{"errno", "success", "ESUCCESS", "CLOUDABI_ESUCCESS"},
		{"errno", "2big", "E2BIG", "CLOUDABI_E2BIG"},
		{"errno", "noent", "ENOENT", "CLOUDABI_ENOENT"},
		{"fd", "process_child", "ProcessChild", "CLOUDABI_PROCESS_CHILD"},
		{"rights", "fd_read", "RightFdRead", "CLOUDABI_RIGHT_FD_READ"},
		{"eventrwflags", "hangup", "EventFdReadwriteHangup", "CLOUDABI_EVENT_FD_READWRITE_HANGUP"},
		{"eventtype", "fd_read", "EventtypeFdRead", "CLOUDABI_EVENTTYPE_FD_READ"},
		{"lookupflags", "symlink_follow", "LookupSymlinkFollow", "CLOUDABI_LOOKUP_SYMLINK_FOLLOW"},
		{"lock", "unlocked", "LockUnlocked", "CLOUDABI_LOCK_UNLOCKED"},
	}
	for _, tt := range tests {
		it := s.IntType(tt.typ)
		m := it.Member(tt.member)
		if got := GoConstName(it, m); got != tt.goName {
			t.Errorf("GoConstName(%s.%s) = %q, want %q", tt.typ, tt.member, got, tt.goName)
		}
		if got := CConstName(it, m); got != tt.cName {
			t.Errorf("CConstName(%s.%s) = %q, want %q", tt.typ, tt.member, got, tt.cName)
		}
	}
	for in, want := range map[string]string{"recv_in": "RecvIn", "fd_create1": "FdCreate1", "errno": "Errno", "a__b_": "AB"} {
		if got := Camel(in); got != want {
			t.Errorf("Camel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCPrototypes(t *testing.T) {
	s := parseTest(t)
	tests := []struct {
		name  string
		proto string
		words int
	}{
		{"fd_write", "cloudabi_errno_t cloudabi_sys_fd_write(cloudabi_fd_t fd, const cloudabi_ciovec_t *iovs, size_t iovs_len, size_t *nwritten)", 4},
		{"file_open", "cloudabi_errno_t cloudabi_sys_file_open(cloudabi_lookup_t dirfd, const char *path, size_t path_len, const cloudabi_fd_t *fds, cloudabi_fd_t *fd)", 5},
		{"mem_map", "cloudabi_errno_t cloudabi_sys_mem_map(void *addr, void **mem)", 2},
		{"lock_unlock", "cloudabi_errno_t cloudabi_sys_lock_unlock(_Atomic(cloudabi_lock_t) *lock, cloudabi_scope_t scope)", 2},
		{"proc_exit", "_Noreturn void cloudabi_sys_proc_exit(cloudabi_fd_t rval)", 1},
		{"thread_yield", "cloudabi_errno_t cloudabi_sys_thread_yield(void)", 0},
	}
	for i, tt := range tests {
		sc := s.Syscalls[i]
		if sc.Name != tt.name {
			t.Fatalf("syscall %d is %q, want %q", i, sc.Name, tt.name)
		}
		if got := CPrototype(s, sc); got != tt.proto {
			t.Errorf("CPrototype(%s) =\n\t%s\nwant\n\t%s", tt.name, got, tt.proto)
		}
		words := 0
		for _, p := range CParams(s, sc.In, sc.Out) {
			words += p.Words
		}
		if words != tt.words {
			t.Errorf("words(%s) = %d, want %d", tt.name, words, tt.words)
		}
	}
}

func TestGenerateOutputs(t *testing.T) {
	s := parseTest(t)
	files, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]string{}
	for i, f := range files {
		if !bytes.Equal(f.Data, again[i].Data) {
			t.Errorf("%s: output is not deterministic", f.Path)
		}
		byPath[f.Path] = string(f.Data)
	}
	tests := []struct {
		path string
		want []string
	}{
		{"abi/zz_generated.go", []string{
			"// " + Header + "\n",
			"type Errno uint16",
			"E2BIG Errno = 1",
			"ProcessChild Fd = 0xffffffff",
			"RightFdRead Rights = 0x0000000000000002",
			"return \"ENOENT\"",
			"return \"No such file or directory\"",
			// event: userdata@0, error@8, type@10, union@16 (size 16).
			"\tType  Eventtype\n\t_     [5]byte\n",
			"Union [16]byte",
			"SizeofEvent                 = 32",
			"OffsetofEventUnion          = 16",
			"OffsetofEventTick           = 16",
			"type EventFdReadwrite struct",
			"SizeofEventFdReadwrite         = 16",
			"OffsetofEventFdReadwriteFlags  = 8",
			"func (s *Event) FdReadwrite() (v EventFdReadwrite)",
			"func (s *Event) SetTick(v uint8)",
			"OffsetofCiovecBufLen = 8",
			"SysFdWrite Syscall = 0",
			"const NumSyscalls = 6",
			"{Name: \"iovs_len\", CType: \"size_t\", Dir: ParamIn}",
			"{Name: \"nwritten\", CType: \"size_t *\", Dir: ParamOut}",
		}},
		{"abi/zz_generated_layout_test.go", []string{
			"unsafe.Offsetof(EventFdReadwrite{}.Flags), OffsetofEventFdReadwriteFlags",
		}},
		{"sdk/include/cloudabi_types.h", []string{
			"// " + Header + "\n",
			"typedef uint16_t cloudabi_errno_t;",
			"#define CLOUDABI_E2BIG 1\n",
			"#define CLOUDABI_PROCESS_CHILD 0xffffffff\n",
			"\tunion {\n\t\tstruct {\n\t\t\tcloudabi_filesize_t nbytes;\n\t\t\tcloudabi_eventrwflags_t flags;\n\t\t} fd_readwrite;\n\t\tuint8_t tick;\n\t};\n} cloudabi_event_t;",
			"\tconst void *buf;\n\tsize_t buf_len;\n} cloudabi_ciovec_t;",
			"_Static_assert(offsetof(cloudabi_event_t, fd_readwrite.flags) == 24,",
			"_Static_assert(sizeof(cloudabi_event_t) == 32,",
		}},
		{"sdk/include/cloudabi_syscalls.h", []string{
			"#define CLOUDABI_SYSCALL_COUNT 6\n",
			"\t\"fd_write\", \\\n",
			"typedef void cloudabi_sys_proc_exit_fn(cloudabi_fd_t rval);",
			"\tcloudabi_sys_fd_write_fn *fd_write;\n",
			"static inline _Noreturn void cloudabi_sys_proc_exit(cloudabi_fd_t rval) {\n\tcloudabi_vdso.proc_exit(rval);\n\t__builtin_unreachable();\n}",
			"return cloudabi_vdso.fd_write(fd, iovs, iovs_len, nwritten);",
		}},
		{"docs/SYSCALLS.md", []string{
			"| 0 | [`fd_write`](#fd_write) | `cloudabi_errno_t cloudabi_sys_fd_write(",
		}},
	}
	for _, tt := range tests {
		got, ok := byPath[tt.path]
		if !ok {
			t.Errorf("%s not generated", tt.path)
			continue
		}
		for _, w := range tt.want {
			// Compare with alignment whitespace collapsed.
			if !strings.Contains(squash(got), squash(w)) {
				t.Errorf("%s does not contain %q", tt.path, w)
			}
		}
	}
}

var spaceRE = regexp.MustCompile(`[ \t]+`)

func squash(s string) string { return spaceRE.ReplaceAllString(s, " ") }

func TestGenerateRejectsCollisions(t *testing.T) {
	// Both members map to the Go name FooBar.
	s, err := spec.Parse([]byte("enum uint8 foo\n\t1 bar\nalias uint8 foo_bar\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The type FooBar and the constant FooBar collide.
	if _, err := GenerateGo(s); err == nil || !strings.Contains(err.Error(), "FooBar") {
		t.Errorf("GenerateGo error = %v, want a collision on FooBar", err)
	}
}
