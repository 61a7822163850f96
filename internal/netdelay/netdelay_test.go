package netdelay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
)

// Timing asserts are one-sided where they can be (the proxy never releases
// a chunk early, so a round trip can never be faster than twice the delay)
// and generous where they cannot: this runs on shared, busy machines.

// echoServer echoes every connection back, optionally after a greeting,
// and half-closes when the client did. It returns its address.
func echoServer(t *testing.T, greeting string) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if greeting != "" {
					if _, err := io.WriteString(c, greeting); err != nil {
						return
					}
				}
				if _, err := io.Copy(c, c); err != nil {
					return
				}
				_ = c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().String()
}

// startProxy runs a proxy to target; it is shut down at the end of the
// test (after which Stats are final).
func startProxy(t *testing.T, target string, delay time.Duration) *netdelay.Proxy {
	t.Helper()
	p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", target, delay)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve() }()
	t.Cleanup(func() {
		p.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return p
}

func dial(t *testing.T, p *netdelay.Proxy) *net.TCPConn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(t.Context(), "tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// finalStats waits until every connection has ended, then returns the
// statistics.
func finalStats(t *testing.T, p *netdelay.Proxy) netdelay.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	return p.Stats()
}

func pingPong(t *testing.T, c net.Conn, msg string) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
	return time.Since(start)
}

func TestBytesIntactBothWays(t *testing.T) {
	p := startProxy(t, echoServer(t, ""), 5*time.Millisecond)
	c := dial(t, p)
	data := make([]byte, 8<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() {
		// Odd-sized writes, so chunks never line up with the proxy's reads.
		rest := data
		for len(rest) > 0 {
			n := min(len(rest), 7919)
			if _, err := c.Write(rest[:n]); err != nil {
				writeErr <- err
				return
			}
			rest = rest[n:]
		}
		writeErr <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, want the %d sent, unchanged", len(got), len(data))
	}
	s := finalStats(t, p)
	if len(s.Connections) != 1 {
		t.Fatalf("%d connections, want 1", len(s.Connections))
	}
	cs := s.Connections[0]
	if cs.BytesUp != int64(len(data)) || cs.BytesDown != int64(len(data)) || cs.Err != "" || cs.Open {
		t.Errorf("stats %+v, want %d bytes each way, closed, no error", cs, len(data))
	}
}

func TestDelayEachWay(t *testing.T) {
	const delay = 40 * time.Millisecond
	p := startProxy(t, echoServer(t, ""), delay)
	c := dial(t, p)
	for i := range 3 {
		rtt := pingPong(t, c, fmt.Sprintf("ping %d", i))
		if rtt < 2*delay {
			t.Errorf("round trip %d took %v, less than twice the delay (%v)", i, rtt, 2*delay)
		}
		if rtt > 2*delay+2*time.Second {
			t.Errorf("round trip %d took %v, far more than twice the delay (%v)", i, rtt, 2*delay)
		}
	}
}

// TestDelayLineKeepsThroughput: messages sent 2 ms apart come back about
// 2 ms apart, the whole stream delayed once. A proxy that slept the delay
// on every read would take at least messages × delay.
func TestDelayLineKeepsThroughput(t *testing.T) {
	const delay, messages = 50 * time.Millisecond, 60
	p := startProxy(t, echoServer(t, ""), delay)
	c := dial(t, p)
	start := time.Now()
	go func() {
		for i := range messages {
			if _, err := fmt.Fprintf(c, "message %03d\n", i); err != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		_ = c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var want strings.Builder
	for i := range messages {
		fmt.Fprintf(&want, "message %03d\n", i)
	}
	if string(got) != want.String() {
		t.Fatalf("echo out of order or incomplete:\n%s", got)
	}
	if took < 2*delay {
		t.Errorf("took %v, less than one round trip (%v)", took, 2*delay)
	}
	// Serialised, it would take ≥ 60 × 50 ms = 3 s; a delay line about
	// 120 ms of sending plus 100 ms.
	if limit := messages * delay / 2; took > limit {
		t.Errorf("took %v for %d messages: the delay is paid per read, not once (limit %v)", took, messages, limit)
	}
}

func TestRoundTrips(t *testing.T) {
	const delay = 30 * time.Millisecond
	for _, tc := range []struct {
		name     string
		greeting string
		talk     func(t *testing.T, c *net.TCPConn)
		want     int
	}{
		{"sequential", "", func(t *testing.T, c *net.TCPConn) {
			for i := range 7 {
				pingPong(t, c, fmt.Sprintf("q%d", i))
			}
		}, 7},
		{"pipelined burst", "", func(t *testing.T, c *net.TCPConn) {
			var all string
			for i := range 5 {
				msg := fmt.Sprintf("q%d;", i)
				all += msg
				if _, err := io.WriteString(c, msg); err != nil {
					t.Fatal(err)
				}
			}
			got := make([]byte, len(all))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != all {
				t.Fatalf("read %q, %v", got, err)
			}
		}, 1},
		{"greeting first", "hello\n", func(t *testing.T, c *net.TCPConn) {
			hello := make([]byte, len("hello\n"))
			if _, err := io.ReadFull(c, hello); err != nil {
				t.Fatal(err)
			}
			pingPong(t, c, "a")
			pingPong(t, c, "b")
		}, 2},
		{"reply after the client closed", "", func(t *testing.T, c *net.TCPConn) {
			pingPong(t, c, "a")
			pingPong(t, c, "b")
			pingPong(t, c, "c")
			// A last message and the FIN together: the echo arrives
			// after the client closed its side, and nobody waits for it.
			if _, err := io.WriteString(c, "bye"); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if rest, err := io.ReadAll(c); err != nil || string(rest) != "bye" {
				t.Fatalf("read %q, %v", rest, err)
			}
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, echoServer(t, tc.greeting), delay)
			c := dial(t, p)
			tc.talk(t, c)
			_ = c.Close()
			s := finalStats(t, p)
			if len(s.Connections) != 1 || s.Connections[0].RoundTrips != tc.want || s.Total.RoundTrips != tc.want {
				t.Errorf("stats %+v, want 1 connection with %d round trips", s, tc.want)
			}
		})
	}
}

func TestStatsPerConnectionAndTotal(t *testing.T) {
	p := startProxy(t, echoServer(t, ""), 10*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 3 {
		c := dial(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range i + 1 {
				pingPong(t, c, fmt.Sprintf("c%d-%d", i, j))
			}
			_ = c.Close()
		}()
	}
	wg.Wait()
	s := finalStats(t, p)
	if len(s.Connections) != 3 || s.Total.RoundTrips != 1+2+3 {
		t.Fatalf("stats %+v, want 3 connections and 6 round trips", s)
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "conn id=1 ") ||
		!strings.HasPrefix(lines[3], "total connections=3 ") || !strings.HasSuffix(lines[3], " round_trips=6") {
		t.Errorf("text:\n%s", text.String())
	}
}

func TestShutdownGraceThenClose(t *testing.T) {
	p := startProxy(t, echoServer(t, ""), time.Millisecond)
	c := dial(t, p)
	pingPong(t, c, "x") // the connection is established end to end
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a connection held open: %v, want the deadline", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open after Shutdown's grace ran out")
	}
	if s := p.Stats(); len(s.Connections) != 1 || s.Connections[0].Open {
		t.Errorf("stats %+v, want the one connection closed", s)
	}
	var d net.Dialer
	if c2, err := d.DialContext(t.Context(), "tcp", p.Addr().String()); err == nil {
		_ = c2.Close()
		t.Error("still accepting after Shutdown")
	}
}

func TestDialFailure(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	p := startProxy(t, target, time.Millisecond)
	c := dial(t, p)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("read %d bytes, %v: want the connection closed", n, err)
	}
	s := finalStats(t, p)
	if len(s.Connections) != 1 || !strings.Contains(s.Connections[0].Err, "dial") {
		t.Errorf("stats %+v, want a dial error", s)
	}
}

func TestNegativeDelay(t *testing.T) {
	if _, err := netdelay.Listen(t.Context(), "127.0.0.1:0", "127.0.0.1:1", -time.Second); err == nil {
		t.Error("a negative delay is accepted")
	}
}
