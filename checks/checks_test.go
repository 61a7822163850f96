package checks

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// ruleCase is one fact-snapshot test: a healthy snapshot, changed by mutate,
// must give want (and, when set, exactly these objects and text).
type ruleCase struct {
	name     string
	rule     string
	mutate   func(f *facts.Facts)
	want     rules.Status
	objects  []string // nil: not checked
	contains string   // substring of message + remediation + fix SQL
}

// caseFamilies lists every family's cases; TestEveryRuleHasCases reads it.
var caseFamilies = [][]ruleCase{serverCases, standbyCases, walRetentionCases, connectionCases, tunnelCases, privilegeCases, snapshotCases, publicationCases, slotCases, tablesCases,
	connectorCases,
	failoverCases, capacityCases, horizonCases, toastCases, poolerCases, activityCases}

// healthy is a snapshot of a correctly set-up self-hosted PostgreSQL 15.
func healthy() *facts.Facts {
	return &facts.Facts{
		SchemaVersion: facts.SchemaVersion,
		GatheredAt:    time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		Target:        facts.Target{Host: "db.internal.example", Port: 5432, Database: "app", User: "streamkap_user", SSLMode: "require"},
		Options: facts.Options{
			Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub", SignalSchema: "streamkap",
			SnapshotMode: "auto", ConnectorUser: "streamkap_user",
			PeekMaxBacklog: 256 << 20, RetainedWALWarn: 1 << 30,
		},
		Connect: facts.Probe{Attempted: true},
		Server:  facts.Server{VersionNum: 150018, Version: "15.18"},
		Settings: facts.Settings{Values: map[string]string{"wal_level": "logical", "max_replication_slots": "10",
			"max_wal_senders": "10", "ssl": "on", "max_slot_wal_keep_size": "10240", "hot_standby_feedback": "off"}},
		Platform: facts.Platform{Name: facts.PlatformSelfHosted},
		Session:  facts.Session{SSL: true, SSLVersion: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384"},
		Role: facts.Role{Name: "streamkap_user", Exists: true, Replication: true, CanLogin: true,
			MemberOf: []string{"streamkap_role"}},
		Replication: facts.ReplicationUsage{MaxReplicationSlots: 10, MaxWalSenders: 10, SlotsUsed: 1, WalSendersUsed: 1},
		ReplProbe: facts.ReplicationProbe{Probe: facts.Probe{Attempted: true}, SystemID: "7301", Timeline: 1,
			XLogPos: "0/1A2B3C4", DBName: "app"},
		Privileges: facts.Privileges{
			DatabaseConnect:   true,
			Schemas:           []facts.SchemaPrivilege{{Name: "public", Quoted: "public", Exists: true, Usage: true}},
			DefaultPrivileges: []facts.DefaultPrivilege{{Schema: "public", Owner: "app_owner", Covered: true}},
		},
		Tables: facts.Tables{Tables: []facts.Table{
			healthyTable("customers"),
			healthyTable("orders"),
		}},
		Publication: facts.Publication{Name: "streamkap_pub", Exists: true, Owner: "app_owner",
			Insert: true, Update: true, Delete: true, Truncate: ptr(true), ViaRoot: ptr(false), TableCount: 3},
		Slots: facts.Slots{CurrentLSN: "0/3000000", Slots: []facts.Slot{{
			Name: "streamkap_pgoutput_slot", Plugin: "pgoutput", Type: "logical", Database: "app", InCurrentDatabase: true,
			RestartLSN: "0/2F00000", ConfirmedFlushLSN: "0/2F80000", RetainedBytes: ptr(int64(1 << 20)), LagBytes: ptr(int64(512 << 10)),
			WalStatus: "reserved", SafeWalSize: ptr(int64(10 << 30)), TwoPhase: ptr(false),
		}}},
		SignalTable: facts.HelperTable{Schema: "streamkap", Name: "streamkap_signal", Quoted: "streamkap.streamkap_signal",
			SchemaExists: true, Exists: true, Kind: "r",
			Columns: []facts.Column{
				{Name: "id", Type: "character varying(255)", NotNull: true},
				{Name: "type", Type: "character varying(32)", NotNull: true},
				{Name: "data", Type: "character varying(2000)"},
			},
			PrimaryKey: []string{"id"}, SchemaUsage: true, Select: true, Insert: true, Update: true, Published: true},
		Peek: facts.SlotPeek{Probe: facts.Probe{Attempted: true}},

		WalSenders: facts.WalSenders{Gathered: true},
		Toast:      facts.Toast{Gathered: true},
		Connections: facts.Connections{Gathered: true, MaxConnections: 100, SuperuserReserved: 3, StatsVisible: true, ClientBackends: 12,
			RoleConnLimit: -1, DatConnLimit: -1, RoleSessions: 0, DatabaseSessions: 8},
		XIDHorizon: facts.XIDHorizon{Gathered: true, FreezeMaxAge: 200_000_000, FailsafeAge: ptr(int64(1_600_000_000)),
			Slots:     []facts.SlotXID{{Name: "streamkap_pgoutput_slot", Type: "logical", CatalogXminAge: ptr(int64(1200))}},
			Databases: []facts.DatabaseAge{{Name: "app", Age: 5000}}},
		Backend: facts.Backend{Gathered: true, ReportedPID: 4242, PID: 4242, ServerAddr: "10.0.0.5", ServerPort: 5432,
			ApplicationName: "cdcpreflight", SentApplicationName: "cdcpreflight", StartedBefore: 0.02, Connect: 0.05},
	}
}

// healthyTable is a captured, published table with a primary key that the
// connector may read.
func healthyTable(name string) facts.Table {
	return facts.Table{Schema: "public", Name: name, Quoted: "public." + name, Kind: 'r', Persistence: 'p',
		ReplicaIdentity: 'd', HasPrimaryKey: true, Owner: "app_owner", Select: true, SchemaUsage: true,
		Captured: true, Published: true}
}

func ptr[T any](v T) *T { return &v }

func evalRule(t *testing.T, id string, f *facts.Facts) rules.Result {
	t.Helper()
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.Evaluate(reg, f, nil) {
		if r.Rule == id {
			return r
		}
	}
	t.Fatalf("rule %q not in the registry", id)
	return rules.Result{}
}

func TestRuleCases(t *testing.T) {
	for _, family := range caseFamilies {
		for _, tc := range family {
			t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
				f := healthy()
				if tc.mutate != nil {
					tc.mutate(f)
				}
				res := evalRule(t, tc.rule, f)
				if res.Status != tc.want {
					t.Fatalf("status = %s, want %s (message: %s)", res.Status, tc.want, res.Message)
				}
				if res.Message == "" {
					t.Error("empty message")
				}
				if tc.objects != nil && !slices.Equal(res.Objects, tc.objects) {
					t.Errorf("objects = %q, want %q", res.Objects, tc.objects)
				}
				text := res.Message + "\n" + res.Remediation + "\n" + strings.Join(res.FixSQL, "\n")
				if tc.contains != "" && !strings.Contains(text, tc.contains) {
					t.Errorf("result text does not contain %q:\n%s", tc.contains, text)
				}
				if (res.Status == rules.StatusFail || res.Status == rules.StatusWarn) && res.Remediation == "" {
					t.Error("a finding without remediation")
				}
			})
		}
	}
}

// TestEveryRuleHasCases makes a rule without tests a CI failure: each needs
// a passing case, a finding, and an error when its facts are missing.
func TestEveryRuleHasCases(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[rules.Status]bool{}
	for _, family := range caseFamilies {
		for _, tc := range family {
			if seen[tc.rule] == nil {
				seen[tc.rule] = map[rules.Status]bool{}
			}
			s := tc.want
			if s == rules.StatusWarn {
				s = rules.StatusFail
			}
			seen[tc.rule][s] = true
		}
	}
	for _, id := range reg.IDs() {
		for _, s := range []rules.Status{rules.StatusPass, rules.StatusFail, rules.StatusError} {
			if !seen[id][s] {
				t.Errorf("rule %s has no fact-snapshot case with status %s (or warn)", id, s)
			}
		}
	}
	for id := range seen {
		if _, ok := reg.Lookup(id); !ok {
			t.Errorf("cases for unknown rule %s", id)
		}
	}
}

func TestRegistryIsValid(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reg.All() {
		if !strings.HasSuffix(strings.TrimSpace(r.Fix), ".") {
			t.Errorf("%s: Fix should end with a period", r.ID)
		}
	}
}

// TestConnectFailureErrorsDatabaseRules: when nothing could connect, rules
// that need the database report error with the cause, and rules that need
// none (pooler-hostname) are still judged.
func TestConnectFailureErrorsDatabaseRules(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	f := &facts.Facts{
		Target:  facts.Target{Host: "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", Port: 5432, Database: "app", User: "u"},
		Connect: facts.Probe{Attempted: true, Err: &facts.Error{Op: "connect", Message: "dial tcp: lookup failed"}},
	}
	for _, r := range rules.Evaluate(reg, f, nil) {
		rule, _ := reg.Lookup(r.Rule)
		switch {
		case slices.Equal(rule.Needs, []facts.Section{facts.SectionTarget}) && r.Status == rules.StatusSkip:
			// Judged without a connection, and with nothing to judge here
			// (connector-config without a connector configuration).
		case r.Rule == "pooler-hostname":
			if r.Status != rules.StatusFail || !strings.Contains(r.Remediation, "ep-cool-darkness-123456.us-east-2.aws.neon.tech") {
				t.Errorf("pooler-hostname = %s %q %q", r.Status, r.Message, r.Remediation)
			}
		case r.Status != rules.StatusError:
			t.Errorf("%s = %s, want error", r.Rule, r.Status)
		case !strings.Contains(r.Message, "lookup failed"):
			t.Errorf("%s message %q does not give the cause", r.Rule, r.Message)
		}
	}
}
