package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/cdcpreflight/cdcpreflight/gather"
)

// progress is a one-line display of what a run is doing, on stderr when it
// is a terminal: "⠙ connecting, probing replication (3s)". It redraws
// itself in place and erases itself when cleared, so that nothing of it
// stays on the screen, and it is never written anywhere but a terminal: a
// report redirected to a file or a CI log never holds it. A nil *progress
// shows nothing, so callers need not ask whether it is on.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	active []string // stages under way, in the order they started
	text   string   // a line of its own, when no stage is (fix's steps)
	start  time.Time
	frame  int
	drawn  bool
	stop   chan struct{}
	done   chan struct{}
}

// spinner frames; each redraw shows the next.
var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// progressTick is how often the line redraws (the spinner and the seconds).
const progressTick = 120 * time.Millisecond

// newProgress starts a display on env.Stderr when it is a terminal that
// can move its cursor, and --quiet was not given; otherwise nil.
func newProgress(env Env, quiet bool) *progress {
	f, ok := env.Stderr.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) || env.Getenv("TERM") == "dumb" {
		return nil
	}
	p := &progress{w: f, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go p.tick()
	return p
}

func (p *progress) tick() {
	defer close(p.done)
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// stage records that a stage of gathering started or ended; it is
// gather.Options.Progress.
func (p *progress) stage(s gather.Stage, done bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.active, string(s))
	switch {
	case done && i >= 0:
		p.active = slices.Delete(p.active, i, i+1)
	case !done && i < 0:
		p.active = append(p.active, string(s))
	}
	p.draw()
}

// set shows text when no stage is under way.
func (p *progress) set(text string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text = text
	p.draw()
}

// draw writes the line over the previous one; the caller holds mu.
func (p *progress) draw() {
	what := strings.Join(p.active, ", ")
	if what == "" {
		what = p.text
	}
	if what == "" || p.stop == nil {
		p.erase()
		return
	}
	p.frame++
	line := fmt.Sprintf("%s %s", spinner[p.frame%len(spinner)], what)
	if s := int(time.Since(p.start).Seconds()); s > 0 {
		line += fmt.Sprintf(" (%ds)", s)
	}
	// \r and "erase to the end of the line": the line is rewritten in place.
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = true
}

func (p *progress) erase() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// clear erases the line and stops the display for good; anything written
// to the terminal afterwards starts on a clean line.
func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.stop != nil {
		close(p.stop)
	}
	p.mu.Unlock()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop = nil
	p.erase()
}

// around returns w writing through the display: the line is erased before
// each write and redrawn after it, so that output to the same terminal
// (fix's step lines) never lands after the progress text.
func (p *progress) around(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return progressWriter{p: p, w: w}
}

type progressWriter struct {
	p *progress
	w io.Writer
}

func (pw progressWriter) Write(b []byte) (int, error) {
	pw.p.mu.Lock()
	defer pw.p.mu.Unlock()
	pw.p.erase()
	n, err := pw.w.Write(b)
	if pw.p.stop != nil && len(b) > 0 && b[len(b)-1] == '\n' {
		pw.p.draw()
	}
	return n, err
}
