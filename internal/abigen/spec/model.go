// Package spec parses the CloudABI definition file (cloudabi.txt) into a
// model and computes the C memory layout of its structures.
package spec

import "strconv"

// Kind is the kind of an integer type declaration.
type Kind int

// Integer type kinds.
const (
	KindEnum Kind = iota
	KindFlags
	KindOpaque
	KindAlias
)

func (k Kind) String() string {
	switch k {
	case KindEnum:
		return "enum"
	case KindFlags:
		return "flags"
	case KindOpaque:
		return "opaque"
	case KindAlias:
		return "alias"
	}
	return "?"
}

// Spec is a parsed CloudABI definition.
type Spec struct {
	Doc       []string
	IntTypes  []*IntType
	Structs   []*Struct
	Functions []*Function
	Syscalls  []*Syscall
	// Decls lists all top-level declarations in file order; each element
	// is an *IntType, *Struct, *Function or *Syscall.
	Decls []any

	intTypes  map[string]*IntType
	structs   map[string]*Struct
	functions map[string]*Function
}

// IntType is an enum, flags, opaque or alias declaration.
type IntType struct {
	Kind Kind
	Name string
	// Base is the underlying builtin type, e.g. "uint16".
	Base string
	// CPrefix is the C constant prefix given by @cprefix. It is only
	// meaningful if HasCPrefix is set; it may be empty.
	CPrefix    string
	HasCPrefix bool
	Members    []*Member
	Doc        []string
	Line       int
}

// Member is a named value of an integer type.
type Member struct {
	Name  string
	Value uint64
	Doc   []string
	Line  int
}

// Struct is a structure declaration, or a structure nested in a variant.
type Struct struct {
	Name   string
	Fields []*Field
	Doc    []string
	Line   int
}

// Field is a member of a structure. Exactly one of Type and Variant is set.
type Field struct {
	Name    string
	Type    *TypeRef
	Variant *Variant
	Doc     []string
	Line    int
}

// Variant is a union whose active case is selected by an enum field.
type Variant struct {
	// Tag is the name of the enum field selecting the case.
	Tag   string
	Cases []*Case
	Line  int
}

// Case is one alternative of a variant. Exactly one of Field and Struct
// is set.
type Case struct {
	// Values are the names of the tag's enum members selecting this case.
	Values []string
	Field  *Field
	Struct *Struct
	Line   int
}

// Name returns the name of the case's field or nested structure.
func (c *Case) Name() string {
	if c.Struct != nil {
		return c.Struct.Name
	}
	return c.Field.Name
}

// TypeKind is the kind of a type reference.
type TypeKind int

// Type reference kinds.
const (
	TypeNamed TypeKind = iota
	TypePtr
	TypeRange
	TypeArray
)

// TypeRef is a reference to a type, possibly with modifiers.
type TypeRef struct {
	Kind TypeKind
	// Name is the referenced type name for TypeNamed.
	Name string
	// Elem is the element type for TypePtr, TypeRange and TypeArray.
	Elem *TypeRef
	// Const is set for cptr and crange.
	Const bool
	// Atomic is set for "ptr atomic T".
	Atomic bool
	// Len is the number of elements of a TypeArray.
	Len int
}

// String returns the type reference in spec syntax.
func (t *TypeRef) String() string {
	switch t.Kind {
	case TypePtr:
		s := "ptr "
		if t.Const {
			s = "cptr "
		}
		if t.Atomic {
			s += "atomic "
		}
		return s + t.Elem.String()
	case TypeRange:
		if t.Const {
			return "crange " + t.Elem.String()
		}
		return "range " + t.Elem.String()
	case TypeArray:
		return "array " + strconv.Itoa(t.Len) + " " + t.Elem.String()
	}
	return t.Name
}

// Function is a function type declaration (e.g. an entry point).
type Function struct {
	Name string
	In   []*Param
	Out  []*Param
	Doc  []string
	Line int
}

// Syscall is a system call declaration.
type Syscall struct {
	Name string
	// Number is the syscall number: the position in the file.
	Number   int
	In       []*Param
	Out      []*Param
	NoReturn bool
	Doc      []string
	Line     int
}

// Param is a parameter of a function or syscall.
type Param struct {
	Name string
	Type *TypeRef
	// Allowed optionally restricts the enum values accepted.
	Allowed []*Allowed
	Doc     []string
	Line    int
}

// Allowed is a permitted enum value of a parameter.
type Allowed struct {
	Name string
	Doc  []string
	Line int
}

// Builtin type names.
var builtins = map[string]struct{ size, align int64 }{
	"uint8":  {1, 1},
	"uint16": {2, 2},
	"uint32": {4, 4},
	"uint64": {8, 8},
	"int8":   {1, 1},
	"int16":  {2, 2},
	"int32":  {4, 4},
	"int64":  {8, 8},
	"char":   {1, 1},
	"size":   {PointerSize, PointerSize},
	"void":   {0, 1},
}

// PointerSize is the size of pointers and size_t in the modelled ABI (LP64).
const PointerSize = 8

// IsBuiltin reports whether name is a builtin type.
func IsBuiltin(name string) bool {
	_, ok := builtins[name]
	return ok
}

// IntType returns the integer type with the given name, or nil.
func (s *Spec) IntType(name string) *IntType { return s.intTypes[name] }

// Struct returns the structure with the given name, or nil.
func (s *Spec) Struct(name string) *Struct { return s.structs[name] }

// Function returns the function type with the given name, or nil.
func (s *Spec) Function(name string) *Function { return s.functions[name] }

// Member returns the member with the given name, or nil.
func (t *IntType) Member(name string) *Member {
	for _, m := range t.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}
