package gen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudabi-go/cloudabi/internal/abigen/spec"
)

type cgen struct {
	s   *spec.Spec
	buf bytes.Buffer
}

func (c *cgen) p(format string, args ...any) {
	fmt.Fprintf(&c.buf, format, args...)
	c.buf.WriteByte('\n')
}

// comment emits a one-line summary comment, if there is one.
func (c *cgen) comment(indent, name string, doc []string) {
	if s := summary(doc); s != "" {
		c.p("%s// %s: %s", indent, name, s)
	}
}

func cValue(t *spec.IntType, v uint64) string {
	switch t.Kind {
	case spec.KindFlags, spec.KindOpaque:
		bits, _ := strconv.Atoi(strings.TrimLeft(t.Base, "uint"))
		return fmt.Sprintf("0x%0*x", bits/4, v)
	}
	return strconv.FormatUint(v, 10)
}

// GenerateCTypes returns cloudabi_types.h.
func GenerateCTypes(s *spec.Spec) ([]byte, error) {
	c := &cgen{s: s}
	c.p("// %s", Header)
	c.p("")
	c.p("#ifndef CLOUDABI_TYPES_H")
	c.p("#define CLOUDABI_TYPES_H")
	c.p("")
	c.p("#include <stddef.h>")
	c.p("#include <stdint.h>")
	c.p("")
	c.p("_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8,")
	c.p("    \"the CloudABI headers describe the LP64 ABI\");")
	for _, t := range s.IntTypes {
		c.p("")
		c.comment("", t.Name, t.Doc)
		c.p("typedef %s %s;", CTypeName(t.Base), CTypeName(t.Name))
		for _, m := range t.Members {
			c.p("#define %s %s", CConstName(t, m), cValue(t, m.Value))
		}
	}

	// Structures and function types, in file order but with every type
	// emitted after the types it refers to.
	done := map[string]bool{}
	var emit func(d any) error
	visiting := map[string]bool{}
	emitDeps := func(name string, refs []*spec.TypeRef) error {
		visiting[name] = true
		defer delete(visiting, name)
		for _, r := range refs {
			for r.Kind != spec.TypeNamed {
				r = r.Elem
			}
			var dep any
			if st := s.Struct(r.Name); st != nil {
				dep = st
			} else if f := s.Function(r.Name); f != nil {
				dep = f
			} else {
				continue
			}
			if visiting[r.Name] {
				return fmt.Errorf("type %q refers to itself", r.Name)
			}
			if err := emit(dep); err != nil {
				return err
			}
		}
		return nil
	}
	emit = func(d any) error {
		switch d := d.(type) {
		case *spec.Struct:
			if done[d.Name] {
				return nil
			}
			if err := emitDeps(d.Name, structRefs(d)); err != nil {
				return err
			}
			done[d.Name] = true
			c.p("")
			c.comment("", d.Name, d.Doc)
			c.p("typedef struct {")
			c.fields("\t", d)
			c.p("} %s;", CTypeName(d.Name))
		case *spec.Function:
			if done[d.Name] {
				return nil
			}
			var refs []*spec.TypeRef
			for _, p := range append(append([]*spec.Param{}, d.In...), d.Out...) {
				refs = append(refs, p.Type)
			}
			if err := emitDeps(d.Name, refs); err != nil {
				return err
			}
			done[d.Name] = true
			c.p("")
			c.comment("", d.Name, d.Doc)
			c.p("typedef void %s(%s);", CTypeName(d.Name), cParamList(CParams(s, d.In, d.Out)))
		}
		return nil
	}
	for _, d := range s.Decls {
		if err := emit(d); err != nil {
			return nil, err
		}
	}

	c.p("")
	c.p("// Checks of the memory layout of all types.")
	for _, t := range s.IntTypes {
		size, _, _ := s.TypeSize(&spec.TypeRef{Kind: spec.TypeNamed, Name: t.Name})
		c.assert(fmt.Sprintf("sizeof(%s) == %d", CTypeName(t.Name), size), CTypeName(t.Name))
	}
	layouts, err := s.Layouts()
	if err != nil {
		return nil, err
	}
	for _, l := range layouts {
		c.structAsserts(CTypeName(l.Struct.Name), l)
	}
	c.p("")
	c.p("#endif")
	return c.buf.Bytes(), nil
}

func (c *cgen) assert(expr, what string) {
	c.p("_Static_assert(%s, %q);", expr, "layout of "+what)
}

func (c *cgen) structAsserts(typ string, l *spec.Layout) {
	c.assert(fmt.Sprintf("sizeof(%s) == %d", typ, l.Size), typ)
	c.assert(fmt.Sprintf("_Alignof(%s) == %d", typ, l.Align), typ)
	c.memberAsserts(typ, "", 0, l)
}

// memberAsserts checks the offsets of the members of l, which is located
// at offset base within typ and reached through the member path prefix.
func (c *cgen) memberAsserts(typ, prefix string, base int64, l *spec.Layout) {
	for _, m := range l.Members {
		if m.Union == nil {
			c.assert(fmt.Sprintf("offsetof(%s, %s%s) == %d", typ, prefix, m.Name, base+m.Offset), typ+"."+prefix+m.Name)
			continue
		}
		for _, cl := range m.Union.Cases {
			if cl.Member != nil {
				c.assert(fmt.Sprintf("offsetof(%s, %s%s) == %d", typ, prefix, cl.Member.Name, base+m.Offset), typ+"."+prefix+cl.Member.Name)
				continue
			}
			path := prefix + cl.Struct.Struct.Name
			c.assert(fmt.Sprintf("offsetof(%s, %s) == %d", typ, path, base+m.Offset), typ+"."+path)
			c.assert(fmt.Sprintf("sizeof(((%s *)0)->%s) == %d", typ, path, cl.Struct.Size), typ+"."+path)
			c.memberAsserts(typ, path+".", base+m.Offset, cl.Struct)
		}
	}
}

// structRefs returns all type references in st, including nested ones.
func structRefs(st *spec.Struct) []*spec.TypeRef {
	var refs []*spec.TypeRef
	for _, f := range st.Fields {
		if f.Variant == nil {
			refs = append(refs, f.Type)
			continue
		}
		for _, cs := range f.Variant.Cases {
			if cs.Struct != nil {
				refs = append(refs, structRefs(cs.Struct)...)
			} else {
				refs = append(refs, cs.Field.Type)
			}
		}
	}
	return refs
}

func (c *cgen) fields(indent string, st *spec.Struct) {
	for _, f := range st.Fields {
		if f.Variant == nil {
			c.field(indent, f)
			continue
		}
		c.p("%sunion {", indent)
		for _, cs := range f.Variant.Cases {
			if cs.Field != nil {
				c.field(indent+"\t", cs.Field)
				continue
			}
			c.p("%s\tstruct {", indent)
			c.fields(indent+"\t\t", cs.Struct)
			c.p("%s\t} %s;", indent, cs.Struct.Name)
		}
		c.p("%s};", indent)
	}
}

func (c *cgen) field(indent string, f *spec.Field) {
	t := f.Type
	switch t.Kind {
	case spec.TypeRange:
		c.p("%s%s;", indent, cDecl(rangePtrType(t), f.Name))
		c.p("%ssize_t %s_len;", indent, f.Name)
	case spec.TypeArray:
		c.p("%s%s[%d];", indent, cDecl(cType(t.Elem), f.Name), t.Len)
	default:
		c.p("%s%s;", indent, cDecl(cType(t), f.Name))
	}
}

// GenerateCSyscalls returns cloudabi_syscalls.h.
func GenerateCSyscalls(s *spec.Spec) ([]byte, error) {
	c := &cgen{s: s}
	c.p("// %s", Header)
	c.p("")
	c.p("#ifndef CLOUDABI_SYSCALLS_H")
	c.p("#define CLOUDABI_SYSCALLS_H")
	c.p("")
	c.p("#include \"cloudabi_types.h\"")
	c.p("")
	c.p("#ifdef __cplusplus")
	c.p("extern \"C\" {")
	c.p("#endif")
	c.p("")
	c.p("// Number of system calls.")
	c.p("#define CLOUDABI_SYSCALL_COUNT %d", len(s.Syscalls))
	c.p("")
	c.p("// Names of the system calls, in syscall number order. The vDSO exports")
	c.p("// each of them prefixed with cloudabi_sys_.")
	c.p("#define CLOUDABI_SYSCALL_NAMES \\")
	for i, sc := range s.Syscalls {
		if i < len(s.Syscalls)-1 {
			c.p("\t%q, \\", sc.Name)
		} else {
			c.p("\t%q", sc.Name)
		}
	}
	for _, sc := range s.Syscalls {
		ret := "cloudabi_errno_t"
		if sc.NoReturn {
			ret = "void"
		}
		c.p("")
		c.comment("", sc.Name, sc.Doc)
		c.p("typedef %s cloudabi_sys_%s_fn(%s);", ret, sc.Name, cParamList(CParams(s, sc.In, sc.Out)))
	}
	c.p("")
	c.p("// Table of system call entry points, in syscall number order. It is")
	c.p("// filled in at startup from the vDSO.")
	c.p("struct cloudabi_vdso {")
	for _, sc := range s.Syscalls {
		c.p("\tcloudabi_sys_%s_fn *%s;", sc.Name, sc.Name)
	}
	c.p("};")
	c.p("")
	c.p("extern struct cloudabi_vdso cloudabi_vdso;")
	c.p("")
	c.p("// Called in a child process after proc_fork: the SDK's thread helpers")
	c.p("// take the calling thread's new id from it (sdk/src/threads.c).")
	c.p("void __cloudabi_sdk_forked(cloudabi_tid_t tid);")
	for _, sc := range s.Syscalls {
		ps := CParams(s, sc.In, sc.Out)
		var args []string
		for _, p := range ps {
			args = append(args, p.Name)
		}
		call := fmt.Sprintf("cloudabi_vdso.%s(%s)", sc.Name, strings.Join(args, ", "))
		c.p("")
		if sc.NoReturn {
			c.p("static inline _Noreturn void cloudabi_sys_%s(%s) {", sc.Name, cParamList(ps))
			c.p("\t%s;", call)
			c.p("\t__builtin_unreachable();")
		} else if sc.Name == "proc_fork" && len(ps) == 2 {
			// A forked child's thread has a new id.
			c.p("static inline cloudabi_errno_t cloudabi_sys_%s(%s) {", sc.Name, cParamList(ps))
			c.p("\tcloudabi_errno_t error = %s;", call)
			c.p("\tif (error == 0 && *%s == CLOUDABI_PROCESS_CHILD)", ps[0].Name)
			c.p("\t\t__cloudabi_sdk_forked(*%s);", ps[1].Name)
			c.p("\treturn error;")
		} else {
			c.p("static inline cloudabi_errno_t cloudabi_sys_%s(%s) {", sc.Name, cParamList(ps))
			c.p("\treturn %s;", call)
		}
		c.p("}")
	}
	c.p("")
	c.p("#ifdef __cplusplus")
	c.p("}")
	c.p("#endif")
	c.p("")
	c.p("#endif")
	return c.buf.Bytes(), nil
}
