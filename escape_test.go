package cloudabi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/config"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"golang.org/x/sys/unix"
)

// The escape suite: guest programs in testdata/guests/escape try to reach
// files outside the directory capabilities they were given. Every attempt
// must fail; docs/ESCAPES.md lists them with their expected results.

// runConfig runs the program at exe with a configuration given as YAML
// text, as cloudabi-run would, and returns how it ended.
func runConfig(t *testing.T, exe, yaml string) cloudabi.ExitStatus {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(yaml), "config.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := cloudabi.Run(ctx, exe, cfg, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return st
}

// yamlString quotes s for a YAML document.
func yamlString(s string) string { return strconv.Quote(s) }

// escapeTree is the directory layout the escape guests run in.
type escapeTree struct {
	root    string // holds the secret and the granted directory
	sandbox string // the granted directory, root/sandbox
	secret  string // the secret's content
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func newEscapeTree(t *testing.T) *escapeTree {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	e := &escapeTree{root: t.TempDir(), secret: "TOPSECRET-" + hex.EncodeToString(b[:])}
	e.sandbox = filepath.Join(e.root, "sandbox")
	r, s := e.root, e.sandbox
	for _, d := range []string{filepath.Join(r, "outside-dir"), s, filepath.Join(s, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(r, "secret"), e.secret)
	symlink(t, "secret", filepath.Join(r, "link-elsewhere"))
	writeFile(t, filepath.Join(s, "ok"), "harmless")
	writeFile(t, filepath.Join(s, "victim"), "victim")
	writeFile(t, filepath.Join(s, "sub", "inner"), "inner")
	writeFile(t, filepath.Join(s, "sub", "secret"), "decoy")
	for _, l := range [][2]string{
		{"../..", "sub/up"},
		{"..", "sub/link-parent"},
		{"../../secret", "sub/chain3"},
		{"ok", "link-in"},
		{"sub", "link-sub"},
		{"/", "link-root"},
		{filepath.Join(r, "secret"), "link-abs-secret"},
		{"../secret", "link-up"},
		{"..", "link-dotdot"},
		{"chain2", "chain1"},
		{"sub/chain3", "chain2"},
		{"loop2", "loop1"},
		{"loop1", "loop2"},
		{"/proc/self/root", "link-proc-root"},
		{"/proc/self/fd", "link-proc-fd"},
		{"/proc/self/cwd", "link-proc-cwd"},
		{"../created-by-dangling", "link-dangling"},
	} {
		symlink(t, l[0], filepath.Join(s, l[1]))
	}
	return e
}

// listing describes every entry beneath dir (not following links): name,
// type and, for files, content; for links, the target.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = "link " + target
		case fi.IsDir():
			m[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = "file " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// outside lists everything in the root but the granted directory.
func (e *escapeTree) outside(t *testing.T) map[string]string {
	t.Helper()
	m := listing(t, e.root)
	for k := range m {
		if k == "sandbox" || strings.HasPrefix(k, "sandbox/") {
			delete(m, k)
		}
	}
	return m
}

// expectation is the result an attempt must have.
type expectation struct {
	errnos []abi.Errno // any of these; ESUCCESS for success
	detail string      // for a success, the detail that must follow
}

func ok(detail string) expectation {
	return expectation{errnos: []abi.Errno{abi.ESUCCESS}, detail: detail}
}
func fails(errnos ...abi.Errno) expectation { return expectation{errnos: errnos} }

var notCapable = fails(abi.ENOTCAPABLE)

// escapeExpectations are the results of the steps of escape.c, in order.
// Steps named control_* (and a few others) must succeed: they show that the
// guest can reach what it was given, so that the failures mean something.
var escapeExpectations = []struct {
	step string
	want expectation
}{
	{"control_open", ok("harmless")},
	{"control_subdir", ok("inner")},
	{"control_dotdot_inside", ok("harmless")},
	{"control_symlink_inside", ok("harmless")},
	{"control_rodir", ok("harmless")},
	{"control_list", ok("")}, // checked separately
	{"absolute_path", notCapable},
	{"absolute_etc_passwd", notCapable},
	{"absolute_root_dir", notCapable},
	{"dotdot", notCapable},
	{"dot_dotdot", notCapable},
	{"dotdot_nested", notCapable},
	{"dotdot_list", notCapable},
	{"dotdot_slash_list", notCapable},
	{"dotdot_after_symlink", notCapable},
	{"symlink_to_root", notCapable},
	{"symlink_absolute", notCapable},
	{"symlink_relative_out", notCapable},
	{"symlink_relative_out_nofollow", fails(abi.ELOOP, abi.ENOTCAPABLE)},
	{"symlink_dotdot_component", notCapable},
	{"symlink_nested_up", notCapable},
	{"symlink_chain", notCapable},
	{"symlink_loop", fails(abi.ELOOP)},
	{"magic_link_proc_root", notCapable},
	{"magic_link_proc_fd", notCapable},
	{"magic_link_proc_cwd", notCapable},
	{"readlink_out", ok("../secret")},
	{"readlink_outside", notCapable},
	{"link_source_outside", notCapable},
	{"link_source_outside_read", fails(abi.ENOENT)},
	{"link_source_absolute", notCapable},
	{"link_source_symlink_out", notCapable},
	{"link_source_symlink_out_read", fails(abi.ENOENT)},
	{"link_target_outside", notCapable},
	{"rename_out", notCapable},
	{"rename_in", notCapable},
	{"rename_in_read", fails(abi.ENOENT)},
	{"rename_through_symlink", notCapable},
	{"rename_victim_still_there", ok("victim")},
	// Making a link whose text points out is allowed: the text is data.
	// Following it is not.
	{"symlink_create_relative_out", expectation{errnos: []abi.Errno{abi.ESUCCESS, abi.ENOTCAPABLE}}},
	{"symlink_create_relative_out_read", fails(abi.ENOTCAPABLE, abi.ENOENT)},
	{"symlink_create_absolute", expectation{errnos: []abi.Errno{abi.ESUCCESS, abi.ENOTCAPABLE}}},
	{"symlink_create_absolute_read", fails(abi.ENOTCAPABLE, abi.ENOENT)},
	{"symlink_create_outside", notCapable},
	{"unlink_dotdot", notCapable},
	{"rmdir_dotdot", notCapable},
	{"unlink_through_symlink", notCapable},
	{"create_dotdot", notCapable},
	{"create_through_symlink", notCapable},
	{"create_dangling_symlink", notCapable},
	{"mkdir_dotdot", notCapable},
	{"stat_dotdot", notCapable},
	{"stat_put_dotdot", notCapable},
	{"subdir_open", ok("")},
	{"subdir_control", ok("inner")},
	{"subdir_dotdot_inside_grant", notCapable},
	{"subdir_dotdot_dotdot", notCapable},
	{"subdir_symlink_parent", notCapable},
	{"subdir_list_dotdot", notCapable},
	{"embedded_nul", fails(abi.EINVAL, abi.ENOTCAPABLE)},
	{"embedded_nul_end", fails(abi.EINVAL, abi.ENOTCAPABLE)},
	{"long_dotdot", notCapable},
	{"long_dotdot_too_long", fails(abi.ENAMETOOLONG, abi.ENOTCAPABLE)},
	{"long_in_and_out", notCapable},
	{"rodir_reopen_dot_more_rights", notCapable},
	{"rodir_reopen_dot_same_rights", ok("")},
	{"rodir_reopened_create", notCapable},
	{"rodir_open_for_write", notCapable},
	{"rodir_inheriting_beyond", notCapable},
	{"rodir_create", notCapable},
	{"rodir_truncate", notCapable},
	{"rodir_unlink", notCapable},
	{"rodir_mkdir", notCapable},
	{"rodir_symlink", notCapable},
	{"rodir_rename", notCapable},
	{"rodir_link", notCapable},
	{"fd_stat_put_grow", notCapable},
	{"fd_stat_put_grow_check", ok("unchanged")},
	{"fd_dup", ok("")},
	{"fd_dup_grow", notCapable},
	{"fd_dup_create", notCapable},
	{"done", ok("")},
}

func errnoNames(es []abi.Errno) string {
	var names []string
	for _, e := range es {
		if e == abi.ESUCCESS {
			names = append(names, "success")
		} else {
			names = append(names, e.Name())
		}
	}
	return strings.Join(names, " or ")
}

// TestEscapes runs testdata/guests/escape/escape.c in a directory next to a
// secret file and checks every attempt's result, that the secret never
// reached the program, and that nothing changed outside the directory.
func TestEscapes(t *testing.T) {
	exe := guestbuild.Build(t, "testdata/guests/escape/escape.c")
	e := newEscapeTree(t)
	// /proc/self/cwd of the supervisor is the root, so that following
	// link-proc-cwd would find the secret.
	t.Chdir(e.root)
	outDir := t.TempDir()
	report := filepath.Join(outDir, "report")
	outsideBefore := e.outside(t)
	insideBefore := listing(t, e.sandbox)
	secretInfo, err := os.Stat(filepath.Join(e.root, "secret"))
	if err != nil {
		t.Fatal(err)
	}

	st := runConfig(t, exe, "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n"+
		"dir: !file {path: "+yamlString(e.sandbox)+"}\n"+
		"rodir: !file {path: "+yamlString(e.sandbox)+", mode: read}\n"+
		"out: !file {path: "+yamlString(report)+", mode: write, create: true}\n"+
		"secret: "+yamlString(filepath.Join(e.root, "secret"))+"\n")
	outb, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	out := string(outb)
	t.Logf("guest report (step errno [detail]):\n%s", out)
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
	if strings.Contains(out, e.secret) || strings.Contains(out, "TOPSECRET") {
		t.Errorf("ESCAPE: the secret reached the program:\n%s", out)
	}

	results := map[string][]string{}
	var order []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.SplitN(line, " ", 3)
		if len(f) < 2 {
			t.Errorf("malformed report line %q", line)
			continue
		}
		if _, dup := results[f[0]]; dup {
			t.Errorf("step %s reported twice", f[0])
		}
		results[f[0]] = f[1:]
		order = append(order, f[0])
	}
	if r := results["control_list"]; len(r) == 2 {
		names := map[string]bool{}
		for _, n := range strings.Split(r[1], ",") {
			names[n] = true
		}
		for _, n := range []string{"inner", "secret", "up", "link-parent", "chain3"} {
			if !names[n] {
				t.Errorf("control_list: %q is not in the listing of sub (%s)", n, r[1])
			}
		}
	}
	enosys := 0
	for _, x := range escapeExpectations {
		r, found := results[x.step]
		if !found {
			t.Errorf("%s: not reported (the guest skips a step when one it builds on failed)", x.step)
			continue
		}
		delete(results, x.step)
		n, err := strconv.ParseUint(r[0], 10, 16)
		if err != nil {
			t.Errorf("%s: malformed errno %q", x.step, r[0])
			continue
		}
		got := abi.Errno(n)
		detail := ""
		if len(r) > 1 {
			detail = r[1]
		}
		matched := false
		for _, want := range x.want.errnos {
			matched = matched || got == want
		}
		switch {
		case matched && got == abi.ESUCCESS && x.want.detail != "" && detail != x.want.detail:
			t.Errorf("%s: succeeded with %q, want %q", x.step, detail, x.want.detail)
		case matched:
		case got == abi.ESUCCESS:
			t.Errorf("ESCAPE %s: succeeded (%q), want %s", x.step, detail, errnoNames(x.want.errnos))
		case got == abi.ENOSYS:
			enosys++
			t.Errorf("%s: ENOSYS (system call not implemented yet), want %s", x.step, errnoNames(x.want.errnos))
		default:
			t.Errorf("%s: %s, want %s", x.step, got.Name(), errnoNames(x.want.errnos))
		}
	}
	for _, step := range order {
		if _, left := results[step]; left {
			t.Errorf("unexpected step %s %v", step, results[step])
		}
	}
	if enosys > 0 {
		t.Logf("%d steps got ENOSYS", enosys)
	}

	// Nothing appeared, changed or went away outside the directory.
	outsideAfter := e.outside(t)
	compareListings(t, "ESCAPE? outside the directory", outsideBefore, outsideAfter)
	if fi, err := os.Stat(filepath.Join(e.root, "secret")); err != nil || !fi.ModTime().Equal(secretInfo.ModTime()) {
		t.Errorf("ESCAPE: the secret's modification time changed (%v)", err)
	}
	// Inside, only the links the program may make appeared.
	inside := listing(t, e.sandbox)
	for _, name := range []string{"made-up", "made-abs"} {
		delete(inside, name)
	}
	compareListings(t, "inside the directory", insideBefore, inside)
}

// compareListings reports the differences between two listings (at most
// ten, then their number), each prefixed with where.
func compareListings(t *testing.T, where string, before, after map[string]string) {
	t.Helper()
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	diffs := 0
	for _, k := range keys {
		b, inB := before[k]
		a, inA := after[k]
		var msg string
		switch {
		case !inB:
			msg = fmt.Sprintf("%s appeared (%q)", k, short(a))
		case !inA:
			msg = fmt.Sprintf("%s is missing (want %q)", k, short(b))
		case a != b:
			msg = fmt.Sprintf("%s is %q, want %q", k, short(a), short(b))
		default:
			continue
		}
		if diffs++; diffs <= 10 {
			t.Errorf("%s: %s", where, msg)
		}
	}
	if diffs > 10 {
		t.Errorf("%s: %d differences in all", where, diffs)
	}
}

// short abbreviates s for a message.
func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

var raceLine = regexp.MustCompile(`^(\S+) ok=(\d+) refused=(\d+) expected=(\d+) other=(\d+) last_other=(\d+)$`)

// raceNames are the report lines of race.c: its opens, then its other
// calls through "racedir".
var raceNames = []string{"race", "racedir/secret", "racecreate", "stat", "stat_put", "readlink", "mkdir", "rmdir",
	"symlink", "unlink_symlink", "link", "unlink_link", "rename", "rename_back"}

// watchDir reports every change in dir itself (not beneath it) to an
// entry other than skip, and every open of dir or such an entry, from now
// until the returned function is called, which returns them.
func watchDir(t *testing.T, dir, skip string) func() []string {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB |
		unix.IN_MODIFY | unix.IN_OPEN | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return func() []string {
		defer unix.Close(fd)
		var events []string
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(fd, buf)
			if err == unix.EAGAIN {
				return events
			}
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00"))
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
					events = append(events, "event queue overflow")
				} else if name != skip {
					events = append(events, fmt.Sprintf("%q mask %#x", name, ev.Mask))
				}
			}
		}
	}
}

// TestEscapeSymlinkRace swaps symbolic links inside the directory between a
// target inside and one outside, with rename(2) as fast as it can, while
// the guest opens and reads through them. No read may ever return the
// secret.
func TestEscapeSymlinkRace(t *testing.T) {
	exe := guestbuild.Build(t, "testdata/guests/escape/race.c")
	e := newEscapeTree(t)
	seconds := 5
	if testing.Short() {
		seconds = 1
	}
	symlink(t, "ok", filepath.Join(e.sandbox, "race"))
	symlink(t, "sub", filepath.Join(e.sandbox, "racedir"))
	symlink(t, "sub/created", filepath.Join(e.sandbox, "racecreate"))
	// What the other calls through racedir reach inside, and their
	// counterparts outside.
	symlink(t, "inside", filepath.Join(e.sandbox, "sub", "link"))
	writeFile(t, filepath.Join(e.sandbox, "sub", "moving"), "moving")
	symlink(t, "outside", filepath.Join(e.root, "link"))
	writeFile(t, filepath.Join(e.root, "moving"), e.secret)
	outsideBefore := e.outside(t)
	outsideChanges := watchDir(t, e.root, "sandbox")
	report := filepath.Join(t.TempDir(), "report")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var flips atomic.Int64
	flipper := func(link, inside, outside string) {
		defer wg.Done()
		tmp := link + ".tmp"
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			target := inside
			if i%2 == 1 {
				target = outside
			}
			os.Remove(tmp)
			if err := os.Symlink(target, tmp); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, link); err != nil {
				t.Error(err)
				return
			}
			flips.Add(1)
		}
	}
	wg.Add(3)
	go flipper(filepath.Join(e.sandbox, "race"), "ok", "../secret")
	go flipper(filepath.Join(e.sandbox, "racedir"), "sub", "..")
	go flipper(filepath.Join(e.sandbox, "racecreate"), "sub/created", "../created-outside")
	st := runConfig(t, exe, "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n"+
		"dir: !file {path: "+yamlString(e.sandbox)+"}\n"+
		"out: !file {path: "+yamlString(report)+", mode: write, create: true}\n"+
		"seconds: "+strconv.Itoa(seconds)+"\n")
	close(stop)
	wg.Wait()
	if changes := outsideChanges(); len(changes) > 0 {
		t.Errorf("ESCAPE: the directory around the capability changed or was opened during the race: %s",
			strings.Join(changes[:min(len(changes), 10)], "; "))
	}

	outb, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	out := string(outb)
	t.Logf("%d link swaps; guest report:\n%s", flips.Load(), out)
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
	if bytes.Contains(outb, []byte(e.secret)) || strings.Contains(out, "LEAK") {
		t.Fatalf("ESCAPE: a read through a swapped link returned something else than the file inside:\n%s", out)
	}
	var seen []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := raceLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected report line %q", line)
			continue
		}
		seen = append(seen, m[1])
		ok, _ := strconv.Atoi(m[2])
		refused, _ := strconv.Atoi(m[3])
		other, _ := strconv.Atoi(m[5])
		last, _ := strconv.Atoi(m[6])
		if other > 0 {
			t.Errorf("%s: %d attempts failed with an error other than ENOTCAPABLE (last %s)", m[1], other, abi.Errno(last).Name())
		}
		// Both outcomes must have happened, or the race was not run.
		if ok == 0 || refused == 0 {
			t.Errorf("%s: succeeded %d times, refused %d times; the race did not happen", m[1], ok, refused)
		}
	}
	if !slices.Equal(seen, raceNames) {
		t.Errorf("reported %v, want %v", seen, raceNames)
	}
	outsideAfter := e.outside(t)
	compareListings(t, "ESCAPE? outside the directory", outsideBefore, outsideAfter)
	if flips.Load() < 100 {
		t.Errorf("only %d link swaps", flips.Load())
	}
}

// TestGrantedRights checks, from inside the program (fd_stat_get), the
// rights that each mode of !file grants.
func TestGrantedRights(t *testing.T) {
	exe := guestbuild.Build(t, "testdata/guests/escape/rights.c")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, "data")
	report := filepath.Join(t.TempDir(), "report")

	const (
		readFile = abi.RightFdRead | abi.RightFdSeek | abi.RightFdStatPutFlags | abi.RightFdTell |
			abi.RightFileAdvise | abi.RightFileStatFget | abi.RightMemMap | abi.RightMemMapExec |
			abi.RightPollFdReadwrite | abi.RightProcExec
		writeFile = abi.RightFdDatasync | abi.RightFdSeek | abi.RightFdStatPutFlags | abi.RightFdSync |
			abi.RightFdTell | abi.RightFdWrite | abi.RightFileAdvise | abi.RightFileAllocate |
			abi.RightFileStatFget | abi.RightFileStatFputSize | abi.RightFileStatFputTimes |
			abi.RightPollFdReadwrite
		appendFile = abi.RightFdDatasync | abi.RightFdSync | abi.RightFdTell | abi.RightFdWrite |
			abi.RightFileAdvise | abi.RightFileStatFget | abi.RightPollFdReadwrite
		readDir = abi.RightFileOpen | abi.RightFileReaddir | abi.RightFileReadlink |
			abi.RightFileStatGet | abi.RightFileStatFget | abi.RightPollFdReadwrite
		fullDir = readDir | abi.RightFdStatPutFlags | abi.RightFdSync | abi.RightFileAdvise |
			abi.RightFileCreateDirectory | abi.RightFileCreateFile | abi.RightFileLinkSource |
			abi.RightFileLinkTarget | abi.RightFileRenameSource | abi.RightFileRenameTarget |
			abi.RightFileStatFputTimes | abi.RightFileStatPutTimes | abi.RightFileSymlink |
			abi.RightFileUnlink
	)
	tests := []struct {
		grant            string
		filetype         abi.Filetype
		flags            abi.Fdflags
		base, inheriting abi.Rights
	}{
		{"!file {path: FILE}", abi.FiletypeRegularFile, 0, readFile, 0},
		{"!file {path: FILE, mode: read}", abi.FiletypeRegularFile, 0, readFile, 0},
		{"!file {path: FILE, mode: write}", abi.FiletypeRegularFile, 0, writeFile, 0},
		{"!file {path: FILE, mode: readwrite}", abi.FiletypeRegularFile, 0, readFile | writeFile, 0},
		{"!file {path: FILE, mode: append}", abi.FiletypeRegularFile, abi.FdflagAppend, appendFile, 0},
		{"!file {path: DIR}", abi.FiletypeDirectory, 0, fullDir, fullDir | readFile | writeFile},
		{"!file {path: DIR, mode: readwrite}", abi.FiletypeDirectory, 0, fullDir, fullDir | readFile | writeFile},
		{"!file {path: DIR, mode: read}", abi.FiletypeDirectory, 0, readDir, readDir | readFile},
		{"!executable", abi.FiletypeRegularFile, 0, readFile, 0},
	}
	yaml := "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n" +
		"out: !file {path: " + yamlString(report) + ", mode: write, create: true}\nfds:\n"
	for _, tc := range tests {
		g := strings.ReplaceAll(strings.ReplaceAll(tc.grant, "FILE", yamlString(file)), "DIR", yamlString(dir))
		yaml += "  - " + g + "\n"
	}
	st := runConfig(t, exe, yaml)
	out, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Exited || st.Code != 0 {
		t.Fatalf("status %v, want exit 0\n%s", st, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tests), out)
	}
	for i, tc := range tests {
		want := fmt.Sprintf("%d %d %x %x", tc.filetype, tc.flags, uint64(tc.base), uint64(tc.inheriting))
		if lines[i] != want {
			var ft, fl int
			var b, inh uint64
			fmt.Sscanf(lines[i], "%d %d %x %x", &ft, &fl, &b, &inh)
			t.Errorf("%s: fdstat %q, want %q\n  base extra %v, missing %v\n  inheriting extra %v, missing %v",
				tc.grant, lines[i], want,
				abi.Rights(b)&^tc.base, tc.base&^abi.Rights(b), abi.Rights(inh)&^tc.inheriting, tc.inheriting&^abi.Rights(inh))
		}
	}
}
