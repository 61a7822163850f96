package pglocal

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
)

// ClientCommand is a command running one of the cluster's client programs
// (psql, pgbench, pg_recvlogical, …) from its bin directory, with the
// environment pglocal's own programs get: no PG* variables, LC_ALL=C, and
// the relocatable builds' library directory. It runs as the calling user:
// only servers refuse root. ctx kills it.
func (c *Cluster) ClientCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	dir := c.BinDir
	if !isExecutable(filepath.Join(dir, name)) {
		// The server binaries may be symlinks on PATH (/usr/local/bin);
		// the client programs are beside what they point at.
		if real, err := filepath.EvalSymlinks(filepath.Join(dir, "postgres")); err == nil {
			dir = filepath.Dir(real)
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(dir, name), args...)
	cmd.Env = childEnv(siblingLibDir(dir))
	return cmd
}

// Crash stops the server with pg_ctl stop -m immediate: every backend is
// killed at once, as in a crash or an operator's emergency stop, and
// clients see their connections drop mid-conversation. The cluster stays
// on disk; Stop removes it (it does not start it again).
func (c *Cluster) Crash(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("crash: cluster already stopped")
	}
	return c.stopServer(ctx, "immediate")
}
