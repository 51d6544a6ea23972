package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFileAttributes checks that every attribute of !file, and every value
// it takes, ends up in the grant.
func TestFileAttributes(t *testing.T) {
	file := func(path string, mode Mode, create, excl, trunc bool) Grant {
		return Grant{Kind: GrantFile, Path: path, Mode: mode, Create: create, Exclusive: excl, Truncate: trunc, Pos: pos(3, 3)}
	}
	tests := []struct {
		in   string
		want Grant
	}{
		{"{path: a}", file("a", ModeDefault, false, false, false)},
		{"{path: a, mode: read}", file("a", ModeRead, false, false, false)},
		{"{path: a, mode: write}", file("a", ModeWrite, false, false, false)},
		{"{path: a, mode: readwrite}", file("a", ModeReadWrite, false, false, false)},
		{"{path: a, mode: append}", file("a", ModeAppend, false, false, false)},
		{"{mode: \"write\", path: a}", file("a", ModeWrite, false, false, false)},
		{"{path: a, mode: !!str append}", file("a", ModeAppend, false, false, false)},
		{"{path: a, mode: write, create: true}", file("a", ModeWrite, true, false, false)},
		{"{path: a, mode: append, create: True}", file("a", ModeAppend, true, false, false)},
		{"{path: a, mode: readwrite, create: true, exclusive: true}", file("a", ModeReadWrite, true, true, false)},
		{"{path: a, mode: write, truncate: true}", file("a", ModeWrite, false, false, true)},
		{"{path: a, mode: append, truncate: TRUE, create: true}", file("a", ModeAppend, true, false, true)},
		{"{path: a, mode: write, create: true, exclusive: true, truncate: true}", file("a", ModeWrite, true, true, true)},
		{"{path: a, create: false, exclusive: false, truncate: false}", file("a", ModeDefault, false, false, false)},
		{"{path: a, mode: read, truncate: false}", file("a", ModeRead, false, false, false)},
		{"{path: a, mode: write, create: !!bool true}", file("a", ModeWrite, true, false, false)},
		{"\n    path: a\n    mode: write\n    create: true", file("a", ModeWrite, true, false, false)},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			cfg := parse(t, tagDirective+"- !file "+tc.in+"\n")
			if len(cfg.Grants) != 1 || cfg.Grants[0] != tc.want {
				t.Fatalf("grants %+v, want %+v", cfg.Grants, tc.want)
			}
		})
	}
}

func TestFileAttributeErrors(t *testing.T) {
	const modes = "read, write, readwrite, append"
	tests := []struct {
		in   string
		want string // the message after "config.yaml:3:"
	}{
		{"{path: a, mode: rw}", "25: !file mode must be one of " + modes + ", not \"rw\""},
		{"{path: a, mode: Read}", "25: !file mode must be one of " + modes + ", not \"Read\""},
		{"{path: a, mode: }", "25: !file mode must be one of " + modes + ", not an empty value"},
		{"{path: a, mode: [read]}", "25: !file mode must be one of " + modes + ", not a sequence"},
		{"{path: a, mode: 7}", "25: !file mode must be one of " + modes + ", not \"7\""},
		{"{path: a, mode: true}", "25: !file mode must be one of " + modes + ", not \"true\""},
		{"{path: a, mode: read, mode: write}", "31: duplicate !file attribute \"mode\""},
		{"{path: a, mode: write, create: yes}", "40: !file create must be true or false, not \"yes\""},
		{"{path: a, mode: write, create: 1}", "40: !file create must be true or false, not \"1\""},
		{"{path: a, mode: write, create: \"true\"}", "40: !file create must be true or false, not \"true\""},
		{"{path: a, mode: write, create: }", "40: !file create must be true or false, not an empty value"},
		{"{path: a, mode: write, create: {x: 1}}", "40: !file create must be true or false, not a mapping"},
		{"{path: a, mode: write, exclusive: on}", "43: !file exclusive must be true or false, not \"on\""},
		{"{path: a, mode: write, truncate: no}", "42: !file truncate must be true or false, not \"no\""},
		{"{path: a, mode: write, create: true, create: true}", "46: duplicate !file attribute \"create\""},
		{"{path: a, create: true}", "19: !file create: true needs mode write, readwrite or append"},
		{"{path: a, mode: read, create: true}", "31: !file create: true needs mode write, readwrite or append"},
		{"{path: a, truncate: true}", "19: !file truncate: true needs mode write, readwrite or append"},
		{"{path: a, mode: read, truncate: true}", "31: !file truncate: true needs mode write, readwrite or append"},
		{"{path: a, mode: write, exclusive: true}", "32: !file exclusive: true needs create: true"},
		{"{path: a, mode: write, create: false, exclusive: true}", "47: !file exclusive: true needs create: true"},
		{"{path: a, rights: read-only}", "19: unknown !file attribute \"rights\" (known: path, mode, create, exclusive, truncate)"},
		{"{path: a, Mode: read}", "19: unknown !file attribute \"Mode\" (known: path, mode, create, exclusive, truncate)"},
		{"{mode: write}", "3: !file needs a path attribute, as in !file {path: /srv/www}"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tagDirective+"- !file "+tc.in+"\n"), "config.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded: %v", cfg.Grants)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			if want := "config.yaml:3:" + tc.want; err.Error() != want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, want)
			}
		})
	}
}

func TestGrantString(t *testing.T) {
	for _, tc := range []struct {
		g    Grant
		want string
	}{
		{Grant{Kind: GrantFile, Path: "a", Pos: pos(1, 2)}, `file "a" (config.yaml:1:2)`},
		{Grant{Kind: GrantFile, Path: "a", Mode: ModeRead, Pos: pos(1, 2)}, `file "a" mode read (config.yaml:1:2)`},
		{Grant{Kind: GrantFile, Path: "log", Mode: ModeAppend, Create: true, Pos: pos(1, 2)}, `file "log" mode append, create (config.yaml:1:2)`},
		{Grant{Kind: GrantFile, Path: "x", Mode: ModeWrite, Create: true, Exclusive: true, Truncate: true, Pos: pos(1, 2)},
			`file "x" mode write, create, exclusive, truncate (config.yaml:1:2)`},
		{Grant{Kind: GrantHostFD, HostFD: 1, Pos: pos(1, 2)}, `host fd 1 (config.yaml:1:2)`},
	} {
		if got := tc.g.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.g, got, tc.want)
		}
	}
}

// accessMode returns the file status flags that matter here: the access
// mode and O_APPEND.
func accessMode(t *testing.T, f *os.File) int {
	t.Helper()
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	fdfl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("%s: not close-on-exec (%v)", f.Name(), err)
	}
	if fl&unix.O_NONBLOCK != 0 {
		t.Errorf("%s: left in non-blocking mode", f.Name())
	}
	return fl & (unix.O_ACCMODE | unix.O_APPEND)
}

// TestOpenModes opens files with every combination that matters and checks
// the open flags, the access reported, and what happened to the file.
func TestOpenModes(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	dir := t.TempDir()
	const content = "old content\n"
	tests := []struct {
		name    string
		attrs   string
		exists  bool
		flags   int
		access  Access
		content string // after opening; "-" means the file must not exist
	}{
		{"default", "", true, unix.O_RDONLY, AccessReadOnlyFile, content},
		{"read", "mode: read", true, unix.O_RDONLY, AccessReadOnlyFile, content},
		{"write", "mode: write", true, unix.O_WRONLY, AccessWriteOnlyFile, content},
		{"readwrite", "mode: readwrite", true, unix.O_RDWR, AccessReadWriteFile, content},
		{"append", "mode: append", true, unix.O_WRONLY | unix.O_APPEND, AccessAppendFile, content},
		{"write truncate", "mode: write, truncate: true", true, unix.O_WRONLY, AccessWriteOnlyFile, ""},
		{"readwrite truncate", "mode: readwrite, truncate: true", true, unix.O_RDWR, AccessReadWriteFile, ""},
		{"append truncate", "mode: append, truncate: true", true, unix.O_WRONLY | unix.O_APPEND, AccessAppendFile, ""},
		{"create existing", "mode: write, create: true", true, unix.O_WRONLY, AccessWriteOnlyFile, content},
		{"create missing", "mode: write, create: true", false, unix.O_WRONLY, AccessWriteOnlyFile, ""},
		{"append create missing", "mode: append, create: true", false, unix.O_WRONLY | unix.O_APPEND, AccessAppendFile, ""},
		{"exclusive missing", "mode: readwrite, create: true, exclusive: true", false, unix.O_RDWR, AccessReadWriteFile, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "f"+itoa(i))
			if tc.exists {
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := parse(t, tagDirective+"- !file {path: "+path+", "+tc.attrs+"}\n")
			files, err := cfg.Open(nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			f := files[0]
			defer f.File.Close()
			if got := accessMode(t, f.File); got != tc.flags {
				t.Errorf("flags %#o, want %#o", got, tc.flags)
			}
			if f.Access != tc.access {
				t.Errorf("access %v, want %v", f.Access, tc.access)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.content {
				t.Errorf("content %q, want %q", got, tc.content)
			}
			if !tc.exists {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if perm := fi.Mode().Perm(); perm != 0o644 {
					t.Errorf("created with permissions %v, want 0644 (0666 less umask 022)", perm)
				}
			}
			// Writing through an append descriptor lands at the end.
			if tc.flags&unix.O_APPEND != 0 {
				if _, err := f.File.WriteAt([]byte("x"), 0); err == nil {
					t.Errorf("WriteAt on an O_APPEND file succeeded")
				}
				if _, err := f.File.Write([]byte("tail\n")); err != nil {
					t.Fatal(err)
				}
				got, _ := os.ReadFile(path)
				if string(got) != tc.content+"tail\n" {
					t.Errorf("after appending: %q", got)
				}
			}
		})
	}
}

func TestOpenDirectoryModes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		attrs  string
		access Access
	}{
		{"", AccessDirectory},
		{", mode: readwrite", AccessDirectory},
		{", mode: read", AccessReadOnlyDirectory},
	} {
		cfg := parse(t, tagDirective+"- !file {path: "+dir+tc.attrs+"}\n")
		files, err := cfg.Open(nil)
		if err != nil {
			t.Fatalf("%q: Open: %v", tc.attrs, err)
		}
		checkFlags(t, files[0].File, true)
		if files[0].Access != tc.access {
			t.Errorf("%q: access %v, want %v", tc.attrs, files[0].Access, tc.access)
		}
		files[0].File.Close()
	}
}

func TestOpenModeErrors(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		path, attrs string
		want        string
		errno       error
	}{
		{missing, "mode: write", "cannot open " + missing + ": no such file or directory", unix.ENOENT},
		{missing, "mode: append, truncate: true", "cannot open " + missing + ": no such file or directory", unix.ENOENT},
		{existing, "mode: write, create: true, exclusive: true", "cannot open " + existing + ": file exists", unix.EEXIST},
		{dir, "mode: readwrite, create: true, exclusive: true", "cannot open " + dir + ": file exists", unix.EEXIST},
		{dir, "mode: write", "cannot open " + dir + " with mode write: it is a directory (a directory takes mode read or readwrite)", unix.EISDIR},
		{dir, "mode: append", "cannot open " + dir + " with mode append: it is a directory (a directory takes mode read or readwrite)", unix.EISDIR},
		{dir, "mode: readwrite, create: true", "cannot open " + dir + ": it is a directory (create and truncate apply to files)", unix.EISDIR},
		{dir, "mode: readwrite, truncate: true", "cannot open " + dir + ": it is a directory (create and truncate apply to files)", unix.EISDIR},
		{filepath.Join(missing, "sub"), "mode: write, create: true", "cannot open " + filepath.Join(missing, "sub") + ": no such file or directory", unix.ENOENT},
	} {
		t.Run(tc.attrs+" "+filepath.Base(tc.path), func(t *testing.T) {
			before := openFDs(t)
			cfg := parse(t, tagDirective+"- !fd stdout\n- !file {path: "+tc.path+", "+tc.attrs+"}\n")
			files, err := cfg.Open(nil)
			if err == nil {
				for _, f := range files {
					f.File.Close()
				}
				t.Fatal("Open succeeded")
			}
			if want := "config.yaml:4:3: " + tc.want; err.Error() != want {
				t.Errorf("error\n  %s\nwant\n  %s", err, want)
			}
			if !errors.Is(err, tc.errno) {
				t.Errorf("error %v does not wrap %v", err, tc.errno)
			}
			if after := openFDs(t); after != before {
				t.Errorf("%d descriptors open before, %d after a failed Open", before, after)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Errorf("a failed open changed the file: %q", b)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a failed open created %s", missing)
	}
}

// TestOpenFIFOForWriting checks that a FIFO without a reader is an error
// rather than a launcher that hangs, and that one with a reader opens.
func TestOpenFIFOForWriting(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, tagDirective+"- !file {path: "+fifo+", mode: write}\n")
	_, err := cfg.Open(nil)
	if err == nil || !errors.Is(err, unix.ENXIO) || !strings.Contains(err.Error(), "a FIFO that no process has open for reading") {
		t.Fatalf("got %v", err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	files, err := cfg.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer files[0].File.Close()
	if got := accessMode(t, files[0].File); got != unix.O_WRONLY {
		t.Errorf("flags %#o, want O_WRONLY", got)
	}
}
