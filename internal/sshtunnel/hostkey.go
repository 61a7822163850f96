package sshtunnel

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys is how a Dialer verifies the bastion: known_hosts files, or a
// fingerprint.
type hostKeys struct {
	files       []string // the known_hosts files read; may be none
	callback    ssh.HostKeyCallback
	fingerprint string
	desc        string // for messages
}

// defaultKnownHosts are the files ssh reads when none is given, those that
// exist.
func defaultKnownHosts(home string) []string {
	var files []string
	if home != "" {
		files = append(files, filepath.Join(home, ".ssh", "known_hosts"))
	}
	files = append(files, "/etc/ssh/ssh_known_hosts")
	return slices.DeleteFunc(files, func(f string) bool {
		_, err := os.Stat(f)
		return err != nil
	})
}

func newHostKeys(c Config, env Env) (*hostKeys, error) {
	if c.Fingerprint != "" {
		fp, err := ParseFingerprint(c.Fingerprint)
		if err != nil {
			return nil, err
		}
		return &hostKeys{fingerprint: fp, desc: "the fingerprint " + fp + " given"}, nil
	}
	files := []string{c.KnownHosts}
	if c.KnownHosts == "" {
		files = defaultKnownHosts(env.Home)
	}
	h := &hostKeys{files: files}
	switch len(files) {
	case 0:
		h.desc = "no known_hosts file: neither ~/.ssh/known_hosts nor /etc/ssh/ssh_known_hosts exists"
		h.callback = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
		return h, nil
	case 1:
		h.desc = "known_hosts " + files[0]
	default:
		h.desc = "known_hosts " + strings.Join(files, " and ")
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	h.callback = cb
	return h, nil
}

// describe renders a public key as ssh-keygen -l does, without the bits.
func describe(k ssh.PublicKey) string {
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// check holds the key the bastion presented against what is recorded.
// A failure is an *Error with the failure and both sides.
func (h *hostKeys) check(bastion string, remote net.Addr, key ssh.PublicKey) *Error {
	e := &Error{Bastion: bastion, HostKey: describe(key), Checked: h.desc}
	if h.fingerprint != "" {
		if ssh.FingerprintSHA256(key) == h.fingerprint {
			return nil
		}
		e.Failure, e.Known = HostKeyChanged, []string{"the fingerprint " + h.fingerprint + " given"}
		return e
	}
	err := h.callback(bastion, remote, key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		e.Failure, e.Known = HostKeyRevoked, []string{knownKey(re.Revoked)}
	case errors.As(err, &ke) && len(ke.Want) == 0:
		e.Failure = HostKeyUnknown
	case errors.As(err, &ke):
		e.Failure = HostKeyChanged
		for _, k := range ke.Want {
			e.Known = append(e.Known, knownKey(k))
		}
	default:
		// A certificate the recorded authorities did not sign, or one
		// that does not name the bastion: the key is not the one
		// recorded either way.
		e.Failure, e.Err = HostKeyChanged, err
		e.Known = []string{"no matching @cert-authority (" + err.Error() + ")"}
	}
	return e
}

func knownKey(k knownhosts.KnownKey) string {
	return fmt.Sprintf("%s:%d %s", k.Filename, k.Line, describe(k.Key))
}

// algorithms are the host key algorithms to offer the bastion: those of
// the keys recorded for it, so that a bastion with several host keys
// presents the one known_hosts holds (x/crypto prefers ECDSA, and would
// otherwise report a known ed25519 bastion's ECDSA key as a changed key).
// nil, x/crypto's default, when nothing is recorded (or with a
// fingerprint, where a retry finds the right key; see Dialer.Open).
func (h *hostKeys) algorithms(bastion string) []string {
	if h.callback == nil {
		return nil
	}
	// A key nobody has recorded makes the callback list the keys that are.
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	addr := &net.TCPAddr{IP: net.IPv4zero}
	var ke *knownhosts.KeyError
	if !errors.As(h.callback(bastion, addr, probe.PublicKey()), &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		for _, a := range keyAlgorithms(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// keyAlgorithms are the host key algorithms that present a key of type t:
// an RSA key signs with SHA-2 (or, on old servers, SHA-1).
func keyAlgorithms(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

// plainAlgorithms are x/crypto's host key algorithms without
// certificates: a fingerprint names a key.
func plainAlgorithms() []string {
	return slices.DeleteFunc(ssh.SupportedAlgorithms().HostKeys, func(a string) bool {
		return strings.Contains(a, "-cert-")
	})
}
