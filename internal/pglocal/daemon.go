package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// daemon is a server we run in the foreground as our child (PgBouncer,
// sshd): its log file, its watchdog and its stop. A daemon's own -d mode
// would hide the process from us, and then nothing could stop it.
type daemon struct {
	name    string // for messages: "pgbouncer", "sshd"
	dir     string // removed on stop
	logPath string
	pidFile string // the watchdog's: it kills the pid written there if we die
	reaper  *reaper
	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed when the process has exited

	mu      sync.Mutex
	stopped bool
	stopErr error
}

// openLog creates the log file the daemon writes through its inherited
// stdout and stderr (only we read it, so 0600 suffices even when it runs
// as the service user), and returns what its output goes to: the file,
// and also log when non-nil.
func (d *daemon) openLog(log io.Writer) (io.Writer, error) {
	var err error
	if d.logFile, err = os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("create %s log: %w", d.name, err)
	}
	if log != nil {
		return io.MultiWriter(d.logFile, log), nil
	}
	return d.logFile, nil
}

// launch starts cmd and waits until addr accepts connections (15 s at
// most). A failure quotes what this start logged; a start that lost the
// port to another process is errAddrInUse, for the caller to retry on
// another.
func (d *daemon) launch(ctx context.Context, cmd *exec.Cmd, addr string) error {
	logStart := fileSize(d.logPath)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", d.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the outcome is read from cmd.ProcessState
		close(exited)
	}()
	d.cmd, d.exited = cmd, exited
	// Only the watchdog, which runs as us, reads the pid file.
	if err := os.WriteFile(d.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s pid file: %w", d.name, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	dialer := &net.Dialer{Timeout: time.Second}
	for {
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close() // only probing that it accepts connections
			return nil
		}
		select {
		case <-exited:
			_ = os.Remove(d.pidFile) // best effort; the directory goes on stop
			logText, _ := readFrom(d.logPath, logStart)
			err := fmt.Errorf("%s exited during startup (%v)%s", d.name, cmd.ProcessState, formatTail(d.logPath, logText))
			if isAddrInUse(string(logText)) {
				err = fmt.Errorf("%w (%w)", errAddrInUse, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s on %s: %w%s", d.name, addr, ctx.Err(), fileTail(d.logPath, logStart))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting connections on %s after 15s%s", d.name, addr, fileTail(d.logPath, logStart))
		}
	}
}

// stop terminates the daemon (SIGTERM; SIGKILL after 10s) and removes its
// directory. Calling it again returns the first result.
func (d *daemon) stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return d.stopErr
	}
	d.stopped = true
	var errs []error
	if d.cmd != nil {
		select {
		case <-d.exited:
		default:
			// Signalling our own child is safe from pid reuse until Wait
			// has reaped it; an error means it has just exited, which
			// <-d.exited sees.
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.exited:
			case <-time.After(10 * time.Second):
				_ = d.cmd.Process.Kill() // as above
				<-d.exited
				errs = append(errs, fmt.Errorf("%s ignored SIGTERM for 10s; killed", d.name))
			}
		}
		_ = os.Remove(d.pidFile) // best effort; RemoveAll below reports a real failure
	}
	if d.logFile != nil {
		_ = d.logFile.Close() // write-only log; nothing left to flush
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", d.dir, err))
	}
	d.reaper.release()
	d.stopErr = errors.Join(errs...)
	return d.stopErr
}
