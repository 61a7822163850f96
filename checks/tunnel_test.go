package checks

import (
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// throughTunnel is a healthy snapshot taken through a working bastion.
func throughTunnel(f *facts.Facts) {
	f.SSHTunnel = facts.SSHTunnel{Configured: true, Bastion: "bastion.example.com:22", User: "streamkap",
		Target: "db.internal.example:5432", Auth: "key /keys/streamkap (ssh-ed25519 SHA256:userkey)",
		HostKeyCheck: "known_hosts /home/ci/.ssh/known_hosts", HostKey: "ssh-ed25519 SHA256:hostkeyfingerprint",
		ServerVersion: "SSH-2.0-OpenSSH_9.2p1", Forwarded: true}
}

// brokenTunnel breaks the tunnel at failure with message.
func brokenTunnel(failure, message string) func(*facts.Facts) {
	return func(f *facts.Facts) {
		throughTunnel(f)
		f.SSHTunnel.Forwarded = false
		f.SSHTunnel.Failure = failure
		f.SSHTunnel.Err = &facts.Error{Op: "open the SSH tunnel", Message: message}
		f.Connect.Err = &facts.Error{Op: "connect", Message: "no SSH tunnel: " + message}
	}
}

var tunnelCases = []ruleCase{
	{name: "no tunnel", rule: "ssh-tunnel", want: rules.StatusSkip, contains: "no SSH tunnel configured"},
	{name: "no tunnel, no connection", rule: "ssh-tunnel", want: rules.StatusError, contains: "could not connect: refused",
		mutate: func(f *facts.Facts) { f.Connect.Err = &facts.Error{Op: "connect", Message: "refused"} }},
	{name: "through the bastion", rule: "ssh-tunnel", want: rules.StatusPass, mutate: throughTunnel,
		contains: "streamkap@bastion.example.com:22 (host key ssh-ed25519 SHA256:hostkeyfingerprint"},
	{name: "bastion unreachable", rule: "ssh-tunnel", want: rules.StatusFail, objects: []string{"ssh bastion streamkap@bastion.example.com:22"},
		mutate:   brokenTunnel(facts.TunnelBastionUnreachable, "cannot reach the SSH bastion bastion.example.com:22: connection refused"),
		contains: "allow Streamkap's IP addresses"},
	{name: "silent bastion", rule: "ssh-tunnel", want: rules.StatusFail, contains: "does not speak SSH",
		mutate: brokenTunnel(facts.TunnelNoHandshake, "the SSH bastion accepted a TCP connection but no SSH session started")},
	{name: "host key unknown", rule: "ssh-tunnel", want: rules.StatusFail, contains: "--ssh-host-key-fingerprint SHA256:hostkeyfingerprint",
		mutate: brokenTunnel(facts.TunnelHostKeyUnknown, "the host key of the SSH bastion is unknown")},
	{name: "host key unknown on another port", rule: "ssh-tunnel", want: rules.StatusFail,
		contains: "ssh-keyscan -p 2222 -t ssh-ed25519 bastion.example.com",
		mutate: func(f *facts.Facts) {
			brokenTunnel(facts.TunnelHostKeyUnknown, "unknown")(f)
			f.SSHTunnel.Bastion = "bastion.example.com:2222"
		}},
	{name: "host key changed", rule: "ssh-tunnel", want: rules.StatusFail, contains: "Stop: do not connect",
		mutate: func(f *facts.Facts) {
			brokenTunnel(facts.TunnelHostKeyChanged, "the host key of the SSH bastion has CHANGED")(f)
			f.SSHTunnel.HostKey = "ecdsa-sha2-nistp256 SHA256:newkey"
			f.SSHTunnel.Bastion = "bastion.example.com:2222"
		}},
	{name: "host key revoked", rule: "ssh-tunnel", want: rules.StatusFail, contains: "@revoked",
		mutate: brokenTunnel(facts.TunnelHostKeyRevoked, "the SSH bastion presented a key marked @revoked")},
	{name: "auth refused", rule: "ssh-tunnel", want: rules.StatusFail, contains: "authorized_keys mode 600",
		mutate: brokenTunnel(facts.TunnelAuthRefused, "the SSH bastion refused user \"streamkap\"")},
	{name: "forwarding refused", rule: "ssh-tunnel", want: rules.StatusFail, contains: `permitopen="db.internal.example:5432"`,
		mutate: brokenTunnel(facts.TunnelForwardRefused, "the SSH bastion refused to forward to the database")},
	{name: "database unreachable from the bastion", rule: "ssh-tunnel", want: rules.StatusFail, contains: "nc -vz db.internal.example 5432",
		mutate: brokenTunnel(facts.TunnelDatabaseUnreachable, "the SSH bastion could not connect to the database")},
	{name: "logged in, nothing forwarded", rule: "ssh-tunnel", want: rules.StatusError, contains: "forwarding was not tested",
		mutate: func(f *facts.Facts) {
			throughTunnel(f)
			f.SSHTunnel.Forwarded = false
			f.Connect.Err = &facts.Error{Op: "connect", Message: "context canceled"}
		}},
}

// TestEveryTunnelFailureHasItsRemedy: each broken link gets a remedy of
// its own, not the catch-all.
func TestEveryTunnelFailureHasItsRemedy(t *testing.T) {
	seen := map[string]string{}
	catchAll := tunnelRemedy(facts.SSHTunnel{Failure: "something new"})
	for _, failure := range facts.TunnelFailures {
		f := healthy()
		brokenTunnel(failure, "broken")(f)
		res := evalRule(t, "ssh-tunnel", f)
		if res.Status != rules.StatusFail || res.Remediation == catchAll {
			t.Errorf("%s: %s with the catch-all remedy", failure, res.Status)
		}
		if other, dup := seen[res.Remediation]; dup {
			t.Errorf("%s and %s share a remedy", failure, other)
		}
		seen[res.Remediation] = failure
	}
}

// TestTunnelFailureErrorsDatabaseRules: behind a broken tunnel every rule
// that needs the database is error, and says the tunnel is why; the rules
// that need none are still judged.
func TestTunnelFailureErrorsDatabaseRules(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	f := healthy()
	brokenTunnel(facts.TunnelForwardRefused, "the SSH bastion bastion.example.com:22 refused to forward to the database")(f)
	for _, r := range rules.Evaluate(reg, f, nil) {
		switch {
		case r.Rule == "ssh-tunnel":
			if r.Status != rules.StatusFail {
				t.Errorf("ssh-tunnel = %s", r.Status)
			}
		case r.Rule == "pooler-hostname":
			if r.Status != rules.StatusPass {
				t.Errorf("pooler-hostname = %s %s", r.Status, r.Message)
			}
		case r.Rule == "connector-config" && r.Status == rules.StatusSkip:
			// It judges a connector configuration, not the database.
		case r.Status != rules.StatusError:
			t.Errorf("%s = %s, want error", r.Rule, r.Status)
		case !strings.Contains(r.Message, "SSH tunnel") || !strings.Contains(r.Message, "refused to forward"):
			t.Errorf("%s message %q does not say the tunnel is why", r.Rule, r.Message)
		}
	}
}
