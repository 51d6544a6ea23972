// Package guestbuild compiles C guest programs with the project's CloudABI
// SDK (sdk/) for use in tests.
//
// Build needs Debian's clang-14 and lld-14 (and make). Without them the
// calling test is skipped, unless CLOUDABI_REQUIRE_CLANG=1 is set in the
// environment, in which case it fails.
//
// Executables are cached by content: the key covers the SDK's sources, the
// guest's sources (and the headers next to them) and the compiler version,
// so a build happens once per change, not once per test. The cache lives in
// $CLOUDABI_GUESTBUILD_CACHE, else in the user cache directory
// (cloudabi-go/guestbuild), else in the system temp directory.
package guestbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Tools that must be on PATH. clang-14's driver runs ld.lld from its own
// installation directory; lld-14 installs it together with ld.lld-14.
var tools = []string{"clang-14", "ld.lld-14", "make"}

const installHint = "install clang-14 and lld-14 (Debian/Ubuntu: apt-get install clang-14 lld-14 make)"

// RepoRoot returns the absolute path of the repository root.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("guestbuild: cannot locate source file")
	}
	// file is <root>/internal/guestbuild/guestbuild.go.
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

type result struct {
	once sync.Once
	path string
	err  error
}

var (
	mu      sync.Mutex
	results = map[string]*result{}

	toolsOnce sync.Once
	toolsErr  error
	ccVersion string
)

// Available reports whether the toolchain needed by Build is installed,
// and if not, why.
func Available() error {
	toolsOnce.Do(func() {
		var missing []string
		for _, tool := range tools {
			if _, err := exec.LookPath(tool); err != nil {
				missing = append(missing, tool)
			}
		}
		if len(missing) > 0 {
			toolsErr = fmt.Errorf("%s not found; %s", strings.Join(missing, ", "), installHint)
			return
		}
		out, err := exec.Command("clang-14", "--version").Output()
		if err != nil {
			toolsErr = fmt.Errorf("clang-14 --version: %v; %s", err, installHint)
			return
		}
		ccVersion = string(out)
	})
	return toolsErr
}

// Build compiles and links the given C sources (paths relative to the
// repository root, or absolute) into one CloudABI executable and returns
// its path. The first source's name (without .c) names the executable.
// Builds are shared by all tests of the process and cached across runs.
func Build(t testing.TB, sources ...string) string {
	t.Helper()
	if len(sources) == 0 {
		t.Fatal("guestbuild.Build: no sources given")
	}
	if err := Available(); err != nil {
		if os.Getenv("CLOUDABI_REQUIRE_CLANG") == "1" {
			t.Fatalf("guestbuild: %v (CLOUDABI_REQUIRE_CLANG=1)", err)
		}
		t.Skipf("guestbuild: %v", err)
	}
	key := strings.Join(sources, "\x00")
	mu.Lock()
	r := results[key]
	if r == nil {
		r = &result{}
		results[key] = r
	}
	mu.Unlock()
	r.once.Do(func() { r.path, r.err = build(sources) })
	if r.err != nil {
		t.Fatalf("guestbuild: %v", r.err)
	}
	return r.path
}

func build(sources []string) (string, error) {
	root := RepoRoot()
	sdk := filepath.Join(root, "sdk")
	abs := make([]string, len(sources))
	for i, s := range sources {
		if filepath.IsAbs(s) {
			abs[i] = s
		} else {
			abs[i] = filepath.Join(root, filepath.FromSlash(s))
		}
	}

	sdkFiles, err := sdkInputs(sdk)
	if err != nil {
		return "", err
	}
	sdkHash, err := hashFiles(ccVersion, sdkFiles)
	if err != nil {
		return "", err
	}
	guestFiles, err := guestInputs(abs)
	if err != nil {
		return "", err
	}
	guestHash, err := hashFiles(sdkHash+"\x00"+strings.Join(abs, "\x00"), guestFiles)
	if err != nil {
		return "", err
	}

	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	name := strings.TrimSuffix(filepath.Base(abs[0]), ".c")
	outDir := filepath.Join(cache, "prog-"+guestHash[:24])
	out := filepath.Join(outDir, name)
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		return out, nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(outDir, name+".tmp-*")
	if err != nil {
		return "", err
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)

	args := append([]string{"-Wall", "-o", tmpName}, abs...)
	cmd := exec.Command(filepath.Join(sdk, "cloudabi-cc"), args...)
	cmd.Env = append(os.Environ(),
		"CLOUDABI_SDK_BUILD="+filepath.Join(cache, "sdk-"+sdkHash[:24]),
		"CLOUDABI_CC=clang-14")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", strings.Join(sources, " "), err, output)
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmpName, out); err != nil {
		return "", err
	}
	return out, nil
}

// sdkInputs lists the files an SDK build depends on.
func sdkInputs(sdk string) ([]string, error) {
	var files []string
	for _, pattern := range []string{"include/*.h", "src/*.c", "src/*.h"} {
		m, err := filepath.Glob(filepath.Join(sdk, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	files = append(files, filepath.Join(sdk, "Makefile"), filepath.Join(sdk, "cloudabi-cc"))
	sort.Strings(files)
	return files, nil
}

// guestInputs lists the sources and the headers in their directories.
func guestInputs(sources []string) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	for _, s := range sources {
		add(s)
		// Headers next to the source and in the directory above it
		// (testdata/guests/check.h serves the guests in subdirectories).
		for _, dir := range []string{filepath.Dir(s), filepath.Dir(filepath.Dir(s))} {
			m, err := filepath.Glob(filepath.Join(dir, "*.h"))
			if err != nil {
				return nil, err
			}
			for _, h := range m {
				add(h)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

func hashFiles(prefix string, files []string) (string, error) {
	h := sha256.New()
	io.WriteString(h, prefix)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func cacheDir() (string, error) {
	var candidates []string
	if d := os.Getenv("CLOUDABI_GUESTBUILD_CACHE"); d != "" {
		candidates = append(candidates, d)
	}
	if d, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(d, "cloudabi-go", "guestbuild"))
	}
	candidates = append(candidates, filepath.Join(os.TempDir(), fmt.Sprintf("cloudabi-go-guestbuild-%d", os.Getuid())))
	var errs []error
	for _, d := range candidates {
		if err := os.MkdirAll(d, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if probe, err := os.CreateTemp(d, ".probe-*"); err == nil {
			probe.Close()
			os.Remove(probe.Name())
			return d, nil
		} else {
			errs = append(errs, err)
		}
	}
	return "", fmt.Errorf("no writable cache directory: %w", errors.Join(errs...))
}
