package facts

// SSHTunnel is the SSH bastion every connection of a check goes through
// when one is configured (--ssh-host), and how far through it we got. The
// zero value is no tunnel.
type SSHTunnel struct {
	Configured bool   `json:"configured"`
	Bastion    string `json:"bastion,omitempty"` // host:port of the SSH server
	User       string `json:"user,omitempty"`    // the account on the bastion
	// Target is the database's address as the bastion dials it: the host
	// name is resolved by the bastion, not here.
	Target string `json:"target,omitempty"`
	// Auth is how we authenticated: the key file and its public key's
	// fingerprint, or the ssh-agent. Never key material.
	Auth string `json:"auth,omitempty"`
	// HostKeyCheck is what the bastion's host key was held against: the
	// known_hosts files, or the fingerprint given.
	HostKeyCheck string `json:"host_key_check,omitempty"`
	// HostKey is the key the bastion presented ("ssh-ed25519 SHA256:…"),
	// when it got that far.
	HostKey string `json:"host_key,omitempty"`
	// KnownKeys are what known_hosts holds for the bastion when its key
	// changed ("FILE:LINE ssh-ed25519 SHA256:…").
	KnownKeys     []string `json:"known_keys,omitempty"`
	ServerVersion string   `json:"server_version,omitempty"` // the bastion's SSH version banner
	// Forwarded is true once the bastion opened a channel to Target.
	Forwarded bool `json:"forwarded"`
	// Failure is the first broken link, one of the Tunnel* constants; ""
	// when none broke.
	Failure string `json:"failure,omitempty"`
	// Err is that link's failure. When it is set, nothing that needs the
	// database could be gathered: Missing says the tunnel is why.
	Err *Error `json:"error,omitempty"`
}

// The links of a tunnel, in the order they are tried: the first that
// breaks is SSHTunnel.Failure.
const (
	TunnelBastionUnreachable  = "bastion-unreachable"  // no TCP connection to the SSH port
	TunnelNoHandshake         = "ssh-handshake"        // TCP connected, but no SSH session started
	TunnelHostKeyUnknown      = "host-key-unknown"     // known_hosts has no key for the bastion
	TunnelHostKeyChanged      = "host-key-changed"     // the bastion's key is not the one recorded
	TunnelHostKeyRevoked      = "host-key-revoked"     // the key is marked @revoked
	TunnelAuthRefused         = "auth-refused"         // the bastion refused our key
	TunnelForwardRefused      = "forward-refused"      // the bastion may not forward to the database
	TunnelDatabaseUnreachable = "database-unreachable" // the bastion could not reach the database
)

// TunnelFailures lists every Failure value, in the order of the links.
var TunnelFailures = []string{
	TunnelBastionUnreachable, TunnelNoHandshake, TunnelHostKeyUnknown, TunnelHostKeyChanged,
	TunnelHostKeyRevoked, TunnelAuthRefused, TunnelForwardRefused, TunnelDatabaseUnreachable,
}

// Broken reports whether a tunnel was configured and a link of it broke,
// so that nothing behind it could be reached.
func (t SSHTunnel) Broken() bool { return t.Configured && t.Err != nil }
