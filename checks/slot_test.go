package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// connSlot is the connector's slot in a healthy() snapshot.
func connSlot(f *facts.Facts) *facts.Slot {
	for i := range f.Slots.Slots {
		if f.Slots.Slots[i].Name == f.Options.Slot {
			return &f.Slots.Slots[i]
		}
	}
	panic("healthy() has no connector slot")
}

func noSlot(f *facts.Facts) { f.Slots.Slots = nil }

func slotsErr(f *facts.Facts) {
	f.Slots.Err = &facts.Error{Op: "read replication slots", Message: "permission denied for view pg_replication_slots", SQLState: "42501"}
}

func connectFailed(f *facts.Facts) {
	f.Connect.Err = &facts.Error{Op: "connect", Message: "connection refused"}
}

// pg12 turns the snapshot into a PostgreSQL 12 one: no wal_status and friends.
func pg12(f *facts.Facts) {
	f.Server = facts.Server{VersionNum: 120022, Version: "12.22"}
	s := connSlot(f)
	s.WalStatus, s.SafeWalSize, s.TwoPhase = "", nil, nil
}

// pg18 turns the snapshot into a PostgreSQL 18 one with an inactive slot.
func pg18(f *facts.Facts) {
	f.Server = facts.Server{VersionNum: 180004, Version: "18.4"}
	f.Settings.Values["idle_replication_slot_timeout"] = "0"
	s := connSlot(f)
	s.Conflicting, s.Failover = ptr(false), ptr(false)
	since := f.GatheredAt.Add(-3 * time.Hour)
	s.InactiveSince = &since
}

func otherSlot(name string, retained int64, active bool) facts.Slot {
	return facts.Slot{Name: name, Plugin: "pgoutput", Type: "logical", Database: "app", InCurrentDatabase: true,
		Active: active, RetainedBytes: ptr(retained), WalStatus: "extended"}
}

// peekFailed records a failed peek.
func peekFailed(state, msg string) func(f *facts.Facts) {
	return func(f *facts.Facts) {
		f.Peek.Err = &facts.Error{Op: "peek at the replication slot", Message: msg, SQLState: state}
	}
}

// A slot name nobody can create; remediation SQL must keep it a literal.
const hostileSlot = `Slot "x"; DROP TABLE t; --'`

var slotCases = []ruleCase{
	// slot-exists
	{name: "exists", rule: "slot-exists", want: rules.StatusPass, contains: "pgoutput"},
	{name: "missing", rule: "slot-exists", mutate: noSlot, want: rules.StatusFail,
		objects:  []string{"slot streamkap_pgoutput_slot"},
		contains: "SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');"},
	{name: "missing on neon", rule: "slot-exists", want: rules.StatusFail, contains: "restoring a branch removes",
		mutate: func(f *facts.Facts) { noSlot(f); f.Platform.Name = facts.PlatformNeon }},
	{name: "missing on rds", rule: "slot-exists", want: rules.StatusFail, contains: "rds_replication",
		mutate: func(f *facts.Facts) { noSlot(f); f.Platform.Name = facts.PlatformRDS }},
	{name: "hostile name is not a valid slot name", rule: "slot-exists", want: rules.StatusFail,
		mutate:  func(f *facts.Facts) { f.Options.Slot = hostileSlot },
		objects: []string{`slot "Slot ""x""; DROP TABLE t; --'"`}, contains: `'Slot "x"; DROP TABLE t; --''' is not a name PostgreSQL accepts`},
	{name: "another slot of the same name in another case", rule: "slot-exists", want: rules.StatusFail,
		mutate: func(f *facts.Facts) { f.Options.Slot = "Streamkap_PgOutput_Slot" }, contains: "lower-case"},
	{name: "slots unreadable", rule: "slot-exists", mutate: slotsErr, want: rules.StatusError, contains: "permission denied"},
	{name: "no connection", rule: "slot-exists", mutate: connectFailed, want: rules.StatusError, contains: "connection refused"},

	// slot-config
	{name: "pgoutput logical here", rule: "slot-config", want: rules.StatusPass, contains: "permanent logical pgoutput"},
	{name: "physical", rule: "slot-config", want: rules.StatusFail, objects: []string{"slot streamkap_pgoutput_slot"},
		contains: "is a physical slot", mutate: func(f *facts.Facts) {
			s := connSlot(f)
			s.Type, s.Plugin, s.Database, s.InCurrentDatabase = "physical", "", "", false
		}},
	{name: "test_decoding", rule: "slot-config", want: rules.StatusFail, contains: "output plugin test_decoding, not pgoutput",
		mutate: func(f *facts.Facts) { connSlot(f).Plugin = "test_decoding" }},
	{name: "drop is a manual step with a warning", rule: "slot-config", want: rules.StatusFail,
		contains: "SELECT pg_drop_replication_slot('streamkap_pgoutput_slot'); SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput'); Warning:",
		mutate:   func(f *facts.Facts) { connSlot(f).Plugin = "wal2json" }},
	{name: "temporary", rule: "slot-config", want: rules.StatusFail, contains: "temporary: it disappears when the session that created it (PID 4242) ends",
		mutate: func(f *facts.Facts) {
			s := connSlot(f)
			s.Temporary, s.Active, s.ActivePID = true, true, 4242
		}},
	{name: "another database", rule: "slot-config", want: rules.StatusFail, contains: `belongs to database "Other DB", not app`,
		mutate: func(f *facts.Facts) {
			s := connSlot(f)
			s.Database, s.InCurrentDatabase = "Other DB", false
		}},
	{name: "missing", rule: "slot-config", mutate: noSlot, want: rules.StatusSkip, contains: "does not exist"},
	{name: "slots unreadable", rule: "slot-config", mutate: slotsErr, want: rules.StatusError},
	{name: "no connection", rule: "slot-config", mutate: connectFailed, want: rules.StatusError},

	// slot-health
	{name: "reserved and small", rule: "slot-health", want: rules.StatusPass, contains: "wal_status reserved, retains 1.0 MB"},
	{name: "pg12 judges retained WAL only", rule: "slot-health", mutate: pg12, want: rules.StatusPass,
		contains: "PostgreSQL 12 has no wal_status"},
	{name: "pg12 over threshold", rule: "slot-health", want: rules.StatusWarn, contains: "PostgreSQL 12 has no wal_status",
		mutate: func(f *facts.Facts) { pg12(f); connSlot(f).RetainedBytes = ptr(int64(5 << 30)) }},
	{name: "lost", rule: "slot-health", want: rules.StatusFail, objects: []string{"slot streamkap_pgoutput_slot"},
		contains: "wal_status = lost", mutate: func(f *facts.Facts) {
			s := connSlot(f)
			s.WalStatus, s.RestartLSN, s.RetainedBytes, s.SafeWalSize = "lost", "", nil, nil
		}},
	{name: "invalidation reason on 17+", rule: "slot-health", want: rules.StatusFail, contains: "invalidation_reason = idle_timeout",
		mutate: func(f *facts.Facts) {
			pg18(f)
			s := connSlot(f)
			s.WalStatus, s.InvalidationReason = "lost", "idle_timeout"
		}},
	{name: "conflicting on 16+", rule: "slot-health", want: rules.StatusFail, contains: "conflicting = true",
		mutate: func(f *facts.Facts) { connSlot(f).Conflicting = ptr(true) }},
	{name: "invalidated remediation is manual", rule: "slot-health", want: rules.StatusFail,
		contains: "cdcpreflight never drops slots", mutate: func(f *facts.Facts) { connSlot(f).InvalidationReason = "rows_removed" }},
	{name: "unreserved warns", rule: "slot-health", want: rules.StatusWarn, contains: "wal_status = unreserved",
		mutate: func(f *facts.Facts) { s := connSlot(f); s.WalStatus, s.SafeWalSize = "unreserved", ptr(int64(-1<<20)) }},
	{name: "retained over threshold warns", rule: "slot-health", want: rules.StatusWarn,
		contains: "retains 2.0 GB of WAL, over --retained-wal-warn 1.0 GB",
		mutate:   func(f *facts.Facts) { connSlot(f).RetainedBytes = ptr(int64(2 << 30)) }},
	{name: "active but lagging", rule: "slot-health", want: rules.StatusWarn, contains: "its consumer lags",
		mutate: func(f *facts.Facts) {
			s := connSlot(f)
			s.Active, s.ActivePID, s.RetainedBytes = true, 77, ptr(int64(2<<30))
		}},
	{name: "missing", rule: "slot-health", mutate: noSlot, want: rules.StatusSkip},
	{name: "slots unreadable", rule: "slot-health", mutate: slotsErr, want: rules.StatusError},
	{name: "no connection", rule: "slot-health", mutate: connectFailed, want: rules.StatusError},

	// slot-lifetime
	{name: "inactive, self-hosted 15", rule: "slot-lifetime", want: rules.StatusPass, contains: "PostgreSQL 15 has no idle_replication_slot_timeout"},
	{name: "pg18 timeout off", rule: "slot-lifetime", mutate: pg18, want: rules.StatusPass, contains: "idle_replication_slot_timeout is 0"},
	{name: "active on neon", rule: "slot-lifetime", want: rules.StatusPass, contains: "active (PID 99)",
		mutate: func(f *facts.Facts) {
			f.Platform.Name = facts.PlatformNeon
			s := connSlot(f)
			s.Active, s.ActivePID = true, 99
		}},
	{name: "inactive on neon", rule: "slot-lifetime", want: rules.StatusWarn, objects: []string{"slot streamkap_pgoutput_slot"},
		contains: "Neon removes inactive slots after about 40 hours", mutate: func(f *facts.Facts) { f.Platform.Name = facts.PlatformNeon }},
	{name: "inactive on neon with another active slot", rule: "slot-lifetime", want: rules.StatusWarn, contains: "1 other slot is active now",
		mutate: func(f *facts.Facts) {
			f.Platform.Name = facts.PlatformNeon
			f.Slots.Slots = append(f.Slots.Slots, otherSlot("busy", 1<<20, true))
		}},
	{name: "pg18 idle timeout", rule: "slot-lifetime", want: rules.StatusWarn,
		contains: "idle for 3h0m0s (since 2026-11-24T09:00:00Z) of the 24h0m0s idle_replication_slot_timeout",
		mutate:   func(f *facts.Facts) { pg18(f); f.Settings.Values["idle_replication_slot_timeout"] = "86400" }},
	{name: "pg18 idle timeout due", rule: "slot-lifetime", want: rules.StatusWarn, contains: "(due now)",
		mutate: func(f *facts.Facts) { pg18(f); f.Settings.Values["idle_replication_slot_timeout"] = "3600" }},
	{name: "pg18 idle timeout fix sql on self-hosted", rule: "slot-lifetime", want: rules.StatusWarn,
		contains: "ALTER SYSTEM SET idle_replication_slot_timeout = 0;",
		mutate:   func(f *facts.Facts) { pg18(f); f.Settings.Values["idle_replication_slot_timeout"] = "60" }},
	{name: "pg18 idle timeout without a platform name is self-hosted", rule: "slot-lifetime", want: rules.StatusWarn,
		contains: "ALTER SYSTEM SET idle_replication_slot_timeout = 0;",
		mutate: func(f *facts.Facts) {
			pg18(f)
			f.Settings.Values["idle_replication_slot_timeout"], f.Platform.Name = "60", ""
		}},
	{name: "pg18 idle timeout on a platform this version does not know", rule: "slot-lifetime", want: rules.StatusWarn,
		contains: "in the platform's parameter settings",
		mutate: func(f *facts.Facts) {
			pg18(f)
			f.Settings.Values["idle_replication_slot_timeout"], f.Platform.Name = "60", "heroku"
		}},
	{name: "missing", rule: "slot-lifetime", mutate: noSlot, want: rules.StatusSkip},
	{name: "settings unreadable", rule: "slot-lifetime", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Settings.Err = &facts.Error{Op: "read settings", Message: "timeout"} }},
	{name: "no connection", rule: "slot-lifetime", mutate: connectFailed, want: rules.StatusError},

	// slot-peek
	{name: "nothing pending", rule: "slot-peek", want: rules.StatusPass, contains: "no change pending"},
	{name: "changes seen", rule: "slot-peek", want: rules.StatusPass, contains: "saw 4 changes",
		mutate: func(f *facts.Facts) { f.Peek.Changes = 4 }},
	{name: "slot created before the publication (10-17)", rule: "slot-peek", want: rules.StatusFail,
		objects:  []string{"slot streamkap_pgoutput_slot", "publication streamkap_pub"},
		contains: "the slot was created before the publication",
		mutate:   peekFailed("42704", `publication "streamkap_pub" does not exist`)},
	{name: "slot created before the publication: remedy", rule: "slot-peek", want: rules.StatusFail,
		contains: "SELECT pg_drop_replication_slot('streamkap_pgoutput_slot'); SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');",
		mutate:   peekFailed("42704", `publication "streamkap_pub" does not exist`)},
	{name: "slot created before the publication (18 warning)", rule: "slot-peek", want: rules.StatusFail,
		contains: "skips those changes silently", mutate: func(f *facts.Facts) {
			f.Peek.Changes = 4
			f.Peek.Notices = []string{`WARNING: skipped loading publication "streamkap_pub"`}
		}},
	{name: "publication dropped meanwhile", rule: "slot-peek", want: rules.StatusFail, contains: "publication-exists",
		mutate: func(f *facts.Facts) {
			f.Publication.Exists = false
			peekFailed("42704", `publication "streamkap_pub" does not exist`)(f)
		}},
	{name: "became active", rule: "slot-peek", want: rules.StatusSkip, contains: "became active in another process",
		mutate: peekFailed("55006", `replication slot "streamkap_pgoutput_slot" is active for PID 4242`)},
	{name: "invalidated", rule: "slot-peek", want: rules.StatusFail, contains: "is invalidated",
		mutate: peekFailed("55000", `can no longer get changes from replication slot "streamkap_pgoutput_slot"`)},
	{name: "too slow", rule: "slot-peek", want: rules.StatusWarn, contains: "did not finish within statement_timeout",
		mutate: peekFailed("57014", "canceling statement due to statement timeout")},
	{name: "other error", rule: "slot-peek", want: rules.StatusFail, contains: "was not created in this database",
		mutate: peekFailed("55000", `replication slot "streamkap_pgoutput_slot" was not created in this database`)},
	{name: "not attempted", rule: "slot-peek", want: rules.StatusSkip, contains: "not peeked: slot is busy",
		mutate: func(f *facts.Facts) { f.Peek = facts.SlotPeek{SkipReason: "slot is busy"} }},
	{name: "neither run nor skipped", rule: "slot-peek", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Peek = facts.SlotPeek{} }},
	{name: "slots unreadable", rule: "slot-peek", mutate: slotsErr, want: rules.StatusError},
	{name: "no connection", rule: "slot-peek", mutate: connectFailed, want: rules.StatusError},

	// other-slots
	{name: "none", rule: "other-slots", want: rules.StatusPass, contains: "no other inactive logical slot"},
	{name: "small, active or physical ones are fine", rule: "other-slots", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			phys := otherSlot("replica", 5<<30, false)
			phys.Type, phys.Plugin = "physical", ""
			f.Slots.Slots = append(f.Slots.Slots, otherSlot("small", 1<<20, false), otherSlot("busy", 5<<30, true), phys)
		}},
	{name: "connector's own big slot is slot-health's business", rule: "other-slots", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { connSlot(f).RetainedBytes = ptr(int64(5 << 30)) }},
	{name: "stale slots listed, largest first", rule: "other-slots", want: rules.StatusWarn,
		objects: []string{"slot old_connector", "slot abandoned_test"},
		contains: "2 other inactive logical slots retaining more than 1.0 GB of WAL with nothing consuming it: " +
			"old_connector (5.0 GB, database app, plugin pgoutput), abandoned_test (2.0 GB, database app, plugin pgoutput)",
		mutate: func(f *facts.Facts) {
			f.Slots.Slots = append(f.Slots.Slots, otherSlot("abandoned_test", 2<<30, false), otherSlot("old_connector", 5<<30, false))
		}},
	{name: "drops are manual", rule: "other-slots", want: rules.StatusWarn, contains: "drop it yourself: SELECT pg_drop_replication_slot('old_connector');",
		mutate: func(f *facts.Facts) { f.Slots.Slots = append(f.Slots.Slots, otherSlot("old_connector", 5<<30, false)) }},
	{name: "slots unreadable", rule: "other-slots", mutate: slotsErr, want: rules.StatusError},
	{name: "no connection", rule: "other-slots", mutate: connectFailed, want: rules.StatusError},
}

// TestSlotFixSQLNeverDrops: dropping a slot loses its consumer's position,
// so it is only ever shown as a manual step, never as SQL that fix applies.
func TestSlotFixSQLNeverDrops(t *testing.T) {
	for _, tc := range slotCases {
		f := healthy()
		if tc.mutate != nil {
			tc.mutate(f)
		}
		res := evalRule(t, tc.rule, f)
		for _, sql := range res.FixSQL {
			if strings.Contains(sql, "pg_drop_replication_slot") {
				t.Errorf("%s/%s: fix SQL drops: %s", tc.rule, tc.name, sql)
			}
		}
	}
}
