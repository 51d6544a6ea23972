package spec

import (
	"strings"
	"testing"
)

// src joins lines into a definition file.
func src(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		src   []byte
		check func(t *testing.T, s *Spec)
	}{
		{
			name: "enum with cprefix and docs",
			src: src(
				"| File documentation.",
				"",
				"enum uint16 errno",
				"\t| Error codes.",
				"\t|",
				"\t| Second paragraph.",
				"\t@cprefix E",
				"\t0 success",
				"\t\t| No error.",
				"\t1 2big",
				"\t# a comment",
				"\t0x1c inval",
			),
			check: func(t *testing.T, s *Spec) {
				if got := strings.Join(s.Doc, "/"); got != "File documentation." {
					t.Errorf("file doc = %q", got)
				}
				e := s.IntType("errno")
				if e == nil || e.Kind != KindEnum || e.Base != "uint16" || !e.HasCPrefix || e.CPrefix != "E" {
					t.Fatalf("errno = %+v", e)
				}
				if got := strings.Join(e.Doc, "/"); got != "Error codes.//Second paragraph." {
					t.Errorf("doc = %q", got)
				}
				if len(e.Members) != 3 || e.Members[2].Value != 28 || e.Members[1].Name != "2big" {
					t.Errorf("members = %+v", e.Members)
				}
				if got := strings.Join(e.Members[0].Doc, ""); got != "No error." {
					t.Errorf("member doc = %q", got)
				}
				if got := e.CName(e.Members[1]); got != "E2BIG" {
					t.Errorf("CName = %q", got)
				}
			},
		},
		{
			name: "empty and missing cprefix",
			src: src(
				"opaque uint32 fd",
				"\t@cprefix",
				"\t0xffffffff process_child",
				"\t0xffffffff map_anon_fd",
				"enum uint8 whence",
				"\t1 cur",
				"alias uint64 timestamp",
				"flags uint16 siflags",
			),
			check: func(t *testing.T, s *Spec) {
				fd := s.IntType("fd")
				if !fd.HasCPrefix || fd.CPrefix != "" || fd.CName(fd.Members[0]) != "PROCESS_CHILD" {
					t.Errorf("fd = %+v", fd)
				}
				w := s.IntType("whence")
				if w.HasCPrefix || w.CName(w.Members[0]) != "WHENCE_CUR" {
					t.Errorf("whence = %+v", w)
				}
				if s.IntType("timestamp").Kind != KindAlias || s.IntType("siflags").Kind != KindFlags {
					t.Error("wrong kinds")
				}
			},
		},
		{
			name: "struct with modifiers and variant",
			src: src(
				"enum uint8 kind",
				"\t1 a",
				"\t2 b",
				"\t3 c",
				"opaque uint32 lock",
				"struct s",
				"\t| A structure.",
				"\tkind k",
				"\tcrange void data",
				"\t\t| Data.",
				"\trange lock locks",
				"\tptr atomic lock l",
				"\tcptr s self",
				"\tarray 4 char pad",
				"\tvariant k",
				"\t\ta b",
				"\t\t\tstruct ab",
				"\t\t\t\tuint64 x",
				"\t\t# comment at an odd depth",
				"\t\t\t\tuint8 y",
				"\t\tc",
				"\t\t\tsize z",
				"\t\t\t\t| Z.",
			),
			check: func(t *testing.T, s *Spec) {
				st := s.Struct("s")
				if st == nil || len(st.Fields) != 7 {
					t.Fatalf("struct = %+v", st)
				}
				want := []string{"kind", "crange void", "range lock", "ptr atomic lock", "cptr s", "array 4 char"}
				for i, w := range want {
					if got := st.Fields[i].Type.String(); got != w {
						t.Errorf("field %d type = %q, want %q", i, got, w)
					}
				}
				v := st.Fields[6].Variant
				if v == nil || v.Tag != "k" || len(v.Cases) != 2 {
					t.Fatalf("variant = %+v", v)
				}
				if c := v.Cases[0]; strings.Join(c.Values, ",") != "a,b" || c.Struct == nil || len(c.Struct.Fields) != 2 {
					t.Errorf("case 0 = %+v", c)
				}
				if c := v.Cases[1]; c.Field == nil || c.Field.Name != "z" || strings.Join(c.Field.Doc, "") != "Z." {
					t.Errorf("case 1 = %+v", c)
				}
				l, err := s.StructLayout(st)
				if err != nil {
					t.Fatal(err)
				}
				// k@0, data@8, data_len@16, locks@24, locks_len@32,
				// l@40, self@48, pad@56, union@64 (size 16).
				offs := map[string]int64{"k": 0, "data": 8, "data_len": 16, "locks": 24, "locks_len": 32, "l": 40, "self": 48, "pad": 56, "": 64}
				for _, m := range l.Members {
					if offs[m.Name] != m.Offset {
						t.Errorf("offset of %q = %d, want %d", m.Name, m.Offset, offs[m.Name])
					}
				}
				if l.Size != 80 || l.Align != 8 {
					t.Errorf("size, align = %d, %d; want 80, 8", l.Size, l.Align)
				}
			},
		},
		{
			name: "syscalls",
			src: src(
				"enum uint8 filetype",
				"\t1 directory",
				"\t2 regular_file",
				"function entry",
				"\tin",
				"\t\tptr void aux",
				"syscall first",
				"\t| Does things.",
				"\tin",
				"\t\tfiletype type",
				"\t\t\t| The type.",
				"\t\t\tdirectory",
				"\t\t\t\t| Only directories.",
				"\t\tcrange char path",
				"\tout",
				"\t\tsize n",
				"syscall second",
				"\tnoreturn",
				"syscall third",
			),
			check: func(t *testing.T, s *Spec) {
				if len(s.Syscalls) != 3 || len(s.Functions) != 1 {
					t.Fatalf("syscalls = %d, functions = %d", len(s.Syscalls), len(s.Functions))
				}
				first := s.Syscalls[0]
				if first.Number != 0 || len(first.In) != 2 || len(first.Out) != 1 || first.NoReturn {
					t.Errorf("first = %+v", first)
				}
				if a := first.In[0].Allowed; len(a) != 1 || a[0].Name != "directory" || strings.Join(a[0].Doc, "") != "Only directories." {
					t.Errorf("allowed = %+v", a)
				}
				if got := strings.Join(first.In[0].Doc, ""); got != "The type." {
					t.Errorf("param doc = %q", got)
				}
				if s.Syscalls[1].Number != 1 || !s.Syscalls[1].NoReturn {
					t.Errorf("second = %+v", s.Syscalls[1])
				}
				if s.Syscalls[2].Number != 2 || len(s.Syscalls[2].In) != 0 {
					t.Errorf("third = %+v", s.Syscalls[2])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		want string // expected error message, including the line number
	}{
		{"unknown declaration", src("enum uint8 a", "\t1 x", "", "bogus x"), "line 4: unknown declaration"},
		{"bad base type", src("enum float a"), "line 1: invalid underlying type"},
		{"space indentation", src("enum uint8 a", "  1 x"), "line 2: indentation must use tabs"},
		{"too deep", src("enum uint8 a", "\t\t1 x"), "line 2: unexpected indentation"},
		{"indented first line", src("\tenum uint8 a"), "line 1: unexpected indentation"},
		{"bad value", src("enum uint8 a", "\tzz x"), "line 2: invalid value"},
		{"value too large", src("enum uint8 a", "\t0x100 x"), "line 2: value 0x100 does not fit in uint8"},
		{"duplicate member", src("flags uint8 a", "\t1 x", "\t2 x"), "line 3: member \"x\" already declared at line 2"},
		{"duplicate enum value", src("enum uint8 a", "\t1 x", "\t1 y"), "line 3: enum value"},
		{"alias members", src("alias uint8 a", "\t1 x"), "line 2: alias \"a\" cannot have members"},
		{"duplicate type", src("alias uint8 a", "alias uint8 a"), "line 2: \"a\" already declared at line 1"},
		{"unknown type", src("struct s", "\tfoo x"), "line 2: unknown type \"foo\""},
		{"missing name", src("struct s", "\tuint8"), "line 2: expected \"TYPE NAME\""},
		{"void by value", src("struct s", "\tvoid x"), "line 2: \"void\" can only be used"},
		{"atomic without ptr", src("struct s", "\tatomic uint32 x"), "line 2: \"atomic\" must follow \"ptr\""},
		{"bad array length", src("struct s", "\tarray x char a"), "line 2: invalid array length"},
		{"duplicate field", src("struct s", "\tuint8 x", "\tuint16 x"), "line 3: \"x\" already declared at line 2"},
		{"range len clash", src("struct s", "\trange void x", "\tsize x_len"), "line 3: \"x_len\" already declared"},
		{"empty struct", src("struct s"), "line 1: struct \"s\" has no fields"},
		{"variant tag missing", src("struct s", "\tuint8 k", "\tvariant t", "\t\ta", "\t\t\tuint8 x"), "line 3: variant tag \"t\""},
		{"variant tag not enum", src("struct s", "\tuint8 k", "\tvariant k", "\t\ta", "\t\t\tuint8 x"), "line 3: variant tag \"k\" must have an enum type"},
		{"variant unknown value", src("enum uint8 e", "\t1 a", "struct s", "\te k", "\tvariant k", "\t\tb", "\t\t\tuint8 x"), "line 6: \"b\" is not a member of enum \"e\""},
		{"variant case twice", src("enum uint8 e", "\t1 a", "struct s", "\te k", "\tvariant k", "\t\ta", "\t\t\tuint8 x", "\t\ta", "\t\t\tuint8 y"), "line 8: variant value \"a\" already used at line 6"},
		{"variant case empty", src("enum uint8 e", "\t1 a", "struct s", "\te k", "\tvariant k", "\t\ta"), "line 6: variant case must contain exactly one"},
		{"struct contains itself", src("struct s", "\tuint8 a", "\ts b"), "line 3: struct \"s\" contains itself"},
		{"function by value", src("function f", "struct s", "\tf x"), "line 3: function type \"f\" can only be used behind a pointer"},
		{"bad section", src("syscall x", "\tinout"), "line 2: expected \"in\", \"out\" or \"noreturn\""},
		{"duplicate section", src("syscall x", "\tin", "\t\tuint8 a", "\tin"), "line 4: duplicate \"in\" section"},
		{"noreturn with output", src("syscall x", "\tout", "\t\tuint8 a", "\tnoreturn"), "line 1: syscall \"x\" is noreturn but has outputs"},
		{"duplicate param", src("syscall x", "\tin", "\t\tuint8 a", "\tout", "\t\tuint8 a"), "line 5: \"a\" already declared at line 3"},
		{"range output", src("syscall x", "\tout", "\t\trange void a"), "line 3: output parameter \"a\" cannot be a range"},
		{"allowed on plain int", src("syscall x", "\tin", "\t\tuint8 a", "\t\t\tfoo"), "line 3: parameter \"a\" restricts values"},
		{"allowed unknown", src("enum uint8 e", "\t1 a", "syscall x", "\tin", "\t\te v", "\t\t\tb"), "line 6: \"b\" is not a member of \"e\""},
		{"doc with children", src("struct s", "\t| doc", "\t\tuint8 x"), "line 3: documentation lines cannot have nested lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFileNamesPath(t *testing.T) {
	_, err := ParseFile("testdata/does-not-exist.txt")
	if err == nil {
		t.Fatal("ParseFile of a missing file succeeded")
	}
}
