// Package memory manages the address space of one CloudABI process.
//
// All of a process's memory lives in a single memfd. The sandbox maps it
// MAP_SHARED at the guest's addresses (Base up to Base+Size) and the
// supervisor maps it once more wherever the kernel likes, so the supervisor
// reads and writes guest buffers in place and can operate atomically on lock
// words. The file is sized to the whole region up front (it is sparse), so a
// supervisor access anywhere inside the region can never fault, whatever the
// guest does to its own mappings; the bookkeeping here exists to give guests
// the errors the ABI specifies (EFAULT for a buffer outside its mappings),
// not to protect the supervisor.
package memory

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// PageSize is the granularity of mappings and protections.
const PageSize = 4096

// Prot is a set of page permissions, with Linux's PROT_* bit values so that
// it can be handed to mprotect unchanged.
type Prot uint8

const (
	ProtRead  Prot = unix.PROT_READ
	ProtWrite Prot = unix.PROT_WRITE
	ProtExec  Prot = unix.PROT_EXEC
)

// Errors returned for invalid guest requests; the kernel maps them to errnos.
var (
	ErrFault   = errors.New("memory: address range is not mapped with the required access")
	ErrInvalid = errors.New("memory: invalid address range")
	ErrNoSpace = errors.New("memory: no room in the address space")
	ErrLimit   = errors.New("memory: limit on mapped memory reached")
	// ErrAccess is a protection the file behind a mapping does not allow.
	ErrAccess = errors.New("memory: the mapped file does not allow this protection")
)

// Mapping is a run of pages with one protection.
type Mapping struct {
	Start, End uint64 // guest addresses, page aligned, End exclusive
	Prot       Prot
	// Deny is what Protect may never add: a file mapping's protection is
	// bounded by the rights of the descriptor it was made from.
	Deny Prot
}

// Memory is one process's guest address space.
type Memory struct {
	fd   int
	base uint64
	size uint64
	host []byte // supervisor's view of [base, base+size)

	mu       sync.RWMutex
	maps     []Mapping   // sorted, non-overlapping, adjacent equal runs merged
	files    []fileRange // sorted, non-overlapping: pages mapped from files, not the memfd
	mapped   uint64      // bytes currently mapped from the memfd
	limit    uint64      // maximum for mapped; 0 means no limit
	floor    uint64      // lowest address the guest may map
	hintNext uint64      // where the next non-fixed search starts
	// broken is set if the supervisor's view could not be restored after
	// a file mapping (the host refused a mapping): Slice then refuses
	// everything, and the kernel stops the process.
	broken bool
}

// New creates the memfd for a region of size bytes that the guest will see at
// base. limit bounds the bytes the guest may have mapped at once (0: none).
func New(base, size, limit uint64) (*Memory, error) {
	if base%PageSize != 0 || size%PageSize != 0 || size == 0 || base+size < base {
		return nil, fmt.Errorf("memory: bad region %#x+%#x", base, size)
	}
	fd, err := unix.MemfdCreate("cloudabi-guest", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memory: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memory: sizing guest memory: %w", err)
	}
	host, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memory: mapping guest memory: %w", err)
	}
	return &Memory{fd: fd, base: base, size: size, host: host, limit: limit, floor: base, hintNext: base}, nil
}

// Close releases the supervisor's mapping and the memfd. Guest memory
// disappears once the sandbox process has exited too.
func (m *Memory) Close() error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	delete(registry.mems, m)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.host == nil {
		return nil
	}
	m.dropFiles()
	err := unix.Munmap(m.host)
	m.host = nil
	if cerr := unix.Close(m.fd); err == nil {
		err = cerr
	}
	return err
}

// Reserve keeps the guest from ever mapping below addr: the runtime keeps
// its own structures there. Later non-fixed mappings are placed from hint
// upwards.
func (m *Memory) Reserve(addr, hint uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.floor = addr
	m.hintNext = max(hint, addr)
}

// SetLimit bounds the bytes the guest may map from now on, beyond what is
// mapped already (0: no limit). The runtime sets it once it has laid out
// the process, so that its own structures do not count.
func (m *Memory) SetLimit(extra uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if extra == 0 {
		m.limit = 0
		return
	}
	m.limit = m.mapped + extra
}

// Allocated is how many bytes of the memfd hold pages: what the guest's
// memory really costs, whatever it mapped (a guest can make reserved parts
// of its region usable with a raw mprotect).
func (m *Memory) Allocated() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(m.fd, &st); err != nil {
		return 0, err
	}
	return uint64(st.Blocks) * 512, nil
}

// Limit is the most bytes the guest may have mapped (0: no limit).
func (m *Memory) Limit() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.limit
}

// FD is the memfd, to be inherited by the sandbox.
func (m *Memory) FD() int { return m.fd }

// Base is the guest address of the region's first byte.
func (m *Memory) Base() uint64 { return m.base }

// Size is the size of the region in bytes.
func (m *Memory) Size() uint64 { return m.size }

// Mapped is the number of bytes the guest has mapped.
func (m *Memory) Mapped() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.mapped
}

// Mappings returns a copy of the current mappings, in address order.
func (m *Memory) Mappings() []Mapping {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]Mapping(nil), m.maps...)
}

// rangeOK reports whether [addr, addr+length) is a non-empty, page-aligned
// range inside the region, without overflow.
func (m *Memory) rangeOK(addr, length uint64) bool {
	end := addr + length
	return addr%PageSize == 0 && length%PageSize == 0 && length > 0 &&
		end > addr && addr >= m.floor && end <= m.base+m.size
}

// RoundUp rounds n up to a whole number of pages, reporting overflow.
func RoundUp(n uint64) (uint64, bool) {
	r := (n + PageSize - 1) &^ (PageSize - 1)
	return r, r >= n
}

// Map records a new mapping of length bytes (a multiple of the page size)
// with protection prot and returns its address. With fixed, the mapping is
// placed exactly at addr, replacing whatever was mapped there; otherwise the
// first free range at or above addr (or anywhere, if none) is used. The pages
// read as zeroes afterwards.
func (m *Memory) Map(addr, length uint64, prot Prot, fixed bool) (uint64, error) {
	got, _, err := m.MapAnon(addr, length, prot, 0, fixed)
	return got, err
}

// MapAnon is Map, and also reports whether the mapping replaced pages the
// guest had mapped from a file: the guest must then map the memfd over the
// range again (see MapFile), because a protection change alone would leave
// the file in place. Protect will refuse to add deny to the mapping's
// protection.
func (m *Memory) MapAnon(addr, length uint64, prot, deny Prot, fixed bool) (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	addr, replaced, err := m.place(addr, length, fixed, length)
	if err != nil {
		return 0, false, err
	}
	hadFiles := m.removeFiles(addr, addr+length)
	if err := m.zero(addr, length); err != nil {
		return 0, false, err
	}
	m.set(addr, addr+length, prot, deny, true)
	m.mapped = m.mapped - replaced + length
	if !fixed {
		m.hintNext = addr + length
	}
	return addr, hadFiles, nil
}

// place chooses where a new mapping of length bytes goes and checks that
// adding counted bytes of memfd-backed memory stays within the limit. It
// returns the address and how many memfd-backed bytes the mapping replaces.
func (m *Memory) place(addr, length uint64, fixed bool, counted uint64) (uint64, uint64, error) {
	if length == 0 || length%PageSize != 0 {
		return 0, 0, ErrInvalid
	}
	if fixed {
		if !m.rangeOK(addr, length) {
			return 0, 0, ErrInvalid
		}
	} else {
		var ok bool
		addr, ok = m.findFree(addr, length)
		if !ok {
			return 0, 0, ErrNoSpace
		}
	}
	replaced := m.overlap(addr, addr+length) - m.fileOverlap(addr, addr+length)
	if m.limit != 0 && m.mapped-replaced+counted > m.limit {
		return 0, 0, ErrLimit
	}
	return addr, replaced, nil
}

// Protect changes the protection of a range that must be mapped throughout;
// a range that is not (or lies outside the region) is ErrFault.
func (m *Memory) Protect(addr, length uint64, prot Prot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr%PageSize != 0 || length%PageSize != 0 || length == 0 || addr+length < addr {
		return ErrInvalid
	}
	if !m.rangeOK(addr, length) || m.overlap(addr, addr+length) != length {
		return ErrFault
	}
	if prot&ProtWrite != 0 && !m.filesWritable(addr, addr+length) {
		return ErrAccess
	}
	for _, mp := range m.maps {
		if mp.Start < addr+length && mp.End > addr && prot&mp.Deny != 0 {
			return ErrAccess
		}
	}
	m.setProt(addr, addr+length, prot)
	return nil
}

// Unmap removes every mapping in a range and releases its memory. Unmapping
// pages that are not mapped is not an error, as with munmap.
func (m *Memory) Unmap(addr, length uint64) error {
	_, err := m.Release(addr, length)
	return err
}

// Release is Unmap, and also reports whether the range held pages the
// guest had mapped from a file (see MapAnon).
func (m *Memory) Release(addr, length uint64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.rangeOK(addr, length) {
		return false, ErrInvalid
	}
	m.mapped -= m.overlap(addr, addr+length) - m.fileOverlap(addr, addr+length)
	hadFiles := m.removeFiles(addr, addr+length)
	m.set(addr, addr+length, 0, 0, false)
	return hadFiles, m.zero(addr, length)
}

// zero punches a hole in the memfd, which both frees the pages and makes
// them read as zeroes.
func (m *Memory) zero(addr, length uint64) error {
	err := unix.Fallocate(m.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(addr-m.base), int64(length))
	if err != nil {
		return fmt.Errorf("memory: releasing pages: %w", err)
	}
	return nil
}

// overlap returns how many bytes of [start, end) are mapped.
func (m *Memory) overlap(start, end uint64) uint64 {
	var n uint64
	for _, mp := range m.maps {
		s, e := max(mp.Start, start), min(mp.End, end)
		if s < e {
			n += e - s
		}
	}
	return n
}

// set replaces whatever covers [start, end) by one mapping with prot and
// deny, or by nothing when present is false.
func (m *Memory) set(start, end uint64, prot, deny Prot, present bool) {
	out := make([]Mapping, 0, len(m.maps)+2)
	for _, mp := range m.maps {
		if mp.End <= start || mp.Start >= end {
			out = append(out, mp)
			continue
		}
		if mp.Start < start {
			out = append(out, Mapping{mp.Start, start, mp.Prot, mp.Deny})
		}
		if mp.End > end {
			out = append(out, Mapping{end, mp.End, mp.Prot, mp.Deny})
		}
	}
	if present {
		out = append(out, Mapping{start, end, prot, deny})
	}
	m.setMaps(out)
}

// setProt gives every mapping in [start, end) protection prot; each keeps
// its Deny.
func (m *Memory) setProt(start, end uint64, prot Prot) {
	out := make([]Mapping, 0, len(m.maps)+2)
	for _, mp := range m.maps {
		s, e := max(mp.Start, start), min(mp.End, end)
		if s >= e {
			out = append(out, mp)
			continue
		}
		if mp.Start < s {
			out = append(out, Mapping{mp.Start, s, mp.Prot, mp.Deny})
		}
		out = append(out, Mapping{s, e, prot, mp.Deny})
		if mp.End > e {
			out = append(out, Mapping{e, mp.End, mp.Prot, mp.Deny})
		}
	}
	m.setMaps(out)
}

// setMaps sorts out, merges adjacent runs that are alike, and makes it
// the mappings.
func (m *Memory) setMaps(out []Mapping) {
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	merged := out[:0]
	for _, mp := range out {
		if n := len(merged); n > 0 && merged[n-1].End == mp.Start && merged[n-1].Prot == mp.Prot && merged[n-1].Deny == mp.Deny {
			merged[n-1].End = mp.End
			continue
		}
		merged = append(merged, mp)
	}
	m.maps = merged
}

// findFree returns the lowest free range of length bytes at or above hint
// (or, failing that, above the region's base).
func (m *Memory) findFree(hint, length uint64) (uint64, bool) {
	if hint < m.floor || hint >= m.base+m.size || hint%PageSize != 0 {
		hint = m.hintNext
	}
	for _, from := range []uint64{hint, m.floor} {
		cand := from
		for _, mp := range m.maps {
			if mp.End <= cand {
				continue
			}
			if mp.Start >= cand+length {
				break
			}
			cand = mp.End
		}
		if cand+length > cand && cand+length <= m.base+m.size {
			return cand, true
		}
	}
	return 0, false
}

// Slice returns the supervisor's view of guest bytes [addr, addr+length),
// after checking that the guest has the whole range mapped with at least
// prot. A zero-length range is valid anywhere. The slice aliases guest
// memory: the guest may change it concurrently, so callers copy what they
// must validate before using it.
func (m *Memory) Slice(addr, length uint64, prot Prot) ([]byte, error) {
	if length == 0 {
		return nil, nil
	}
	end := addr + length
	if end < addr || addr < m.base || end > m.base+m.size {
		return nil, ErrFault
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.covered(addr, end, prot) {
		return nil, ErrFault
	}
	if len(m.files) > 0 && !m.filesBacked(addr, end) {
		return nil, ErrFault
	}
	off := addr - m.base
	return m.host[off : off+length : off+length], nil
}

// covered reports whether [addr, end) is mapped throughout with at least
// prot. Called with m.mu held.
func (m *Memory) covered(addr, end uint64, prot Prot) bool {
	// Find the mapping containing addr, then walk contiguous mappings.
	i := sort.Search(len(m.maps), func(i int) bool { return m.maps[i].End > addr })
	pos := addr
	for ; i < len(m.maps) && pos < end; i++ {
		mp := m.maps[i]
		if mp.Start > pos || mp.Prot&prot != prot {
			return false
		}
		pos = mp.End
	}
	return pos >= end
}

// Covered reports whether the guest has [addr, addr+length) mapped
// throughout, whatever the protection, and whether or not the supervisor
// could access it (a file mapping may extend past its file's end).
func (m *Memory) Covered(addr, length uint64) bool {
	end := addr + length
	if length == 0 || end < addr {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.covered(addr, end, 0)
}

// Raw returns the supervisor's view of a range without any protection check.
// It is for the runtime's own structures (mailboxes, start-up data), never
// for buffers named by the guest.
func (m *Memory) Raw(addr, length uint64) []byte {
	off := addr - m.base
	return m.host[off : off+length : off+length]
}

// Clone returns a copy of the address space for a forked process: the same
// region and mappings, in a memfd of its own holding a copy of the data.
// Only the pages that hold data are copied (SEEK_DATA and SEEK_HOLE), so a
// mostly empty region is cheap to copy. Memory the guest changes while the
// copy runs may be copied in either state. Pages mapped from files are not
// copied: the copy maps the same files there (see FileMappings), as a
// forked process shares its parent's shared mappings.
func (m *Memory) Clone() (*Memory, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.host == nil || m.broken {
		return nil, ErrInvalid
	}
	c, err := New(m.base, m.size, 0)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Memory, error) {
		// c.Close would take the registry's lock, held here.
		c.dropFiles()
		delete(registry.mems, c)
		unix.Munmap(c.host)
		unix.Close(c.fd)
		c.host = nil
		return nil, fmt.Errorf("memory: copying guest memory: %w", err)
	}
	c.maps = append([]Mapping(nil), m.maps...)
	c.mapped, c.limit, c.floor, c.hintNext = m.mapped, m.limit, m.floor, m.hintNext
	var off int64
	for off < int64(m.size) {
		data, err := unix.Seek(m.fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // no data beyond off
		}
		if err != nil {
			return fail(err)
		}
		hole, err := unix.Seek(m.fd, data, unix.SEEK_HOLE)
		if err != nil {
			return fail(err)
		}
		// The supervisor's view of file pages shows the file, not the
		// memfd: those parts are left out.
		from := m.base + uint64(data)
		for _, r := range m.files {
			if r.end <= from || r.start >= m.base+uint64(hole) {
				continue
			}
			if r.start > from {
				copy(c.host[from-m.base:r.start-m.base], m.host[from-m.base:r.start-m.base])
			}
			from = max(from, r.end)
		}
		if to := m.base + uint64(hole); from < to {
			copy(c.host[from-m.base:to-m.base], m.host[from-m.base:to-m.base])
		}
		off = hole
	}
	if err := m.cloneFiles(c); err != nil {
		return fail(err)
	}
	return c, nil
}
