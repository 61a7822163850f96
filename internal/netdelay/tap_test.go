package netdelay_test

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
)

// TestTapCuts: a tap that cuts once the server has sent 3 chunks ends the
// connection both ways; the client gets what came before and then EOF or
// a reset, never the rest; Stats records why.
func TestTapCuts(t *testing.T) {
	echo := echoServer(t, "")
	p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", echo, 0)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Int64
	p.Tap = func(_ int, up bool, data []byte) bool {
		return !up && down.Add(int64(len(data))) > 6
	}
	go func() { _ = p.Serve() }()
	t.Cleanup(p.Close)
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 3)
	for i := range 2 {
		if _, err := c.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "abc" {
			t.Fatalf("echo %d: %q, %v", i, buf, err)
		}
	}
	_, _ = c.Write([]byte("xyz")) // the third answer crosses the limit
	n, err := io.ReadFull(c, buf)
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read %d bytes %q after the cut, err %v; want EOF or a reset", n, buf[:n], err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := p.Stats(); len(s.Connections) == 1 && !s.Connections[0].Open {
			if s.Connections[0].Err == "" {
				t.Error("the cut connection records no reason")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the connection is still open after the cut")
}
