package spec

import "strings"

type typeCtx int

const (
	ctxValue typeCtx = iota
	ctxPointee
	ctxRangeElem
)

// resolve checks that all names refer to declared entities.
func (p *parser) resolve() error {
	s := p.spec
	for _, st := range s.Structs {
		if err := p.checkStruct(st, map[string]int{}); err != nil {
			return err
		}
	}
	for _, f := range s.Functions {
		if err := p.checkParams(f.In, f.Out); err != nil {
			return err
		}
	}
	for _, sc := range s.Syscalls {
		if err := p.checkParams(sc.In, sc.Out); err != nil {
			return err
		}
	}
	if _, err := s.Layouts(); err != nil {
		return err
	}
	return nil
}

func addName(names map[string]int, name string, line int) error {
	if prev, ok := names[name]; ok {
		return errorf(line, "%q already declared at line %d", name, prev)
	}
	names[name] = line
	return nil
}

// checkStruct validates the fields of st. Members of variants share the
// namespace of the enclosing structure, as they do in C.
func (p *parser) checkStruct(st *Struct, names map[string]int) error {
	fields := map[string]*Field{}
	for _, f := range st.Fields {
		if f.Variant == nil {
			if err := p.checkFieldName(names, f); err != nil {
				return err
			}
			if err := p.checkType(f.Line, f.Type, ctxValue); err != nil {
				return err
			}
			fields[f.Name] = f
			continue
		}
		v := f.Variant
		tag, ok := fields[v.Tag]
		if !ok {
			return errorf(v.Line, "variant tag %q is not a preceding field of %q", v.Tag, st.Name)
		}
		var enum *IntType
		if tag.Type.Kind == TypeNamed {
			enum = p.spec.intTypes[tag.Type.Name]
		}
		if enum == nil || enum.Kind != KindEnum {
			return errorf(v.Line, "variant tag %q must have an enum type", v.Tag)
		}
		seen := map[string]int{}
		for _, c := range v.Cases {
			for _, val := range c.Values {
				if enum.Member(val) == nil {
					return errorf(c.Line, "%q is not a member of enum %q", val, enum.Name)
				}
				if prev, ok := seen[val]; ok {
					return errorf(c.Line, "variant value %q already used at line %d", val, prev)
				}
				seen[val] = c.Line
			}
			if c.Struct != nil {
				if err := addName(names, c.Struct.Name, c.Struct.Line); err != nil {
					return err
				}
				if err := p.checkStruct(c.Struct, map[string]int{}); err != nil {
					return err
				}
				continue
			}
			if c.Field.Type.Kind == TypeRange {
				return errorf(c.Field.Line, "a variant case cannot be a range; use a struct")
			}
			if err := p.checkFieldName(names, c.Field); err != nil {
				return err
			}
			if err := p.checkType(c.Field.Line, c.Field.Type, ctxValue); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) checkFieldName(names map[string]int, f *Field) error {
	if err := addName(names, f.Name, f.Line); err != nil {
		return err
	}
	if f.Type.Kind == TypeRange {
		return addName(names, f.Name+"_len", f.Line)
	}
	return nil
}

func (p *parser) checkType(line int, t *TypeRef, ctx typeCtx) error {
	if t.Kind != TypeNamed {
		e := t.Elem.Kind
		if e == TypeRange || e == TypeArray || t.Kind == TypeArray && e != TypeNamed {
			return errorf(line, "unsupported type %q", t.String())
		}
	}
	switch t.Kind {
	case TypePtr:
		if t.Atomic {
			e := t.Elem
			_, isInt := p.spec.intTypes[e.Name]
			if e.Kind != TypeNamed || !(isInt || IsBuiltin(e.Name) && e.Name != "void") {
				return errorf(line, "atomic pointee must be an integer type, got %q", e.String())
			}
		}
		return p.checkType(line, t.Elem, ctxPointee)
	case TypeRange:
		return p.checkType(line, t.Elem, ctxRangeElem)
	case TypeArray:
		return p.checkType(line, t.Elem, ctxValue)
	}
	name := t.Name
	switch {
	case name == "void":
		if ctx == ctxValue {
			return errorf(line, "\"void\" can only be used behind a pointer or range")
		}
	case IsBuiltin(name), p.spec.intTypes[name] != nil, p.spec.structs[name] != nil:
	case p.spec.functions[name] != nil:
		if ctx != ctxPointee {
			return errorf(line, "function type %q can only be used behind a pointer", name)
		}
	default:
		return errorf(line, "unknown type %q", name)
	}
	return nil
}

func (p *parser) checkParams(in, out []*Param) error {
	names := map[string]int{}
	for i, ps := range [][]*Param{in, out} {
		for _, prm := range ps {
			if err := addName(names, prm.Name, prm.Line); err != nil {
				return err
			}
			if prm.Type.Kind == TypeRange {
				if i == 1 {
					return errorf(prm.Line, "output parameter %q cannot be a range", prm.Name)
				}
				if err := addName(names, prm.Name+"_len", prm.Line); err != nil {
					return err
				}
			}
			if err := p.checkType(prm.Line, prm.Type, ctxValue); err != nil {
				return err
			}
			if len(prm.Allowed) == 0 {
				continue
			}
			var it *IntType
			if prm.Type.Kind == TypeNamed {
				it = p.spec.intTypes[prm.Type.Name]
			}
			if it == nil || len(it.Members) == 0 {
				return errorf(prm.Line, "parameter %q restricts values but its type %q has no members", prm.Name, prm.Type)
			}
			for _, a := range prm.Allowed {
				if it.Member(a.Name) == nil {
					return errorf(a.Line, "%q is not a member of %q", a.Name, it.Name)
				}
			}
		}
	}
	return nil
}

// CName returns the C constant name of a member of t, without the
// CLOUDABI_ prefix: the @cprefix (or the type name followed by an
// underscore when there is none) and the member name, in upper case.
func (t *IntType) CName(m *Member) string {
	prefix := t.Name + "_"
	if t.HasCPrefix {
		prefix = t.CPrefix
	}
	return strings.ToUpper(prefix + m.Name)
}
