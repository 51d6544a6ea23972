package argdata

import (
	"math"
	"math/big"
	"strconv"
	"time"
)

// Type tags: the first byte of every non-Null encoded value.
const (
	TagBinary    byte = 0x01
	TagBool      byte = 0x02
	TagFD        byte = 0x03
	TagFloat     byte = 0x04
	TagInt       byte = 0x05
	TagMap       byte = 0x06
	TagSeq       byte = 0x07
	TagStr       byte = 0x08
	TagTimestamp byte = 0x09
)

// MaxDepth is the deepest nesting of containers (Map and Seq values) that
// [Marshal] and [Unmarshal] accept. A top-level Seq is at depth 1, a Seq
// inside it at depth 2, and so on. Scalars do not count.
const MaxDepth = 1000

// Value is an argdata value: one of [Null], [Binary], [Bool], [FD], [Float],
// [Int], [Map], [Seq], [Str] or [Timestamp]. The interface is sealed: no
// other types implement it.
//
// String returns a YAML-like debug form of the value (for example
// `[0, true, "A", !fd 3]`); it is meant for humans and logs, not for parsing.
type Value interface {
	String() string
	isValue()
}

// Null is the absent value. It encodes as zero bytes.
type Null struct{}

// Binary is an arbitrary byte string.
type Binary []byte

// Bool is a boolean.
type Bool bool

// FD is a file descriptor number. When a program receives argdata, it is the
// number of a descriptor in the receiving process's table.
type FD uint32

// Float is an IEEE 754 double. Its bits are encoded and decoded unchanged.
type Float float64

// Int is an integer in the range -2^63 .. 2^64-1, which covers every int64
// and every uint64. The zero value is 0. Int values are comparable with ==:
// two Ints are equal exactly when they denote the same number.
//
// Build an Int with [IntOf], [UintOf] or [IntFromBig]; read it with
// [Int.Int64], [Int.Uint64] or [Int.Big].
type Int struct {
	// The value is int64(u) when neg is set (u then has its top bit set),
	// and u otherwise.
	neg bool
	u   uint64
}

// Str is a text string. It must be valid UTF-8 and must not contain a NUL
// byte, because the encoding terminates it with one.
type Str string

// Timestamp is a point in time, as a count of nanoseconds since
// 1970-01-01T00:00:00Z (UTC, no leap seconds). Nanos uses the full [Int]
// range, so timestamps from about 1677 up to about 2554 are representable;
// use [TimestampOf] and [Timestamp.Time] to convert from and to time.Time.
type Timestamp struct {
	Nanos Int
}

// Seq is an ordered sequence of values. Every element must be non-nil (use
// Null{} for an absent element).
type Seq []Value

// Map is a list of key/value pairs, kept in order. Keys may be values of any
// type. The format does not forbid duplicate keys, and neither does this
// package: they are encoded and decoded as they are.
type Map []MapEntry

// MapEntry is one key/value pair of a [Map].
type MapEntry struct {
	Key, Value Value
}

func (Null) isValue()      {}
func (Binary) isValue()    {}
func (Bool) isValue()      {}
func (FD) isValue()        {}
func (Float) isValue()     {}
func (Int) isValue()       {}
func (Str) isValue()       {}
func (Timestamp) isValue() {}
func (Seq) isValue()       {}
func (Map) isValue()       {}

// IntOf returns the Int with value i.
func IntOf(i int64) Int { return Int{neg: i < 0, u: uint64(i)} }

// UintOf returns the Int with value u.
func UintOf(u uint64) Int { return Int{u: u} }

var (
	bigMinInt64  = big.NewInt(math.MinInt64)
	bigMaxUint64 = new(big.Int).SetUint64(math.MaxUint64)
)

// IntFromBig returns the Int with value b, and false if b lies outside the
// range -2^63 .. 2^64-1.
func IntFromBig(b *big.Int) (Int, bool) {
	if b.Cmp(bigMinInt64) < 0 || b.Cmp(bigMaxUint64) > 0 {
		return Int{}, false
	}
	if b.Sign() < 0 {
		return IntOf(b.Int64()), true
	}
	return UintOf(b.Uint64()), true
}

// Int64 returns the value as an int64, and false if it does not fit.
func (i Int) Int64() (int64, bool) {
	if i.neg || i.u <= math.MaxInt64 {
		return int64(i.u), true
	}
	return 0, false
}

// Uint64 returns the value as a uint64, and false if it is negative.
func (i Int) Uint64() (uint64, bool) {
	if i.neg {
		return 0, false
	}
	return i.u, true
}

// Sign returns -1, 0 or +1 as the value is negative, zero or positive.
func (i Int) Sign() int {
	switch {
	case i.neg:
		return -1
	case i.u == 0:
		return 0
	}
	return 1
}

// Big returns the value as a newly allocated big.Int.
func (i Int) Big() *big.Int {
	if i.neg {
		return big.NewInt(int64(i.u))
	}
	return new(big.Int).SetUint64(i.u)
}

// String returns the value in decimal.
func (i Int) String() string {
	if i.neg {
		return strconv.FormatInt(int64(i.u), 10)
	}
	return strconv.FormatUint(i.u, 10)
}

var nanosPerSecond = big.NewInt(1e9)

// TimestampOf returns t as a Timestamp, and false if t lies outside the
// range a Timestamp can represent (see [Timestamp]).
func TimestampOf(t time.Time) (Timestamp, bool) {
	n := new(big.Int).Mul(big.NewInt(t.Unix()), nanosPerSecond)
	n.Add(n, big.NewInt(int64(t.Nanosecond())))
	i, ok := IntFromBig(n)
	return Timestamp{Nanos: i}, ok
}

// Time returns the timestamp as a time.Time in UTC.
func (t Timestamp) Time() time.Time {
	if t.Nanos.neg {
		return time.Unix(0, int64(t.Nanos.u)).UTC()
	}
	u := t.Nanos.u
	return time.Unix(int64(u/1e9), int64(u%1e9)).UTC()
}
