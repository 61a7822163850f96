package sshtunnel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Env is where New finds what Config does not hold: the passphrase of an
// encrypted key, the ssh-agent, the home directory.
type Env struct {
	// Passphrase returns the passphrase of the encrypted key in keyFile;
	// nil means an encrypted key cannot be used.
	Passphrase func(keyFile string) ([]byte, error)
	// AgentSocket is SSH_AUTH_SOCK: the ssh-agent used when no key file
	// is given.
	AgentSocket string
	// Home is the home directory whose .ssh/known_hosts is the default.
	Home string
}

// agentTimeout bounds asking the ssh-agent for its keys: a local socket
// that does not answer in seconds will not.
const agentTimeout = 5 * time.Second

// auth is how a Dialer logs in.
type auth struct {
	signers []ssh.Signer // from the key file; nil with the agent
	agent   string       // the agent's socket
	desc    string       // for messages: never key material
}

// loadKey reads a private key file, asking for its passphrase when it is
// encrypted. Errors name the file and what to do, never its content.
func loadKey(file string, env Env) (*auth, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the SSH key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if env.Passphrase == nil {
			return nil, fmt.Errorf("the SSH key %s is encrypted and no passphrase can be asked for", file)
		}
		pass, perr := env.Passphrase(file)
		if perr != nil {
			return nil, perr
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
		clear(pass)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("the passphrase of the SSH key %s is wrong", file)
		}
	}
	if err != nil {
		if strings.HasPrefix(string(pem), "ssh-") || strings.Contains(err.Error(), "no key found") {
			return nil, fmt.Errorf("%s holds no private key (give the private key, not the .pub file): %w", file, err)
		}
		return nil, fmt.Errorf("the SSH key %s cannot be read: %w", file, err)
	}
	pub := signer.PublicKey()
	return &auth{signers: []ssh.Signer{signer},
		desc: fmt.Sprintf("key %s (%s %s)", file, pub.Type(), ssh.FingerprintSHA256(pub))}, nil
}

// useAgent checks that the ssh-agent answers; each tunnel connects to it
// again when it logs in.
func useAgent(env Env) (*auth, error) {
	if env.AgentSocket == "" {
		return nil, errors.New("no SSH key given and no ssh-agent (SSH_AUTH_SOCK is not set): give the key with --ssh-key")
	}
	ctx, cancel := context.WithTimeout(context.Background(), agentTimeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", env.AgentSocket)
	if err != nil {
		return nil, fmt.Errorf("the ssh-agent at SSH_AUTH_SOCK does not answer (%w): start it, or give the key with --ssh-key", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(agentTimeout))
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		return nil, fmt.Errorf("list the ssh-agent's keys: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("the ssh-agent holds no key (ssh-add adds one): give the key with --ssh-key, or add it to the agent")
	}
	return &auth{agent: env.AgentSocket, desc: fmt.Sprintf("the ssh-agent's %s", plural(len(keys), "key", "keys"))}, nil
}

// methods are the auth methods of one login, and a func that ends it.
func (a *auth) methods(ctx context.Context) ([]ssh.AuthMethod, func(), error) {
	if a.agent == "" {
		return []ssh.AuthMethod{ssh.PublicKeys(a.signers...)}, func() {}, nil
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", a.agent)
	if err != nil {
		return nil, nil, fmt.Errorf("the ssh-agent at SSH_AUTH_SOCK does not answer: %w", err)
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(conn).Signers)}, func() { _ = conn.Close() }, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
