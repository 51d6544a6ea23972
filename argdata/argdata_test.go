package argdata

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// bin returns a Binary of n bytes with a recognisable pattern.
func bin(n int) Binary {
	b := make(Binary, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

type vector struct {
	name string
	v    Value
	enc  []byte
}

// knownAnswers are written from the format description, byte by byte.
func knownAnswers(t testing.TB) []vector {
	h := func(s string) []byte { return unhex(t, s) }
	withPrefix := func(prefix string, tail []byte) []byte { return append(h(prefix), tail...) }
	return []vector{
		{"null", Null{}, h("")},
		{"binary empty", Binary{}, h("01")},
		{"binary bytes", Binary{0x00, 0x01, 0xff}, h("01 00 01 ff")},
		{"bool false", Bool(false), h("02")},
		{"bool true", Bool(true), h("02 01")},
		{"fd 0", FD(0), h("03 00000000")},
		{"fd 0x01020304", FD(0x01020304), h("03 01020304")},
		{"fd max", FD(math.MaxUint32), h("03 ffffffff")},
		{"float 0", Float(0), h("04 0000000000000000")},
		{"float -0", Float(math.Copysign(0, -1)), h("04 8000000000000000")},
		{"float 1", Float(1), h("04 3ff0000000000000")},
		{"float -2.5", Float(-2.5), h("04 c004000000000000")},
		{"float +inf", Float(math.Inf(1)), h("04 7ff0000000000000")},
		{"float nan payload", Float(math.Float64frombits(0x7ff8000000000123)), h("04 7ff8000000000123")},
		{"int 0", IntOf(0), h("05")},
		{"int 1", IntOf(1), h("05 01")},
		{"int 127", IntOf(127), h("05 7f")},
		{"int 128", IntOf(128), h("05 0080")},
		{"int 255", IntOf(255), h("05 00ff")},
		{"int 256", IntOf(256), h("05 0100")},
		{"int 32767", IntOf(32767), h("05 7fff")},
		{"int 32768", IntOf(32768), h("05 008000")},
		{"int -1", IntOf(-1), h("05 ff")},
		{"int -128", IntOf(-128), h("05 80")},
		{"int -129", IntOf(-129), h("05 ff7f")},
		{"int -256", IntOf(-256), h("05 ff00")},
		{"int -32768", IntOf(-32768), h("05 8000")},
		{"int -32769", IntOf(-32769), h("05 ff7fff")},
		{"int MaxInt64", IntOf(math.MaxInt64), h("05 7fffffffffffffff")},
		{"int MinInt64", IntOf(math.MinInt64), h("05 8000000000000000")},
		{"int 2^63", UintOf(1 << 63), h("05 00 8000000000000000")},
		{"int MaxUint64", UintOf(math.MaxUint64), h("05 00 ffffffffffffffff")},
		{"uint 5", UintOf(5), h("05 05")},
		{"str empty", Str(""), h("08 00")},
		{"str A", Str("A"), h("08 41 00")},
		{"str utf8", Str("h\u00e9\U0001F600"), h("08 68 c3a9 f09f9880 00")},
		{"timestamp 0", Timestamp{}, h("09")},
		{"timestamp 1s", Timestamp{IntOf(1e9)}, h("09 3b9aca00")},
		{"timestamp -1ns", Timestamp{IntOf(-1)}, h("09 ff")},
		{"seq empty", Seq{}, h("07")},
		{"seq example", Seq{IntOf(0), Bool(true), Str("A")}, h("07 81 05 82 02 01 83 08 41 00")},
		{"seq of null", Seq{Null{}, Null{}}, h("07 80 80")},
		{"seq nested", Seq{Seq{}, Seq{Seq{}}}, h("07 81 07 83 07 81 07")},
		{"map empty", Map{}, h("06")},
		{"map a:1", Map{{Str("a"), IntOf(1)}}, h("06 83 08 61 00 82 05 01")},
		{"map null key", Map{{Null{}, FD(1)}}, h("06 80 85 03 00000001")},
		{"map two", Map{{Str("x"), Seq{}}, {Bool(false), Null{}}}, h("06 83 08 78 00 81 07 81 02 80")},
		// Subfield lengths at the base-128 boundaries; a Binary of n-1
		// bytes encodes in n bytes.
		{"subfield 0", Seq{Null{}}, h("07 80")},
		{"subfield 127", Seq{bin(126)}, withPrefix("07 ff 01", bin(126))},
		{"subfield 128", Seq{bin(127)}, withPrefix("07 01 80 01", bin(127))},
		{"subfield 16383", Seq{bin(16382)}, withPrefix("07 7f ff 01", bin(16382))},
		{"subfield 16384", Seq{bin(16383)}, withPrefix("07 01 00 80 01", bin(16383))},
	}
}

func TestKnownAnswers(t *testing.T) {
	for _, tc := range knownAnswers(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, tc.enc) {
				t.Fatalf("Marshal(%v) =\n  % x\nwant\n  % x", tc.v, got, tc.enc)
			}
			dec, err := Unmarshal(tc.enc)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !equalValue(dec, tc.v) {
				t.Fatalf("Unmarshal(% x) = %v, want %v", tc.enc, dec, tc.v)
			}
		})
	}
}

// equalValue compares values structurally; floats by their bits, and nil
// slices equal to empty ones.
func equalValue(a, b Value) bool {
	switch a := a.(type) {
	case Null:
		_, ok := b.(Null)
		return ok
	case Binary:
		bb, ok := b.(Binary)
		return ok && bytes.Equal(a, bb)
	case Bool:
		bb, ok := b.(Bool)
		return ok && a == bb
	case FD:
		bb, ok := b.(FD)
		return ok && a == bb
	case Float:
		bb, ok := b.(Float)
		return ok && math.Float64bits(float64(a)) == math.Float64bits(float64(bb))
	case Int:
		bb, ok := b.(Int)
		return ok && a == bb
	case Str:
		bb, ok := b.(Str)
		return ok && a == bb
	case Timestamp:
		bb, ok := b.(Timestamp)
		return ok && a == bb
	case Seq:
		bb, ok := b.(Seq)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !equalValue(a[i], bb[i]) {
				return false
			}
		}
		return true
	case Map:
		bb, ok := b.(Map)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !equalValue(a[i].Key, bb[i].Key) || !equalValue(a[i].Value, bb[i].Value) {
				return false
			}
		}
		return true
	}
	return false
}

// nest returns n Seqs nested inside each other, encoded.
func nest(n int) []byte {
	// Built back to front, then reversed, to stay linear in n.
	rev := []byte{TagSeq}
	for i := 1; i < n; i++ {
		l := appendLen(nil, len(rev))
		for j := len(l) - 1; j >= 0; j-- {
			rev = append(rev, l[j])
		}
		rev = append(rev, TagSeq)
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

func TestUnmarshalMalformed(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		offset int
		reason string // substring of the reason
	}{
		{"tag 00", "00", 0, "unknown type tag 00"},
		{"tag 0a", "0a 01", 0, "unknown type tag 0a"},
		{"tag ff", "ff", 0, "unknown type tag ff"},
		{"bool 00", "02 00", 1, "not 00"},
		{"bool 02", "02 02", 1, "not 02"},
		{"bool two bytes", "02 01 01", 1, "2 bytes long"},
		{"fd empty", "03", 1, "0 bytes long; it must be exactly 4"},
		{"fd 3 bytes", "03 000000", 1, "3 bytes long"},
		{"fd 5 bytes", "03 0000000000", 1, "5 bytes long"},
		{"float 1 byte", "04 00", 1, "1 bytes long; it must be exactly 8"},
		{"float 9 bytes", "04 000000000000000000", 1, "9 bytes long"},
		{"int 00", "05 00", 1, "not minimally encoded"},
		{"int 00 7f", "05 007f", 1, "not minimally encoded"},
		{"int ff 80", "05 ff80", 1, "not minimally encoded"},
		{"int ff ff", "05 ffff", 1, "not minimally encoded"},
		{"int 00 00 ff", "05 0000ff", 1, "not minimally encoded"},
		{"int 2^64", "05 01 0000000000000000", 1, "too large for 64 bits"},
		{"int -2^63-1", "05 ff 7fffffffffffffff", 1, "too large for 64 bits"},
		{"int 10 bytes", "05 7f ffffffffffffffffff", 1, "too large for 64 bits"},
		{"timestamp 00", "09 00", 1, "timestamp is not minimally encoded"},
		{"timestamp 2^64", "09 01 0000000000000000", 1, "timestamp is too large for 64 bits"},
		{"str empty payload", "08", 1, "lacks its trailing NUL"},
		{"str no NUL", "08 41 42", 3, "lacks its trailing NUL"},
		{"str embedded NUL", "08 41 00 42 00", 2, "contains a NUL byte"},
		{"str bad byte", "08 41 ff 00", 2, "not valid UTF-8"},
		{"str surrogate", "08 eda080 00", 1, "not valid UTF-8"},
		{"str overlong", "08 c080 00", 1, "not valid UTF-8"},
		{"str truncated rune", "08 e282 00", 1, "not valid UTF-8"},
		{"str above U+10FFFF", "08 f4908080 00", 1, "not valid UTF-8"},
		{"seq truncated length", "07 01", 1, "truncated"},
		{"seq truncated length 2", "07 81 07 7f 7f", 3, "truncated"},
		{"seq leading zero", "07 00 80", 1, "leading zero"},
		{"seq leading zero 2", "07 00 81 05", 1, "leading zero"},
		{"seq length exceeds", "07 82 05", 1, "subfield length 2 exceeds the 1 bytes remaining"},
		{"seq length exceeds nested", "07 83 07 82 05 80", 3, "exceeds the 1 bytes remaining"},
		{"seq length overflow", "07 7f7f7f7f7f7f7f7f7f7f 80", 1, "overflows"},
		{"seq bad element", "07 82 02 02", 3, "bool payload"},
		{"map odd 1", "06 80", 1, "odd number of subfields"},
		{"map odd 3", "06 80 80 80", 3, "odd number of subfields"},
		{"map bad key", "06 81 00 80", 2, "unknown type tag 00"},
		{"map bad value", "06 80 82 08 41", 5, "lacks its trailing NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.in)
			v, err := Unmarshal(in)
			if err == nil {
				t.Fatalf("Unmarshal(% x) = %v, want error", in, v)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.Offset != tc.offset || !strings.Contains(de.Reason, tc.reason) {
				t.Fatalf("got offset %d reason %q; want offset %d reason containing %q", de.Offset, de.Reason, tc.offset, tc.reason)
			}
			if !strings.Contains(err.Error(), "offset") {
				t.Fatalf("Error() = %q lacks the offset", err)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	ok := nest(MaxDepth)
	v, err := Unmarshal(ok)
	if err != nil {
		t.Fatalf("Unmarshal(%d nested seqs): %v", MaxDepth, err)
	}
	re, err := Marshal(v)
	if err != nil || !bytes.Equal(re, ok) {
		t.Fatalf("re-Marshal of %d nested seqs: %v", MaxDepth, err)
	}

	tooDeep := nest(MaxDepth + 1)
	if _, err := Unmarshal(tooDeep); err == nil || !strings.Contains(err.Error(), "MaxDepth") {
		t.Fatalf("Unmarshal(%d nested seqs) = %v, want depth error", MaxDepth+1, err)
	}
	// Far deeper input must fail the same way, without exhausting the stack.
	if _, err := Unmarshal(nest(200000)); err == nil {
		t.Fatal("Unmarshal(200000 nested seqs) succeeded")
	}

	var deep Value = Seq{}
	for i := 0; i < MaxDepth; i++ {
		deep = Map{{Str("k"), deep}}
	}
	_, err = Marshal(deep)
	var ee *EncodeError
	if !errors.As(err, &ee) || !strings.Contains(ee.Reason, "MaxDepth") {
		t.Fatalf("Marshal(%d nested containers) = %v, want depth error", MaxDepth+1, err)
	}

	// A Seq that contains itself is rejected, not followed forever.
	cyc := Seq{nil}
	cyc[0] = cyc
	if _, err := Marshal(cyc); err == nil {
		t.Fatal("Marshal(cyclic Seq) succeeded")
	}
	_ = FDs(cyc)
	_ = cyc.String()
}

type embedsNull struct{ Null }

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name   string
		v      Value
		path   string
		reason string
	}{
		{"nil", nil, "", "nil Value"},
		{"nil in seq", Seq{IntOf(1), nil}, "[1]", "nil Value"},
		{"nil map key", Map{{nil, Null{}}}, "{0:key}", "nil Value"},
		{"nil map value", Map{{Null{}, Null{}}, {Str("a"), nil}}, "{1:value}", "nil Value"},
		{"str NUL", Str("a\x00b"), "", "NUL byte at byte 1"},
		{"str invalid", Seq{Seq{Str("ab\xffc")}}, "[0][0]", "not valid UTF-8 (at byte 2)"},
		{"str surrogate", Str("\xed\xa0\x80"), "", "not valid UTF-8"},
		{"foreign type", embedsNull{}, "", "unsupported Value type"},
		{"deep path", Map{{Str("k"), Seq{Null{}, Map{{Str("x"), Str("\x00")}}}}}, "{0:value}[1]{0:value}", "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(tc.v)
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("Marshal = % x, %v; want *EncodeError", b, err)
			}
			if ee.Path != tc.path || !strings.Contains(ee.Reason, tc.reason) {
				t.Fatalf("got path %q reason %q; want path %q reason containing %q", ee.Path, ee.Reason, tc.path, tc.reason)
			}
		})
	}
}

func TestIntConversions(t *testing.T) {
	tests := []struct {
		i       Int
		i64     int64
		i64ok   bool
		u64     uint64
		u64ok   bool
		sign    int
		decimal string
	}{
		{IntOf(0), 0, true, 0, true, 0, "0"},
		{Int{}, 0, true, 0, true, 0, "0"},
		{IntOf(-1), -1, true, 0, false, -1, "-1"},
		{IntOf(math.MinInt64), math.MinInt64, true, 0, false, -1, "-9223372036854775808"},
		{IntOf(math.MaxInt64), math.MaxInt64, true, math.MaxInt64, true, 1, "9223372036854775807"},
		{UintOf(math.MaxInt64 + 1), 0, false, math.MaxInt64 + 1, true, 1, "9223372036854775808"},
		{UintOf(math.MaxUint64), 0, false, math.MaxUint64, true, 1, "18446744073709551615"},
	}
	for _, tc := range tests {
		i64, ok := tc.i.Int64()
		if i64 != tc.i64 || ok != tc.i64ok {
			t.Errorf("%v.Int64() = %d, %v", tc.i, i64, ok)
		}
		u64, ok := tc.u64, tc.u64ok
		if g, gok := tc.i.Uint64(); g != u64 || gok != ok {
			t.Errorf("%v.Uint64() = %d, %v", tc.i, g, gok)
		}
		if tc.i.Sign() != tc.sign || tc.i.String() != tc.decimal || tc.i.Big().String() != tc.decimal {
			t.Errorf("%v: Sign %d String %q Big %v", tc.decimal, tc.i.Sign(), tc.i.String(), tc.i.Big())
		}
		b, _ := new(big.Int).SetString(tc.decimal, 10)
		if j, ok := IntFromBig(b); !ok || j != tc.i {
			t.Errorf("IntFromBig(%s) = %v, %v", tc.decimal, j, ok)
		}
	}
	if IntOf(5) != UintOf(5) {
		t.Error("IntOf(5) != UintOf(5)")
	}
	for _, s := range []string{"-9223372036854775809", "18446744073709551616"} {
		b, _ := new(big.Int).SetString(s, 10)
		if _, ok := IntFromBig(b); ok {
			t.Errorf("IntFromBig(%s) succeeded", s)
		}
	}
}

func TestTimestamp(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(0, 0),
		time.Date(2001, 12, 14, 21, 59, 43, 100000000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2500, 1, 1, 0, 0, 0, 1, time.UTC), // beyond int64 nanoseconds
	} {
		ts, ok := TimestampOf(tm)
		if !ok {
			t.Fatalf("TimestampOf(%v) failed", tm)
		}
		if !ts.Time().Equal(tm) {
			t.Errorf("TimestampOf(%v).Time() = %v", tm, ts.Time())
		}
		enc, err := Marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := Unmarshal(enc)
		if err != nil || dec != Value(ts) {
			t.Errorf("round trip of %v: %v, %v", tm, dec, err)
		}
	}
	ts, _ := TimestampOf(time.Date(2001, 12, 14, 21, 59, 43, 100000000, time.FixedZone("x", -5*3600)))
	if got := ts.String(); got != "!!timestamp 2001-12-15T02:59:43.1Z" {
		t.Errorf("String() = %q", got)
	}
	for _, tm := range []time.Time{
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if _, ok := TimestampOf(tm); ok {
			t.Errorf("TimestampOf(%v) succeeded", tm)
		}
	}
}

func TestFDs(t *testing.T) {
	v := Seq{
		FD(3),
		Map{{FD(7), Str("x")}, {Str("y"), Seq{FD(1), FD(3)}}},
		IntOf(4),
		Null{},
		FD(0),
	}
	got := FDs(v)
	want := []uint32{3, 7, 1, 3, 0}
	if len(got) != len(want) {
		t.Fatalf("FDs = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("FDs = %v, want %v", got, want)
		}
	}
	if FDs(IntOf(3)) != nil || FDs(nil) != nil {
		t.Fatal("FDs of a value without fds is not empty")
	}
	// The decoded form gives the same answer.
	enc, _ := Marshal(v)
	dec, _ := Unmarshal(enc)
	if g := FDs(dec); len(g) != len(want) || g[1] != 7 {
		t.Fatalf("FDs(decoded) = %v", g)
	}
}

func TestString(t *testing.T) {
	v := Map{
		{Str("a"), Seq{IntOf(0), Bool(true), Str("A\n"), Null{}}},
		{FD(3), Float(1)},
		{Binary("hi"), Float(math.NaN())},
		{Float(2.5e10), Float(math.Inf(-1))},
		{UintOf(math.MaxUint64), Timestamp{}},
	}
	want := `{"a": [0, true, "A\n", null], !fd 3: 1.0, !!binary "aGk=": .nan, 2.5e+10: -.inf, 18446744073709551615: !!timestamp 1970-01-01T00:00:00Z}`
	if got := v.String(); got != want {
		t.Fatalf("String() =\n%s\nwant\n%s", got, want)
	}
	if got := (Seq{nil}).String(); got != "[<nil>]" {
		t.Fatalf("Seq{nil}.String() = %q", got)
	}
}

func TestUnmarshalDoesNotAlias(t *testing.T) {
	in := unhex(t, "07 83 01 61 62")
	v, err := Unmarshal(in)
	if err != nil {
		t.Fatal(err)
	}
	in[3] = 'X'
	if got := v.(Seq)[0].(Binary); string(got) != "ab" {
		t.Fatalf("decoded Binary changed with the input: %q", got)
	}
}

// randomValue builds a random value of bounded size from r.
func randomValue(r *rand.Rand, depth int) Value {
	k := r.Intn(12)
	if depth > 4 && k >= 10 {
		k = r.Intn(10)
	}
	switch k {
	case 0:
		return Null{}
	case 1:
		b := make(Binary, r.Intn(20))
		r.Read(b)
		return b
	case 2:
		return Bool(r.Intn(2) == 1)
	case 3:
		return FD(r.Uint32())
	case 4:
		return Float(math.Float64frombits(r.Uint64()))
	case 5:
		return randomInt(r)
	case 6:
		return Timestamp{randomInt(r)}
	case 7, 8:
		runes := []rune("aZ09 \u00e9\u4e16\U0001F600\n\"")
		var b strings.Builder
		for n := r.Intn(12); n > 0; n-- {
			b.WriteRune(runes[r.Intn(len(runes))])
		}
		return Str(b.String())
	case 9:
		return Binary(nil)
	case 10:
		s := Seq{}
		for n := r.Intn(6); n > 0; n-- {
			s = append(s, randomValue(r, depth+1))
		}
		return s
	default:
		m := Map{}
		for n := r.Intn(5); n > 0; n-- {
			m = append(m, MapEntry{randomValue(r, depth+1), randomValue(r, depth+1)})
		}
		return m
	}
}

func randomInt(r *rand.Rand) Int {
	switch r.Intn(4) {
	case 0:
		return IntOf(int64(r.Intn(600) - 300))
	case 1:
		return IntOf(int64(r.Uint64()))
	case 2:
		return UintOf(r.Uint64())
	default:
		// Powers of two and their neighbours.
		sh := uint(r.Intn(64))
		d := int64(r.Intn(3) - 1)
		if r.Intn(2) == 0 {
			return IntOf(-(int64(1) << sh) + d)
		}
		return UintOf(uint64(1)<<sh + uint64(d))
	}
}

func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		v := randomValue(r, 0)
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", v, err)
		}
		dec, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%v)) = %v\n% x", v, err, enc)
		}
		if !equalValue(v, dec) {
			t.Fatalf("round trip changed %v into %v", v, dec)
		}
		re, err := Marshal(dec)
		if err != nil || !bytes.Equal(re, enc) {
			t.Fatalf("re-encoding differs: % x vs % x (%v)", re, enc, err)
		}
	}
}

// TestRandomBytes feeds mutated encodings to the decoder: it must never
// panic, and whatever it accepts must re-encode to the same bytes.
func TestRandomBytes(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 50000; i++ {
		enc, _ := Marshal(randomValue(r, 0))
		for n := r.Intn(3); n >= 0 && len(enc) > 0; n-- {
			switch r.Intn(3) {
			case 0:
				enc[r.Intn(len(enc))] = byte(r.Intn(256))
			case 1:
				enc = enc[:r.Intn(len(enc))]
			default:
				p := r.Intn(len(enc) + 1)
				enc = append(enc[:p], append([]byte{byte(r.Intn(256))}, enc[p:]...)...)
			}
		}
		checkCanonical(t, enc)
	}
}

func checkCanonical(t *testing.T, in []byte) {
	t.Helper()
	v, err := Unmarshal(in)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(in) {
			t.Fatalf("Unmarshal(% x): bad error %#v", in, err)
		}
		return
	}
	out, err := Marshal(v)
	if err != nil {
		t.Fatalf("Unmarshal(% x) = %v, which does not Marshal: %v", in, v, err)
	}
	if !bytes.Equal(in, out) {
		t.Fatalf("non-canonical input accepted:\n in  % x\n out % x", in, out)
	}
}
