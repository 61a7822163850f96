// Package sshtunnel reaches a database through an SSH bastion the way a
// CDC connector's "Connect via SSH Tunnel" does: one SSH connection to the
// bastion, its host key held against known_hosts or a fingerprint, a key
// file or the ssh-agent to log in, and a direct-tcpip channel for every
// database connection, to the database's host name as the bastion
// resolves it.
//
// An SSH channel ignores deadlines (x/crypto's SetDeadline returns an
// error), so a driver's context timeouts could not interrupt a read
// blocked on it. Each channel is therefore handed out behind a net.Pipe,
// whose deadlines work, and the handshake with the bastion runs under the
// caller's context. A tunnel holds no global state: every Dialer and
// Tunnel is its own.
package sshtunnel

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is SSH's port.
const DefaultPort = 22

// Config says how to reach the database through an SSH bastion. The zero
// value is no tunnel. It is plain data, filled from flags, a config file or
// a connector's configuration; New reads the files it names.
type Config struct {
	Host string // the bastion; "" means no tunnel
	Port int    // its SSH port; 0 means DefaultPort
	User string // the account on the bastion
	// KeyFile is the private key to log in with, OpenSSH or PEM,
	// encrypted or not; "" means the keys of the ssh-agent at
	// SSH_AUTH_SOCK.
	KeyFile string
	// KnownHosts is the known_hosts file holding the bastion's host key;
	// "" means ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts, as ssh
	// reads them. Hashed entries, markers and [host]:port entries work.
	KnownHosts string
	// Fingerprint, instead of known_hosts, is the SHA256 fingerprint the
	// bastion's host key must have, as ssh-keygen -l prints it
	// ("SHA256:…").
	Fingerprint string
}

// Enabled reports whether a tunnel is configured.
func (c Config) Enabled() bool { return c.Host != "" }

// Addr is the bastion's host:port.
func (c Config) Addr() string {
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// ParseFingerprint checks a host key fingerprint and returns it as
// ssh.FingerprintSHA256 writes it: "SHA256:" and 43 characters of
// unpadded base64. Trailing "=" padding, which some tools print, is
// dropped.
func ParseFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "SHA256:")
	if !ok {
		return "", fmt.Errorf("%q is not a SHA256 host key fingerprint: want SHA256:… as `ssh-keygen -lf <host key>.pub` prints it", s)
	}
	rest = strings.TrimRight(rest, "=")
	if b, err := base64.RawStdEncoding.DecodeString(rest); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%q is not a SHA256 host key fingerprint: after SHA256: come 43 characters of base64", s)
	}
	return "SHA256:" + rest, nil
}
