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
	path := clientProgram(c.BinDir, name)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = childEnv(siblingLibDir(filepath.Dir(path)))
	return cmd
}

// clientProgram finds a client program: beside the server binaries, or
// beside what they link to (symlinks on PATH); the npm builds ship only
// the server, so then on PATH or in the highest Debian bin directory (a
// newer client talks to every older server).
func clientProgram(binDir, name string) string {
	dirs := []string{binDir}
	if real, err := filepath.EvalSymlinks(filepath.Join(binDir, "postgres")); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if d := highestDebianBinDir(); d != "" {
		return filepath.Join(d, name)
	}
	return filepath.Join(binDir, name)
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
