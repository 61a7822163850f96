package sshtunnel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// bastion is a real sshd on loopback with a user key it accepts.
type bastion struct {
	sshd       *pglocal.SSHD
	key        *pglocal.SSHKey
	keyFile    string
	knownHosts string // a known_hosts file with every host key
}

func newKey(t *testing.T, typ string) *pglocal.SSHKey {
	t.Helper()
	k, err := pglocal.NewSSHKey(typ)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newBastion starts sshd with opt; the user key is added to opt's
// authorized_keys unless authLine is given, which replaces it.
func newBastion(t *testing.T, opt pglocal.SSHDOptions, authLine func(key string) string) *bastion {
	t.Helper()
	b := &bastion{key: newKey(t, "ed25519")}
	line := b.key.AuthorizedKey()
	if authLine != nil {
		line = authLine(line)
	}
	opt.AuthorizedKeys = append(opt.AuthorizedKeys, line)
	b.sshd = pgtest.SSHD(t, opt)
	pemBytes, err := b.key.OpenSSH("")
	if err != nil {
		t.Fatal(err)
	}
	b.keyFile = writeTemp(t, "id_ed25519", pemBytes)
	b.knownHosts = writeTemp(t, "known_hosts", []byte(b.sshd.KnownHosts()))
	return b
}

func (b *bastion) config() Config {
	return Config{Host: b.sshd.Host, Port: b.sshd.Port, User: b.sshd.User, KeyFile: b.keyFile, KnownHosts: b.knownHosts}
}

func open(t *testing.T, c Config, env Env) (*Tunnel, error) {
	t.Helper()
	d, err := New(c, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tun, err := d.Open(ctx)
	if err == nil {
		t.Cleanup(func() { _ = tun.Close() })
	}
	return tun, err
}

func mustOpen(t *testing.T, c Config, env Env) *Tunnel {
	t.Helper()
	tun, err := open(t, c, env)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tun
}

// failure asserts err is an *Error of the failure f whose message holds
// every want.
func failure(t *testing.T, err error, f Failure, want ...string) {
	t.Helper()
	_ = failed(t, err, f, want...)
}

// failed is failure, returning the *Error.
func failed(t *testing.T, err error, f Failure, want ...string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *Error of %s", err, err, f)
	}
	if e.Failure != f {
		t.Fatalf("failure %s (%v), want %s", e.Failure, e, f)
	}
	for _, w := range want {
		if !strings.Contains(e.Error(), w) {
			t.Errorf("message %q lacks %q", e.Error(), w)
		}
	}
	return e
}

// echoServer accepts connections and echoes what they send.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestTunnelForwards: through a real sshd a channel reaches a TCP server,
// carries data both ways, honours read deadlines (an SSH channel alone
// does not) and names the target as its remote address.
func TestTunnelForwards(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{}, nil)
	tun := mustOpen(t, b.config(), Env{})
	if want := describe(b.sshd.HostKeys[0].Signer.PublicKey()); tun.HostKey() != want {
		t.Errorf("host key %s, want %s", tun.HostKey(), want)
	}
	if !strings.HasPrefix(tun.ServerVersion(), "SSH-2.0-OpenSSH") {
		t.Errorf("server version %q", tun.ServerVersion())
	}
	echo := echoServer(t)
	c, err := tun.Dial(t.Context(), "tcp", echo)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != echo || c.RemoteAddr().Network() != "tcp" {
		t.Errorf("remote address %s/%s, want tcp/%s", c.RemoteAddr().Network(), c.RemoteAddr(), echo)
	}
	msg := bytes.Repeat([]byte("through the bastion "), 10000)
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %v", err)
	}
	start := time.Now()
	if err := c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the deadline took %s", took)
	}
	if ok, refused := tun.Forwarded(); !ok || refused != nil {
		t.Errorf("Forwarded() = %v, %v", ok, refused)
	}
}

// TestHostKeyAlgorithmsFollowKnownHosts: a bastion with Ed25519, ECDSA and
// RSA host keys is accepted whichever one of them known_hosts holds, also
// hashed; x/crypto left to itself asks for ECDSA first and would call a
// known Ed25519 bastion changed.
func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	keys := []*pglocal.SSHKey{newKey(t, "ecdsa"), newKey(t, "ed25519"), newKey(t, "rsa")}
	b := newBastion(t, pglocal.SSHDOptions{HostKeys: keys}, nil)
	for _, k := range keys {
		t.Run(k.Signer.PublicKey().Type(), func(t *testing.T) {
			hashed := knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(b.sshd.Addr()))}, k.Signer.PublicKey())
			for name, line := range map[string]string{
				"plain":  knownhosts.Line([]string{b.sshd.Addr()}, k.Signer.PublicKey()),
				"hashed": hashed,
			} {
				c := b.config()
				c.KnownHosts = writeTemp(t, "known_hosts", []byte("# comment\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGe6cLtv/c4IgFKEqzCr9Ei1gJMefXvZB3sg4wJAAAAA\n"+line+"\n"))
				if strings.Contains(line, "ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGe6") {
					t.Fatal("test key collision")
				}
				tun, err := open(t, c, Env{})
				if err != nil {
					t.Errorf("%s entry: %v", name, err)
					continue
				}
				if want := describe(k.Signer.PublicKey()); tun.HostKey() != want {
					t.Errorf("%s entry: the bastion presented %s, want %s", name, tun.HostKey(), want)
				}
			}
		})
	}
	// The fingerprint of any of its keys will do.
	for _, k := range keys {
		c := b.config()
		c.KnownHosts, c.Fingerprint = "", ssh.FingerprintSHA256(k.Signer.PublicKey())
		tun, err := open(t, c, Env{})
		if err != nil {
			t.Errorf("fingerprint of the %s key: %v", k.Signer.PublicKey().Type(), err)
			continue
		}
		if want := describe(k.Signer.PublicKey()); tun.HostKey() != want {
			t.Errorf("fingerprint: presented %s, want %s", tun.HostKey(), want)
		}
	}
}

// TestBrokenLinks: each link of the tunnel that breaks is told apart, with
// what the user needs to act on it.
func TestBrokenLinks(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{HostKeys: []*pglocal.SSHKey{newKey(t, "ed25519")}}, nil)
	presented := describe(b.sshd.HostKeys[0].Signer.PublicKey())

	t.Run("bastion unreachable", func(t *testing.T) {
		c := b.config()
		host, port, _ := net.SplitHostPort(closedPort(t))
		c.Host, c.Port = host, atoi(t, port)
		_, err := open(t, c, Env{})
		failure(t, err, BastionUnreachable, "cannot reach the SSH bastion "+c.Addr(), "refused")
	})
	t.Run("host key unknown", func(t *testing.T) {
		c := b.config()
		c.KnownHosts = writeTemp(t, "known_hosts", nil)
		_, err := open(t, c, Env{})
		e := failed(t, err, HostKeyUnknown, "unknown", presented, c.KnownHosts)
		if e.HostKey != presented {
			t.Errorf("HostKey %q, want %q", e.HostKey, presented)
		}
	})
	t.Run("no known_hosts at all", func(t *testing.T) {
		c := b.config()
		c.KnownHosts = ""
		_, err := open(t, c, Env{Home: t.TempDir()})
		failure(t, err, HostKeyUnknown, presented)
	})
	t.Run("host key changed", func(t *testing.T) {
		c := b.config()
		other := newKey(t, "ed25519")
		c.KnownHosts = writeTemp(t, "known_hosts", []byte("\n"+knownhosts.Line([]string{b.sshd.Addr()}, other.Signer.PublicKey())+"\n"))
		_, err := open(t, c, Env{})
		e := failed(t, err, HostKeyChanged, "CHANGED", presented, c.KnownHosts+":2 "+describe(other.Signer.PublicKey()))
		if len(e.Known) != 1 {
			t.Errorf("Known = %v", e.Known)
		}
	})
	t.Run("host key of another type recorded", func(t *testing.T) {
		// The bastion has no key of the recorded type any more.
		c := b.config()
		other := newKey(t, "ecdsa")
		c.KnownHosts = writeTemp(t, "known_hosts", []byte(knownhosts.Line([]string{b.sshd.Addr()}, other.Signer.PublicKey())+"\n"))
		_, err := open(t, c, Env{})
		failure(t, err, HostKeyChanged, presented, describe(other.Signer.PublicKey()))
	})
	t.Run("host key revoked", func(t *testing.T) {
		c := b.config()
		c.KnownHosts = writeTemp(t, "known_hosts", []byte(b.sshd.KnownHosts()+"@revoked * "+b.sshd.HostKeys[0].AuthorizedKey()+"\n"))
		_, err := open(t, c, Env{})
		failure(t, err, HostKeyRevoked, "@revoked", presented)
	})
	t.Run("fingerprint differs", func(t *testing.T) {
		c := b.config()
		want := ssh.FingerprintSHA256(newKey(t, "ed25519").Signer.PublicKey())
		c.KnownHosts, c.Fingerprint = "", want
		_, err := open(t, c, Env{})
		failure(t, err, HostKeyChanged, presented, want)
	})
	t.Run("auth refused", func(t *testing.T) {
		c := b.config()
		pemBytes, err := newKey(t, "ed25519").OpenSSH("")
		if err != nil {
			t.Fatal(err)
		}
		c.KeyFile = writeTemp(t, "stranger", pemBytes)
		_, err = open(t, c, Env{})
		failure(t, err, AuthRefused, "refused user", "unable to authenticate", c.KeyFile)
	})
	t.Run("wrong user", func(t *testing.T) {
		c := b.config()
		c.User = "nobody-" + strconv.Itoa(os.Getpid())
		_, err := open(t, c, Env{})
		failure(t, err, AuthRefused, c.User)
	})
	t.Run("database unreachable", func(t *testing.T) {
		tun := mustOpen(t, b.config(), Env{})
		addr := closedPort(t)
		_, err := tun.Dial(t.Context(), "tcp", addr)
		failure(t, err, DatabaseUnreachable, "could not connect to the database "+addr)
		_, err = tun.Dial(t.Context(), "tcp", "no-such-host.invalid:5432")
		failure(t, err, DatabaseUnreachable, "no-such-host.invalid:5432")
		if ok, refused := tun.Forwarded(); ok || refused == nil || refused.Target != addr {
			t.Errorf("Forwarded() = %v, %v; want the first refusal", ok, refused)
		}
	})
}

// TestForwardingRefused: every way a bastion forbids forwarding is a
// refused forward, told apart from a database it cannot reach.
func TestForwardingRefused(t *testing.T) {
	echo := echoServer(t)
	for name, setup := range map[string]struct {
		config []string
		auth   func(string) string
	}{
		"AllowTcpForwarding no": {config: []string{"AllowTcpForwarding no"}},
		"PermitOpen elsewhere":  {config: []string{"PermitOpen 127.0.0.1:1"}},
		"permitopen= in authorized_keys": {auth: func(k string) string {
			return `permitopen="127.0.0.1:1" ` + k
		}},
		"restrict in authorized_keys": {auth: func(k string) string { return "restrict " + k }},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBastion(t, pglocal.SSHDOptions{Config: setup.config}, setup.auth)
			tun := mustOpen(t, b.config(), Env{})
			_, err := tun.Dial(t.Context(), "tcp", echo)
			failure(t, err, ForwardRefused, "refused to forward to the database "+echo, "administratively prohibited")
		})
	}
}

// TestSilentBastion: a server that accepts the TCP connection and never
// speaks ends the attempt when the context does, saying so.
func TestSilentBastion(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	b := newKey(t, "ed25519")
	pemBytes, _ := b.OpenSSH("")
	host, port, _ := net.SplitHostPort(l.Addr().String())
	d, err := New(Config{Host: host, Port: atoi(t, port), User: "u", KeyFile: writeTemp(t, "k", pemBytes),
		Fingerprint: ssh.FingerprintSHA256(b.Signer.PublicKey())}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = d.Open(ctx)
	took := time.Since(start)
	failure(t, err, NoHandshake, "accepted a TCP connection but no SSH session started before the time limit")
	if took > 5*time.Second {
		t.Errorf("gave up after %s, want about the 500ms limit", took)
	}
}

// TestKeys: OpenSSH and PEM keys, encrypted ones with their passphrase,
// the agent; the errors name the file and what to do, never the key or
// the passphrase.
func TestKeys(t *testing.T) {
	rsaKey := newKey(t, "rsa")
	b := newBastion(t, pglocal.SSHDOptions{AuthorizedKeys: []string{rsaKey.AuthorizedKey()}}, nil)
	const passphrase = "correct horse battery staple"
	encrypted, err := b.key.OpenSSH(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	encFile := writeTemp(t, "encrypted", encrypted)
	ask := func(answer string, asked *int) func(string) ([]byte, error) {
		return func(file string) ([]byte, error) {
			*asked++
			if file != encFile {
				t.Errorf("asked for the passphrase of %s", file)
			}
			return []byte(answer), nil
		}
	}

	t.Run("encrypted OpenSSH key", func(t *testing.T) {
		c := b.config()
		c.KeyFile = encFile
		asked := 0
		d, err := New(c, Env{Passphrase: ask(passphrase, &asked)})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // asked once, however many tunnels
			tun, err := d.Open(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			_ = tun.Close()
		}
		if asked != 1 {
			t.Errorf("asked %d times for the passphrase", asked)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		c := b.config()
		c.KeyFile = encFile
		asked := 0
		_, err := New(c, Env{Passphrase: ask("wrong horse", &asked)})
		if err == nil || !strings.Contains(err.Error(), "passphrase of the SSH key "+encFile+" is wrong") || strings.Contains(err.Error(), "wrong horse") {
			t.Errorf("wrong passphrase: %v", err)
		}
	})
	t.Run("encrypted key, nobody to ask", func(t *testing.T) {
		c := b.config()
		c.KeyFile = encFile
		_, err := New(c, Env{})
		if err == nil || !strings.Contains(err.Error(), encFile+" is encrypted") {
			t.Errorf("no passphrase: %v", err)
		}
	})
	t.Run("PEM RSA key", func(t *testing.T) {
		// The format Airbyte and Estuary ask for: ssh-keygen -m PEM.
		block, err := rsaKey.PEM()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(block, []byte("-----BEGIN RSA PRIVATE KEY-----")) {
			t.Fatalf("not a PKCS#1 PEM key: %.40s", block)
		}
		c := b.config()
		c.KeyFile = writeTemp(t, "id_rsa", block)
		mustOpen(t, c, Env{})
	})
	t.Run("public key given", func(t *testing.T) {
		c := b.config()
		c.KeyFile = writeTemp(t, "id_ed25519.pub", []byte(b.key.AuthorizedKey()+"\n"))
		_, err := New(c, Env{})
		if err == nil || !strings.Contains(err.Error(), "holds no private key") || strings.Contains(err.Error(), "AAAA") {
			t.Errorf(".pub file: %v", err)
		}
	})
	t.Run("missing key file", func(t *testing.T) {
		c := b.config()
		c.KeyFile = filepath.Join(t.TempDir(), "nope")
		if _, err := New(c, Env{}); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("missing file: %v", err)
		}
	})
	t.Run("agent", func(t *testing.T) {
		keyring := agent.NewKeyring()
		sock := serveAgent(t, keyring)
		c := b.config()
		c.KeyFile = ""
		if _, err := New(c, Env{AgentSocket: sock}); err == nil || !strings.Contains(err.Error(), "holds no key") {
			t.Errorf("empty agent: %v", err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: b.key.Private()}); err != nil {
			t.Fatal(err)
		}
		mustOpen(t, c, Env{AgentSocket: sock})
		if _, err := New(c, Env{}); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not set") {
			t.Errorf("no agent: %v", err)
		}
		if _, err := New(c, Env{AgentSocket: filepath.Join(t.TempDir(), "gone")}); err == nil || !strings.Contains(err.Error(), "does not answer") {
			t.Errorf("agent gone: %v", err)
		}
	})
	t.Run("default known_hosts in the home directory", func(t *testing.T) {
		home := t.TempDir()
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		k := b.sshd.HostKeys[0].Signer.PublicKey()
		line := knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(b.sshd.Addr()))}, k)
		if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := b.config()
		c.KnownHosts = ""
		d, err := New(c, Env{Home: home})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(d.HostKeyCheck(), filepath.Join(home, ".ssh", "known_hosts")) {
			t.Errorf("HostKeyCheck() = %q", d.HostKeyCheck())
		}
		mustOpen(t, c, Env{Home: home})
	})
}

func serveAgent(t *testing.T, keyring agent.Agent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	return sock
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
