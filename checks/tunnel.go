package checks

import (
	"fmt"
	"net"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func sshTunnel() rules.Rule {
	return rules.Rule{
		ID: "ssh-tunnel", Title: "The SSH tunnel reaches the database through the bastion",
		Category: rules.CategoryConnection, Severity: rules.Error, Since: since,
		// Judged from the tunnel's own outcome, whether or not anything
		// behind it connected: every rule that needs the database reports
		// error when the tunnel broke, and this one says which link.
		// Without a tunnel it follows the connection: skip when it
		// connected directly, error with the cause when it did not, as
		// every rule that needs the database does.
		Needs: []facts.Section{facts.SectionTarget}, MayNeed: []facts.Section{facts.SectionConnect},
		Why: `Many production databases are reachable only through an SSH server in their network, and the
connector's "Connect via SSH Tunnel" setting goes that way: it logs in to the bastion with a key
(Streamkap: user streamkap, its public key on one line of ~/.ssh/authorized_keys, port 22) and asks
the bastion to open a TCP connection to the database for each connection it needs. Each link can
break on its own: the bastion unreachable from outside, a host key that is unknown or has changed
(which may be someone intercepting the connection), a key the bastion refuses, a bastion that may not
forward (AllowTcpForwarding, PermitOpen, permitopen= in authorized_keys), or a database the bastion
cannot reach (security group, firewall, name resolution on the bastion). With --ssh-host, every
connection of the check goes through the tunnel, the replication connection, the slot peek and fix
--apply included, and this rule names the first link that broke with its remedy. Without a tunnel
configured it is skipped when the check connected directly, and is an error with the cause, as
every rule that needs the database is, when it could not.`,
		Fix: `On the bastion: create the user the connector logs in as (useradd -m streamkap), put the connector's
public key on one line of ~streamkap/.ssh/authorized_keys (directory mode 700, file mode 600, both
owned by the user), allow forwarding to the database (AllowTcpForwarding yes, and PermitOpen
db-host:5432 or permitopen="db-host:5432" in authorized_keys when forwarding is restricted), and let
the bastion reach the database's port (security group, firewall). Record the bastion's host key in
known_hosts (ssh-keyscan, checked against the fingerprint its administrator gives) or pass
--ssh-host-key-fingerprint.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			t := f.SSHTunnel
			if !t.Configured {
				if o, ok := rules.Need(f, facts.SectionConnect); !ok {
					return o
				}
				return rules.Skip("no SSH tunnel configured (--ssh-host): connected straight to the database")
			}
			obj := fmt.Sprintf("ssh bastion %s@%s", t.User, t.Bastion)
			if t.Err != nil {
				return rules.Finding("%s", t.Err.Message).WithObjects(obj).WithRemediation(tunnelRemedy(t))
			}
			if !t.Forwarded {
				cause := "nothing connected through it"
				if f.Connect.Err != nil {
					cause = f.Connect.Err.Error()
				}
				return rules.Errored(&facts.Error{Op: "judge the SSH tunnel",
					Message: fmt.Sprintf("logged in to %s, but no connection was forwarded to %s, so forwarding was not tested: %s", t.Bastion, t.Target, cause)})
			}
			return rules.Pass("connections went through %s@%s (host key %s, %s; %s) to %s",
				t.User, t.Bastion, t.HostKey, t.HostKeyCheck, t.Auth, t.Target)
		},
	}
}

// tunnelRemedy says what to do about the link that broke, naming the
// bastion, the user, the keys and the database the facts hold.
func tunnelRemedy(t facts.SSHTunnel) string {
	host, port, err := net.SplitHostPort(t.Bastion)
	if err != nil {
		host, port = t.Bastion, "22"
	}
	keyType, fingerprint, _ := strings.Cut(t.HostKey, " ")
	keyFile := hostKeyFile(keyType)
	knownHost := host
	if port != "22" {
		knownHost = "[" + host + "]:" + port
	}
	switch t.Failure {
	case facts.TunnelBastionUnreachable:
		return fmt.Sprintf("Check the bastion's address and port (--ssh-host %s, --ssh-port %s), that sshd runs there, and that no firewall or "+
			"security group stops this machine reaching port %s. The connector connects from its own addresses: on Streamkap, allow "+
			"Streamkap's IP addresses to the bastion's SSH port too.", host, port, port)
	case facts.TunnelNoHandshake:
		return fmt.Sprintf("Something accepts TCP connections on %s but does not speak SSH, or not in time: check that this is sshd's port and "+
			"not another service or a load balancer, that no firewall holds the connection open without passing it on, and that sshd is "+
			"not refusing new connections (MaxStartups). The attempt is bounded by the DSN's connect_timeout (15 s by default).", t.Bastion)
	case facts.TunnelHostKeyUnknown:
		return fmt.Sprintf("cdcpreflight never accepts an unknown host key by itself. Ask the bastion's administrator to confirm the fingerprint "+
			"%s (on the bastion: ssh-keygen -lf %s), then either pass --ssh-host-key-fingerprint %s, or record the key in known_hosts: "+
			"ssh-keyscan -p %s -t %s %s >> ~/.ssh/known_hosts (or the file --ssh-known-hosts names), after checking what it wrote with "+
			"ssh-keygen -lf ~/.ssh/known_hosts. Checked against: %s.",
			fingerprint, keyFile, fingerprint, port, keyType, host, t.HostKeyCheck)
	case facts.TunnelHostKeyChanged:
		return fmt.Sprintf("Stop: do not connect through this bastion until its administrator confirms the new key. A changed host key means "+
			"either someone is intercepting the connection (man in the middle) or the bastion was rebuilt or re-keyed. Once the fingerprint "+
			"%s is confirmed (on the bastion: ssh-keygen -lf %s), remove the old entry (ssh-keygen -R '%s' -f <known_hosts file>) and record "+
			"the new key, or pass --ssh-host-key-fingerprint %s.", fingerprint, keyFile, knownHost, fingerprint)
	case facts.TunnelHostKeyRevoked:
		return "Stop: this host key is marked @revoked in known_hosts, so whoever presents it is not to be trusted as the bastion. " +
			"Ask the bastion's administrator for its current key and fingerprint before connecting."
	case facts.TunnelAuthRefused:
		u := t.User
		return fmt.Sprintf("The bastion refused user %s with %s. On the bastion, check that: the user exists and is not locked (sshd without PAM "+
			"refuses even key logins to an account whose password field starts with !: usermod -p '*' %s) and has a valid shell; the public key "+
			"is one whole line of ~%s/.ssh/authorized_keys (ssh-keygen -y -f <key file> prints it; no line breaks); ~%s/.ssh is mode 700 and "+
			"authorized_keys mode 600, owned by %s, and the home directory is not group- or world-writable (sshd's StrictModes refuses "+
			"anything looser); AllowUsers, AllowGroups or DenyUsers let the user in; and the key type is accepted (OpenSSH 8.8 and later "+
			"refuse ssh-rsa signatures with SHA-1 unless PubkeyAcceptedAlgorithms allows them; an ed25519 key avoids it). sshd's log "+
			"(journalctl -u ssh, /var/log/auth.log) says which. For the connector, the key on the bastion must be the connector's: "+
			"on Streamkap, the public key shown for the source, for user streamkap.", u, t.Auth, u, u, u, u)
	case facts.TunnelForwardRefused:
		return fmt.Sprintf("sshd on the bastion may not forward to %s. In /etc/ssh/sshd_config (and any Match block for user %s): "+
			"AllowTcpForwarding yes (or local), no DisableForwarding yes, and if PermitOpen is set it must list %s; in %s's "+
			"authorized_keys, a permitopen=\"%s\" option must name this host and port (and restrict needs port-forwarding after it). "+
			"Then reload sshd (systemctl reload ssh).", t.Target, t.User, t.Target, t.User, t.Target)
	case facts.TunnelDatabaseUnreachable:
		return fmt.Sprintf("The bastion could not open a connection to %s. The bastion resolves the host name itself, so it must resolve there "+
			"(getent hosts on the bastion); the database must accept connections from the bastion: its security group or firewall "+
			"(on AWS, allow the bastion's security group on the database port), listen_addresses and pg_hba.conf. Test from the bastion "+
			"with nc -vz %s.", t.Target, netcatArgs(t.Target))
	}
	return "Check the SSH tunnel's settings (--ssh-host, --ssh-port, --ssh-user, --ssh-key) and the bastion's sshd log."
}

// hostKeyFile is where OpenSSH keeps the public host key of a key type.
func hostKeyFile(keyType string) string {
	name := "ed25519"
	switch {
	case strings.HasPrefix(keyType, "ecdsa"):
		name = "ecdsa"
	case strings.Contains(keyType, "rsa"):
		name = "rsa"
	}
	return "/etc/ssh/ssh_host_" + name + "_key.pub"
}

// netcatArgs are nc's host and port arguments for a host:port.
func netcatArgs(addr string) string {
	if h, p, err := net.SplitHostPort(addr); err == nil {
		return h + " " + p
	}
	return addr
}
