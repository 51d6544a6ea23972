package spec

import "fmt"

// Layout is the C memory layout of a structure for an LP64 target.
type Layout struct {
	Struct  *Struct
	Size    int64
	Align   int64
	Members []*LayoutMember
}

// LayoutMember is one C member of a structure. A range field yields two
// members: the pointer (Part 0) and the length named Name+"_len" (Part 1).
type LayoutMember struct {
	Name   string
	Field  *Field
	Part   int
	Offset int64
	Size   int64
	Align  int64
	// Union is set for variant fields.
	Union *UnionLayout
}

// UnionLayout is the layout of a variant: an anonymous C union.
type UnionLayout struct {
	Variant *Variant
	Size    int64
	Align   int64
	Cases   []*CaseLayout
}

// CaseLayout is the layout of one variant case. Exactly one of Struct and
// Member is set; offsets are relative to the start of the union.
type CaseLayout struct {
	Case   *Case
	Struct *Layout
	Member *LayoutMember
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// Layouts computes the layout of every top-level structure, in file order.
func (s *Spec) Layouts() ([]*Layout, error) {
	var ls []*Layout
	for _, st := range s.Structs {
		l, err := s.StructLayout(st)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// StructLayout computes the C layout of st.
func (s *Spec) StructLayout(st *Struct) (*Layout, error) {
	l, err := s.structLayout(st, map[*Struct]bool{})
	if err != nil {
		return nil, atLine(st.Line, err)
	}
	return l, nil
}

func (s *Spec) structLayout(st *Struct, busy map[*Struct]bool) (*Layout, error) {
	if busy[st] {
		return nil, fmt.Errorf("struct %q contains itself", st.Name)
	}
	busy[st] = true
	defer delete(busy, st)
	l := &Layout{Struct: st, Align: 1}
	var off int64
	add := func(m *LayoutMember) {
		off = alignUp(off, m.Align)
		m.Offset = off
		off += m.Size
		if m.Align > l.Align {
			l.Align = m.Align
		}
		l.Members = append(l.Members, m)
	}
	for _, f := range st.Fields {
		if f.Variant != nil {
			u := &UnionLayout{Variant: f.Variant, Align: 1}
			for _, c := range f.Variant.Cases {
				cl := &CaseLayout{Case: c}
				var size, align int64
				if c.Struct != nil {
					sl, err := s.structLayout(c.Struct, busy)
					if err != nil {
						return nil, atLine(c.Struct.Line, err)
					}
					cl.Struct = sl
					size, align = sl.Size, sl.Align
				} else {
					sz, al, err := s.typeSize(c.Field.Type, busy)
					if err != nil {
						return nil, atLine(c.Field.Line, err)
					}
					cl.Member = &LayoutMember{Name: c.Field.Name, Field: c.Field, Size: sz, Align: al}
					size, align = sz, al
				}
				if size > u.Size {
					u.Size = size
				}
				if align > u.Align {
					u.Align = align
				}
				u.Cases = append(u.Cases, cl)
			}
			u.Size = alignUp(u.Size, u.Align)
			add(&LayoutMember{Field: f, Size: u.Size, Align: u.Align, Union: u})
			continue
		}
		if f.Type.Kind == TypeRange {
			add(&LayoutMember{Name: f.Name, Field: f, Size: PointerSize, Align: PointerSize})
			add(&LayoutMember{Name: f.Name + "_len", Field: f, Part: 1, Size: PointerSize, Align: PointerSize})
			continue
		}
		sz, al, err := s.typeSize(f.Type, busy)
		if err != nil {
			return nil, atLine(f.Line, err)
		}
		add(&LayoutMember{Name: f.Name, Field: f, Size: sz, Align: al})
	}
	l.Size = alignUp(off, l.Align)
	return l, nil
}

// TypeSize returns the C size and alignment of a value of type t.
func (s *Spec) TypeSize(t *TypeRef) (size, align int64, err error) {
	return s.typeSize(t, map[*Struct]bool{})
}

func (s *Spec) typeSize(t *TypeRef, busy map[*Struct]bool) (int64, int64, error) {
	switch t.Kind {
	case TypePtr:
		return PointerSize, PointerSize, nil
	case TypeRange:
		return 2 * PointerSize, PointerSize, nil
	case TypeArray:
		sz, al, err := s.typeSize(t.Elem, busy)
		if err != nil {
			return 0, 0, err
		}
		return sz * int64(t.Len), al, nil
	}
	if b, ok := builtins[t.Name]; ok {
		if t.Name == "void" {
			return 0, 0, fmt.Errorf("void has no size")
		}
		return b.size, b.align, nil
	}
	if it := s.intTypes[t.Name]; it != nil {
		b := builtins[it.Base]
		return b.size, b.align, nil
	}
	if st := s.structs[t.Name]; st != nil {
		l, err := s.structLayout(st, busy)
		if err != nil {
			return 0, 0, err
		}
		return l.Size, l.Align, nil
	}
	return 0, 0, fmt.Errorf("type %q has no size", t.Name)
}

// atLine attaches a line number to err unless it already has one.
func atLine(line int, err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	return errorf(line, "%v", err)
}
