package argdata

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// DecodeError reports malformed input to [Unmarshal].
type DecodeError struct {
	// Offset is the position in the input, in bytes, at which the problem
	// was found: usually the first byte of the offending value or subfield
	// length, or the offending byte itself.
	Offset int
	// Reason describes the problem.
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("argdata: malformed input at offset %d: %s", e.Offset, e.Reason)
}

func decodeErr(off int, format string, args ...any) error {
	return &DecodeError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// Unmarshal decodes the encoded value b. The empty input is [Null].
//
// Unmarshal is strict: it accepts exactly the encodings that [Marshal]
// produces and returns a *[DecodeError] for anything else, among which:
// an unknown type tag; a Bool payload other than none or 01; an FD payload
// that is not 4 bytes; a Float payload that is not 8 bytes; a non-minimal
// Int or Timestamp payload, or one outside -2^63 .. 2^64-1; a Str payload
// without its trailing NUL, with a NUL inside, or with invalid UTF-8; a
// subfield length that is truncated, has a leading zero digit, overflows,
// or exceeds the bytes remaining in its container; a Map with an odd number
// of subfields; and containers nested deeper than [MaxDepth].
//
// The result never aliases b: Binary payloads are copied.
func Unmarshal(b []byte) (Value, error) {
	return decodeValue(b, 0, len(b), 0)
}

// decodeValue decodes the value b[off:end]; depth is the number of
// containers around it.
func decodeValue(b []byte, off, end, depth int) (Value, error) {
	if off == end {
		return Null{}, nil
	}
	p := b[off+1 : end]
	switch b[off] {
	case TagBinary:
		return Binary(append([]byte{}, p...)), nil
	case TagBool:
		switch {
		case len(p) == 0:
			return Bool(false), nil
		case len(p) == 1 && p[0] == 1:
			return Bool(true), nil
		case len(p) == 1:
			return nil, decodeErr(off+1, "bool payload must be empty (false) or 01 (true), not %02x", p[0])
		}
		return nil, decodeErr(off+1, "bool payload is %d bytes long; it must be empty (false) or the single byte 01 (true)", len(p))
	case TagFD:
		if len(p) != 4 {
			return nil, decodeErr(off+1, "fd payload is %d bytes long; it must be exactly 4", len(p))
		}
		return FD(binary.BigEndian.Uint32(p)), nil
	case TagFloat:
		if len(p) != 8 {
			return nil, decodeErr(off+1, "float payload is %d bytes long; it must be exactly 8", len(p))
		}
		return Float(math.Float64frombits(binary.BigEndian.Uint64(p))), nil
	case TagInt:
		i, err := decodeInt(p, off+1, "int")
		if err != nil {
			return nil, err
		}
		return i, nil
	case TagTimestamp:
		i, err := decodeInt(p, off+1, "timestamp")
		if err != nil {
			return nil, err
		}
		return Timestamp{Nanos: i}, nil
	case TagStr:
		return decodeStr(p, off+1)
	case TagSeq:
		if depth >= MaxDepth {
			return nil, decodeErr(off, "containers nest deeper than MaxDepth (%d)", MaxDepth)
		}
		seq := Seq{}
		for pos := off + 1; pos < end; {
			start, next, err := readSubfield(b, pos, end)
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(b, start, next, depth+1)
			if err != nil {
				return nil, err
			}
			seq = append(seq, v)
			pos = next
		}
		return seq, nil
	case TagMap:
		if depth >= MaxDepth {
			return nil, decodeErr(off, "containers nest deeper than MaxDepth (%d)", MaxDepth)
		}
		m := Map{}
		for pos := off + 1; pos < end; {
			start, next, err := readSubfield(b, pos, end)
			if err != nil {
				return nil, err
			}
			key, err := decodeValue(b, start, next, depth+1)
			if err != nil {
				return nil, err
			}
			if next == end {
				return nil, decodeErr(pos, "map has an odd number of subfields: the key at offset %d has no value", pos)
			}
			pos = next
			start, next, err = readSubfield(b, pos, end)
			if err != nil {
				return nil, err
			}
			val, err := decodeValue(b, start, next, depth+1)
			if err != nil {
				return nil, err
			}
			m = append(m, MapEntry{Key: key, Value: val})
			pos = next
		}
		return m, nil
	}
	return nil, decodeErr(off, "unknown type tag %02x", b[off])
}

// readSubfield reads the subfield length at b[pos:end] and returns the
// bounds [start, next) of the subfield's value.
func readSubfield(b []byte, pos, end int) (start, next int, err error) {
	if b[pos] == 0 {
		return 0, 0, decodeErr(pos, "subfield length has a leading zero digit (non-minimal encoding)")
	}
	var n uint64
	for i := pos; ; i++ {
		if i == end {
			return 0, 0, decodeErr(pos, "subfield length is truncated: no byte with the high bit set before the end of the container at offset %d", end)
		}
		if n>>56 != 0 {
			return 0, 0, decodeErr(pos, "subfield length overflows 63 bits")
		}
		c := b[i]
		n = n<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			start = i + 1
			break
		}
	}
	if n > uint64(end-start) {
		return 0, 0, decodeErr(pos, "subfield length %d exceeds the %d bytes remaining in its container", n, end-start)
	}
	return start, start + int(n), nil
}

// decodeInt decodes a minimal two's complement big-endian integer. off is
// the offset of p in the input; what names the type for messages.
func decodeInt(p []byte, off int, what string) (Int, error) {
	if len(p) == 1 && p[0] == 0x00 || len(p) >= 2 && (p[0] == 0x00 && p[1]&0x80 == 0 || p[0] == 0xff && p[1]&0x80 != 0) {
		return Int{}, decodeErr(off, "%s is not minimally encoded: its leading byte %02x is redundant", what, p[0])
	}
	neg := len(p) > 0 && p[0]&0x80 != 0
	if len(p) > 9 || len(p) == 9 && (neg || p[0] != 0) {
		return Int{}, decodeErr(off, "%s is too large for 64 bits (%d-byte payload; supported range is -2^63 to 2^64-1)", what, len(p))
	}
	var u uint64
	if neg {
		u = math.MaxUint64 // sign extension
	}
	for _, c := range p {
		u = u<<8 | uint64(c)
	}
	return Int{neg: neg, u: u}, nil
}

func decodeStr(p []byte, off int) (Value, error) {
	if len(p) == 0 || p[len(p)-1] != 0 {
		return nil, decodeErr(off+len(p), "string lacks its trailing NUL byte")
	}
	s := p[:len(p)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			return nil, decodeErr(off+i, "string contains a NUL byte before its end")
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			return nil, decodeErr(off+i, "string is not valid UTF-8")
		}
		i += n
	}
	return Str(s), nil
}
