package memory

import (
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shared mappings of files.
//
// A page the guest maps from a file with MAP_SHARED is not in the memfd:
// the guest maps the file itself there (the runtime hands it the file, see
// internal/kernel), and the supervisor maps the same file over its own view
// of those pages, so that the supervisor's reads and writes of guest
// buffers there reach the file as the guest's do. The memfd's pages under
// such a range are a hole; they neither count towards the limit nor show
// in Allocated, and Clone gives the child the same file instead of a copy.
//
// A file mapped past its end makes an access there fault with SIGBUS,
// which would bring down the supervisor. Slice therefore refuses pages at
// or beyond the file's current end, and every truncation the runtime makes
// goes through Truncate, which first puts the memfd back under the
// supervisor's view of the pages that are about to lose their backing.

// fileRef is one open file that guest pages are mapped from.
type fileRef struct {
	fd int // the supervisor's own descriptor for the file
	// writable: the guest may write the file through the mapping. The
	// supervisor's view is then MAP_SHARED; otherwise it is MAP_PRIVATE,
	// so that not even a write through a stale slice reaches the file.
	writable bool
	dev, ino uint64
	refs     int // fileRanges using it
}

// fileRange is a run of guest pages mapped from a file.
type fileRange struct {
	start, end uint64 // guest addresses
	f          *fileRef
	off        uint64 // file offset of start
	// detached: the file was truncated through the runtime below this
	// range, and the supervisor's view shows the memfd here instead.
	detached bool
}

// Bounds on file ranges: each one splits the supervisor's mapping of the
// region, and the host limits how many mappings a process may have
// (vm.max_map_count, 65,530 by default), which the supervisor must never
// reach: a failed MAP_FIXED can leave a hole in its view.
const (
	maxFileRanges       = 1024
	maxFileRangesGlobal = 16384
)

var fileRangesGlobal atomic.Int64

// FileRanges is how many file-backed ranges all guest memories of this
// supervisor hold; each holds at most one host descriptor.
func FileRanges() int64 { return fileRangesGlobal.Load() }

// registry lets a truncation find every view of the file it shrinks. Its
// lock is taken before any Memory's.
var registry struct {
	mu   sync.Mutex
	mems map[*Memory]struct{}
}

// MapFile maps length bytes of the file open as fd, from offset off, as
// guest pages with protection prot (placed as Map places them), and
// returns the address. The supervisor's view of the range shows the file
// from then on; the caller must have the guest map the same file there.
// deny is what the mapping may never have, now or after a later Protect;
// without ProtWrite in it, the guest may write the file through the
// mapping. MapFile takes ownership of fd, even on error. The pages do not
// count towards the limit.
func (m *Memory) MapFile(addr, length uint64, prot, deny Prot, fixed bool, fd int, off uint64) (uint64, error) {
	writable := deny&ProtWrite == 0
	owned := true
	defer func() {
		if owned {
			unix.Close(fd)
		}
	}()
	if prot&deny != 0 {
		return 0, ErrAccess
	}
	if off%PageSize != 0 || off > 1<<62 {
		return 0, ErrInvalid
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.host == nil {
		return 0, ErrInvalid
	}
	addr, replaced, err := m.place(addr, length, fixed, 0)
	if err != nil {
		return 0, err
	}
	if len(m.files) >= maxFileRanges || fileRangesGlobal.Load() >= maxFileRangesGlobal {
		return 0, ErrNoSpace
	}
	// The guest's own mmap of the file will be this one: let the host
	// refuse it (EACCES, ENODEV...) before anything changes.
	probe, err := unix.MmapPtr(fd, int64(off), nil, uintptr(length), int(prot), unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		return 0, err
	}
	unix.MunmapPtr(probe, uintptr(length))

	m.removeFiles(addr, addr+length)
	if err := m.zero(addr, length); err != nil {
		return 0, err
	}
	f := &fileRef{fd: fd, writable: writable, dev: st.Dev, ino: st.Ino}
	owned = false
	if err := m.viewFile(addr, addr+length, f, off); err != nil {
		unix.Close(fd)
		if m.viewMemfd(addr, addr+length) != nil {
			m.broken = true
		}
		return 0, err
	}
	m.insertFile(fileRange{start: addr, end: addr + length, f: f, off: off})
	m.set(addr, addr+length, prot, deny, true)
	m.mapped -= replaced
	if !fixed {
		m.hintNext = addr + length
	}
	return addr, nil
}

// viewFile maps the file over the supervisor's view of [start, end).
func (m *Memory) viewFile(start, end uint64, f *fileRef, off uint64) error {
	flags := unix.MAP_FIXED | unix.MAP_PRIVATE
	if f.writable {
		flags = unix.MAP_FIXED | unix.MAP_SHARED
	}
	_, err := unix.MmapPtr(f.fd, int64(off), unsafe.Pointer(&m.host[start-m.base]), uintptr(end-start),
		unix.PROT_READ|unix.PROT_WRITE, flags)
	return err
}

// viewMemfd puts the memfd back under the supervisor's view of [start, end).
func (m *Memory) viewMemfd(start, end uint64) error {
	_, err := unix.MmapPtr(m.fd, int64(start-m.base), unsafe.Pointer(&m.host[start-m.base]), uintptr(end-start),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_FIXED|unix.MAP_SHARED|unix.MAP_NORESERVE)
	return err
}

// insertFile adds r, which overlaps no other range, and registers m.
func (m *Memory) insertFile(r fileRange) {
	r.f.refs++
	m.files = append(m.files, r)
	fileRangesGlobal.Add(1)
	m.sortFiles()
	if len(m.files) == 1 {
		if registry.mems == nil {
			registry.mems = make(map[*Memory]struct{})
		}
		registry.mems[m] = struct{}{}
	}
}

// sortFiles restores the order of m.files, merges neighbours that
// continue each other (so that repeated truncations cannot make the list
// grow) and updates the global count.
func (m *Memory) sortFiles() {
	before := len(m.files)
	sort.Slice(m.files, func(i, j int) bool { return m.files[i].start < m.files[j].start })
	out := m.files[:0]
	for _, r := range m.files {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.end == r.start && last.f == r.f && last.detached == r.detached && last.off+(last.end-last.start) == r.off {
				last.end = r.end
				r.f.refs--
				continue
			}
		}
		out = append(out, r)
	}
	m.files = out
	fileRangesGlobal.Add(int64(len(m.files) - before))
}

// removeFiles forgets the file ranges in [start, end), putting the memfd
// back under the supervisor's view there, and reports whether there were
// any. Called with m.mu held; the registry lock is not needed, as
// truncations also hold m.mu while they change ranges.
func (m *Memory) removeFiles(start, end uint64) bool {
	if len(m.files) == 0 {
		return false
	}
	found := false
	before := len(m.files)
	out := make([]fileRange, 0, len(m.files)+1)
	for _, r := range m.files {
		if r.end <= start || r.start >= end {
			out = append(out, r)
			continue
		}
		found = true
		s, e := max(r.start, start), min(r.end, end)
		if !r.detached {
			if m.viewMemfd(s, e) != nil {
				m.broken = true
			}
		}
		kept := 0
		if r.start < s {
			out = append(out, fileRange{start: r.start, end: s, f: r.f, off: r.off, detached: r.detached})
			kept++
		}
		if r.end > e {
			out = append(out, fileRange{start: e, end: r.end, f: r.f, off: r.off + (e - r.start), detached: r.detached})
			kept++
		}
		r.f.refs += kept - 1
		if r.f.refs == 0 {
			unix.Close(r.f.fd)
		}
	}
	m.files = out
	fileRangesGlobal.Add(int64(len(m.files) - before))
	if len(m.files) == 0 && before > 0 {
		m.unregister()
	}
	return found
}

// unregister takes m out of the registry. The registry's lock may or may
// not be held by the caller's goroutine; a Memory without file ranges is
// skipped by Truncate anyway, so a stale entry only costs a lookup.
func (m *Memory) unregister() {
	if registry.mu.TryLock() {
		delete(registry.mems, m)
		registry.mu.Unlock()
	}
}

// dropFiles releases every file range when the memory goes away. Called
// with the registry's lock and m.mu held.
func (m *Memory) dropFiles() {
	for _, r := range m.files {
		r.f.refs--
		if r.f.refs == 0 {
			unix.Close(r.f.fd)
		}
	}
	fileRangesGlobal.Add(-int64(len(m.files)))
	m.files = nil
}

// fileOverlap returns how many bytes of [start, end) are mapped from files.
func (m *Memory) fileOverlap(start, end uint64) uint64 {
	var n uint64
	for _, r := range m.files {
		if s, e := max(r.start, start), min(r.end, end); s < e {
			n += e - s
		}
	}
	return n
}

// filesWritable reports whether every file mapped in [start, end) may be
// written through the mapping.
func (m *Memory) filesWritable(start, end uint64) bool {
	for _, r := range m.files {
		if r.start < end && r.end > start && !r.f.writable {
			return false
		}
	}
	return true
}

// filesBacked reports whether the supervisor may touch [start, end): no
// page of it is a detached file page or a file page at or past the end of
// its file, where an access would fault. Called with m.mu held for reading.
func (m *Memory) filesBacked(start, end uint64) bool {
	if m.broken {
		return false
	}
	for _, r := range m.files {
		s, e := max(r.start, start), min(r.end, end)
		if s >= e {
			continue
		}
		if r.detached {
			return false
		}
		var st unix.Stat_t
		if unix.Fstat(r.f.fd, &st) != nil || st.Size < 0 {
			return false
		}
		lastPage := (r.off + (e - 1 - r.start)) &^ (PageSize - 1)
		if lastPage >= uint64(st.Size) {
			return false
		}
	}
	return true
}

// IsFile reports whether any page of [addr, addr+length) is mapped from a
// file.
func (m *Memory) IsFile(addr, length uint64) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.fileOverlap(addr, addr+length) > 0
}

// FileAt names the file page under a guest address, for waits that other
// processes mapping the same file must meet: the file's device and inode
// numbers and the offset in the file. ok is false where the address is
// not mapped from a file, where the supervisor's view there is not the
// file itself (a read-only or detached range), and past the file's end.
func (m *Memory) FileAt(addr uint64) (dev, ino, off uint64, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, r := range m.files {
		if addr >= r.start && addr < r.end {
			if r.detached || !r.f.writable || !m.filesBacked(addr, addr+1) {
				return 0, 0, 0, false
			}
			return r.f.dev, r.f.ino, r.off + (addr - r.start), true
		}
	}
	return 0, 0, 0, false
}

// Sync writes the file pages of [addr, addr+length) back to their files,
// as msync(2) with flags does; memfd pages have nothing to write back.
func (m *Memory) Sync(addr, length uint64, flags int) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.host == nil {
		return ErrInvalid
	}
	for _, r := range m.files {
		s, e := max(r.start, addr), min(r.end, addr+length)
		if s >= e || r.detached {
			continue
		}
		if err := unix.Msync(m.host[s-m.base:e-m.base], flags); err != nil {
			return err
		}
	}
	return nil
}

// FileMapping is a piece of a guest's file mapping, for re-creating it in
// a new sandbox process: FD is a descriptor the caller owns.
type FileMapping struct {
	Addr, Len uint64
	Prot      Prot
	FD        int
	Off       uint64
}

// FileMappings lists the guest's file mappings, one piece per run of
// equal protection, each with a new descriptor for its file.
func (m *Memory) FileMappings() ([]FileMapping, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []FileMapping
	for _, r := range m.files {
		for _, mp := range m.maps {
			s, e := max(r.start, mp.Start), min(r.end, mp.End)
			if s >= e {
				continue
			}
			fd, err := unix.FcntlInt(uintptr(r.f.fd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				for _, fm := range out {
					unix.Close(fm.FD)
				}
				return nil, err
			}
			out = append(out, FileMapping{Addr: s, Len: e - s, Prot: mp.Prot, FD: fd, Off: r.off + (s - r.start)})
		}
	}
	return out, nil
}

// cloneFiles gives c, a new copy of m, the same file ranges and views.
// Called with the registry's lock and m.mu held.
func (m *Memory) cloneFiles(c *Memory) error {
	refs := map[*fileRef]*fileRef{}
	for _, r := range m.files {
		f, ok := refs[r.f]
		if !ok {
			fd, err := unix.FcntlInt(uintptr(r.f.fd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				return err
			}
			f = &fileRef{fd: fd, writable: r.f.writable, dev: r.f.dev, ino: r.f.ino}
			refs[r.f] = f
		}
		nr := fileRange{start: r.start, end: r.end, f: f, off: r.off, detached: r.detached}
		if !nr.detached {
			if err := c.viewFile(nr.start, nr.end, f, nr.off); err != nil {
				if f.refs == 0 {
					unix.Close(f.fd)
				}
				return err
			}
		}
		c.insertFile(nr)
	}
	return nil
}

// LockTruncation must be held around a truncation that Truncate cannot
// make itself (an open with O_TRUNC, whose file is known only afterwards):
// it keeps new file views from appearing meanwhile. The caller detaches
// the views with DetachBeyond before the file shrinks.
func LockTruncation() (unlock func()) {
	registry.mu.Lock()
	return registry.mu.Unlock
}

// AnyFileMappings reports whether any guest memory holds file mappings.
// Called with the truncation lock held.
func AnyFileMappings() bool { return len(registry.mems) > 0 }

// Truncate sets the size of the file open as fd, as ftruncate(2) does,
// after making every supervisor view of the pages the file loses show the
// memfd instead.
func Truncate(fd int, size int64) error {
	defer LockTruncation()()
	if err := DetachBeyond(fd, size); err != nil {
		return err
	}
	return unix.Ftruncate(fd, size)
}

// DetachBeyond makes every supervisor view of the pages of the file open
// as fd from offset size on show the memfd. Called with the truncation
// lock held.
func DetachBeyond(fd int, size int64) error {
	if len(registry.mems) == 0 || size < 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	cut := (uint64(size) + PageSize - 1) &^ (PageSize - 1)
	for m := range registry.mems {
		m.detach(st.Dev, st.Ino, cut)
	}
	return nil
}

func (m *Memory) detach(dev, ino, cut uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var extra []fileRange
	for i := range m.files {
		r := &m.files[i]
		if r.detached || r.f.dev != dev || r.f.ino != ino || r.off+(r.end-r.start) <= cut {
			continue
		}
		from := r.start
		if r.off < cut {
			from = r.start + (cut - r.off)
		}
		if m.viewMemfd(from, r.end) != nil {
			m.broken = true
		}
		if from == r.start {
			r.detached = true
			continue
		}
		extra = append(extra, fileRange{start: from, end: r.end, f: r.f, off: r.off + (from - r.start), detached: true})
		r.f.refs++
		r.end = from
	}
	m.files = append(m.files, extra...)
	fileRangesGlobal.Add(int64(len(extra)))
	m.sortFiles()
}
