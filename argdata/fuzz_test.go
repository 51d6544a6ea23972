package argdata

import (
	"bytes"
	"math"
	"testing"
)

// FuzzUnmarshal checks that the decoder never panics and that every input it
// accepts is canonical: Marshal(Unmarshal(b)) == b.
func FuzzUnmarshal(f *testing.F) {
	for _, tc := range knownAnswers(f) {
		f.Add(tc.enc)
	}
	f.Add(nest(MaxDepth + 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkCanonical(t, in)
	})
}

// FuzzRoundTrip builds a value from the fuzzer's bytes and checks that it
// survives Marshal and Unmarshal unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{10, 3, 5, 0, 2, 1, 7, 1, 'A'})
	f.Add([]byte{11, 2, 7, 1, 'k', 5, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{10, 2, 4, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		v := g.value(0)
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", v, err)
		}
		dec, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%v)): %v\n% x", v, err, enc)
		}
		if !equalValue(v, dec) {
			t.Fatalf("round trip changed %v into %v", v, dec)
		}
		if re, _ := Marshal(dec); !bytes.Equal(re, enc) {
			t.Fatalf("re-encoding differs:\n% x\n% x", re, enc)
		}
	})
}

// gen derives a value deterministically from a byte string; running out of
// bytes yields zeros.
type gen struct {
	data []byte
}

func (g *gen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	c := g.data[0]
	g.data = g.data[1:]
	return c
}

func (g *gen) uint64(n int) uint64 {
	var u uint64
	for i := 0; i < n; i++ {
		u = u<<8 | uint64(g.byte())
	}
	return u
}

func (g *gen) bytes() []byte {
	n := int(g.byte() % 32)
	if n > len(g.data) {
		n = len(g.data)
	}
	b := append([]byte{}, g.data[:n]...)
	g.data = g.data[n:]
	return b
}

func (g *gen) value(depth int) Value {
	k := g.byte() % 12
	if depth >= 8 && k >= 10 {
		k = 0
	}
	switch k {
	case 0:
		return Null{}
	case 1:
		return Binary(g.bytes())
	case 2:
		return Bool(g.byte()&1 == 1)
	case 3:
		return FD(g.uint64(4))
	case 4:
		return Float(math.Float64frombits(g.uint64(8)))
	case 5, 6:
		var i Int
		if g.byte()&1 == 1 {
			i = IntOf(int64(g.uint64(8)))
		} else {
			i = UintOf(g.uint64(8))
		}
		if k == 6 {
			return Timestamp{i}
		}
		return i
	case 7, 8, 9:
		// Keep only what a Str may hold.
		b := bytes.ToValidUTF8(bytes.ReplaceAll(g.bytes(), []byte{0}, nil), []byte("?"))
		return Str(b)
	case 10:
		s := Seq{}
		for n := g.byte() % 5; n > 0; n-- {
			s = append(s, g.value(depth+1))
		}
		return s
	default:
		m := Map{}
		for n := g.byte() % 4; n > 0; n-- {
			m = append(m, MapEntry{g.value(depth + 1), g.value(depth + 1)})
		}
		return m
	}
}
