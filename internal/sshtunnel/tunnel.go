package sshtunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// keepaliveInterval is how often an open tunnel tells the bastion it is
// alive, as ssh's ServerAliveInterval would, so that a NAT or firewall on
// the way does not drop it during a long fix --apply.
const keepaliveInterval = 15 * time.Second

// Dialer opens tunnels to one bastion with one set of credentials. The key
// is read, and its passphrase asked for, once, however many tunnels a run
// opens (fix opens one to check, one to apply and one to check again).
type Dialer struct {
	cfg  Config
	auth *auth
	keys *hostKeys
}

// New reads what the tunnels of c need: the key file (or checks the
// ssh-agent) and the known_hosts files. Its errors are the user's to fix
// before anything connects; they name the file and never its content.
func New(c Config, env Env) (*Dialer, error) {
	switch {
	case !c.Enabled():
		return nil, errors.New("no SSH bastion configured")
	case c.User == "":
		return nil, errors.New("no user for the SSH bastion")
	case c.Port < 0 || c.Port > 65535:
		return nil, fmt.Errorf("SSH port %d is out of range", c.Port)
	}
	keys, err := newHostKeys(c, env)
	if err != nil {
		return nil, err
	}
	d := &Dialer{cfg: c, keys: keys}
	if c.KeyFile != "" {
		d.auth, err = loadKey(c.KeyFile, env)
	} else {
		d.auth, err = useAgent(env)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Bastion is the bastion's host:port.
func (d *Dialer) Bastion() string { return d.cfg.Addr() }

// User is the account on the bastion.
func (d *Dialer) User() string { return d.cfg.User }

// Auth says how the Dialer logs in: a key file and its public key's
// fingerprint, or the ssh-agent.
func (d *Dialer) Auth() string { return d.auth.desc }

// HostKeyCheck says what the bastion's host key is held against.
func (d *Dialer) HostKeyCheck() string { return d.keys.desc }

// Open connects to the bastion, verifies its host key and logs in. ctx
// bounds all of it: a bastion that accepts the TCP connection and never
// speaks SSH is given up when ctx ends. The error is an *Error.
//
// With a fingerprint, a bastion whose first key does not match is asked
// again for each other type of key it has, so that the fingerprint of any
// of its keys will do, as it would with ssh -o HostKeyAlgorithms.
func (d *Dialer) Open(ctx context.Context) (*Tunnel, error) {
	bastion := d.cfg.Addr()
	algos := d.keys.algorithms(bastion)
	if d.keys.fingerprint != "" {
		algos = preferred(plainAlgorithms())
	}
	var mismatch *Error
	var presented []string
	for {
		t, e := d.handshake(ctx, bastion, algos)
		if e == nil {
			return t, nil
		}
		switch {
		case d.keys.fingerprint != "" && e.Failure == HostKeyChanged:
			mismatch = e
			presented = append(presented, e.HostKey)
			algos = slices.DeleteFunc(algos, func(a string) bool {
				return slices.Contains(keyAlgorithms(strings.Fields(e.HostKey)[0]), a)
			})
			if len(algos) > 0 {
				continue
			}
		case mismatch != nil && noCommonHostKey(e):
			// The bastion has no other type of key.
		case d.keys.fingerprint == "" && algos != nil && noCommonHostKey(e):
			// None of the recorded types: the bastion's key changed type.
			// Asking with x/crypto's defaults shows which it presents.
			algos = nil
			continue
		default:
			return nil, e
		}
		mismatch.Presented = presented
		return nil, mismatch
	}
}

// noCommonHostKey reports whether a handshake failed because the bastion
// has no host key of the types offered.
func noCommonHostKey(e *Error) bool {
	var ne *ssh.AlgorithmNegotiationError
	if errors.As(e.Err, &ne) {
		return ne.What == "host key"
	}
	return e.Err != nil && strings.Contains(e.Err.Error(), "no common algorithm for host key")
}

// preferred orders host key algorithms as OpenSSH's client does: Ed25519,
// then ECDSA, then RSA with SHA-2, then the rest.
func preferred(algos []string) []string {
	order := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	rank := func(a string) int {
		if i := slices.Index(order, a); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(algos, func(a, b string) int { return rank(a) - rank(b) })
	return algos
}

// handshake makes one SSH connection offering the host key algorithms
// algos (nil: x/crypto's defaults).
func (d *Dialer) handshake(ctx context.Context, bastion string, algos []string) (*Tunnel, *Error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", bastion)
	if err != nil {
		return nil, &Error{Failure: BastionUnreachable, Bastion: bastion, Err: err}
	}
	// The handshake has no time limit of its own: ctx's deadline is the
	// connection's, and ctx's end closes it.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	methods, done, err := d.auth.methods(ctx)
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, &Error{Failure: AuthRefused, Bastion: bastion, User: d.cfg.User, Auth: d.auth.desc, Err: err}
	}
	defer done()
	var hostKey ssh.PublicKey
	var keyErr *Error
	cc := &ssh.ClientConfig{
		User: d.cfg.User,
		Auth: methods,
		HostKeyCallback: func(_ string, remote net.Addr, key ssh.PublicKey) error {
			hostKey = key
			if keyErr = d.keys.check(bastion, remote, key); keyErr != nil {
				return keyErr
			}
			return nil
		},
		HostKeyAlgorithms: algos,
		ClientVersion:     "SSH-2.0-cdcpreflight",
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, bastion, cc)
	ctxErr := ctx.Err()
	if !stop() && err == nil {
		// ctx ended as the handshake did: the connection is closed.
		_ = c.Close()
		err = ctxErr
	}
	if err != nil {
		if ctxErr != nil {
			err = fmt.Errorf("%w (%w): %w", errTimeLimit, ctxErr, err)
		}
		switch {
		case keyErr != nil:
			return nil, keyErr
		case hostKey == nil:
			return nil, &Error{Failure: NoHandshake, Bastion: bastion, Err: err}
		}
		return nil, &Error{Failure: AuthRefused, Bastion: bastion, User: d.cfg.User, Auth: d.auth.desc, Err: err}
	}
	_ = conn.SetDeadline(time.Time{})
	t := &Tunnel{bastion: bastion, client: ssh.NewClient(c, chans, reqs), hostKey: describe(hostKey), done: make(chan struct{})}
	go t.keepalive()
	return t, nil
}

// Tunnel is an SSH connection to the bastion, logged in; Dial opens a
// channel through it. It is safe for concurrent use.
type Tunnel struct {
	bastion string
	client  *ssh.Client
	hostKey string
	done    chan struct{}
	once    sync.Once

	mu        sync.Mutex
	forwarded bool
	refused   *Error // the first channel the bastion refused
}

// HostKey is the key the bastion presented ("ssh-ed25519 SHA256:…").
func (t *Tunnel) HostKey() string { return t.hostKey }

// ServerVersion is the bastion's SSH version banner.
func (t *Tunnel) ServerVersion() string { return string(t.client.ServerVersion()) }

// Forwarded reports whether the bastion opened a channel yet, and the
// first channel it could not open, nil when none failed.
func (t *Tunnel) Forwarded() (bool, *Error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.forwarded, t.refused
}

// Dial opens a channel to addr (host:port, the host resolved by the
// bastion). The connection it returns honours deadlines, and its
// RemoteAddr is addr, so that a driver's cancel request, which dials the
// RemoteAddr of the connection it cancels, goes through the tunnel to the
// same server. Its error is an *Error. Dial fits pgconn.DialFunc.
func (t *Tunnel) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, &Error{Failure: ForwardRefused, Bastion: t.bastion, Target: addr,
			Err: fmt.Errorf("an SSH tunnel forwards TCP connections, not %s ones", network)}
	}
	ch, err := t.client.DialContext(ctx, "tcp", addr)
	if err != nil {
		e := channelError(t.bastion, addr, err, ctx.Err())
		// A dial its caller gave up on (a connection attempt that lost
		// a race, a run being ended) says nothing about the bastion; one
		// that ran out of time does.
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.mu.Lock()
			if t.refused == nil {
				t.refused = e
			}
			t.mu.Unlock()
		}
		return nil, e
	}
	t.mu.Lock()
	t.forwarded = true
	t.mu.Unlock()
	return pipe(ch, addr), nil
}

// Close ends the SSH connection and every channel through it.
func (t *Tunnel) Close() error {
	var err error
	t.once.Do(func() {
		close(t.done)
		err = t.client.Close()
	})
	return err
}

func (t *Tunnel) keepalive() {
	tick := time.NewTicker(keepaliveInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
			// The reply does not matter, and an error means the
			// connection is gone, which the channels' reads report.
			if _, _, err := t.client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				return
			}
		}
	}
}

// pipe hands out ch behind a net.Pipe, whose deadlines work, copying in
// both directions until either side closes.
func pipe(ch net.Conn, addr string) net.Conn {
	ours, theirs := net.Pipe()
	go func() {
		_, _ = io.Copy(ch, theirs)
		_ = ch.Close()
	}()
	go func() {
		_, _ = io.Copy(theirs, ch)
		_ = theirs.Close()
	}()
	return &conn{Conn: ours, remote: target(addr)}
}

type conn struct {
	net.Conn
	remote net.Addr
}

func (c *conn) RemoteAddr() net.Addr { return c.remote }

// target is the address a channel reaches.
type target string

func (target) Network() string  { return "tcp" }
func (a target) String() string { return string(a) }
