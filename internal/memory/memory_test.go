package memory

import (
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"testing"
)

const (
	P        = PageSize
	testBase = uint64(1) << 40 // 1 TiB, like the runtime's regions
)

func newMem(t *testing.T, pages, limitPages uint64) *Memory {
	t.Helper()
	m, err := New(testBase, pages*P, limitPages*P)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// pg returns the address of page i of the test region.
func pg(i uint64) uint64 { return testBase + i*P }

func mustMap(t *testing.T, m *Memory, addr, length uint64, prot Prot, fixed bool) uint64 {
	t.Helper()
	got, err := m.Map(addr, length, prot, fixed)
	if err != nil {
		t.Fatalf("Map(%#x, %#x, %d, %v): %v", addr, length, prot, fixed, err)
	}
	return got
}

func checkMappings(t *testing.T, m *Memory, want ...Mapping) {
	t.Helper()
	sort.Slice(want, func(i, j int) bool { return want[i].Start < want[j].Start })
	got := m.Mappings()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Mappings() =\n  %v\nwant\n  %v", got, want)
	}
}

func TestNewBadArguments(t *testing.T) {
	tests := []struct {
		name       string
		base, size uint64
	}{
		{"unaligned base", testBase + 1, 16 * P},
		{"unaligned base by half a page", testBase + P/2, 16 * P},
		{"unaligned size", testBase, 16*P + 1},
		{"size below a page", testBase, P - 1},
		{"zero size", testBase, 0},
		{"wrapping region", ^uint64(0) - P + 1, 2 * P},
		{"region ending exactly at 2^64", ^uint64(0) - P + 1, P},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.base, tt.size, 0)
			if err == nil {
				m.Close()
				t.Fatalf("New(%#x, %#x) succeeded", tt.base, tt.size)
			}
		})
	}
}

func TestNewAndClose(t *testing.T) {
	m, err := New(testBase, 32*P, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Base() != testBase || m.Size() != 32*P {
		t.Errorf("Base, Size = %#x, %#x", m.Base(), m.Size())
	}
	if m.FD() < 0 {
		t.Errorf("FD = %d", m.FD())
	}
	if m.Mapped() != 0 || len(m.Mappings()) != 0 {
		t.Errorf("new memory has mappings: %d bytes, %v", m.Mapped(), m.Mappings())
	}
	// The whole region is accessible to the supervisor and reads zero.
	raw := m.Raw(testBase, 32*P)
	for i, b := range raw {
		if b != 0 {
			t.Fatalf("byte %d of a new region is %d", i, b)
		}
	}
	raw[len(raw)-1] = 1
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestMapFixed(t *testing.T) {
	m := newMem(t, 64, 0)
	tests := []struct {
		addr, length uint64
		err          error
	}{
		{pg(0), P, nil},
		{pg(63), P, nil},
		{pg(0), 64 * P, nil},
		{pg(1) + 1, P, ErrInvalid},        // unaligned address
		{pg(1), P + 1, ErrInvalid},        // unaligned length
		{pg(1), 0, ErrInvalid},            // empty
		{pg(63), 2 * P, ErrInvalid},       // past the end of the region
		{pg(64), P, ErrInvalid},           // at the end of the region
		{testBase - P, P, ErrInvalid},     // below the region
		{testBase - P, 2 * P, ErrInvalid}, // straddling the start
		{0, P, ErrInvalid},
		{^uint64(0) - P + 1, P, ErrInvalid},
		{pg(1), ^uint64(0) - P + 1, ErrInvalid}, // wrapping
	}
	for _, tt := range tests {
		m.Unmap(pg(0), 64*P)
		got, err := m.Map(tt.addr, tt.length, ProtRead, true)
		if !errors.Is(err, tt.err) || (err != nil) != (tt.err != nil) {
			t.Errorf("Map(%#x, %#x, fixed) error = %v, want %v", tt.addr, tt.length, err, tt.err)
			continue
		}
		if err != nil {
			if m.Mapped() != 0 || len(m.Mappings()) != 0 {
				t.Errorf("failed Map(%#x, %#x) changed the mappings: %v", tt.addr, tt.length, m.Mappings())
			}
			continue
		}
		if got != tt.addr {
			t.Errorf("Map(%#x, %#x, fixed) = %#x", tt.addr, tt.length, got)
		}
		checkMappings(t, m, Mapping{Start: tt.addr, End: tt.addr + tt.length, Prot: ProtRead})
		if m.Mapped() != tt.length {
			t.Errorf("Mapped() = %#x, want %#x", m.Mapped(), tt.length)
		}
	}
}

func TestMapFixedReplaces(t *testing.T) {
	m := newMem(t, 64, 0)
	mustMap(t, m, pg(10), 10*P, ProtRead|ProtWrite, true)
	copy(m.Raw(pg(10), 10*P), make([]byte, 10*P))
	for i := range m.Raw(pg(10), 10*P) {
		m.Raw(pg(10), 10*P)[i] = 0xaa
	}
	// Replace the middle, then a range sticking out on the right.
	mustMap(t, m, pg(12), 3*P, ProtRead, true)
	checkMappings(t, m,
		Mapping{pg(10), pg(12), ProtRead | ProtWrite, 0},
		Mapping{pg(12), pg(15), ProtRead, 0},
		Mapping{pg(15), pg(20), ProtRead | ProtWrite, 0})
	if m.Mapped() != 10*P {
		t.Errorf("Mapped() = %d pages, want 10", m.Mapped()/P)
	}
	mustMap(t, m, pg(18), 4*P, ProtExec|ProtRead, true)
	checkMappings(t, m,
		Mapping{pg(10), pg(12), ProtRead | ProtWrite, 0},
		Mapping{pg(12), pg(15), ProtRead, 0},
		Mapping{pg(15), pg(18), ProtRead | ProtWrite, 0},
		Mapping{pg(18), pg(22), ProtRead | ProtExec, 0})
	if m.Mapped() != 12*P {
		t.Errorf("Mapped() = %d pages, want 12", m.Mapped()/P)
	}
	// The replaced pages read zero, the others kept their contents.
	for p := uint64(10); p < 22; p++ {
		want := byte(0xaa)
		if p >= 12 && p < 15 || p >= 18 {
			want = 0
		}
		if b := m.Raw(pg(p), P); b[0] != want || b[P-1] != want {
			t.Errorf("page %d reads %#x..%#x, want %#x", p, b[0], b[P-1], want)
		}
	}
	// Replace everything, and more, with one mapping.
	mustMap(t, m, pg(5), 20*P, ProtRead, true)
	checkMappings(t, m, Mapping{pg(5), pg(25), ProtRead, 0})
	if m.Mapped() != 20*P {
		t.Errorf("Mapped() = %d pages, want 20", m.Mapped()/P)
	}
}

func TestMapNonFixed(t *testing.T) {
	m := newMem(t, 64, 0)
	mustMap(t, m, pg(4), 4*P, ProtRead, true)   // [4, 8)
	mustMap(t, m, pg(10), 2*P, ProtRead, true)  // [10, 12)
	mustMap(t, m, pg(13), 10*P, ProtRead, true) // [13, 23)
	tests := []struct {
		hint, pages uint64
		want        uint64 // page
	}{
		{pg(0), 1, 0},
		{pg(0), 4, 0},
		{pg(0), 5, 23}, // [0,4) too small, [8,10) too small, [12,13) too small
		{pg(2), 2, 2},
		{pg(2), 3, 23},
		{pg(5), 1, 8},  // hint inside a mapping: first free page above it
		{pg(5), 2, 8},  // exactly fits the gap [8, 10)
		{pg(9), 2, 23}, // [9,10) too small
		{pg(11), 1, 12},
		{pg(30), 3, 30},
		{pg(62), 2, 62},
		{pg(63), 2, 0}, // nothing at or above the hint: anywhere (lowest)
		{pg(60), 8, 23},
	}
	for _, tt := range tests {
		got, err := m.Map(tt.hint, tt.pages*P, ProtRead|ProtWrite, false)
		if err != nil {
			t.Errorf("Map(hint page %d, %d pages): %v", (tt.hint-testBase)/P, tt.pages, err)
			continue
		}
		if got != pg(tt.want) {
			t.Errorf("Map(hint page %d, %d pages) = page %d, want page %d", (tt.hint-testBase)/P, tt.pages, (got-testBase)/P, tt.want)
		}
		// The mapping is new: the pre-existing ones are untouched.
		checkMappings(t, m,
			Mapping{pg(4), pg(8), ProtRead, 0},
			Mapping{pg(10), pg(12), ProtRead, 0},
			Mapping{pg(13), pg(23), ProtRead, 0},
			Mapping{got, got + tt.pages*P, ProtRead | ProtWrite, 0})
		if m.Mapped() != (16+tt.pages)*P {
			t.Errorf("Mapped() = %d pages, want %d", m.Mapped()/P, 16+tt.pages)
		}
		if err := m.Unmap(got, tt.pages*P); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMapNonFixedNoSpace(t *testing.T) {
	m := newMem(t, 16, 0)
	mustMap(t, m, pg(0), 7*P, ProtRead, true)
	mustMap(t, m, pg(8), 8*P, ProtRead, true)
	if _, err := m.Map(pg(0), 2*P, ProtRead, false); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Map of 2 pages with 1 free: %v, want ErrNoSpace", err)
	}
	if _, err := m.Map(pg(0), 17*P, ProtRead, false); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Map larger than the region: %v, want ErrNoSpace", err)
	}
	if _, err := m.Map(0, ^uint64(0)-P+1, ProtRead, false); err == nil {
		t.Errorf("Map of almost 2^64 bytes succeeded")
	}
	if got, err := m.Map(pg(12), P, ProtRead, false); err != nil || got != pg(7) {
		t.Errorf("Map of the last free page = %#x, %v; want page 7", got, err)
	}
	if _, err := m.Map(pg(0), P, ProtRead, false); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Map in a full region: %v, want ErrNoSpace", err)
	}
	for _, l := range []uint64{0, 1, P - 1, P + 1} {
		if _, err := m.Map(pg(0), l, ProtRead, false); !errors.Is(err, ErrInvalid) {
			t.Errorf("non-fixed Map of %d bytes: %v, want ErrInvalid", l, err)
		}
	}
}

func TestMapSequentialNonFixed(t *testing.T) {
	// Successive non-fixed maps without a usable hint never overlap and
	// stay inside the region.
	m := newMem(t, 64, 0)
	var got []Mapping
	for i := 0; i < 20; i++ {
		a, err := m.Map(0, 3*P, ProtRead, false)
		if err != nil {
			t.Fatalf("map %d: %v", i, err)
		}
		if a%P != 0 || a < testBase || a+3*P > testBase+64*P {
			t.Fatalf("map %d at %#x: outside the region or unaligned", i, a)
		}
		for _, g := range got {
			if a < g.End && a+3*P > g.Start {
				t.Fatalf("map %d at %#x overlaps %v", i, a, g)
			}
		}
		got = append(got, Mapping{a, a + 3*P, ProtRead, 0})
	}
	if m.Mapped() != 60*P {
		t.Errorf("Mapped() = %d pages, want 60", m.Mapped()/P)
	}
	if _, err := m.Map(0, 5*P, ProtRead, false); !errors.Is(err, ErrNoSpace) {
		t.Errorf("map of 5 pages with 4 free: %v", err)
	}
}

func TestZeroAfterMap(t *testing.T) {
	m := newMem(t, 16, 0)
	a := mustMap(t, m, pg(2), 4*P, ProtRead|ProtWrite, true)
	b, err := m.Slice(a, 4*P, ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = byte(i%251) + 1
	}
	raw := m.Raw(pg(1), 6*P)
	raw[0] = 0x55      // page 1, never mapped
	raw[5*P+10] = 0x66 // page 6, never mapped
	if err := m.Unmap(a, 4*P); err != nil {
		t.Fatal(err)
	}
	for i, c := range m.Raw(a, 4*P) {
		if c != 0 {
			t.Fatalf("byte %d reads %#x after Unmap", i, c)
		}
	}
	// Write through Raw while unmapped, then map again: zeroes.
	for i := range m.Raw(a, 4*P) {
		m.Raw(a, 4*P)[i] = 0x77
	}
	a2 := mustMap(t, m, pg(0), 16*P, ProtRead, false)
	if a2 != pg(0) {
		t.Fatalf("map at %#x, want the hint", a2)
	}
	b, err = m.Slice(a2, 16*P, ProtRead)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %#x reads %#x after Map", i, c)
		}
	}
}

func TestProtect(t *testing.T) {
	tests := []struct {
		name         string
		addr, length uint64
		err          error
		want         []Mapping
	}{
		{"whole mapping", pg(4), 4 * P, nil, []Mapping{{pg(4), pg(8), ProtRead, 0}, {pg(10), pg(12), ProtRead | ProtWrite, 0}}},
		{"middle", pg(5), 2 * P, nil, []Mapping{{pg(4), pg(5), ProtRead | ProtWrite, 0}, {pg(5), pg(7), ProtRead, 0}, {pg(7), pg(8), ProtRead | ProtWrite, 0}, {pg(10), pg(12), ProtRead | ProtWrite, 0}}},
		{"partly unmapped at the end", pg(6), 3 * P, ErrFault, nil},
		{"partly unmapped at the start", pg(3), 2 * P, ErrFault, nil},
		{"spanning a gap", pg(4), 8 * P, ErrFault, nil},
		{"unmapped", pg(20), P, ErrFault, nil},
		{"outside the region", pg(64), P, ErrFault, nil},
		{"below the region", testBase - P, P, ErrFault, nil},
		{"unaligned address", pg(4) + 8, P, ErrInvalid, nil},
		{"unaligned length", pg(4), P + 8, ErrInvalid, nil},
		{"empty", pg(4), 0, ErrInvalid, nil},
		{"wrapping", pg(4), ^uint64(0) - P + 1, ErrInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem(t, 64, 0)
			mustMap(t, m, pg(4), 4*P, ProtRead|ProtWrite, true)
			mustMap(t, m, pg(10), 2*P, ProtRead|ProtWrite, true)
			before := m.Mappings()
			err := m.Protect(tt.addr, tt.length, ProtRead)
			if !errors.Is(err, tt.err) || (err != nil) != (tt.err != nil) {
				t.Fatalf("Protect: %v, want %v", err, tt.err)
			}
			want := tt.want
			if err != nil {
				want = before
			}
			checkMappings(t, m, want...)
			if m.Mapped() != 6*P {
				t.Errorf("Mapped() = %d pages, want 6", m.Mapped()/P)
			}
		})
	}
}

func TestUnmap(t *testing.T) {
	m := newMem(t, 64, 0)
	mustMap(t, m, pg(8), 8*P, ProtRead|ProtWrite, true)
	if err := m.Unmap(pg(11), 2*P); err != nil {
		t.Fatal(err)
	}
	checkMappings(t, m, Mapping{pg(8), pg(11), ProtRead | ProtWrite, 0}, Mapping{pg(13), pg(16), ProtRead | ProtWrite, 0})
	if m.Mapped() != 6*P {
		t.Errorf("Mapped() = %d pages, want 6", m.Mapped()/P)
	}
	// Unmapping pages that are not mapped is fine and changes nothing.
	if err := m.Unmap(pg(11), 2*P); err != nil {
		t.Errorf("Unmap of a hole: %v", err)
	}
	if err := m.Unmap(pg(40), 10*P); err != nil {
		t.Errorf("Unmap of nothing: %v", err)
	}
	if m.Mapped() != 6*P {
		t.Errorf("Mapped() = %d pages, want 6", m.Mapped()/P)
	}
	// A range covering the hole and parts of both halves.
	if err := m.Unmap(pg(10), 4*P); err != nil {
		t.Fatal(err)
	}
	checkMappings(t, m, Mapping{pg(8), pg(10), ProtRead | ProtWrite, 0}, Mapping{pg(14), pg(16), ProtRead | ProtWrite, 0})
	if m.Mapped() != 4*P {
		t.Errorf("Mapped() = %d pages, want 4", m.Mapped()/P)
	}
	for _, bad := range []struct{ addr, length uint64 }{
		{pg(8) + 1, P}, {pg(8), P - 1}, {pg(8), 0}, {pg(63), 2 * P}, {testBase - P, 2 * P}, {pg(1), ^uint64(0) - P + 1},
	} {
		if err := m.Unmap(bad.addr, bad.length); !errors.Is(err, ErrInvalid) {
			t.Errorf("Unmap(%#x, %#x) = %v, want ErrInvalid", bad.addr, bad.length, err)
		}
	}
	checkMappings(t, m, Mapping{pg(8), pg(10), ProtRead | ProtWrite, 0}, Mapping{pg(14), pg(16), ProtRead | ProtWrite, 0})
	if err := m.Unmap(pg(0), 64*P); err != nil {
		t.Fatal(err)
	}
	checkMappings(t, m)
	if m.Mapped() != 0 {
		t.Errorf("Mapped() = %d after unmapping everything", m.Mapped())
	}
}

func TestMerge(t *testing.T) {
	m := newMem(t, 64, 0)
	mustMap(t, m, pg(0), 2*P, ProtRead, true)
	mustMap(t, m, pg(2), 2*P, ProtRead, true)
	checkMappings(t, m, Mapping{pg(0), pg(4), ProtRead, 0})
	mustMap(t, m, pg(4), 2*P, ProtRead|ProtWrite, true)
	checkMappings(t, m, Mapping{pg(0), pg(4), ProtRead, 0}, Mapping{pg(4), pg(6), ProtRead | ProtWrite, 0})
	if err := m.Protect(pg(4), 2*P, ProtRead); err != nil {
		t.Fatal(err)
	}
	checkMappings(t, m, Mapping{pg(0), pg(6), ProtRead, 0})
	// Filling a hole between two equal runs merges all three.
	mustMap(t, m, pg(8), 2*P, ProtRead, true)
	mustMap(t, m, pg(6), 2*P, ProtRead, true)
	checkMappings(t, m, Mapping{pg(0), pg(10), ProtRead, 0})
	// Protecting the middle splits, restoring it merges again.
	if err := m.Protect(pg(3), P, Prot(0)); err != nil {
		t.Fatal(err)
	}
	checkMappings(t, m, Mapping{pg(0), pg(3), ProtRead, 0}, Mapping{pg(3), pg(4), 0, 0}, Mapping{pg(4), pg(10), ProtRead, 0})
	if err := m.Protect(pg(3), P, ProtRead); err != nil {
		t.Fatal(err)
	}
	checkMappings(t, m, Mapping{pg(0), pg(10), ProtRead, 0})
	// Runs that touch but differ in protection stay apart; runs with a
	// gap between them stay apart.
	mustMap(t, m, pg(11), P, ProtRead, true)
	checkMappings(t, m, Mapping{pg(0), pg(10), ProtRead, 0}, Mapping{pg(11), pg(12), ProtRead, 0})
	if m.Mapped() != 11*P {
		t.Errorf("Mapped() = %d pages, want 11", m.Mapped()/P)
	}
}

func TestLimit(t *testing.T) {
	m := newMem(t, 64, 4)
	mustMap(t, m, pg(0), 3*P, ProtRead, true)
	if _, err := m.Map(pg(10), 2*P, ProtRead, true); !errors.Is(err, ErrLimit) {
		t.Errorf("fixed Map over the limit: %v, want ErrLimit", err)
	}
	if _, err := m.Map(pg(10), 2*P, ProtRead, false); !errors.Is(err, ErrLimit) {
		t.Errorf("non-fixed Map over the limit: %v, want ErrLimit", err)
	}
	checkMappings(t, m, Mapping{pg(0), pg(3), ProtRead, 0})
	// Replacing mapped pages only counts the new ones.
	mustMap(t, m, pg(2), 2*P, ProtRead|ProtWrite, true) // 3 - 1 + 2 = 4 pages
	if m.Mapped() != 4*P {
		t.Errorf("Mapped() = %d pages, want 4", m.Mapped()/P)
	}
	mustMap(t, m, pg(0), 4*P, ProtRead, true) // replaces all 4
	if _, err := m.Map(pg(1), 4*P, ProtRead, true); !errors.Is(err, ErrLimit) {
		t.Errorf("Map to 5 pages: %v, want ErrLimit", err)
	}
	if err := m.Unmap(pg(0), P); err != nil {
		t.Fatal(err)
	}
	mustMap(t, m, pg(20), P, ProtRead, false)
	if m.Mapped() != 4*P {
		t.Errorf("Mapped() = %d pages, want 4", m.Mapped()/P)
	}
}

func TestReserve(t *testing.T) {
	m := newMem(t, 64, 0)
	m.Reserve(pg(8), pg(16))
	if _, err := m.Map(pg(4), P, ProtRead, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("fixed Map below the floor: %v, want ErrInvalid", err)
	}
	if _, err := m.Map(pg(7), 2*P, ProtRead, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("fixed Map straddling the floor: %v, want ErrInvalid", err)
	}
	if err := m.Protect(pg(4), P, ProtRead); err == nil {
		t.Errorf("Protect below the floor succeeded")
	}
	mustMap(t, m, pg(8), P, ProtRead, true)
	// Without a usable hint, placement starts at the reserved hint.
	if a := mustMap(t, m, 0, P, ProtRead, false); a != pg(16) {
		t.Errorf("non-fixed Map without hint at page %d, want 16", (a-testBase)/P)
	}
	// A hint below the floor is not used.
	if a := mustMap(t, m, pg(2), P, ProtRead, false); a < pg(8) {
		t.Errorf("non-fixed Map with a hint below the floor at page %d", (a-testBase)/P)
	}
	// Fill everything above the floor: what is left below it is never used.
	for {
		a, err := m.Map(pg(0), P, ProtRead, false)
		if err != nil {
			if !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Map: %v", err)
			}
			break
		}
		if a < pg(8) {
			t.Fatalf("non-fixed Map at page %d, below the floor", (a-testBase)/P)
		}
	}
	if m.Mapped() != 56*P {
		t.Errorf("Mapped() = %d pages, want 56", m.Mapped()/P)
	}
}

func TestReserveHintBelowFloor(t *testing.T) {
	m := newMem(t, 64, 0)
	m.Reserve(pg(8), pg(0))
	a, err := m.Map(0, P, ProtRead, false)
	if err != nil {
		t.Fatal(err)
	}
	if a < pg(8) {
		t.Errorf("non-fixed Map at page %d, below the floor at page 8", (a-testBase)/P)
	}
}

func TestSlice(t *testing.T) {
	const max64 = ^uint64(0)
	rw := ProtRead | ProtWrite
	tests := []struct {
		name         string
		addr, length uint64
		prot         Prot
		ok           bool
	}{
		{"zero length at 0", 0, 0, ProtRead, true},
		{"zero length at 2^64-1", max64, 0, rw, true},
		{"zero length unmapped", pg(30), 0, ProtRead | ProtWrite | ProtExec, true},
		{"one byte", pg(4), 1, ProtRead, true},
		{"unaligned inside", pg(4) + 100, 200, rw, true},
		{"whole first mapping", pg(4), 4 * P, rw, true},
		{"last byte of first mapping", pg(8) - 1, 1, rw, true},
		{"two adjacent mappings, read", pg(6) + 7, 4 * P, ProtRead, true},
		{"two adjacent mappings, write", pg(6) + 7, 4 * P, ProtWrite, false},
		{"second mapping only, write", pg(8), P, ProtWrite, false},
		{"second mapping, read", pg(8), 2 * P, ProtRead, true},
		{"two mappings, whole", pg(4), 7 * P, ProtRead, true},
		{"into the prot-none mapping", pg(4), 8 * P, ProtRead, false},
		{"into the gap", pg(11), 2 * P, ProtRead, false},
		{"in the gap", pg(12) + 5, 5, 0, false},
		{"across the gap", pg(10), 6 * P, ProtRead, false},
		{"just past the end", pg(16), 1, ProtRead, false},
		{"one byte too long", pg(13), 3*P + 1, ProtRead, false},
		{"exec not granted", pg(4), 1, ProtExec, false},
		{"exec granted", pg(13), 1, ProtExec | ProtRead, true},
		{"no access needed, mapped", pg(4), P, 0, true},
		{"prot none mapping, no access needed", pg(11), P, 0, true},
		{"prot none mapping, read", pg(11), 1, ProtRead, false},
		{"before the first mapping", pg(3), P + 1, ProtRead, false},
		{"below the region", testBase - 1, 2, ProtRead, false},
		{"at the end of the region", pg(64), 1, 0, false},
		{"past the end of the region", pg(63), 2 * P, 0, false},
		{"address 0", 0, 1, 0, false},
		{"near 2^64", max64 - 15, 8, 0, false},
		{"wrapping", max64 - 15, 32, 0, false},
		{"wrapping from inside", pg(4), max64 - P, 0, false},
		{"wrapping to the region", pg(4), max64 - 2*P + 1, 0, false},
	}
	m := newMem(t, 64, 0)
	mustMap(t, m, pg(4), 4*P, rw, true)                 // [4, 8) RW
	mustMap(t, m, pg(8), 3*P, ProtRead, true)           // [8, 11) R
	mustMap(t, m, pg(11), P, 0, true)                   // [11, 12) none
	mustMap(t, m, pg(13), 3*P, ProtRead|ProtExec, true) // [13, 16) RX
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := m.Slice(tt.addr, tt.length, tt.prot)
			if !tt.ok {
				if !errors.Is(err, ErrFault) {
					t.Fatalf("Slice(%#x, %#x, %d) = %d bytes, %v; want ErrFault", tt.addr, tt.length, tt.prot, len(b), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Slice(%#x, %#x, %d): %v", tt.addr, tt.length, tt.prot, err)
			}
			if uint64(len(b)) != tt.length || uint64(cap(b)) != tt.length {
				t.Fatalf("len, cap = %d, %d; want %d", len(b), cap(b), tt.length)
			}
			if tt.length > 0 {
				// The slice is the supervisor's view of those very bytes.
				b[0]++
				if r := m.Raw(tt.addr, 1); r[0] != b[0] {
					t.Errorf("Slice and Raw disagree")
				}
				b[0]--
			}
		})
	}
}

func TestRoundUp(t *testing.T) {
	const max64 = ^uint64(0)
	tests := []struct {
		n, want uint64
		ok      bool
	}{
		{0, 0, true},
		{1, P, true},
		{P - 1, P, true},
		{P, P, true},
		{P + 1, 2 * P, true},
		{max64 - P + 1, max64 - P + 1, true}, // the last page boundary
		{max64 - P + 2, 0, false},
		{max64, 0, false},
	}
	for _, tt := range tests {
		got, ok := RoundUp(tt.n)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("RoundUp(%#x) = %#x, %v; want %#x, %v", tt.n, got, ok, tt.want, tt.ok)
		}
	}
}

// model is a page-by-page reference implementation of the rules.
type model struct {
	pages   int
	floor   int // first page the guest may map
	limit   int // pages, 0: none
	prot    map[int]Prot
	written map[int]bool // pages written since they were mapped
}

func (md *model) free(p, n int) bool {
	if p < md.floor || p+n > md.pages {
		return false
	}
	for i := p; i < p+n; i++ {
		if _, ok := md.prot[i]; ok {
			return false
		}
	}
	return true
}

// firstFit is the lowest free run of n pages at or above page from.
func (md *model) firstFit(from, n int) int {
	for p := max(from, md.floor); p+n <= md.pages; p++ {
		if md.free(p, n) {
			return p
		}
	}
	return -1
}

func (md *model) mappings() []Mapping {
	var out []Mapping
	for p := 0; p < md.pages; p++ {
		pr, ok := md.prot[p]
		if !ok {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == pg(uint64(p)) && out[n-1].Prot == pr {
			out[n-1].End += P
			continue
		}
		out = append(out, Mapping{pg(uint64(p)), pg(uint64(p + 1)), pr, 0})
	}
	return out
}

func TestRandomModel(t *testing.T) {
	for _, cfg := range []struct {
		name         string
		floor, limit int
	}{
		{"plain", 0, 0},
		{"floor and limit", 5, 40},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			runModel(t, int64(len(cfg.name)), cfg.floor, cfg.limit)
		})
	}
}

func runModel(t *testing.T, seed int64, floor, limit int) {
	const pages = 64
	rng := rand.New(rand.NewSource(seed))
	m := newMem(t, pages, uint64(limit))
	md := &model{pages: pages, floor: floor, limit: limit, prot: map[int]Prot{}, written: map[int]bool{}}
	if floor > 0 {
		m.Reserve(pg(uint64(floor)), pg(uint64(floor)))
	}
	prots := []Prot{0, ProtRead, ProtRead | ProtWrite, ProtRead | ProtExec, ProtWrite}
	randPage := func() int { return rng.Intn(pages+4) - 2 }
	addrOf := func(p int) uint64 { return testBase + uint64(int64(p)*P) }
	for step := 0; step < 10000; step++ {
		p := randPage()
		n := 1 + rng.Intn(8)
		if rng.Intn(10) == 0 {
			n = 1 + rng.Intn(pages)
		}
		pr := prots[rng.Intn(len(prots))]
		var desc string
		switch op := rng.Intn(4); op {
		case 0: // fixed map
			desc = fmt.Sprintf("Map(page %d, %d pages, %d, fixed)", p, n, pr)
			_, err := m.Map(addrOf(p), uint64(n)*P, pr, true)
			inRange := p >= floor && p+n <= pages
			replaced := 0
			for i := p; i < p+n; i++ {
				if _, ok := md.prot[i]; ok {
					replaced++
				}
			}
			switch {
			case !inRange:
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("step %d: %s = %v, want ErrInvalid", step, desc, err)
				}
			case limit != 0 && len(md.prot)-replaced+n > limit:
				if !errors.Is(err, ErrLimit) {
					t.Fatalf("step %d: %s = %v, want ErrLimit", step, desc, err)
				}
			default:
				if err != nil {
					t.Fatalf("step %d: %s: %v", step, desc, err)
				}
				md.mapPages(t, m, p, n, pr)
			}
		case 1: // non-fixed map
			desc = fmt.Sprintf("Map(page %d, %d pages, %d)", p, n, pr)
			hint := addrOf(p)
			if rng.Intn(4) == 0 {
				hint += uint64(rng.Intn(P)) // unaligned hints are no hint
			}
			got, err := m.Map(hint, uint64(n)*P, pr, false)
			anywhere := md.firstFit(0, n)
			overLimit := limit != 0 && len(md.prot)+n > limit
			switch {
			case anywhere < 0 && overLimit:
				if !errors.Is(err, ErrNoSpace) && !errors.Is(err, ErrLimit) {
					t.Fatalf("step %d: %s = %v, want ErrNoSpace or ErrLimit", step, desc, err)
				}
			case anywhere < 0:
				if !errors.Is(err, ErrNoSpace) {
					t.Fatalf("step %d: %s = %v, want ErrNoSpace", step, desc, err)
				}
			case overLimit:
				if !errors.Is(err, ErrLimit) {
					t.Fatalf("step %d: %s = %v, want ErrLimit", step, desc, err)
				}
			default:
				if err != nil {
					t.Fatalf("step %d: %s: %v", step, desc, err)
				}
				if got%P != 0 || got < testBase {
					t.Fatalf("step %d: %s = %#x: unaligned or below the region", step, desc, got)
				}
				gp := int((got - testBase) / P)
				if !md.free(gp, n) {
					t.Fatalf("step %d: %s = page %d, which is not free (or outside the region)", step, desc, gp)
				}
				if hint%P == 0 && p >= floor && p < pages {
					if want := md.firstFit(p, n); want >= 0 && gp != want {
						t.Fatalf("step %d: %s = page %d, want first fit at page %d", step, desc, gp, want)
					}
				}
				md.mapPages(t, m, gp, n, pr)
			}
		case 2: // unmap
			desc = fmt.Sprintf("Unmap(page %d, %d pages)", p, n)
			err := m.Unmap(addrOf(p), uint64(n)*P)
			if p < floor || p+n > pages {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("step %d: %s = %v, want ErrInvalid", step, desc, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: %s: %v", step, desc, err)
			}
			for i := p; i < p+n; i++ {
				delete(md.prot, i)
				delete(md.written, i)
			}
		case 3: // protect
			desc = fmt.Sprintf("Protect(page %d, %d pages, %d)", p, n, pr)
			err := m.Protect(addrOf(p), uint64(n)*P, pr)
			all := true
			for i := p; i < p+n; i++ {
				if _, ok := md.prot[i]; !ok {
					all = false
				}
			}
			if !all {
				if !errors.Is(err, ErrFault) {
					t.Fatalf("step %d: %s = %v, want ErrFault", step, desc, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: %s: %v", step, desc, err)
			}
			for i := p; i < p+n; i++ {
				md.prot[i] = pr
			}
		}

		if got, want := m.Mappings(), md.mappings(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("step %d: after %s\nMappings() = %v\nmodel      = %v", step, desc, got, want)
		}
		if got := m.Mapped(); got != uint64(len(md.prot))*P {
			t.Fatalf("step %d: after %s: Mapped() = %d pages, model has %d", step, desc, got/P, len(md.prot))
		}
		// Ask Slice about a few random ranges.
		for k := 0; k < 4; k++ {
			sp := randPage()
			addr := addrOf(sp) + uint64(rng.Intn(P))
			length := uint64(rng.Intn(3 * P))
			want := prots[rng.Intn(len(prots))]
			_, err := m.Slice(addr, length, want)
			ok := true
			if length > 0 {
				first := int((int64(addr) - int64(testBase)) >> 12)
				last := int((int64(addr+length-1) - int64(testBase)) >> 12)
				for i := first; i <= last; i++ {
					pr, mapped := md.prot[i]
					if !mapped || pr&want != want {
						ok = false
					}
				}
			}
			if ok != (err == nil) || (err != nil && !errors.Is(err, ErrFault)) {
				t.Fatalf("step %d: after %s: Slice(page %d + %d, %d, %d) = %v, model says ok=%v",
					step, desc, sp, addr%P, length, want, err, ok)
			}
		}
	}
	// The contents rule: every mapped page not written since it was mapped
	// reads zero; written pages kept what was written.
	for p := 0; p < pages; p++ {
		if _, ok := md.prot[p]; !ok {
			continue
		}
		b := m.Raw(pg(uint64(p)), P)
		want := byte(0)
		if md.written[p] {
			want = byte(p) | 0x80
		}
		if b[0] != want || b[P-1] != want {
			t.Fatalf("page %d reads %#x..%#x, want %#x", p, b[0], b[P-1], want)
		}
	}
}

// mapPages records a successful map of n pages at page p in the model,
// checks they read zero and fills them with a per-page pattern.
func (md *model) mapPages(t *testing.T, m *Memory, p, n int, pr Prot) {
	t.Helper()
	raw := m.Raw(pg(uint64(p)), uint64(n)*P)
	for i, b := range raw {
		if b != 0 {
			t.Fatalf("page %d byte %d reads %#x right after Map", p+i/P, i%P, b)
		}
	}
	for i := p; i < p+n; i++ {
		md.prot[i] = pr
		md.written[i] = true
		page := m.Raw(pg(uint64(i)), P)
		for j := range page {
			page[j] = byte(i) | 0x80
		}
	}
}

// TestProtectDeny: Protect never adds what a mapping denies, over part of
// a range or all of it; a change it allows keeps each run's Deny, and
// Clone keeps them too.
func TestProtectDeny(t *testing.T) {
	m := newMem(t, 64, 0)
	if _, _, err := m.MapAnon(pg(4), 4*P, ProtRead, ProtExec, true); err != nil {
		t.Fatal(err)
	}
	mustMap(t, m, pg(8), 2*P, ProtRead, true)
	for _, tc := range []struct {
		addr, length uint64
		prot         Prot
		err          error
	}{
		{pg(4), 4 * P, ProtRead | ProtExec, ErrAccess},
		{pg(7), 2 * P, ProtExec, ErrAccess}, // half denied, half not
		{pg(8), 2 * P, ProtRead | ProtExec, nil},
		{pg(5), 2 * P, ProtRead | ProtWrite, nil},
	} {
		if err := m.Protect(tc.addr, tc.length, tc.prot); !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("Protect(%#x, %#x, %v) = %v, want %v", tc.addr, tc.length, tc.prot, err, tc.err)
		}
	}
	want := []Mapping{
		{pg(4), pg(5), ProtRead, ProtExec},
		{pg(5), pg(7), ProtRead | ProtWrite, ProtExec},
		{pg(7), pg(8), ProtRead, ProtExec},
		{pg(8), pg(10), ProtRead | ProtExec, 0},
	}
	checkMappings(t, m, want...)
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkMappings(t, c, want...)
	if err := c.Protect(pg(4), P, ProtExec); !errors.Is(err, ErrAccess) {
		t.Errorf("Protect of a clone's denied page = %v, want ErrAccess", err)
	}
	// A new mapping over the range replaces its Deny.
	mustMap(t, m, pg(4), 4*P, ProtRead, true)
	if err := m.Protect(pg(4), 4*P, ProtRead|ProtExec); err != nil {
		t.Errorf("Protect after a fresh mapping: %v", err)
	}
}
