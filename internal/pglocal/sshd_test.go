package pglocal_test

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// TestSSHD: the bastion speaks SSH on loopback as an unprivileged user with
// the host keys asked for, and Stop ends it and removes its files.
func TestSSHD(t *testing.T) {
	keys := []*pglocal.SSHKey{}
	for _, typ := range []string{"ed25519", "ecdsa"} {
		k, err := pglocal.NewSSHKey(typ)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	s := pgtest.SSHD(t, pglocal.SSHDOptions{HostKeys: keys})
	if s.User == "root" {
		t.Errorf("sshd lets in %s: it must run unprivileged", s.User)
	}
	conn, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner := make([]byte, 8)
	_, err = conn.Read(banner)
	_ = conn.Close()
	if err != nil || string(banner) != "SSH-2.0-" {
		t.Errorf("banner %q, %v", banner, err)
	}
	if lines := strings.Count(s.KnownHosts(), "\n"); lines != 2 || !strings.Contains(s.KnownHosts(), "[127.0.0.1]:") {
		t.Errorf("known_hosts:\n%s", s.KnownHosts())
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", s.Dir, err)
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		_ = c.Close()
		t.Error("still accepting connections after Stop")
	}
}
