package facts

import (
	"strings"
	"testing"
)

// TestMissingBehindABrokenTunnel: when the SSH tunnel broke, every section
// read over the connection is missing with the tunnel as the cause, ahead
// of the connection's own failure; the target and the tunnel itself are
// not.
func TestMissingBehindABrokenTunnel(t *testing.T) {
	f := Facts{Connect: Probe{Attempted: true, Err: &Error{Op: "connect", Message: "dial error"}}}
	f.SSHTunnel = SSHTunnel{Configured: true, Bastion: "bastion:22", Failure: TunnelHostKeyUnknown,
		Err: &Error{Op: "open the SSH tunnel", Message: "the host key of bastion:22 is unknown"}}
	for _, s := range Sections {
		got := f.Missing(s)
		switch s {
		case SectionTarget:
			if got != nil {
				t.Errorf("%s: %v", s, got)
			}
		case SectionSSHTunnel:
			if got != f.SSHTunnel.Err {
				t.Errorf("%s: %v, want the tunnel's own error", s, got)
			}
		default:
			if got == nil || !strings.Contains(got.Error(), "SSH tunnel") || !strings.Contains(got.Error(), "host key of bastion:22 is unknown") {
				t.Errorf("%s: %v, want the tunnel as the cause", s, got)
			}
		}
	}
	f.SSHTunnel.Err, f.SSHTunnel.Failure = nil, ""
	if got := f.Missing(SectionServer); got == nil || got.Message != "dial error" {
		t.Errorf("a working tunnel and a failed connection: %v", got)
	}
	// An error recorded without a tunnel configured means nothing.
	f = Facts{Connect: Probe{Attempted: true}, SSHTunnel: SSHTunnel{Err: &Error{Op: "x", Message: "y"}}}
	if got := f.Missing(SectionServer); got != nil {
		t.Errorf("no tunnel configured: %v", got)
	}
}
