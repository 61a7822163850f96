// Package netdelay is a TCP proxy that adds a fixed delay to each direction
// of every connection, so that a client on loopback sees a far server: with
// a delay of 25 ms each way, every round trip costs 50 ms. The benchmark
// (scripts/bench.sh) uses it to measure a check "from another region".
//
// Each direction is a delay line, not a sleep per read: a reader stamps
// every chunk with the time it arrived and queues it; a writer releases it
// at arrival + delay. Order is kept, and throughput is not cut by the
// delay: chunks that arrive 1 ms apart leave 1 ms apart, delay later. A
// half-close (FIN) travels the line like data.
//
// The proxy also counts round trips per connection: a round trip is a
// burst from the client followed by a burst from the server (the client
// spoke, then waited for the answer). Pipelined requests sent before the
// first answer arrives make one round trip; a server that speaks first (a
// greeting) or streams more data without being asked adds none; neither
// does anything the server sends after the client closed its side (a TLS
// close_notify answering a PostgreSQL Terminate), since nobody waits for it.
package netdelay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

const (
	chunkSize = 32 << 10 // bytes per read
	// queueLen bounds the chunks in flight per direction (at most
	// queueLen × chunkSize bytes): enough for 1 GB/s at 25 ms.
	queueLen = 1024
)

// Proxy accepts TCP connections and forwards each to Target with Delay
// added each way. Create it with Listen; its methods are safe for
// concurrent use.
type Proxy struct {
	// Tap, when set before Serve, sees each chunk of every connection as
	// the proxy reads it (up: from the client), before it is forwarded.
	// Returning true cuts the connection there, both ways, the chunk
	// unforwarded: a network that fails at a moment a test chooses (after
	// so many bytes, or when a statement goes by). It is called from two
	// goroutines per connection at once.
	Tap func(conn int, up bool, data []byte) (cut bool)

	target string
	delay  time.Duration
	ln     net.Listener

	ctx    context.Context // cancelled by Close: ends dials in progress
	cancel context.CancelFunc
	wg     sync.WaitGroup // connection handlers

	mu     sync.Mutex
	conns  []*conn
	closed bool
}

// Listen starts listening on addr (e.g. "127.0.0.1:0") for connections to
// forward to target (host:port), each direction delayed by delay. Call
// Serve to accept them.
func Listen(ctx context.Context, addr, target string, delay time.Duration) (*Proxy, error) {
	if delay < 0 {
		return nil, fmt.Errorf("delay %v is negative", delay)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &Proxy{target: target, delay: delay, ln: ln, ctx: pctx, cancel: cancel}, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Serve accepts connections until Close or Shutdown; it then returns nil.
func (p *Proxy) Serve() error {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = client.Close()
			return nil
		}
		c := &conn{id: len(p.conns) + 1, client: client.RemoteAddr().String(), start: time.Now()}
		p.conns = append(p.conns, c)
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			p.handle(c, client)
		}()
	}
}

// Shutdown stops accepting and waits until every connection has ended or
// ctx is done, then closes whatever is left.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.stopAccepting()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.Close()
		return ctx.Err()
	}
}

// Close stops accepting and ends every connection now.
func (p *Proxy) Close() {
	p.stopAccepting()
	p.cancel()
	p.mu.Lock()
	conns := slices.Clone(p.conns)
	p.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
	p.wg.Wait()
}

func (p *Proxy) stopAccepting() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		_ = p.ln.Close()
	}
}

// Stats is a snapshot of every connection so far and their sum.
type Stats struct {
	Connections []ConnStats
	Total       ConnStats // Duration is the sum; ID and Client are empty
}

// ConnStats describes one proxied connection.
type ConnStats struct {
	ID       int
	Client   string        // the client's address
	Duration time.Duration // from accept to close (or to now while open)
	Open     bool
	// BytesUp went client → server, BytesDown server → client.
	BytesUp, BytesDown int64
	// RoundTrips counts client bursts answered by a server burst.
	RoundTrips int
	Err        string // why the connection ended abnormally, if it did
}

// Stats returns the statistics of every connection accepted so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	conns := slices.Clone(p.conns)
	p.mu.Unlock()
	var s Stats
	for _, c := range conns {
		cs := c.stats()
		s.Connections = append(s.Connections, cs)
		s.Total.Duration += cs.Duration
		s.Total.BytesUp += cs.BytesUp
		s.Total.BytesDown += cs.BytesDown
		s.Total.RoundTrips += cs.RoundTrips
		s.Total.Open = s.Total.Open || cs.Open
	}
	return s
}

// WriteText writes one line per connection and a total line, as
// space-separated key=value pairs a shell script can pick apart:
//
//	conn id=1 client=127.0.0.1:40312 duration=0.412s up=1893 down=4521 round_trips=9
//	total connections=1 up=1893 down=4521 round_trips=9
func (s Stats) WriteText(w io.Writer) error {
	for _, c := range s.Connections {
		line := fmt.Sprintf("conn id=%d client=%s duration=%.3fs up=%d down=%d round_trips=%d",
			c.ID, c.Client, c.Duration.Seconds(), c.BytesUp, c.BytesDown, c.RoundTrips)
		if c.Open {
			line += " open=true"
		}
		if c.Err != "" {
			line += fmt.Sprintf(" err=%q", c.Err)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "total connections=%d up=%d down=%d round_trips=%d\n",
		len(s.Connections), s.Total.BytesUp, s.Total.BytesDown, s.Total.RoundTrips)
	return err
}

type direction int

const (
	up   direction = iota // client → server
	down                  // server → client
)

// conn is one proxied connection and its counters.
type conn struct {
	id     int
	client string
	start  time.Time

	mu         sync.Mutex
	end        time.Time
	up, down   int64
	roundTrips int
	asked      bool // the client sent data the server has not answered yet
	clientDone bool // the client closed its side
	serverDone bool // the server closed its side
	err        string
	closers    []io.Closer
	aborted    bool
}

func (p *Proxy) handle(c *conn, client net.Conn) {
	defer func() {
		c.mu.Lock()
		c.end = time.Now()
		c.mu.Unlock()
	}()
	var d net.Dialer
	server, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		c.setErr(fmt.Sprintf("dial %s: %v", p.target, err))
		_ = client.Close()
		return
	}
	if !c.track(client, server) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.pipe(client, server, up, p.delay, p.Tap) }()
	go func() { defer wg.Done(); c.pipe(server, client, down, p.delay, p.Tap) }()
	wg.Wait()
	_ = client.Close()
	_ = server.Close()
}

// track registers the sockets so abort can close them; false when the
// connection was aborted already (the sockets are then closed).
func (c *conn) track(cs ...io.Closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		for _, x := range cs {
			_ = x.Close()
		}
		return false
	}
	c.closers = append(c.closers, cs...)
	return true
}

// abort closes both sockets: every read and write in flight returns.
func (c *conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted = true
	for _, x := range c.closers {
		_ = x.Close()
	}
}

func (c *conn) setErr(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == "" && !c.aborted {
		c.err = msg
	}
}

// observe records n bytes arriving in direction dir: the moment the proxy
// sees them is the moment they would leave a real sender's link, so the
// order of observations is the order of the conversation.
func (c *conn) observe(dir direction, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dir == up {
		c.up += int64(n)
		c.asked = true
		return
	}
	c.down += int64(n)
	if c.asked && !c.clientDone {
		c.roundTrips++
	}
	c.asked = false
}

func (c *conn) stats() ConnStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	end, open := c.end, c.end.IsZero()
	if open {
		end = time.Now()
	}
	return ConnStats{
		ID: c.id, Client: c.client, Duration: end.Sub(c.start), Open: open,
		BytesUp: c.up, BytesDown: c.down, RoundTrips: c.roundTrips, Err: c.err,
	}
}

// chunk is data (or, with eof, the sender's FIN) waiting in the delay line.
type chunk struct {
	data    []byte
	release time.Time
	eof     bool
}

// pipe copies src to dst through a delay line: this goroutine reads and
// stamps, a second one writes each chunk at its release time. It returns
// when src has ended and everything read was written (or the connection
// was aborted).
func (c *conn) pipe(src, dst net.Conn, dir direction, delay time.Duration, tap func(int, bool, []byte) bool) {
	line := make(chan chunk, queueLen)
	written := make(chan struct{})
	go func() {
		defer close(written)
		c.release(line, dst, dir)
	}()
	buf := make([]byte, chunkSize)
	for {
		n, err := src.Read(buf)
		if n > 0 && tap != nil && tap(c.id, dir == up, buf[:n]) {
			c.setErr(fmt.Sprintf("cut by the tap after %s sent %d more bytes", side(dir, true), n))
			c.abort()
			break
		}
		if n > 0 {
			c.observe(dir, n)
			line <- chunk{data: slices.Clone(buf[:n]), release: time.Now().Add(delay)}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			c.mu.Lock()
			if dir == up {
				c.clientDone = true
			} else {
				c.serverDone = true
			}
			c.mu.Unlock()
			line <- chunk{eof: true, release: time.Now().Add(delay)}
		} else {
			// A reset or an abort: nothing more will flow either way.
			c.setErr(fmt.Sprintf("read %s: %v", side(dir, true), err))
			c.abort()
		}
		break
	}
	close(line)
	<-written
}

// release writes each chunk of line to dst at its release time, then
// half-closes dst when the sender did. After a write error it keeps
// draining line so the reader never blocks.
func (c *conn) release(line <-chan chunk, dst net.Conn, dir direction) {
	failed := false
	for ck := range line {
		if failed {
			continue
		}
		if wait := time.Until(ck.release); wait > 0 {
			time.Sleep(wait)
		}
		if ck.eof {
			if tc, ok := dst.(interface{ CloseWrite() error }); ok {
				_ = tc.CloseWrite()
			}
			continue
		}
		if _, err := dst.Write(ck.data); err != nil {
			// Writing to a peer that has closed is how a connection
			// ends (the server's close_notify after the client left),
			// not a failure.
			if !c.closedBy(dir) {
				c.setErr(fmt.Sprintf("write %s: %v", side(dir, false), err))
			}
			c.abort()
			failed = true
		}
	}
}

// closedBy reports whether the receiver of direction dir (the server for
// up, the client for down) has closed its own side already.
func (c *conn) closedBy(dir direction) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dir == up {
		return c.serverDone
	}
	return c.clientDone
}

// side names the socket a pipe in direction dir reads (src) or writes.
func side(dir direction, src bool) string {
	if (dir == up) == src {
		return "client"
	}
	return "server"
}
