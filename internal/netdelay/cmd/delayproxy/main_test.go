//go:build unix

package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUsage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
		t.Errorf("no -target: exit %d, %q", code, stderr.String())
	}
}

// TestSIGTERMWritesStats runs the command as the benchmark does: it waits
// for the address file, talks through the proxy, sends SIGTERM and reads
// the statistics file.
func TestSIGTERMWritesStats(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()

	dir := t.TempDir()
	addrFile, statsFile := filepath.Join(dir, "addr"), filepath.Join(dir, "stats")
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"-target", ln.Addr().String(), "-delay", "5ms", "-addr-file", addrFile, "-stats", statsFile}, &stderr)
	}()
	var addr []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		if addr, err = os.ReadFile(addrFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address file: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var d net.Dialer
	c, err := d.DialContext(t.Context(), "tcp", strings.TrimSpace(string(addr)))
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"one", "two"} {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("exit %d: %s", got, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("SIGTERM did not stop the proxy")
	}
	stats, err := os.ReadFile(statsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stats), "total connections=1 up=6 down=6 round_trips=2\n") {
		t.Errorf("stats:\n%s", stats)
	}
}
