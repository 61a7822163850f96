package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
)

// TestSSHOptions: the SSH settings come from the config file and the
// flags into one sshtunnel.Config, flags over the file, the port 22 by
// default; a port of the wrong type is named with its line.
func TestSSHOptions(t *testing.T) {
	resolve := func(args ...string) (*checkOptions, error) {
		return newCheckFlags("check", io.Discard).resolve(args, Env{Getenv: func(string) string { return "" }})
	}
	opt, err := resolve()
	if err != nil {
		t.Fatal(err)
	}
	if opt.SSH != (sshtunnel.Config{Port: 22}) {
		t.Errorf("defaults: %+v", opt.SSH)
	}
	cfg := writeFile(t, "c.yml", "ssh_host: bastion.example.com\nssh_port: 2222\nssh_user: streamkap\nssh_key: /keys/k\n"+
		"ssh_host_key_fingerprint: SHA256:"+strings.Repeat("a", 43)+"=\n")
	if opt, err = resolve("--config", cfg, "--ssh-user", "other"); err != nil {
		t.Fatal(err)
	}
	want := sshtunnel.Config{Host: "bastion.example.com", Port: 2222, User: "other", KeyFile: "/keys/k",
		Fingerprint: "SHA256:" + strings.Repeat("a", 43) + "="}
	if opt.SSH != want {
		t.Errorf("file and flags: %+v, want %+v", opt.SSH, want)
	}
	if _, err := resolve("--config", writeFile(t, "bad.yml", "ssh_port: twenty-two\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a port that is no number: %v", err)
	}
	if _, err := resolve("--ssh-host", "b", "--ssh-user", "u", "--ssh-port", "70000"); err == nil || !strings.Contains(err.Error(), "--ssh-port 70000") {
		t.Errorf("port out of range: %v", err)
	}
}
