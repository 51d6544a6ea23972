package config

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const header = "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n"

func TestSocketGrants(t *testing.T) {
	cfg := parse(t, header+"l: !listen {address: \"tcp:127.0.0.1:0\"}\nc: !connect {address: unix:/run/x.sock}\nl6: !listen {address: \"tcp:[::1]:8080\"}\nany: !listen {address: \"tcp::80\"}\n")
	want := []Grant{
		{Kind: GrantListen, Address: "tcp:127.0.0.1:0", Network: "tcp", Addr: "127.0.0.1:0"},
		{Kind: GrantConnect, Address: "unix:/run/x.sock", Network: "unix", Addr: "/run/x.sock"},
		{Kind: GrantListen, Address: "tcp:[::1]:8080", Network: "tcp", Addr: "[::1]:8080"},
		{Kind: GrantListen, Address: "tcp::80", Network: "tcp", Addr: ":80"},
	}
	if len(cfg.Grants) != len(want) {
		t.Fatalf("%d grants, want %d", len(cfg.Grants), len(want))
	}
	for i, g := range cfg.Grants {
		g.Pos = Position{}
		if g != want[i] {
			t.Errorf("grant %d: %+v, want %+v", i, g, want[i])
		}
	}
}

func TestSocketGrantErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"l: !listen tcp:127.0.0.1:80\n", "config.yaml:3:4: !listen takes a mapping with an address"},
		{"l: !listen {}\n", "config.yaml:3:4: !listen needs an address attribute"},
		{"l: !listen {address: \"tcp:127.0.0.1:80\", backlog: 5}\n", "config.yaml:3:42: unknown !listen attribute \"backlog\" (known: address)"},
		{"l: !listen {address: 80}\n", "config.yaml:3:22: !listen address must be a string"},
		{"l: !listen {address: \"udp:1.2.3.4:5\"}\n", "config.yaml:3:22: !listen address \"udp:1.2.3.4:5\": want tcp:HOST:PORT or unix:PATH"},
		{"l: !listen {address: \"tcp:127.0.0.1\"}\n", "want tcp:HOST:PORT"},
		{"l: !listen {address: \"tcp:127.0.0.1:99999\"}\n", "port \"99999\" is not a number from 0 to 65535"},
		{"l: !listen {address: \"tcp:127.0.0.1:http\"}\n", "port \"http\" is not a number"},
		{"l: !listen {address: \"unix:\"}\n", "no socket path after unix:"},
		{"l: !listen {address: \"unix:/" + strings.Repeat("x", 200) + "\"}\n", "longer than 107 bytes"},
		{"c: !connect {address: \"tcp::80\"}\n", "config.yaml:3:23: !connect address \"tcp::80\": no host to connect to"},
		{"c: !connect {address: \"tcp:127.0.0.1:0\"}\n", "cannot connect to port 0"},
		{"c: !connect {address: \"tcp:1.2.3.4:5\", address: \"tcp:1.2.3.4:6\"}\n", "duplicate !connect attribute \"address\""},
		{"s: !socket {address: \"tcp:1.2.3.4:5\"}\n", "unknown tag !socket (known: !fd, !file, !executable, !listen, !connect)"},
	} {
		_, err := Parse(strings.NewReader(header+tc.in), "config.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestOpenListenAndConnect(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	cfg := parse(t, header+"l: !listen {address: \"unix:"+sock+"\"}\nt: !listen {address: \"tcp:127.0.0.1:0\"}\n")
	files, err := cfg.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	if files[0].Access != AccessListener || files[0].Listener == nil || files[0].File != nil {
		t.Fatalf("unix listen: %+v", files[0])
	}
	tcpAddr := files[1].Listener.Addr().String()

	// The same addresses again: in use.
	again := parse(t, header+"l: !listen {address: \"unix:"+sock+"\"}\n")
	_, err = again.Open(nil)
	var cerr *Error
	if !errors.As(err, &cerr) || !errors.Is(err, syscall.EADDRINUSE) ||
		err.Error() != "config.yaml:3:4: cannot listen on unix:"+sock+": address already in use" {
		t.Errorf("listening twice: %v", err)
	}
	again = parse(t, header+"t: !listen {address: \"tcp:"+tcpAddr+"\"}\n")
	if _, err := again.Open(nil); err == nil || !strings.HasSuffix(err.Error(), ": address already in use") {
		t.Errorf("listening twice on TCP: %v", err)
	}

	// !connect reaches the listeners.
	conn := parse(t, header+"u: !connect {address: \"unix:"+sock+"\"}\nt: !connect {address: \"tcp:"+tcpAddr+"\"}\n")
	cfiles, err := conn.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range cfiles {
		if f.Access != AccessSocket || f.File == nil {
			t.Errorf("connect %d: %+v", i, f)
		}
		c, err := files[i].Listener.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		f.Close()
	}
	for _, f := range files {
		f.Close()
	}
	// Closing the listener removed the socket file; connecting fails.
	_, err = conn.Open(nil)
	if err == nil || !strings.HasPrefix(err.Error(), "config.yaml:3:4: cannot connect to unix:"+sock+": ") {
		t.Errorf("connecting to a closed socket: %v", err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("socket file still accepts connections")
	}
}
