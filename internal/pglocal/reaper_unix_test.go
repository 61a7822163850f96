//go:build unix

package pglocal_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// TestReaperCleansUpAfterCrash runs a child test binary that starts a cluster
// and exits without stopping it, as a panic or test timeout would, and checks
// that the watchdog stops the server and removes its directory.
func TestReaperCleansUpAfterCrash(t *testing.T) {
	if os.Getenv("PGLOCAL_CRASH_CHILD") == "1" {
		c, err := pglocal.Start(context.Background(), pglocal.Options{BinDir: os.Getenv("PGLOCAL_CRASH_BIN")})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(2)
		}
		pidLine, _ := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
		pid, _, _ := strings.Cut(string(pidLine), "\n")
		fmt.Printf("DIR=%s\nPID=%s\n", c.Dir, pid)
		os.Exit(3) // no Stop, no pgtest.Main cleanup
	}
	bin := pgtest.BinDir(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestReaperCleansUpAfterCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PGLOCAL_CRASH_CHILD=1", "PGLOCAL_CRASH_BIN="+bin)
	out, _ := cmd.Output()
	var dir string
	var pid int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "DIR="); ok {
			dir = v
		}
		if v, ok := strings.CutPrefix(sc.Text(), "PID="); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if dir == "" || pid == 0 {
		t.Fatalf("child did not report its cluster; output:\n%s", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		alive := syscall.Kill(pid, 0) == nil
		if os.IsNotExist(statErr) && !alive {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGQUIT) // best-effort cleanup before failing
			os.RemoveAll(dir)
			t.Fatalf("30s after the owner exited: postmaster %d alive=%v, %s stat=%v", pid, alive, dir, statErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
