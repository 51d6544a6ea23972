package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
	"golang.org/x/sys/unix"
)

// pathTree makes, inside a fresh directory "root" (next to a file that
// must stay out of reach), a small tree with symbolic links of every
// kind, and returns root's host fd.
//
//	root/a/            directory
//	root/a/b           file
//	root/a/up -> ../x  relative link that stays inside
//	root/x             file
//	root/in -> a/b     relative link inside
//	root/out -> <dir of root>/secret   absolute link leading out
//	root/rel-out -> ../secret          relative link leading out
//	root/loop1 -> loop2, root/loop2 -> loop1
//	root/dirlink -> a
func pathTree(t *testing.T) int {
	t.Helper()
	top := t.TempDir()
	root := filepath.Join(top, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(top, "secret"), []byte("secret"), 0o600))
	must(os.MkdirAll(filepath.Join(root, "a"), 0o755))
	must(os.WriteFile(filepath.Join(root, "a", "b"), []byte("b"), 0o600))
	must(os.WriteFile(filepath.Join(root, "x"), []byte("x"), 0o600))
	must(os.Symlink("../x", filepath.Join(root, "a", "up")))
	must(os.Symlink("a/b", filepath.Join(root, "in")))
	must(os.Symlink(filepath.Join(top, "secret"), filepath.Join(root, "out")))
	must(os.Symlink("../secret", filepath.Join(root, "rel-out")))
	must(os.Symlink("loop2", filepath.Join(root, "loop1")))
	must(os.Symlink("loop1", filepath.Join(root, "loop2")))
	must(os.Symlink("a", filepath.Join(root, "dirlink")))
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(err)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want abi.Errno
	}{
		{"a", abi.ESUCCESS},
		{"", abi.ESUCCESS}, // resolving it is ENOENT
		{"a\x00b", abi.EINVAL},
		{"\x00", abi.EINVAL},
		{strings.Repeat("a", maxPath-1), abi.ESUCCESS},
		{strings.Repeat("a", maxPath), abi.ENAMETOOLONG},
	} {
		got, errno := checkPath([]byte(tc.path))
		if errno != tc.want {
			t.Errorf("checkPath(%q): %v, want %v", tc.path, errno, tc.want)
		}
		if errno == abi.ESUCCESS && got != tc.path {
			t.Errorf("checkPath(%q) = %q", tc.path, got)
		}
	}
}

func TestOpenBeneath(t *testing.T) {
	dir := pathTree(t)
	for _, tc := range []struct {
		path   string
		follow bool
		want   abi.Errno
		mode   uint32 // file type expected on success
	}{
		{"a", true, abi.ESUCCESS, unix.S_IFDIR},
		{"a/b", true, abi.ESUCCESS, unix.S_IFREG},
		{"a/./b", true, abi.ESUCCESS, unix.S_IFREG},
		{"a/../x", true, abi.ESUCCESS, unix.S_IFREG},
		{"./a//b", true, abi.ESUCCESS, unix.S_IFREG},
		{".", true, abi.ESUCCESS, unix.S_IFDIR},
		{"", true, abi.ENOENT, 0},
		{"nonexistent", true, abi.ENOENT, 0},
		{"x/y", true, abi.ENOTDIR, 0},
		{"..", true, abi.ENOTCAPABLE, 0},
		{"../x", true, abi.ENOTCAPABLE, 0},
		{"/etc", true, abi.ENOTCAPABLE, 0},
		{"/", true, abi.ENOTCAPABLE, 0},
		{"a/../../x", true, abi.ENOTCAPABLE, 0},
		{"a/../..", true, abi.ENOTCAPABLE, 0},
		// Relative links inside the tree work, also through "..".
		{"in", true, abi.ESUCCESS, unix.S_IFREG},
		{"a/up", true, abi.ESUCCESS, unix.S_IFREG},
		{"dirlink/b", false, abi.ESUCCESS, unix.S_IFREG},
		// Not following the last component gives the link itself.
		{"in", false, abi.ESUCCESS, unix.S_IFLNK},
		{"out", false, abi.ESUCCESS, unix.S_IFLNK},
		// Links leading out are refused, whether absolute or relative,
		// last component or not.
		{"out", true, abi.ENOTCAPABLE, 0},
		{"rel-out", true, abi.ENOTCAPABLE, 0},
		{"out/x", false, abi.ENOTCAPABLE, 0},
		{"rel-out/x", false, abi.ENOTCAPABLE, 0},
		{"loop1", true, abi.ELOOP, 0},
		{"loop1/x", false, abi.ELOOP, 0},
		{"/proc/self/root", true, abi.ENOTCAPABLE, 0},
	} {
		fd, errno := openBeneath(dir, tc.path, unix.O_PATH|nofollow(tc.follow), 0)
		if errno != tc.want {
			t.Errorf("openBeneath(%q, follow=%v): %v, want %v", tc.path, tc.follow, errno, tc.want)
		}
		if errno != abi.ESUCCESS {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Errorf("fstat %q: %v", tc.path, err)
		} else if st.Mode&unix.S_IFMT != tc.mode {
			t.Errorf("openBeneath(%q, follow=%v) opened mode %o, want %o", tc.path, tc.follow, st.Mode&unix.S_IFMT, tc.mode)
		}
		unix.Close(fd)
	}
	// Reading through a link that leads out must never work.
	if fd, errno := openBeneath(dir, "out", unix.O_RDONLY, 0); errno == abi.ESUCCESS {
		unix.Close(fd)
		t.Error("opened the file outside through an absolute link")
	}
}

func TestOpenParent(t *testing.T) {
	dir := pathTree(t)
	for _, tc := range []struct {
		path  string
		want  abi.Errno
		name  string
		slash bool
	}{
		{"a", abi.ESUCCESS, "a", false},
		{"a/b", abi.ESUCCESS, "b", false},
		{"a/./b", abi.ESUCCESS, "b", false},
		{"a/", abi.ESUCCESS, "a", true},
		{"a//", abi.ESUCCESS, "a", true},
		{"a/new", abi.ESUCCESS, "new", false},
		{"dirlink/b", abi.ESUCCESS, "b", false},
		// The last component is never followed: a link that leads out
		// is just a name in its directory.
		{"out", abi.ESUCCESS, "out", false},
		{".", abi.ESUCCESS, ".", false},
		{"a/..", abi.ESUCCESS, "..", false},
		{"", abi.ENOENT, "", false},
		{"..", abi.ENOTCAPABLE, "", false},
		{"../x", abi.ENOTCAPABLE, "", false},
		{"/etc", abi.ENOTCAPABLE, "", false},
		{"/", abi.ENOTCAPABLE, "", false},
		{"a/../../x", abi.ENOTCAPABLE, "", false},
		{"a/../..", abi.ENOTCAPABLE, "", false},
		{"out/x", abi.ENOTCAPABLE, "", false},
		{"rel-out/x", abi.ENOTCAPABLE, "", false},
		{"loop1/x", abi.ELOOP, "", false},
		{"nonexistent/x", abi.ENOENT, "", false},
		{"x/y", abi.ENOTDIR, "", false},
	} {
		pd, errno := openParent(dir, tc.path)
		if errno != tc.want {
			t.Errorf("openParent(%q): %v, want %v", tc.path, errno, tc.want)
			pd.close()
			continue
		}
		if errno == abi.ESUCCESS && (pd.name != tc.name || pd.slash != tc.slash) {
			t.Errorf("openParent(%q) = name %q slash %v, want %q %v", tc.path, pd.name, pd.slash, tc.name, tc.slash)
		}
		pd.close()
	}

	// Operations through the parent act beneath the directory: removing
	// "out" removes the link, not what it points to.
	pd, errno := openParent(dir, "out")
	if errno != abi.ESUCCESS {
		t.Fatal(errno)
	}
	defer pd.close()
	if err := unix.Unlinkat(pd.fd, pd.name, 0); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dir, "../secret", &st, 0); err != nil {
		t.Errorf("the file outside is gone: %v", err)
	}
}

func TestRequireDir(t *testing.T) {
	dir := pathTree(t)
	for _, tc := range []struct {
		path string
		want abi.Errno
	}{
		{"a", abi.ESUCCESS},
		{"a/", abi.ESUCCESS},
		{"x", abi.ESUCCESS}, // no slash: nothing required
		{"x/", abi.ENOTDIR},
		{"dirlink/", abi.ENOTDIR}, // not followed
		{"missing/", abi.ENOENT},
	} {
		pd, errno := openParent(dir, tc.path)
		if errno != abi.ESUCCESS {
			t.Fatalf("openParent(%q): %v", tc.path, errno)
		}
		if got := pd.requireDir(); got != tc.want {
			t.Errorf("requireDir(%q) = %v, want %v", tc.path, got, tc.want)
		}
		pd.close()
	}
}
