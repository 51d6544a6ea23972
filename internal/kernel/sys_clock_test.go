package kernel

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestTimespecNanos(t *testing.T) {
	for _, c := range []struct {
		sec, nsec int64
		want      uint64
		ok        bool
	}{
		{0, 0, 0, true},
		{0, 1, 1, true},
		{3, 999_999_999, 3_999_999_999, true},
		{9_223_372_035, 999_999_999, 9_223_372_035_999_999_999, true},
		{9_223_372_036, 0, 0, false}, // past the largest int64 in nanoseconds
		{math.MaxInt64, 0, 0, false},
		{0, -1, 0, false}, // the vDSO's marker for a failed reading
		{0, 1_000_000_000, 0, false},
		{-1, 0, 0, false},
		{math.MinInt64, 5, 0, false},
	} {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], uint64(c.sec))
		binary.LittleEndian.PutUint64(b[8:], uint64(c.nsec))
		got, ok := timespecNanos(b[:])
		if got != c.want || ok != c.ok {
			t.Errorf("timespecNanos(%d s, %d ns) = %d, %v; want %d, %v", c.sec, c.nsec, got, ok, c.want, c.ok)
		}
	}
}
