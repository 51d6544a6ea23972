package cloudabi_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/config"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// TestSocketsLocal runs sock_recv, sock_send and sock_shutdown on socket
// pairs within one process: descriptors sent to itself keep their rights,
// type and flags; truncation, PEEK, WAITALL, shutdown and the errors.
func TestSocketsLocal(t *testing.T) {
	out, read := outputFile(t)
	file, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	st := runGuest(t, "testdata/guests/sockets/local.c", argdata.Map{
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("file"), Value: argdata.FD(1)},
	}, out, file)
	checkReport(t, "local", read(), 120)
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
}

// TestSocketsPassBetweenPrograms starts two programs, each with one end of
// a host socket pair: the sender passes a file without FD_WRITE, and the
// receiver gets exactly the reduced rights (and cannot write, regain the
// right, or launder it by passing it to itself), then a file with every
// right, which it can write; then a file and a directory whose rights were
// set to unusual sets arrive with exactly those rights, base and
// inheriting, and the directory opens a file beneath it but nothing
// outside.
func TestSocketsPassBetweenPrograms(t *testing.T) {
	for _, typ := range []struct {
		name string
		typ  int
	}{{"stream", unix.SOCK_STREAM}, {"dgram", unix.SOCK_DGRAM}} {
		t.Run(typ.name, func(t *testing.T) {
			pair, err := unix.Socketpair(unix.AF_UNIX, typ.typ|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := cloudabi.Open(guestbuild.Build(t, "testdata/guests/sockets/pass.c"))
			if err != nil {
				t.Fatal(err)
			}
			defer prog.Close()
			filePath := filepath.Join(t.TempDir(), "file")
			file, err := os.Create(filePath)
			if err != nil {
				t.Fatal(err)
			}
			top := t.TempDir()
			dirPath := filepath.Join(top, "dir")
			if err := os.Mkdir(dirPath, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dirPath, "inner"), []byte("inner"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(top, "secret"), []byte("secret"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../secret", filepath.Join(dirPath, "out")); err != nil {
				t.Fatal(err)
			}
			dir, err := os.Open(dirPath)
			if err != nil {
				t.Fatal(err)
			}
			recvOut, readRecv := outputFile(t)
			sendOut, readSend := outputFile(t)
			start := func(mode string, fds ...*os.File) *cloudabi.Process {
				ad := argdata.Map{
					{Key: argdata.Str("mode"), Value: argdata.Str(mode)},
					{Key: argdata.Str("sock"), Value: argdata.FD(0)},
					{Key: argdata.Str("out"), Value: argdata.FD(1)},
				}
				if len(fds) > 3 {
					ad = append(ad,
						argdata.MapEntry{Key: argdata.Str("file"), Value: argdata.FD(2)},
						argdata.MapEntry{Key: argdata.Str("dir"), Value: argdata.FD(3)})
				}
				enc, _ := argdata.Marshal(ad)
				var grants []cloudabi.FD
				for _, f := range fds {
					grants = append(grants, cloudabi.FD{File: f})
				}
				p, err := prog.Start(enc, grants, nil)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			// The receiver starts first and waits in sock_recv.
			receiver := start("recv", os.NewFile(uintptr(pair[1]), "b"), recvOut)
			time.Sleep(50 * time.Millisecond)
			sender := start("send", os.NewFile(uintptr(pair[0]), "a"), sendOut, file, dir)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if st := receiver.Wait(); !st.Exited || st.Code != 0 {
					t.Errorf("receiver: %v", st)
				}
				if st := sender.Wait(); !st.Exited || st.Code != 0 {
					t.Errorf("sender: %v", st)
				}
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				receiver.Kill()
				sender.Kill()
				<-done
				t.Error("timed out")
			}
			checkReport(t, "receiver", readRecv(), 37)
			checkReport(t, "sender", readSend(), 6)
			if b, _ := os.ReadFile(filePath); string(b) != "ok" {
				t.Errorf("file holds %q, want %q", b, "ok")
			}
		})
	}
}

// TestSocketsListen runs a program with !listen grants (TCP on IPv4 and
// IPv6 with port 0, and a UNIX socket) and talks to it with Go clients:
// each connection arrives through the listener handle with the peer's
// address.
func TestSocketsListen(t *testing.T) {
	exe := guestbuild.Build(t, "testdata/guests/sockets/accept.c")
	sock := filepath.Join(t.TempDir(), "s.sock")
	for _, tc := range []struct {
		name, address, network string
	}{
		{"tcp4", "tcp:127.0.0.1:0", "tcp"},
		{"tcp6", "tcp:[::1]:0", "tcp"},
		{"unix", "unix:" + sock, "unix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "tcp6" {
				if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				} else {
					ln.Close()
				}
			}
			const n = 5
			outPath := filepath.Join(t.TempDir(), "out")
			yaml := tagHeaderYAML + fmt.Sprintf("listener: !listen {address: %q}\nout: !file {path: %q, mode: write, create: true}\nn: %d\n", tc.address, outPath, n)
			cfg, err := config.Parse(strings.NewReader(yaml), "listen.yaml")
			if err != nil {
				t.Fatal(err)
			}
			addrCh := make(chan net.Addr, 1)
			opts := &cloudabi.Options{Listening: func(addrs []net.Addr) { addrCh <- addrs[0] }}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			type result struct {
				st  cloudabi.ExitStatus
				err error
			}
			done := make(chan result, 1)
			go func() {
				st, err := cloudabi.Run(ctx, exe, cfg, opts)
				done <- result{st, err}
			}()
			var addr net.Addr
			select {
			case addr = <-addrCh:
			case r := <-done:
				t.Fatalf("Run ended early: %v, %v", r.st, r.err)
			}
			for i := 0; i < n; i++ {
				c, err := net.Dial(tc.network, addr.String())
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(c, "client%d\n", i)
				reply, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					t.Fatalf("reading the reply: %v", err)
				}
				want := fmt.Sprintf("hello client%d from %s:", i, tc.network)
				if tc.network == "tcp" {
					want += c.LocalAddr().String()
				}
				if strings.TrimSpace(reply) != want {
					t.Errorf("reply %q, want %q", reply, want)
				}
				c.Close()
			}
			r := <-done
			if r.err != nil || !r.st.Exited || r.st.Code != 0 {
				t.Errorf("Run: %v, %v", r.st, r.err)
			}
			b, _ := os.ReadFile(outPath)
			checkReport(t, "accept", string(b), 4+5*n)
			// The listening socket is closed once the program is done.
			if c, err := net.Dial(tc.network, addr.String()); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after the program ended", addr)
			}
			if tc.network == "unix" {
				if _, err := os.Stat(sock); !os.IsNotExist(err) {
					t.Errorf("socket file left behind: %v", err)
				}
			}
		})
	}
}

const tagHeaderYAML = "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n"
