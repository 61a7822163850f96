package facts_test

import (
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func TestSnapshotModeInForce(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
	}{
		{"", facts.SnapshotAuto}, // a snapshot saved without a mode
		{facts.SnapshotAuto, facts.SnapshotAuto},
		{facts.SnapshotReadOnly, facts.SnapshotReadOnly},
		{facts.SnapshotSignalTable, facts.SnapshotSignalTable},
	} {
		if got := (facts.Options{SnapshotMode: tc.mode}).SnapshotModeInForce(); got != tc.want {
			t.Errorf("SnapshotMode %q: in force %q, want %q", tc.mode, got, tc.want)
		}
	}
}

func TestServerCanDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    facts.Server
		want bool
	}{
		{"primary 10", facts.Server{VersionNum: 100023}, true},
		{"primary 18", facts.Server{VersionNum: 180001}, true},
		{"standby 15", facts.Server{VersionNum: 150018, InRecovery: true}, false},
		{"standby 16", facts.Server{VersionNum: 160004, InRecovery: true}, true},
		{"standby 17", facts.Server{VersionNum: 170002, InRecovery: true}, true},
		{"standby, version unknown", facts.Server{InRecovery: true}, false},
		{"primary, version unknown", facts.Server{}, true},
	} {
		if got := tc.s.CanDecode(); got != tc.want {
			t.Errorf("%s: CanDecode = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSettingsWalLevelLogical(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]string
		want   bool
	}{
		{"logical", map[string]string{"wal_level": "logical"}, true},
		{"replica", map[string]string{"wal_level": "replica"}, false},
		{"minimal", map[string]string{"wal_level": "minimal"}, false},
		{"not visible", map[string]string{"max_wal_senders": "10"}, false},
		{"not read", nil, false},
	} {
		if got := (facts.Settings{Values: tc.values}).WalLevelLogical(); got != tc.want {
			t.Errorf("%s: WalLevelLogical = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRoleCanReplicate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    facts.Role
		want bool
	}{
		{"REPLICATION", facts.Role{Exists: true, Replication: true}, true},
		{"superuser", facts.Role{Exists: true, Super: true}, true},
		{"rds_replication", facts.Role{Exists: true, RDSReplication: true}, true},
		{"nothing", facts.Role{Exists: true, CanLogin: true, BypassRLS: true}, false},
		// The attribute is not inherited through role membership.
		{"only via a member-of role", facts.Role{Exists: true, MemberOf: []string{"streamkap_role"}, ReplicationVia: []string{"streamkap_role"}}, false},
	} {
		if got := tc.r.CanReplicate(); got != tc.want {
			t.Errorf("%s: CanReplicate = %v, want %v", tc.name, got, tc.want)
		}
	}
}
