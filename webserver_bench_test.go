package cloudabi_test

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// startNativeWebserver builds examples/webserver/webserver.c for Linux
// with gcc and the compatibility layer in testdata/native, runs it on dir
// and returns its address.
func startNativeWebserver(tb testing.TB, dir string) string {
	tb.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		tb.Skip("gcc not found")
	}
	root := guestbuild.RepoRoot()
	exe := filepath.Join(tb.TempDir(), "webserver-native")
	build := exec.Command("gcc", "-O2", "-I", filepath.Join(root, "sdk", "include"), "-o", exe,
		filepath.Join(root, "examples", "webserver", "webserver.c"),
		filepath.Join(root, "testdata", "native", "shim.c"),
		filepath.Join(root, "sdk", "src", "argdata.c"),
		filepath.Join(root, "sdk", "src", "io.c"),
		filepath.Join(root, "sdk", "src", "net.c"))
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the native web server: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		tb.Fatalf("native web server: %q, %v", line, err)
	}
	return "127.0.0.1:" + port
}

// benchRequests makes n GET requests for path with the given number of
// concurrent clients, each on a new connection, and returns the requests
// per second.
func benchRequests(b *testing.B, addr, path string, want []byte, n, clients int) float64 {
	b.Helper()
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: clients}}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(body) != string(want) {
					failed.Store("bad response")
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if msg := failed.Load(); msg != nil {
		b.Fatal(msg)
	}
	return float64(n) / elapsed.Seconds()
}

// BenchmarkWebserver measures the throughput of examples/webserver under
// the runtime and the same C source compiled natively with gcc, in the
// same run, with 8 concurrent clients fetching a small file, each request
// on a new connection. It reports both rates and their ratio
// (native / CloudABI).
func BenchmarkWebserver(b *testing.B) {
	dir, files := webSite(b)
	guest := startWebserver(b, dir)
	native := startNativeWebserver(b, dir)
	const clients = 8
	path, want := "/hello.txt", files["hello.txt"]
	// Warm up both (connection setup, page cache).
	benchRequests(b, guest, path, want, 200, clients)
	benchRequests(b, native, path, want, 200, clients)
	n := max(b.N, 200)
	b.ResetTimer()
	guestRate := benchRequests(b, guest, path, want, n, clients)
	nativeRate := benchRequests(b, native, path, want, n, clients)
	b.StopTimer()
	b.ReportMetric(guestRate, "cloudabi-req/s")
	b.ReportMetric(nativeRate, "native-req/s")
	b.ReportMetric(nativeRate/guestRate, "native/cloudabi")
	b.ReportMetric(0, "ns/op")
}
