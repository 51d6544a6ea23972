package cloudabi_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/config"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// webSite creates a directory to serve, next to a file "secret" and a
// directory "private" that no request may reach, and returns the served
// directory and the files in it with their contents.
func webSite(tb testing.TB) (string, map[string][]byte) {
	tb.Helper()
	top := tb.TempDir()
	www := filepath.Join(top, "www")
	files := map[string][]byte{
		"index.html":       []byte("<h1>Hello</h1>\n"),
		"hello.txt":        []byte("hello, world\n"),
		"style.css":        []byte("body { color: black }\n"),
		"empty.txt":        {},
		"sub/page.html":    []byte("<p>sub</p>\n"),
		"sub/index.html":   []byte("<p>sub index</p>\n"),
		"with space.txt":   []byte("spaces\n"),
		"data/big.bin":     make([]byte, 1<<20),
		"data/medium.json": []byte(strings.Repeat(`{"k": "v"}`+"\n", 2000)),
	}
	rand.Read(files["data/big.bin"])
	for name, data := range files {
		p := filepath.Join(www, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(top, "secret"), []byte(webSecret), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(top, "private"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "private", "key"), []byte(webSecret), 0o644); err != nil {
		tb.Fatal(err)
	}
	for link, target := range map[string]string{
		"escape":     "../secret",
		"abs":        filepath.Join(top, "secret"),
		"privatedir": "../private",
		"etc":        "/etc",
	} {
		if err := os.Symlink(target, filepath.Join(www, link)); err != nil {
			tb.Fatal(err)
		}
	}
	return www, files
}

const webSecret = "TOP SECRET: never served"

// startWebserver runs examples/webserver with its shipped configuration,
// pointed at dir and at a free port, and returns its address. The server
// is killed when the test ends.
func startWebserver(tb testing.TB, dir string) string {
	tb.Helper()
	exe := guestbuild.Build(tb, "examples/webserver/webserver.c")
	b, err := os.ReadFile(filepath.Join(guestbuild.RepoRoot(), "examples", "webserver", "webserver.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	yaml := string(b)
	for old, new := range map[string]string{
		"path: www":                     "path: " + yamlString(dir),
		`address: "tcp:127.0.0.1:8080"`: `address: "tcp:127.0.0.1:0"`,
		"log: !fd stderr":               "log: !file {path: " + yamlString(filepath.Join(tb.TempDir(), "log")) + ", mode: write, create: true}",
	} {
		if strings.Count(yaml, old) != 1 {
			tb.Fatalf("webserver.yaml: %q does not occur exactly once", old)
		}
		yaml = strings.Replace(yaml, old, new, 1)
	}
	cfg, err := config.Parse(strings.NewReader(yaml), "webserver.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		st, err := cloudabi.Run(ctx, exe, cfg, &cloudabi.Options{Listening: func(a []net.Addr) { addr <- a[0] }})
		if err == nil && ctx.Err() == nil {
			err = fmt.Errorf("webserver ended: %v", st)
		}
		done <- err
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	})
	select {
	case a := <-addr:
		return a.String()
	case err := <-done:
		tb.Fatalf("webserver did not start: %v", err)
	}
	return ""
}

func get(client *http.Client, url string) (int, string, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, err
}

// rawRequest sends a request as written (Go's client would clean the path)
// and returns the whole response.
func rawRequest(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	return string(resp)
}

func TestWebserver(t *testing.T) {
	dir, files := webSite(t)
	addr := startWebserver(t, dir)
	base := "http://" + addr
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	t.Run("content", func(t *testing.T) {
		for _, tc := range []struct {
			path, file, ctype string
		}{
			{"/", "index.html", "text/html; charset=utf-8"},
			{"/index.html", "index.html", "text/html; charset=utf-8"},
			{"/hello.txt", "hello.txt", "text/plain; charset=utf-8"},
			{"/style.css", "style.css", "text/css; charset=utf-8"},
			{"/empty.txt", "empty.txt", "text/plain; charset=utf-8"},
			{"/sub/", "sub/index.html", "text/html; charset=utf-8"},
			{"/sub", "sub/index.html", "text/html; charset=utf-8"},
			{"/sub/page.html?x=1", "sub/page.html", "text/html; charset=utf-8"},
			{"/with%20space.txt", "with space.txt", "text/plain; charset=utf-8"},
			{"/data/big.bin", "data/big.bin", "application/octet-stream"},
			{"/data/medium.json", "data/medium.json", "application/json"},
		} {
			code, ctype, body, err := get(client, base+tc.path)
			if err != nil {
				t.Errorf("GET %s: %v", tc.path, err)
				continue
			}
			if code != 200 || ctype != tc.ctype || string(body) != string(files[tc.file]) {
				t.Errorf("GET %s: %d %q, %d bytes; want 200 %q, %d bytes of %s", tc.path, code, ctype, len(body), tc.ctype, len(files[tc.file]), tc.file)
			}
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{"/nope", "/sub/nope.html", "/hello.txt/x", "/data/"} {
			code, _, _, err := get(client, base+p)
			if err != nil || code != 404 {
				t.Errorf("GET %s: %d, %v; want 404", p, code, err)
			}
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct {
			req  string
			want string
		}{
			{"garbage\r\n\r\n", "HTTP/1.1 400 "},
			{"GET /hello.txt HTTP/2.0\r\n\r\n", "HTTP/1.1 400 "},
			{"GET hello.txt HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
			{"GET /%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
			{"GET /a%00b HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
			{"POST /hello.txt HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 "},
			{"GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
			{"GET /hello.txt HTTP/1.0\r\n\r\n", "HTTP/1.1 200 "},
		} {
			if resp := rawRequest(t, addr, tc.req); !strings.HasPrefix(resp, tc.want) {
				t.Errorf("%.40q: response %.60q, want %q", tc.req, resp, tc.want)
			}
		}
	})

	t.Run("no escape", func(t *testing.T) {
		for _, p := range []string{
			"/../secret", "/..%2fsecret", "/%2e%2e/secret", "/%2e%2e%2fsecret", "//etc/passwd", "/%2fetc%2fpasswd",
			"/sub/../../secret", "/escape", "/abs", "/privatedir/key", "/etc/passwd", "/./../secret",
			"/sub/%2e%2e/%2e%2e/private/key", "/" + dir + "/../secret", "/proc/self/root/etc/passwd",
		} {
			resp := rawRequest(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if strings.Contains(resp, webSecret) || strings.Contains(resp, "root:") {
				t.Errorf("GET %s escaped the directory: %.200q", p, resp)
			}
			if !strings.HasPrefix(resp, "HTTP/1.1 403 ") && !strings.HasPrefix(resp, "HTTP/1.1 404 ") {
				t.Errorf("GET %s: %.60q, want 403 or 404", p, resp)
			}
		}
	})

	t.Run("sequential", func(t *testing.T) {
		for i := 0; i < 1000; i++ {
			name := []string{"hello.txt", "index.html", "sub/page.html", "data/medium.json"}[i%4]
			code, _, body, err := get(client, base+"/"+name)
			if err != nil || code != 200 || string(body) != string(files[name]) {
				t.Fatalf("request %d (%s): %d, %d bytes, %v", i, name, code, len(body), err)
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				name := []string{"hello.txt", "data/big.bin", "sub/page.html", "data/medium.json", "nope"}[i%5]
				code, _, body, err := get(client, base+"/"+name)
				switch {
				case err != nil:
					errs <- fmt.Errorf("request %d (%s): %v", i, name, err)
				case name == "nope" && code != 404:
					errs <- fmt.Errorf("request %d (%s): %d, want 404", i, name, code)
				case name != "nope" && (code != 200 || string(body) != string(files[name])):
					errs <- fmt.Errorf("request %d (%s): %d, %d bytes", i, name, code, len(body))
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
