package argdata

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EncodeError reports a value that [Marshal] cannot encode.
type EncodeError struct {
	// Path locates the offending value inside the one passed to Marshal:
	// "" for the value itself, "[3]" for element 3 of a Seq, "{2:key}" and
	// "{2:value}" for the key and value of entry 2 of a Map; steps are
	// concatenated, as in "[0]{1:value}[4]".
	Path string
	// Reason says what is wrong with it.
	Reason string
}

func (e *EncodeError) Error() string {
	if e.Path == "" {
		return "argdata: cannot encode value: " + e.Reason
	}
	return "argdata: cannot encode value at " + e.Path + ": " + e.Reason
}

// path is a lazily formatted location inside a value, built only on the
// stack while encoding and turned into a string only when an error occurs.
type path struct {
	parent *path
	index  int
	kind   byte // 's' for a Seq element, 'k' / 'v' for a Map key / value
}

func (p *path) String() string {
	var steps []string
	for ; p != nil; p = p.parent {
		switch p.kind {
		case 's':
			steps = append(steps, "["+strconv.Itoa(p.index)+"]")
		case 'k':
			steps = append(steps, "{"+strconv.Itoa(p.index)+":key}")
		case 'v':
			steps = append(steps, "{"+strconv.Itoa(p.index)+":value}")
		}
	}
	var b strings.Builder
	for i := len(steps) - 1; i >= 0; i-- {
		b.WriteString(steps[i])
	}
	return b.String()
}

func encodeErr(p *path, format string, args ...any) error {
	return &EncodeError{Path: p.String(), Reason: fmt.Sprintf(format, args...)}
}

// Marshal returns the encoding of v.
//
// It fails with an *[EncodeError] if v or anything inside it is a nil Value,
// if a [Str] is not valid UTF-8 or contains a NUL byte, or if containers nest
// deeper than [MaxDepth].
func Marshal(v Value) ([]byte, error) {
	e := encoder{}
	n, err := e.size(v, 0, nil)
	if err != nil {
		return nil, err
	}
	buf := e.encode(make([]byte, 0, n), v)
	if len(buf) != n {
		panic("argdata: internal error: size mismatch")
	}
	return buf, nil
}

// encoder computes the sizes of all containers in a first pass (in pre-order,
// one slot per container) and writes the encoding in a second pass that
// visits the containers in the same order.
type encoder struct {
	sizes []int
	next  int
}

// intLen returns the length of the minimal two's complement encoding of i.
func intLen(i Int) int {
	if i.neg {
		return bits.Len64(^i.u)/8 + 1
	}
	if i.u == 0 {
		return 0
	}
	return bits.Len64(i.u)/8 + 1
}

// lenLen returns the number of bytes of the subfield length n.
func lenLen(n int) int {
	l := 1
	for n >>= 7; n != 0; n >>= 7 {
		l++
	}
	return l
}

func (e *encoder) size(v Value, depth int, p *path) (int, error) {
	switch v := v.(type) {
	case nil:
		return 0, encodeErr(p, "nil Value (use argdata.Null{} for null)")
	case Null:
		return 0, nil
	case Binary:
		return 1 + len(v), nil
	case Bool:
		if v {
			return 2, nil
		}
		return 1, nil
	case FD:
		return 5, nil
	case Float:
		return 9, nil
	case Int:
		return 1 + intLen(v), nil
	case Timestamp:
		return 1 + intLen(v.Nanos), nil
	case Str:
		if i := strings.IndexByte(string(v), 0); i >= 0 {
			return 0, encodeErr(p, "string contains a NUL byte at byte %d", i)
		}
		if !utf8.ValidString(string(v)) {
			return 0, encodeErr(p, "string is not valid UTF-8 (at byte %d)", invalidUTF8(string(v)))
		}
		return 2 + len(v), nil
	case Seq:
		if depth >= MaxDepth {
			return 0, encodeErr(p, "containers nest deeper than MaxDepth (%d)", MaxDepth)
		}
		slot := len(e.sizes)
		e.sizes = append(e.sizes, 0)
		total := 1
		for i, elem := range v {
			n, err := e.size(elem, depth+1, &path{p, i, 's'})
			if err != nil {
				return 0, err
			}
			total += lenLen(n) + n
		}
		e.sizes[slot] = total
		return total, nil
	case Map:
		if depth >= MaxDepth {
			return 0, encodeErr(p, "containers nest deeper than MaxDepth (%d)", MaxDepth)
		}
		slot := len(e.sizes)
		e.sizes = append(e.sizes, 0)
		total := 1
		for i, ent := range v {
			n, err := e.size(ent.Key, depth+1, &path{p, i, 'k'})
			if err != nil {
				return 0, err
			}
			total += lenLen(n) + n
			n, err = e.size(ent.Value, depth+1, &path{p, i, 'v'})
			if err != nil {
				return 0, err
			}
			total += lenLen(n) + n
		}
		e.sizes[slot] = total
		return total, nil
	}
	return 0, encodeErr(p, "unsupported Value type %T", v)
}

func invalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// childSize returns the encoded size of v, which size has already validated.
func (e *encoder) childSize(v Value) int {
	switch v := v.(type) {
	case Seq, Map:
		return e.sizes[e.next]
	case Null:
		return 0
	case Binary:
		return 1 + len(v)
	case Bool:
		if v {
			return 2
		}
		return 1
	case FD:
		return 5
	case Float:
		return 9
	case Int:
		return 1 + intLen(v)
	case Timestamp:
		return 1 + intLen(v.Nanos)
	case Str:
		return 2 + len(v)
	}
	panic("argdata: internal error: unvalidated value")
}

func appendInt(buf []byte, i Int) []byte {
	n := intLen(i)
	for k := n - 1; k >= 0; k-- {
		if i.neg {
			buf = append(buf, byte(int64(i.u)>>(8*k)))
		} else {
			buf = append(buf, byte(i.u>>(8*k)))
		}
	}
	return buf
}

// appendLen appends the subfield length n: base 128, big-endian, with the
// high bit set on the last byte only.
func appendLen(buf []byte, n int) []byte {
	for k := lenLen(n) - 1; k > 0; k-- {
		buf = append(buf, byte(n>>(7*k))&0x7f)
	}
	return append(buf, byte(n)&0x7f|0x80)
}

func (e *encoder) encode(buf []byte, v Value) []byte {
	switch v := v.(type) {
	case Null:
	case Binary:
		buf = append(buf, TagBinary)
		buf = append(buf, v...)
	case Bool:
		buf = append(buf, TagBool)
		if v {
			buf = append(buf, 1)
		}
	case FD:
		buf = append(buf, TagFD)
		buf = binary.BigEndian.AppendUint32(buf, uint32(v))
	case Float:
		buf = append(buf, TagFloat)
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(float64(v)))
	case Int:
		buf = appendInt(append(buf, TagInt), v)
	case Timestamp:
		buf = appendInt(append(buf, TagTimestamp), v.Nanos)
	case Str:
		buf = append(buf, TagStr)
		buf = append(buf, v...)
		buf = append(buf, 0)
	case Seq:
		e.next++
		buf = append(buf, TagSeq)
		for _, elem := range v {
			buf = appendLen(buf, e.childSize(elem))
			buf = e.encode(buf, elem)
		}
	case Map:
		e.next++
		buf = append(buf, TagMap)
		for _, ent := range v {
			buf = appendLen(buf, e.childSize(ent.Key))
			buf = e.encode(buf, ent.Key)
			buf = appendLen(buf, e.childSize(ent.Value))
			buf = e.encode(buf, ent.Value)
		}
	}
	return buf
}
