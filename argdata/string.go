package argdata

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
)

// FDs returns every file descriptor number in v, in the order in which they
// appear in its encoding (depth first; for a Map, each key before its value).
// Numbers that appear more than once are listed each time. Containers nested
// deeper than [MaxDepth] (which Marshal rejects) are not searched.
func FDs(v Value) []uint32 {
	var fds []uint32
	var walk func(v Value, depth int)
	walk = func(v Value, depth int) {
		switch v := v.(type) {
		case FD:
			fds = append(fds, uint32(v))
		case Seq:
			if depth >= MaxDepth {
				return
			}
			for _, e := range v {
				walk(e, depth+1)
			}
		case Map:
			if depth >= MaxDepth {
				return
			}
			for _, e := range v {
				walk(e.Key, depth+1)
				walk(e.Value, depth+1)
			}
		}
	}
	walk(v, 0)
	return fds
}

// String returns "null".
func (Null) String() string { return "null" }

// String returns `!!binary "<base64>"`.
func (b Binary) String() string {
	return `!!binary "` + base64.StdEncoding.EncodeToString(b) + `"`
}

// String returns "true" or "false".
func (b Bool) String() string { return strconv.FormatBool(bool(b)) }

// String returns "!fd N".
func (f FD) String() string { return "!fd " + strconv.FormatUint(uint64(f), 10) }

// String returns the number in YAML notation (".nan", ".inf", "-.inf" or a
// decimal that always contains a '.' or an exponent).
func (f Float) String() string {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return ".nan"
	case math.IsInf(x, 1):
		return ".inf"
	case math.IsInf(x, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// String returns the string quoted with Go (and YAML double-quote) escapes.
func (s Str) String() string { return strconv.Quote(string(s)) }

// String returns "!!timestamp" followed by the time in RFC 3339 form, UTC.
func (t Timestamp) String() string {
	return "!!timestamp " + t.Time().Format(time.RFC3339Nano)
}

// String returns the sequence in YAML flow notation, "[a, b, c]".
func (s Seq) String() string {
	var b strings.Builder
	writeValue(&b, s, 0)
	return b.String()
}

// String returns the map in YAML flow notation, "{k: v, k: v}".
func (m Map) String() string {
	var b strings.Builder
	writeValue(&b, m, 0)
	return b.String()
}

func writeValue(b *strings.Builder, v Value, depth int) {
	switch v := v.(type) {
	case nil:
		b.WriteString("<nil>")
	case Seq:
		if depth >= MaxDepth {
			b.WriteString("[...]")
			return
		}
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e, depth+1)
		}
		b.WriteByte(']')
	case Map:
		if depth >= MaxDepth {
			b.WriteString("{...}")
			return
		}
		b.WriteByte('{')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e.Key, depth+1)
			b.WriteString(": ")
			writeValue(b, e.Value, depth+1)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.String())
	}
}
