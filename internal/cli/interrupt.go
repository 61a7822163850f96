package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/cdcpreflight/cdcpreflight/gather"
)

// exitInterrupted is the exit code after Ctrl-C (SIGINT) or SIGTERM:
// 128 + SIGINT, as shells report a process the signal ended.
const exitInterrupted = 130

// interruptible returns a context cancelled with gather.ErrInterrupted at
// the first SIGINT or SIGTERM. Statements in flight are then cancelled on
// the server (see gather.ParseDSN) and the run reports what it judged.
// After that first signal the signals have their default effect again: a
// second Ctrl-C ends the process at once. stop releases the signals.
func interruptible(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			signal.Stop(ch)
			cancel(gather.ErrInterrupted)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			signal.Stop(ch)
			cancel(nil)
		})
	}
}

// interrupted reports whether ctx ended because the user interrupted.
func interrupted(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), gather.ErrInterrupted)
}
