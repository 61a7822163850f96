package gather

import (
	"slices"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
)

// TestTunnelFailuresAreFacts: tunnelBroke records sshtunnel's failures as
// they are spelt, so each must be one of facts', in the same order, which
// the ssh-tunnel rule has a remedy for.
func TestTunnelFailuresAreFacts(t *testing.T) {
	var got []string
	for _, f := range sshtunnel.Failures {
		got = append(got, string(f))
	}
	if !slices.Equal(got, facts.TunnelFailures) {
		t.Errorf("sshtunnel.Failures %v, facts.TunnelFailures %v", got, facts.TunnelFailures)
	}
}
