package pglocal

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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

	"golang.org/x/crypto/ssh"
)

// EnvSSHD overrides where FindSSHD looks for sshd.
const EnvSSHD = "CDCPREFLIGHT_SSHD"

// FindSSHD locates OpenSSH's sshd by absolute path, which sshd insists on
// ("sshd re-exec requires execution with an absolute path"):
// $CDCPREFLIGHT_SSHD, sshd on PATH, or /usr/sbin/sshd (Debian's
// openssh-server).
func FindSSHD() (string, error) {
	if p := os.Getenv(EnvSSHD); p != "" {
		return filepath.Abs(p)
	}
	if p, err := exec.LookPath("sshd"); err == nil {
		return filepath.Abs(p)
	}
	const debian = "/usr/sbin/sshd"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", errors.New("sshd not found (install openssh-server, or set " + EnvSSHD + ")")
}

// SSHKey is a key pair made for a test: a bastion's host key or a user's
// key.
type SSHKey struct {
	Signer ssh.Signer
	key    crypto.PrivateKey
}

// NewSSHKey generates a key of type "ed25519", "ecdsa" (P-256) or "rsa"
// (3072 bits).
func NewSSHKey(typ string) (*SSHKey, error) {
	var key crypto.PrivateKey
	var err error
	switch typ {
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return nil, fmt.Errorf("unknown SSH key type %q", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", typ, err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	return &SSHKey{Signer: signer, key: key}, nil
}

// OpenSSH is the private key in OpenSSH's format, encrypted with
// passphrase unless it is empty.
func (k *SSHKey) OpenSSH(passphrase string) ([]byte, error) {
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k.key, "cdcpreflight test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k.key, "cdcpreflight test", []byte(passphrase))
	}
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
}

// PEM is the key as ssh-keygen -m PEM writes it: PKCS#1 for RSA
// ("BEGIN RSA PRIVATE KEY"), SEC 1 for ECDSA, PKCS#8 for Ed25519.
func (k *SSHKey) PEM() ([]byte, error) {
	var block *pem.Block
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return pem.EncodeToMemory(block), nil
}

// Private is the private key, for an ssh-agent.
func (k *SSHKey) Private() crypto.PrivateKey { return k.key }

// AuthorizedKey is the key's authorized_keys (and known_hosts) form,
// without a newline: "ssh-ed25519 AAAA…".
func (k *SSHKey) AuthorizedKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Signer.PublicKey())))
}

// SSHDOptions configure StartSSHD.
type SSHDOptions struct {
	// HostKeys are the bastion's host keys; none means a new ed25519 key.
	HostKeys []*SSHKey
	// AuthorizedKeys are the lines of the authorized_keys file, options
	// (permitopen="…", restrict) included.
	AuthorizedKeys []string
	// Config are sshd_config lines (AllowTcpForwarding no, PermitOpen …).
	// They come before the ones StartSSHD writes, and sshd keeps the first
	// value it reads, so they win.
	Config []string
	// Log, when non-nil, also receives sshd's log.
	Log io.Writer
}

// SSHD is a throwaway OpenSSH server on 127.0.0.1, a bastion for tests. It
// runs unprivileged: as the service user (postgres) when we are root, as
// ourselves otherwise. An unprivileged sshd needs no privilege separation
// user or /run/sshd, and lets in only the account it runs as: User.
type SSHD struct {
	Host     string // 127.0.0.1
	Port     int
	User     string // the only account it lets in
	Dir      string
	LogFile  string
	HostKeys []*SSHKey

	run  *runner
	proc daemon
}

// Addr is host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// KnownHosts is a known_hosts file's content for this server: a line per
// host key, for [127.0.0.1]:port.
func (s *SSHD) KnownHosts() string {
	var b strings.Builder
	for _, k := range s.HostKeys {
		fmt.Fprintf(&b, "[%s]:%d %s\n", s.Host, s.Port, k.AuthorizedKey())
	}
	return b.String()
}

// StartSSHD starts sshd on a free loopback port. Stop it with Stop.
func StartSSHD(ctx context.Context, opt SSHDOptions) (_ *SSHD, err error) {
	bin, err := FindSSHD()
	if err != nil {
		return nil, err
	}
	svc, err := lookupServiceUser()
	if err != nil {
		return nil, err
	}
	name := ""
	if svc != nil {
		name = svc.name
	} else {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("who runs sshd: %w", err)
		}
		name = u.Username
	}
	r := &runner{user: svc, env: childEnv("")}
	dir, err := r.makeTempDir("cdcpf-sshd-")
	if err != nil {
		return nil, err
	}
	r.dir = dir
	s := &SSHD{Host: "127.0.0.1", User: name, Dir: dir, LogFile: filepath.Join(dir, "sshd.log"), HostKeys: opt.HostKeys, run: r}
	// The sessions sshd forks are their own process groups (setsid) and
	// end when their client does: the watchdog need only stop sshd.
	s.proc = daemon{name: "sshd", dir: dir, logPath: s.LogFile, pidFile: filepath.Join(dir, "watchdog.pid")}
	defer func() {
		if err != nil {
			_ = s.Stop() // best effort; the start error is what matters
		}
	}()
	if s.proc.reaper, err = startReaper(s.proc.pidFile, "TERM", dir); err != nil {
		return nil, err
	}
	if len(s.HostKeys) == 0 {
		k, err := NewSSHKey("ed25519")
		if err != nil {
			return nil, err
		}
		s.HostKeys = []*SSHKey{k}
	}
	var hostKeyLines []string
	for i, k := range s.HostKeys {
		pemBytes, err := k.OpenSSH("")
		if err != nil {
			return nil, err
		}
		// sshd ignores a host key others may read.
		path := filepath.Join(dir, fmt.Sprintf("host_key_%d", i))
		if err := r.writeFile(path, pemBytes, 0o600); err != nil {
			return nil, err
		}
		hostKeyLines = append(hostKeyLines, "HostKey "+path)
	}
	if err := r.writeFile(filepath.Join(dir, "authorized_keys"), []byte(strings.Join(opt.AuthorizedKeys, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	out, err := s.proc.openLog(opt.Log)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if s.Port, err = freePort(ctx); err != nil {
			return nil, err
		}
		err = s.start(ctx, bin, opt.Config, hostKeyLines, out)
		if err == nil {
			return s, nil
		}
		if attempt == startTries || !errors.Is(err, errAddrInUse) {
			return nil, err
		}
	}
}

// config is sshd_config: the caller's lines first, as sshd keeps the first
// value of a keyword. StrictModes is off because the files live under
// /tmp, which is world-writable; UsePAM is off because PAM needs root.
func (s *SSHD) config(extra, hostKeys []string) string {
	lines := append([]string{"# generated by cdcpreflight pglocal"}, extra...)
	lines = append(lines, hostKeys...)
	lines = append(lines,
		"Port "+strconv.Itoa(s.Port),
		"ListenAddress "+s.Host,
		"PidFile "+filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile "+filepath.Join(s.Dir, "authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AllowTcpForwarding yes",
		"LogLevel VERBOSE",
	)
	return strings.Join(lines, "\n") + "\n"
}

func (s *SSHD) start(ctx context.Context, bin string, extra, hostKeys []string, out io.Writer) error {
	cfgPath := filepath.Join(s.Dir, "sshd_config")
	if err := s.run.writeFile(cfgPath, []byte(s.config(extra, hostKeys)), 0o600); err != nil {
		return err
	}
	// -D: stay in the foreground as our child; -e: log to stderr.
	cmd := s.run.daemon(bin, "-D", "-e", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	return s.proc.launch(ctx, cmd, s.Addr())
}

// Log is what sshd has logged so far.
func (s *SSHD) Log() string {
	b, _ := os.ReadFile(s.LogFile)
	return string(b)
}

// Stop terminates sshd and removes its directory; the sessions it forked
// end with their clients. Calling it again returns the first result.
func (s *SSHD) Stop() error { return s.proc.stop() }
