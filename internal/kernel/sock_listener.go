package kernel

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cloudabi-go/cloudabi/argdata"
	"golang.org/x/sys/unix"
)

// A listener handle gives a program the connections of a listening socket
// without giving it the listening socket: the ABI has no accept. The
// handle is one end of a datagram socket pair; a goroutine of the runtime
// accepts each connection on the listening socket and sends it through the
// other end as one message: the connected socket as the only descriptor
// (SCM_RIGHTS), and as data the argdata map {address: "tcp:HOST:PORT"} (or
// "unix:PATH") naming the peer. The program receives it with sock_recv.
//
// Backpressure: the runtime accepts the next connection only once the
// previous one has been queued on the handle, and the handle's queue is
// bounded (listenerQueueBytes of send buffer, a handful of messages);
// beyond that, connections wait in the host's listen backlog.

// listenerQueueBytes bounds the messages waiting on a listener handle: the
// host charges each queued datagram (about a kilobyte with its
// descriptor) to the sending socket.
const listenerQueueBytes = 32 << 10

// Listener feeds the connections of a listening socket to a program.
type Listener struct {
	ln   net.Listener
	feed *net.UnixConn
	done chan struct{}
	once sync.Once
}

// ServeListener starts feeding ln's connections to a listener handle and
// returns the program's end of the handle (a datagram socket) for the
// caller to give to a program. Close stops it; it also stops by itself
// when the program closes its end. The Listener owns ln.
func ServeListener(ln net.Listener) (*os.File, *Listener, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	unix.SetsockoptInt(pair[1], unix.SOL_SOCKET, unix.SO_SNDBUF, listenerQueueBytes/2)
	// The program only receives: shut the handle's sending side so a
	// message from the program never reaches the runtime.
	unix.Shutdown(pair[0], unix.SHUT_WR)
	runtimeEnd := os.NewFile(uintptr(pair[1]), "listener feed")
	c, err := net.FileConn(runtimeEnd)
	runtimeEnd.Close()
	if err != nil {
		unix.Close(pair[0])
		return nil, nil, err
	}
	l := &Listener{ln: ln, feed: c.(*net.UnixConn), done: make(chan struct{})}
	go l.run()
	return os.NewFile(uintptr(pair[0]), "listener "+ln.Addr().String()), l, nil
}

// Addr is the address the listening socket is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close stops accepting, closes the listening socket and waits for the
// feeding goroutine to end.
func (l *Listener) Close() {
	l.once.Do(func() {
		l.ln.Close()
		l.feed.Close()
	})
	<-l.done
}

func (l *Listener) run() {
	defer close(l.done)
	defer l.once.Do(func() {
		l.ln.Close()
		l.feed.Close()
	})
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or a connection reset before it
			// was accepted: try again shortly.
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err := l.pass(c); err != nil {
			// The program closed the handle (or the runtime did).
			return
		}
	}
}

// pass sends one accepted connection to the program.
func (l *Listener) pass(c net.Conn) error {
	addr := PeerAddress(c.RemoteAddr())
	fc, ok := c.(interface{ File() (*os.File, error) })
	if !ok {
		c.Close()
		return nil
	}
	f, err := fc.File()
	c.Close()
	if err != nil {
		return nil // this connection is lost, not the listener
	}
	defer f.Close()
	unix.SetNonblock(int(f.Fd()), false)
	data, err := argdata.Marshal(argdata.Map{{Key: argdata.Str("address"), Value: argdata.Str(addr)}})
	if err != nil {
		return nil
	}
	_, _, err = l.feed.WriteMsgUnix(data, unix.UnixRights(int(f.Fd())), nil)
	return err
}

// PeerAddress formats a socket address as the launcher's configuration
// writes it: "tcp:1.2.3.4:80", "tcp:[::1]:80" or "unix:/path" ("unix:"
// for an unnamed socket).
func PeerAddress(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return "tcp:" + a.String()
	case *net.UnixAddr:
		if a.Name == "@" {
			return "unix:" // Go's name for an unnamed socket
		}
		return "unix:" + a.Name
	case nil:
		return ""
	}
	return a.Network() + ":" + a.String()
}
