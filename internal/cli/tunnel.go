package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
)

// sshPassphraseEnv holds the passphrase of an encrypted --ssh-key.
const sshPassphraseEnv = "CDCPREFLIGHT_SSH_PASSPHRASE" //nolint:gosec // the name of a variable, not a credential

// checkSSH judges the SSH options together, once every source is applied.
func checkSSH(c sshtunnel.Config) error {
	if !c.Enabled() {
		var set []string
		for _, o := range []struct {
			flag string
			set  bool
		}{{"--ssh-user", c.User != ""}, {"--ssh-key", c.KeyFile != ""}, {"--ssh-known-hosts", c.KnownHosts != ""},
			{"--ssh-host-key-fingerprint", c.Fingerprint != ""}, {"--ssh-port", c.Port != 0 && c.Port != sshtunnel.DefaultPort}} {
			if o.set {
				set = append(set, o.flag)
			}
		}
		if len(set) > 0 {
			return fmt.Errorf("%s given without --ssh-host: name the bastion to tunnel through", strings.Join(set, ", "))
		}
		return nil
	}
	switch {
	case strings.Contains(c.Host, "@") || strings.Contains(c.Host, "/"):
		return fmt.Errorf("--ssh-host %q: give the host name or address alone, the user with --ssh-user and the port with --ssh-port", c.Host)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("--ssh-port %d: want a port from 1 to 65535", c.Port)
	case c.User == "":
		return errors.New("--ssh-host needs --ssh-user: the account on the bastion the connector logs in as (Streamkap's is streamkap)")
	case c.KnownHosts != "" && c.Fingerprint != "":
		return errors.New("give the bastion's host key either with --ssh-known-hosts or with --ssh-host-key-fingerprint, not both")
	}
	if c.Fingerprint != "" {
		if _, err := sshtunnel.ParseFingerprint(c.Fingerprint); err != nil {
			return fmt.Errorf("--ssh-host-key-fingerprint: %w", err)
		}
	}
	return nil
}

// sshDialer is the run's SSH dialer, nil without --ssh-host. It is made
// once per run, so that an encrypted key's passphrase is asked for once
// however many connections fix makes (check, apply, check again).
func (o *checkOptions) sshDialer(cfg *pgx.ConnConfig, env Env) (*sshtunnel.Dialer, error) {
	if !o.SSH.Enabled() {
		return nil, nil
	}
	if _, err := gather.TunnelTarget(cfg); err != nil {
		return nil, fmt.Errorf("--ssh-host: %w", err)
	}
	if o.tunnel != nil {
		return o.tunnel, nil
	}
	d, err := sshtunnel.New(o.SSH, sshtunnel.Env{
		AgentSocket: env.Getenv("SSH_AUTH_SOCK"),
		Home:        env.Getenv("HOME"),
		Passphrase: func(file string) ([]byte, error) {
			if p := env.Getenv(sshPassphraseEnv); p != "" {
				return []byte(p), nil
			}
			if env.Terminal == nil {
				return nil, fmt.Errorf("the SSH key %s is encrypted: set its passphrase in %s (standard input is not a terminal to ask for it)",
					file, sshPassphraseEnv)
			}
			fmt.Fprintf(env.Stderr, "Passphrase for the SSH key %s: ", file)
			p, err := env.Terminal.ReadSecret()
			fmt.Fprintln(env.Stderr)
			if err != nil {
				return nil, fmt.Errorf("read the passphrase: %w", err)
			}
			return []byte(p), nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("--ssh-key: %w", err)
	}
	o.tunnel = d
	return d, nil
}

// connect opens one connection to the target the way the check does:
// through the SSH tunnel when one is configured. done closes it, and the
// tunnel.
func (o *checkOptions) connect(ctx context.Context, cfg *pgx.ConnConfig, env Env) (conn *pgx.Conn, done func(), err error) {
	d, err := o.sshDialer(cfg, env)
	if err != nil {
		return nil, nil, err
	}
	closeTunnel := func() {}
	if d != nil {
		openCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		t, err := d.Open(openCtx)
		cancel()
		if err != nil {
			return nil, nil, err
		}
		closeTunnel = func() { _ = t.Close() }
		cfg = gather.ThroughTunnel(cfg, t)
	}
	connectCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+5*time.Second)
	defer cancel()
	conn, err = pgx.ConnectConfig(connectCtx, cfg)
	if err != nil {
		closeTunnel()
		return nil, nil, err
	}
	return conn, func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
		closeTunnel()
	}, nil
}
