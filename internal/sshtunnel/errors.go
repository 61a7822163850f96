package sshtunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Failure names the link of a tunnel that broke, in the order they are
// tried.
type Failure string

// Failures.
const (
	BastionUnreachable  Failure = "bastion-unreachable"  // no TCP connection to the SSH port
	NoHandshake         Failure = "ssh-handshake"        // TCP connected, no SSH session started
	HostKeyUnknown      Failure = "host-key-unknown"     // no recorded key for the bastion
	HostKeyChanged      Failure = "host-key-changed"     // the key presented is not the one recorded
	HostKeyRevoked      Failure = "host-key-revoked"     // the key presented is marked @revoked
	AuthRefused         Failure = "auth-refused"         // the bastion refused our key
	ForwardRefused      Failure = "forward-refused"      // the bastion may not forward there
	DatabaseUnreachable Failure = "database-unreachable" // the bastion could not connect there
)

// Failures lists every Failure in the order of the links.
var Failures = []Failure{
	BastionUnreachable, NoHandshake, HostKeyUnknown, HostKeyChanged, HostKeyRevoked,
	AuthRefused, ForwardRefused, DatabaseUnreachable,
}

// Error is a broken link of a tunnel. Its message names the bastion, the
// link and the cause; it never holds key material or a passphrase.
type Error struct {
	Failure Failure
	Bastion string // host:port
	// Target is the database's host:port, for the links past the bastion.
	Target string
	// HostKey is the key the bastion presented ("ssh-ed25519 SHA256:…"),
	// for the host key failures; Presented lists every key it presented
	// when several handshakes were tried.
	HostKey   string
	Presented []string
	// Known are the keys recorded for the bastion ("FILE:LINE type
	// SHA256:…"), or the fingerprint expected, for HostKeyChanged and
	// HostKeyRevoked.
	Known []string
	// Checked is what the host key was held against.
	Checked string
	// Auth is how we tried to log in, for AuthRefused.
	Auth, User string
	Err        error
}

func (e *Error) Error() string {
	cause := ""
	if e.Err != nil {
		cause = ": " + e.Err.Error()
	}
	switch e.Failure {
	case BastionUnreachable:
		return fmt.Sprintf("cannot reach the SSH bastion %s%s", e.Bastion, cause)
	case NoHandshake:
		if timedOut(e.Err) {
			return fmt.Sprintf("the SSH bastion %s accepted a TCP connection but no SSH session started before the time limit "+
				"(is an SSH server listening on that port?)%s", e.Bastion, cause)
		}
		return fmt.Sprintf("the SSH bastion %s accepted a TCP connection but no SSH session started%s", e.Bastion, cause)
	case HostKeyUnknown:
		return fmt.Sprintf("the host key of the SSH bastion %s is unknown (%s): it presented %s", e.Bastion, e.Checked, e.HostKey)
	case HostKeyChanged:
		return fmt.Sprintf("the host key of the SSH bastion %s has CHANGED: it presented %s; recorded: %s",
			e.Bastion, strings.Join(e.presented(), ", "), strings.Join(e.Known, ", "))
	case HostKeyRevoked:
		return fmt.Sprintf("the SSH bastion %s presented %s, which is marked @revoked: %s", e.Bastion, e.HostKey, strings.Join(e.Known, ", "))
	case AuthRefused:
		return fmt.Sprintf("the SSH bastion %s refused user %q with %s%s", e.Bastion, e.User, e.Auth, cause)
	case ForwardRefused:
		return fmt.Sprintf("the SSH bastion %s refused to forward to the database %s%s", e.Bastion, e.Target, cause)
	case DatabaseUnreachable:
		return fmt.Sprintf("the SSH bastion %s could not connect to the database %s%s", e.Bastion, e.Target, cause)
	}
	return fmt.Sprintf("SSH tunnel through %s: %s%s", e.Bastion, e.Failure, cause)
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) presented() []string {
	if len(e.Presented) > 0 {
		return e.Presented
	}
	return []string{e.HostKey}
}

// timedOut reports whether err is a deadline's.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTimeLimit) || (errors.As(err, &ne) && ne.Timeout())
}

// errTimeLimit stands for a handshake or channel ended by its context.
var errTimeLimit = errors.New("time limit reached")

// channelError classifies a refused channel: the bastion's reason decides
// between a forward it may not make and a database it could not reach.
func channelError(bastion, target string, err, ctxErr error) *Error {
	e := &Error{Failure: DatabaseUnreachable, Bastion: bastion, Target: target, Err: err}
	var oce *ssh.OpenChannelError
	switch {
	case errors.As(err, &oce) && oce.Reason == ssh.Prohibited:
		e.Failure = ForwardRefused
		e.Err = fmt.Errorf("administratively prohibited (%s)", oce.Message)
	case errors.As(err, &oce):
		// sshd says "connect failed" with the bastion's own connect
		// error, a name it could not resolve included.
		e.Err = fmt.Errorf("%s (%s)", oce.Reason, oce.Message)
	case ctxErr != nil:
		e.Err = fmt.Errorf("%w: the bastion was still connecting to it (%w)", errTimeLimit, ctxErr)
	default:
		// No reply at all: the SSH connection itself is gone.
		e.Failure = BastionUnreachable
		e.Err = fmt.Errorf("the SSH connection to the bastion was lost while opening a channel to %s: %w", target, err)
	}
	return e
}
