package spec

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Error is a parse or validation error at a line of the definition file.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// node is a line of the definition file together with the lines indented
// below it.
type node struct {
	line     int
	indent   int
	text     string
	fields   []string
	children []*node
}

func (n *node) isDoc() bool { return strings.HasPrefix(n.text, "|") }

// ParseFile parses the definition file at path. Errors are prefixed with
// the path.
func ParseFile(path string) (*Spec, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return s, nil
}

// Parse parses a CloudABI definition and validates all references.
func Parse(src []byte) (*Spec, error) {
	roots, err := buildTree(string(src))
	if err != nil {
		return nil, err
	}
	p := &parser{spec: &Spec{
		intTypes:  map[string]*IntType{},
		structs:   map[string]*Struct{},
		functions: map[string]*Function{},
	}, names: map[string]int{}}
	for _, n := range roots {
		if err := p.topLevel(n); err != nil {
			return nil, err
		}
	}
	p.spec.Doc = trimDoc(p.spec.Doc)
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return p.spec, nil
}

// buildTree splits the source into lines and arranges them by indentation.
// Comments and blank lines are dropped.
func buildTree(src string) ([]*node, error) {
	var roots, stack []*node
	for i, raw := range strings.Split(src, "\n") {
		lineno := i + 1
		raw = strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimLeft(raw, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := 0
		for indent < len(raw) && raw[indent] == '\t' {
			indent++
		}
		if raw[indent] == ' ' {
			return nil, errorf(lineno, "indentation must use tabs")
		}
		n := &node{line: lineno, indent: indent, text: raw[indent:], fields: strings.Fields(raw[indent:])}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			if indent != 0 {
				return nil, errorf(lineno, "unexpected indentation")
			}
			roots = append(roots, n)
		} else {
			parent := stack[len(stack)-1]
			if indent != parent.indent+1 {
				return nil, errorf(lineno, "unexpected indentation (expected %d tabs, got %d)", parent.indent+1, indent)
			}
			if parent.isDoc() {
				return nil, errorf(lineno, "documentation lines cannot have nested lines")
			}
			parent.children = append(parent.children, n)
		}
		stack = append(stack, n)
	}
	return roots, nil
}

// docText returns the text of a documentation line without the marker.
func docText(n *node) string {
	t := strings.TrimPrefix(n.text, "|")
	return strings.TrimPrefix(t, " ")
}

// splitDoc separates the documentation lines among the children of n from
// the other children.
func splitDoc(n *node) (doc []string, rest []*node) {
	for _, c := range n.children {
		if c.isDoc() {
			doc = append(doc, docText(c))
		} else {
			rest = append(rest, c)
		}
	}
	return trimDoc(doc), rest
}

func trimDoc(doc []string) []string {
	for len(doc) > 0 && strings.TrimSpace(doc[0]) == "" {
		doc = doc[1:]
	}
	for len(doc) > 0 && strings.TrimSpace(doc[len(doc)-1]) == "" {
		doc = doc[:len(doc)-1]
	}
	return doc
}

// onlyDoc returns the documentation of n and fails if n has other children.
func onlyDoc(n *node) ([]string, error) {
	doc, rest := splitDoc(n)
	if len(rest) > 0 {
		return nil, errorf(rest[0].line, "unexpected %q", rest[0].text)
	}
	return doc, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isMemberName is like isIdent but allows a leading digit, as in errno's
// "2big".
func isMemberName(s string) bool {
	return s != "" && isIdent("x"+s)
}

type parser struct {
	spec *Spec
	// names maps top-level names to the line of their declaration.
	names map[string]int
}

func (p *parser) declare(n *node, name string) error {
	if !isIdent(name) {
		return errorf(n.line, "invalid name %q", name)
	}
	if IsBuiltin(name) {
		return errorf(n.line, "%q is a builtin type", name)
	}
	if prev, ok := p.names[name]; ok {
		return errorf(n.line, "%q already declared at line %d", name, prev)
	}
	p.names[name] = n.line
	return nil
}

func (p *parser) topLevel(n *node) error {
	if n.isDoc() {
		p.spec.Doc = append(p.spec.Doc, docText(n))
		return nil
	}
	switch kw := n.fields[0]; kw {
	case "enum", "flags", "opaque", "alias":
		return p.intType(n)
	case "struct":
		if len(n.fields) != 2 {
			return errorf(n.line, "expected \"struct NAME\"")
		}
		if err := p.declare(n, n.fields[1]); err != nil {
			return err
		}
		st, err := p.structBody(n, n.fields[1])
		if err != nil {
			return err
		}
		p.spec.Structs = append(p.spec.Structs, st)
		p.spec.structs[st.Name] = st
		p.spec.Decls = append(p.spec.Decls, st)
		return nil
	case "function", "syscall":
		if len(n.fields) != 2 {
			return errorf(n.line, "expected %q NAME", kw)
		}
		name := n.fields[1]
		if err := p.declare(n, name); err != nil {
			return err
		}
		doc, rest := splitDoc(n)
		var in, out []*Param
		noreturn := false
		seen := map[string]bool{}
		for _, c := range rest {
			sec := c.fields[0]
			if len(c.fields) != 1 || (sec != "in" && sec != "out" && sec != "noreturn") {
				return errorf(c.line, "expected \"in\", \"out\" or \"noreturn\", got %q", c.text)
			}
			if seen[sec] {
				return errorf(c.line, "duplicate %q section", sec)
			}
			seen[sec] = true
			switch sec {
			case "noreturn":
				if kw != "syscall" {
					return errorf(c.line, "\"noreturn\" is only valid for syscalls")
				}
				if len(c.children) > 0 {
					return errorf(c.children[0].line, "\"noreturn\" takes no members")
				}
				noreturn = true
			case "in", "out":
				ps, err := p.params(c)
				if err != nil {
					return err
				}
				if sec == "in" {
					in = ps
				} else {
					out = ps
				}
			}
		}
		if noreturn && len(out) > 0 {
			return errorf(n.line, "syscall %q is noreturn but has outputs", name)
		}
		if kw == "function" {
			f := &Function{Name: name, In: in, Out: out, Doc: doc, Line: n.line}
			p.spec.Functions = append(p.spec.Functions, f)
			p.spec.functions[name] = f
			p.spec.Decls = append(p.spec.Decls, f)
		} else {
			sc := &Syscall{Name: name, Number: len(p.spec.Syscalls), In: in, Out: out, NoReturn: noreturn, Doc: doc, Line: n.line}
			p.spec.Syscalls = append(p.spec.Syscalls, sc)
			p.spec.Decls = append(p.spec.Decls, sc)
		}
		return nil
	default:
		return errorf(n.line, "unknown declaration %q", kw)
	}
}

func (p *parser) intType(n *node) error {
	if len(n.fields) != 3 {
		return errorf(n.line, "expected %q TYPE NAME", n.fields[0])
	}
	kind := map[string]Kind{"enum": KindEnum, "flags": KindFlags, "opaque": KindOpaque, "alias": KindAlias}[n.fields[0]]
	base, name := n.fields[1], n.fields[2]
	bits, signed, ok := intBase(base)
	if !ok {
		return errorf(n.line, "invalid underlying type %q (want uint8..uint64 or int8..int64)", base)
	}
	if err := p.declare(n, name); err != nil {
		return err
	}
	t := &IntType{Kind: kind, Name: name, Base: base, Line: n.line}
	doc, rest := splitDoc(n)
	t.Doc = doc
	seen := map[string]int{}
	for _, c := range rest {
		if c.fields[0] == "@cprefix" {
			if t.HasCPrefix {
				return errorf(c.line, "duplicate @cprefix")
			}
			if len(c.fields) > 2 {
				return errorf(c.line, "@cprefix takes at most one argument")
			}
			if len(c.children) > 0 {
				return errorf(c.children[0].line, "unexpected nested line")
			}
			t.HasCPrefix = true
			if len(c.fields) == 2 {
				t.CPrefix = c.fields[1]
			}
			continue
		}
		if kind == KindAlias {
			return errorf(c.line, "alias %q cannot have members", name)
		}
		if len(c.fields) != 2 {
			return errorf(c.line, "expected \"VALUE NAME\", got %q", c.text)
		}
		v, err := strconv.ParseUint(c.fields[0], 0, 64)
		if err != nil {
			return errorf(c.line, "invalid value %q", c.fields[0])
		}
		if bits < 64 && v>>bits != 0 || signed && v>>(bits-1) != 0 {
			return errorf(c.line, "value %s does not fit in %s", c.fields[0], base)
		}
		mname := c.fields[1]
		if !isMemberName(mname) {
			return errorf(c.line, "invalid member name %q", mname)
		}
		if prev, ok := seen[mname]; ok {
			return errorf(c.line, "member %q already declared at line %d", mname, prev)
		}
		seen[mname] = c.line
		mdoc, err := onlyDoc(c)
		if err != nil {
			return err
		}
		t.Members = append(t.Members, &Member{Name: mname, Value: v, Doc: mdoc, Line: c.line})
	}
	if kind == KindEnum {
		vals := map[uint64]string{}
		for _, m := range t.Members {
			if prev, ok := vals[m.Value]; ok {
				return errorf(m.Line, "enum value of %q duplicates %q", m.Name, prev)
			}
			vals[m.Value] = m.Name
		}
	}
	p.spec.IntTypes = append(p.spec.IntTypes, t)
	p.spec.intTypes[name] = t
	p.spec.Decls = append(p.spec.Decls, t)
	return nil
}

func intBase(s string) (bits uint, signed, ok bool) {
	switch s {
	case "uint8", "int8":
		bits = 8
	case "uint16", "int16":
		bits = 16
	case "uint32", "int32":
		bits = 32
	case "uint64", "int64":
		bits = 64
	default:
		return 0, false, false
	}
	return bits, s[0] == 'i', true
}

// structBody parses the fields and variants below n.
func (p *parser) structBody(n *node, name string) (*Struct, error) {
	st := &Struct{Name: name, Line: n.line}
	doc, rest := splitDoc(n)
	st.Doc = doc
	if len(rest) == 0 {
		return nil, errorf(n.line, "struct %q has no fields", name)
	}
	for _, c := range rest {
		if c.fields[0] == "variant" {
			f, err := p.variant(c)
			if err != nil {
				return nil, err
			}
			st.Fields = append(st.Fields, f)
			continue
		}
		f, err := p.field(c)
		if err != nil {
			return nil, err
		}
		st.Fields = append(st.Fields, f)
	}
	return st, nil
}

func (p *parser) field(n *node) (*Field, error) {
	t, name, err := parseDecl(n)
	if err != nil {
		return nil, err
	}
	doc, err := onlyDoc(n)
	if err != nil {
		return nil, err
	}
	return &Field{Name: name, Type: t, Doc: doc, Line: n.line}, nil
}

func (p *parser) variant(n *node) (*Field, error) {
	if len(n.fields) != 2 {
		return nil, errorf(n.line, "expected \"variant FIELD\"")
	}
	v := &Variant{Tag: n.fields[1], Line: n.line}
	doc, rest := splitDoc(n)
	if len(rest) == 0 {
		return nil, errorf(n.line, "variant has no cases")
	}
	for _, c := range rest {
		for _, val := range c.fields {
			if !isMemberName(val) {
				return nil, errorf(c.line, "invalid variant case value %q", val)
			}
		}
		_, body := splitDoc(c)
		if len(body) != 1 {
			return nil, errorf(c.line, "variant case must contain exactly one field or struct")
		}
		cs := &Case{Values: c.fields, Line: c.line}
		b := body[0]
		if b.fields[0] == "struct" {
			if len(b.fields) != 2 || !isIdent(b.fields[1]) {
				return nil, errorf(b.line, "expected \"struct NAME\"")
			}
			st, err := p.structBody(b, b.fields[1])
			if err != nil {
				return nil, err
			}
			cs.Struct = st
		} else {
			f, err := p.field(b)
			if err != nil {
				return nil, err
			}
			cs.Field = f
		}
		v.Cases = append(v.Cases, cs)
	}
	return &Field{Variant: v, Doc: doc, Line: n.line}, nil
}

func (p *parser) params(n *node) ([]*Param, error) {
	var ps []*Param
	doc, rest := splitDoc(n)
	if len(doc) > 0 {
		return nil, errorf(n.children[0].line, "unexpected documentation")
	}
	for _, c := range rest {
		t, name, err := parseDecl(c)
		if err != nil {
			return nil, err
		}
		pdoc, vals := splitDoc(c)
		prm := &Param{Name: name, Type: t, Doc: pdoc, Line: c.line}
		for _, v := range vals {
			if len(v.fields) != 1 || !isMemberName(v.fields[0]) {
				return nil, errorf(v.line, "expected an allowed value name, got %q", v.text)
			}
			vdoc, err := onlyDoc(v)
			if err != nil {
				return nil, err
			}
			prm.Allowed = append(prm.Allowed, &Allowed{Name: v.fields[0], Doc: vdoc, Line: v.line})
		}
		ps = append(ps, prm)
	}
	return ps, nil
}

// parseDecl parses a "TYPE NAME" line.
func parseDecl(n *node) (*TypeRef, string, error) {
	t, rest, err := parseType(n.line, n.fields)
	if err != nil {
		return nil, "", err
	}
	if len(rest) != 1 {
		return nil, "", errorf(n.line, "expected \"TYPE NAME\", got %q", n.text)
	}
	if !isIdent(rest[0]) {
		return nil, "", errorf(n.line, "invalid name %q", rest[0])
	}
	return t, rest[0], nil
}

func parseType(line int, toks []string) (*TypeRef, []string, error) {
	if len(toks) == 0 {
		return nil, nil, errorf(line, "missing type")
	}
	switch tok := toks[0]; tok {
	case "ptr", "cptr":
		t := &TypeRef{Kind: TypePtr, Const: tok == "cptr"}
		rest := toks[1:]
		if len(rest) > 0 && rest[0] == "atomic" {
			t.Atomic = true
			rest = rest[1:]
		}
		elem, rest, err := parseType(line, rest)
		if err != nil {
			return nil, nil, err
		}
		t.Elem = elem
		return t, rest, nil
	case "range", "crange":
		elem, rest, err := parseType(line, toks[1:])
		if err != nil {
			return nil, nil, err
		}
		return &TypeRef{Kind: TypeRange, Const: tok == "crange", Elem: elem}, rest, nil
	case "array":
		if len(toks) < 2 {
			return nil, nil, errorf(line, "missing array length")
		}
		n, err := strconv.Atoi(toks[1])
		if err != nil || n <= 0 {
			return nil, nil, errorf(line, "invalid array length %q", toks[1])
		}
		elem, rest, err := parseType(line, toks[2:])
		if err != nil {
			return nil, nil, err
		}
		return &TypeRef{Kind: TypeArray, Len: n, Elem: elem}, rest, nil
	case "atomic":
		return nil, nil, errorf(line, "\"atomic\" must follow \"ptr\"")
	default:
		if !isIdent(tok) {
			return nil, nil, errorf(line, "invalid type name %q", tok)
		}
		return &TypeRef{Kind: TypeNamed, Name: tok}, toks[1:], nil
	}
}
