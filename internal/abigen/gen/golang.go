package gen

import (
	"bytes"
	"fmt"
	"go/format"
	"strconv"
	"strings"

	"github.com/cloudabi-go/cloudabi/internal/abigen/spec"
)

// goStruct is a Go struct type generated for a structure or a variant
// case structure.
type goStruct struct {
	goName string
	// cExpr is a C expression naming the structure (for static asserts),
	// e.g. "cloudabi_event_t" or "((cloudabi_event_t *)0)->fd_readwrite".
	layout *spec.Layout
	doc    []string
	// For variant case structures: the enclosing structure and union.
	parent      *goStruct
	parentUnion *spec.LayoutMember
	cas         *spec.Case
}

type goGen struct {
	s     *spec.Spec
	buf   bytes.Buffer
	names map[string]bool
	err   error
}

func (g *goGen) p(format string, args ...any) {
	fmt.Fprintf(&g.buf, format, args...)
	g.buf.WriteByte('\n')
}

// declare records a package-level Go identifier and reports duplicates.
func (g *goGen) declare(name string) string {
	if g.names[name] && g.err == nil {
		g.err = fmt.Errorf("generated Go identifier %s is declared twice", name)
	}
	g.names[name] = true
	return name
}

func (g *goGen) doc(indent string, doc []string) {
	for _, l := range doc {
		if strings.TrimSpace(l) == "" {
			g.p("%s//", indent)
		} else {
			g.p("%s// %s", indent, l)
		}
	}
}

func goBuiltin(name string) string {
	switch name {
	case "char":
		return "byte"
	case "size":
		return "uint64"
	}
	return name
}

// goType returns the Go type of a value of type t. Guest pointers are
// represented as uint64 addresses.
func (g *goGen) goType(t *spec.TypeRef) string {
	switch t.Kind {
	case spec.TypePtr, spec.TypeRange:
		return "uint64"
	case spec.TypeArray:
		return "[" + strconv.Itoa(t.Len) + "]" + g.goType(t.Elem)
	}
	if spec.IsBuiltin(t.Name) {
		return goBuiltin(t.Name)
	}
	return GoTypeName(t.Name)
}

func goValue(t *spec.IntType, v uint64) string {
	switch t.Kind {
	case spec.KindFlags, spec.KindOpaque:
		bits, _ := strconv.Atoi(strings.TrimLeft(t.Base, "uint"))
		return fmt.Sprintf("0x%0*x", bits/4, v)
	}
	return strconv.FormatUint(v, 10)
}

// unionName returns the Go field name of a variant.
func unionName(l *spec.Layout, v *spec.Variant) string {
	n := 0
	for _, m := range l.Members {
		if m.Union != nil {
			n++
		}
	}
	if n == 1 {
		return "Union"
	}
	return "Union" + Camel(v.Tag)
}

func memberGoName(l *spec.Layout, m *spec.LayoutMember) string {
	if m.Union != nil {
		return unionName(l, m.Union.Variant)
	}
	return Camel(m.Name)
}

func (g *goGen) memberGoType(m *spec.LayoutMember) string {
	if m.Union != nil {
		return fmt.Sprintf("[%d]byte", m.Size)
	}
	if m.Part == 1 {
		return "uint64"
	}
	return g.goType(m.Field.Type)
}

// collectStructs returns all Go struct types: each top-level structure
// followed by the structures of its variant cases.
func collectStructs(s *spec.Spec) ([]*goStruct, error) {
	var out []*goStruct
	var walk func(gs *goStruct)
	walk = func(gs *goStruct) {
		out = append(out, gs)
		for _, m := range gs.layout.Members {
			if m.Union == nil {
				continue
			}
			for _, c := range m.Union.Cases {
				if c.Struct == nil {
					continue
				}
				walk(&goStruct{
					goName:      gs.goName + Camel(c.Struct.Struct.Name),
					layout:      c.Struct,
					doc:         c.Struct.Struct.Doc,
					parent:      gs,
					parentUnion: m,
					cas:         c.Case,
				})
			}
		}
	}
	for _, st := range s.Structs {
		l, err := s.StructLayout(st)
		if err != nil {
			return nil, err
		}
		walk(&goStruct{goName: GoTypeName(st.Name), layout: l, doc: st.Doc})
	}
	return out, nil
}

// GenerateGo returns the Go source of package abi.
func GenerateGo(s *spec.Spec) ([]byte, error) {
	g := &goGen{s: s, names: map[string]bool{}}
	g.p("// %s", Header)
	g.p("")
	g.p("package abi")
	g.p("")
	g.p("import (")
	g.p("\t\"strconv\"")
	g.p("\t\"unsafe\"")
	g.p(")")
	for _, t := range s.IntTypes {
		g.intType(t)
	}
	structs, err := collectStructs(s)
	if err != nil {
		return nil, err
	}
	for _, gs := range structs {
		if err := g.structType(gs); err != nil {
			return nil, err
		}
	}
	g.syscalls()
	g.helpers()
	if g.err != nil {
		return nil, g.err
	}
	src, err := format.Source(g.buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated Go: %v", err)
	}
	return src, nil
}

func (g *goGen) intType(t *spec.IntType) {
	name := g.declare(GoTypeName(t.Name))
	g.p("")
	g.p("// %s is %s (%s %s).", name, CTypeName(t.Name), t.Kind, t.Base)
	if len(t.Doc) > 0 {
		g.p("//")
		g.doc("", t.Doc)
	}
	g.p("type %s %s", name, t.Base)
	if len(t.Members) > 0 {
		g.p("")
		g.p("const (")
		for i, m := range t.Members {
			if i > 0 {
				g.p("")
			}
			cn := g.declare(GoConstName(t, m))
			g.p("\t// %s is %s.", cn, CConstName(t, m))
			if len(m.Doc) > 0 {
				g.p("\t//")
				g.doc("\t", m.Doc)
			}
			g.p("\t%s %s = %s", cn, name, goValue(t, m.Value))
		}
		g.p(")")
	}
	switch {
	case t.Name == "errno":
		g.p("")
		g.p("// Name returns the C name of the error code without the CLOUDABI_ prefix, e.g. \"ENOENT\".")
		g.p("func (e %s) Name() string {", name)
		g.p("\tswitch e {")
		for _, m := range t.Members {
			g.p("\tcase %s:", GoConstName(t, m))
			g.p("\t\treturn %q", t.CName(m))
		}
		g.p("\t}")
		g.p("\treturn \"%s(\" + strconv.FormatUint(uint64(e), 10) + \")\"", name)
		g.p("}")
		g.p("")
		g.p("// Error returns a short description of the error code.")
		g.p("func (e %s) Error() string {", name)
		g.p("\tswitch e {")
		for _, m := range t.Members {
			g.p("\tcase %s:", GoConstName(t, m))
			g.p("\t\treturn %q", strings.TrimSuffix(summary(m.Doc), "."))
		}
		g.p("\t}")
		g.p("\treturn \"unknown error \" + strconv.FormatUint(uint64(e), 10)")
		g.p("}")
	case t.Kind == spec.KindEnum:
		g.p("")
		g.p("// String returns the name of the value as written in the ABI definition.")
		g.p("func (v %s) String() string {", name)
		g.p("\tswitch v {")
		for _, m := range t.Members {
			g.p("\tcase %s:", GoConstName(t, m))
			g.p("\t\treturn %q", m.Name)
		}
		g.p("\t}")
		g.p("\treturn \"%s(\" + strconv.FormatUint(uint64(v), 10) + \")\"", name)
		g.p("}")
	case t.Kind == spec.KindFlags:
		g.p("")
		g.p("// String returns the names of the set flags, separated by '|'.")
		g.p("func (v %s) String() string {", name)
		if len(t.Members) == 0 {
			g.p("\treturn formatFlags(uint64(v), nil)")
		} else {
			g.p("\treturn formatFlags(uint64(v), []flagName{")
			for _, m := range t.Members {
				g.p("\t\t{uint64(%s), %q},", GoConstName(t, m), m.Name)
			}
			g.p("\t})")
		}
		g.p("}")
	}
}

func (g *goGen) structType(gs *goStruct) error {
	l := gs.layout
	name := g.declare(gs.goName)
	g.p("")
	if gs.parent == nil {
		g.p("// %s is %s.", name, CTypeName(l.Struct.Name))
	} else {
		g.p("// %s is the %s variant of %s, stored in %s.%s when %s.", name, gs.cas.Name(),
			gs.parent.goName, gs.parent.goName, memberGoName(gs.parent.layout, gs.parentUnion),
			g.caseCondition(gs.parent.layout, gs.parentUnion, gs.cas))
	}
	if len(gs.doc) > 0 {
		g.p("//")
		g.doc("", gs.doc)
	}
	g.p("type %s struct {", name)
	fields := map[string]bool{}
	var cursor int64
	for _, m := range l.Members {
		if m.Offset > cursor {
			g.p("\t_ [%d]byte", m.Offset-cursor)
		}
		fn := memberGoName(l, m)
		fields[fn] = true
		if m.Union != nil {
			g.p("\t// %s holds the variant selected by %s; see the accessor methods.", fn, Camel(m.Union.Variant.Tag))
		} else if m.Part == 0 {
			g.doc("\t", m.Field.Doc)
		} else {
			g.p("\t// %s is the length of %s.", fn, Camel(m.Field.Name))
		}
		g.p("\t%s %s", fn, g.memberGoType(m))
		cursor = m.Offset + m.Size
	}
	if l.Size > cursor {
		g.p("\t_ [%d]byte", l.Size-cursor)
	}
	g.p("}")
	g.p("")
	g.p("// Memory layout of %s (LP64).", name)
	g.p("const (")
	g.p("\t%s = %d", g.declare("Sizeof"+name), l.Size)
	for _, m := range l.Members {
		g.p("\t%s = %d", g.declare("Offsetof"+name+memberGoName(l, m)), m.Offset)
		if m.Union == nil {
			continue
		}
		for _, c := range m.Union.Cases {
			if c.Member != nil {
				g.p("\t%s = %d", g.declare("Offsetof"+name+Camel(c.Member.Name)), m.Offset)
			}
		}
	}
	g.p(")")
	for _, m := range l.Members {
		if m.Union == nil {
			continue
		}
		un := memberGoName(l, m)
		for _, c := range m.Union.Cases {
			mn := Camel(c.Case.Name())
			if fields[mn] || fields["Set"+mn] {
				return fmt.Errorf("line %d: accessor %s.%s collides with a field", c.Case.Line, name, mn)
			}
			var typ string
			if c.Struct != nil {
				typ = gs.goName + Camel(c.Struct.Struct.Name)
			} else {
				typ = g.goType(c.Member.Field.Type)
			}
			cond := g.caseCondition(l, m, c.Case)
			g.p("")
			g.p("// %s returns the variant stored in %s, valid when %s.", mn, un, cond)
			g.p("func (s *%s) %s() (v %s) {", name, mn, typ)
			g.p("\tcopy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v)), s.%s[:])", un)
			g.p("\treturn v")
			g.p("}")
			g.p("")
			g.p("// Set%s stores v in %s, clearing the rest of it. The caller sets %s.", mn, un, Camel(m.Union.Variant.Tag))
			g.p("func (s *%s) Set%s(v %s) {", name, mn, typ)
			g.p("\ts.%s = [%d]byte{}", un, m.Size)
			g.p("\tcopy(s.%s[:], unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v)))", un)
			g.p("}")
		}
	}
	return nil
}

// caseCondition describes when a variant case is active, e.g.
// "Type is EventtypeFdRead or EventtypeFdWrite".
func (g *goGen) caseCondition(l *spec.Layout, m *spec.LayoutMember, c *spec.Case) string {
	tag := m.Union.Variant.Tag
	var enum *spec.IntType
	for _, f := range l.Struct.Fields {
		if f.Variant == nil && f.Name == tag {
			enum = g.s.IntType(f.Type.Name)
		}
	}
	var vals []string
	for _, v := range c.Values {
		vals = append(vals, GoConstName(enum, enum.Member(v)))
	}
	return Camel(tag) + " is " + strings.Join(vals, " or ")
}

func (g *goGen) syscalls() {
	g.p("")
	g.p("// %s is a CloudABI system call number. Numbers follow the order of the", g.declare("Syscall"))
	g.p("// system calls in the ABI definition.")
	g.p("type Syscall uint32")
	g.p("")
	g.p("const (")
	for i, sc := range g.s.Syscalls {
		if i > 0 {
			g.p("")
		}
		name := g.declare("Sys" + Camel(sc.Name))
		g.p("\t// %s is %s: %s", name, sc.Name, summary(sc.Doc))
		g.p("\t%s Syscall = %d", name, sc.Number)
	}
	g.p(")")
	g.p("")
	g.p("// %s is the number of system calls.", g.declare("NumSyscalls"))
	g.p("const NumSyscalls = %d", len(g.s.Syscalls))
	g.p("")
	g.p("// String returns the name of the system call, e.g. \"fd_write\".")
	g.p("func (s Syscall) String() string {")
	g.p("\tif s < NumSyscalls {")
	g.p("\t\treturn Syscalls[s].Name")
	g.p("\t}")
	g.p("\treturn \"Syscall(\" + strconv.FormatUint(uint64(s), 10) + \")\"")
	g.p("}")
	g.p("")
	g.p("// %s is the direction of a system call parameter.", g.declare("ParamDir"))
	g.p("type ParamDir uint8")
	g.p("")
	g.p("const (")
	g.p("\t// %s is an input parameter, passed by value.", g.declare("ParamIn"))
	g.p("\tParamIn ParamDir = iota")
	g.p("\t// %s is an output parameter: a pointer to where the result is stored.", g.declare("ParamOut"))
	g.p("\tParamOut")
	g.p(")")
	g.p("")
	g.p("func (d ParamDir) String() string {")
	g.p("\tif d == ParamOut {")
	g.p("\t\treturn \"out\"")
	g.p("\t}")
	g.p("\treturn \"in\"")
	g.p("}")
	g.p("")
	g.p("// %s is a parameter of a system call in the C calling convention of the", g.declare("Param"))
	g.p("// vDSO: ranges are split into a pointer and a length (named Name+\"_len\"),")
	g.p("// and outputs follow the inputs as pointers.")
	g.p("type Param struct {")
	g.p("\tName  string")
	g.p("\tCType string")
	g.p("\tDir   ParamDir")
	g.p("}")
	g.p("")
	g.p("// %s describes a system call.", g.declare("SyscallInfo"))
	g.p("type SyscallInfo struct {")
	g.p("\t// Name is the name of the system call, e.g. \"fd_write\".")
	g.p("\tName string")
	g.p("\t// Params are the C parameters, in order.")
	g.p("\tParams []Param")
	g.p("\t// NumArgs is the number of machine-word arguments passed to the vDSO")
	g.p("\t// entry point.")
	g.p("\tNumArgs int")
	g.p("\t// NoReturn is set if the system call does not return. All other system")
	g.p("\t// calls return an Errno.")
	g.p("\tNoReturn bool")
	g.p("}")
	g.p("")
	g.p("// %s describes all system calls, indexed by number.", g.declare("Syscalls"))
	g.p("var Syscalls = [NumSyscalls]SyscallInfo{")
	for _, sc := range g.s.Syscalls {
		ps := CParams(g.s, sc.In, sc.Out)
		words := 0
		for _, p := range ps {
			words += p.Words
		}
		g.p("\tSys%s: {", Camel(sc.Name))
		g.p("\t\tName: %q,", sc.Name)
		if len(ps) > 0 {
			g.p("\t\tParams: []Param{")
			for _, p := range ps {
				dir := "ParamIn"
				if p.Out {
					dir = "ParamOut"
				}
				g.p("\t\t\t{Name: %q, CType: %q, Dir: %s},", p.Name, p.Type, dir)
			}
			g.p("\t\t},")
		}
		g.p("\t\tNumArgs: %d,", words)
		if sc.NoReturn {
			g.p("\t\tNoReturn: true,")
		}
		g.p("\t},")
	}
	g.p("}")
}

func (g *goGen) helpers() {
	g.declare("flagName")
	g.declare("formatFlags")
	g.p(`
type flagName struct {
	v    uint64
	name string
}

func formatFlags(v uint64, names []flagName) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for _, f := range names {
		if f.v != 0 && v&f.v == f.v {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, f.name...)
			v &^= f.v
		}
	}
	if v != 0 {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, v, 16)
	}
	return string(b)
}`)
}

// GenerateGoLayoutTest returns a Go test that checks the generated Sizeof
// and Offsetof constants against the layout chosen by the Go compiler.
func GenerateGoLayoutTest(s *spec.Spec) ([]byte, error) {
	structs, err := collectStructs(s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	pf("// %s", Header)
	pf("")
	pf("package abi")
	pf("")
	pf("import (")
	pf("\t\"testing\"")
	pf("\t\"unsafe\"")
	pf(")")
	pf("")
	pf("// TestGeneratedLayoutConstants checks that every Go struct has the size")
	pf("// and field offsets of the corresponding C structure.")
	pf("func TestGeneratedLayoutConstants(t *testing.T) {")
	pf("\ttests := []struct {")
	pf("\t\tname      string")
	pf("\t\tgot, want uintptr")
	pf("\t}{")
	for _, gs := range structs {
		pf("\t\t{%q, unsafe.Sizeof(%s{}), Sizeof%s},", "sizeof "+gs.goName, gs.goName, gs.goName)
		for _, m := range gs.layout.Members {
			fn := memberGoName(gs.layout, m)
			pf("\t\t{%q, unsafe.Offsetof(%s{}.%s), Offsetof%s%s},", "offsetof "+gs.goName+"."+fn, gs.goName, fn, gs.goName, fn)
			if m.Union == nil {
				continue
			}
			pf("\t\t{%q, unsafe.Sizeof(%s{}.%s), %d},", "sizeof "+gs.goName+"."+fn, gs.goName, fn, m.Size)
			for _, c := range m.Union.Cases {
				if c.Member != nil {
					pf("\t\t{%q, unsafe.Sizeof((&%s{}).%s()), %d},", "sizeof "+gs.goName+"."+Camel(c.Member.Name)+"()", gs.goName, Camel(c.Member.Name), c.Member.Size)
				} else {
					pf("\t\t{%q, unsafe.Sizeof((&%s{}).%s()), Sizeof%s%s},", "sizeof "+gs.goName+"."+Camel(c.Struct.Struct.Name)+"()", gs.goName, Camel(c.Struct.Struct.Name), gs.goName, Camel(c.Struct.Struct.Name))
				}
			}
		}
	}
	pf("\t}")
	pf("\tfor _, tt := range tests {")
	pf("\t\tif tt.got != tt.want {")
	pf("\t\t\tt.Errorf(\"%%s = %%d, want %%d\", tt.name, tt.got, tt.want)")
	pf("\t\t}")
	pf("\t}")
	pf("}")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated Go test: %v", err)
	}
	return src, nil
}
