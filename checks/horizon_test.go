package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// slotAge sets the connector slot's catalog_xmin age and the database's.
func slotAge(slot, db int64) func(*facts.Facts) {
	return func(f *facts.Facts) {
		f.XIDHorizon.Slots[0].CatalogXminAge = ptr(slot)
		f.XIDHorizon.Databases[0].Age = db
	}
}

var horizonCases = []ruleCase{
	{name: "young", rule: "slot-xid-horizon", want: rules.StatusPass, contains: "the oldest slot hold is streamkap_pgoutput_slot's, 1,200 transactions"},
	{name: "no slot holds", rule: "slot-xid-horizon", want: rules.StatusPass, contains: "no slot holds an xmin or catalog_xmin",
		mutate: func(f *facts.Facts) { f.XIDHorizon.Slots = nil }},
	{name: "half way", rule: "slot-xid-horizon", want: rules.StatusWarn, objects: []string{"slot streamkap_pgoutput_slot"},
		contains: "holds a catalog_xmin 120,000,000 transactions old (60% of autovacuum_freeze_max_age 200,000,000)",
		mutate:   slotAge(120_000_000, 90_000_000)},
	{name: "database past freeze max age, pinned", rule: "slot-xid-horizon", want: rules.StatusWarn,
		objects:  []string{"slot streamkap_pgoutput_slot", "database app"},
		contains: "database app is 250,000,000 transactions old (datfrozenxid), past autovacuum_freeze_max_age 200,000,000: autovacuum forces anti-wraparound vacuums there; slot streamkap_pgoutput_slot holds it there: VACUUM can freeze it no further than the slot's catalog_xmin, 250,000,100 transactions old",
		mutate:   slotAge(250_000_100, 250_000_000)},
	{name: "database older than the slot, which keeps it overdue", rule: "slot-xid-horizon", want: rules.StatusWarn,
		contains: "slot streamkap_pgoutput_slot holds it there: VACUUM can freeze it no further than the slot's catalog_xmin, 210,000,000",
		mutate:   slotAge(210_000_000, 260_000_000)},
	{name: "database old, no slot to blame", rule: "slot-xid-horizon", want: rules.StatusWarn, contains: "no replication slot holds it there",
		mutate: slotAge(1200, 210_000_000)},
	{name: "physical slot xmin", rule: "slot-xid-horizon", want: rules.StatusWarn, contains: "slot standby1 (physical, active) holds an xmin",
		mutate: func(f *facts.Facts) {
			f.XIDHorizon.Slots = append(f.XIDHorizon.Slots, facts.SlotXID{Name: "standby1", Type: "physical", Active: true, XminAge: ptr(int64(150_000_000))})
		}},
	{name: "past failsafe", rule: "slot-xid-horizon", want: rules.StatusFail, contains: "The failsafe age is 1,600,000,000 (vacuum_failsafe_age)",
		mutate: slotAge(1_700_000_000, 1_700_000_000)},
	{name: "failsafe floor", rule: "slot-xid-horizon", want: rules.StatusFail,
		contains: "105,000 (105% of autovacuum_freeze_max_age, which VACUUM uses when vacuum_failsafe_age, 0, is lower)",
		mutate: both(slotAge(110_000, 110_000), func(f *facts.Facts) {
			f.XIDHorizon.FreezeMaxAge, f.XIDHorizon.FailsafeAge = 100_000, ptr(int64(0))
		})},
	{name: "13 has no failsafe", rule: "slot-xid-horizon", want: rules.StatusWarn, contains: "vacuum_failsafe_age's default from PostgreSQL 14",
		mutate: both(slotAge(150_000_000, 1000), func(f *facts.Facts) { f.XIDHorizon.FailsafeAge = nil })},
	{name: "drop advice", rule: "slot-xid-horizon", want: rules.StatusWarn, contains: "SELECT pg_drop_replication_slot('streamkap_pgoutput_slot');",
		mutate: slotAge(120_000_000, 90_000_000)},
	{name: "unreadable", rule: "slot-xid-horizon", want: rules.StatusError, mutate: func(f *facts.Facts) { f.XIDHorizon.Err = readFailed }},
	{name: "no connection", rule: "slot-xid-horizon", want: rules.StatusError, mutate: tbNoConnect},
}

// withToast gives the captured table public.orders out-of-line values.
func withToast(f *facts.Facts) {
	tbKeyed(f)
	// The read leaves out the replica identity's columns (the key, id).
	f.Toast.Tables = []facts.ToastTable{{Table: "public.orders", Columns: []string{"body", "meta"}, LiveTuples: 40}}
}

var toastCases = []ruleCase{
	{name: "none", rule: "toast-unchanged", want: rules.StatusPass, contains: "holds out-of-line (TOASTed) values"},
	{name: "toasted", rule: "toast-unchanged", want: rules.StatusWarn, objects: []string{"public.orders"},
		contains: "public.orders (body, meta; 40 out-of-line chunks)", mutate: withToast},
	{name: "full step", rule: "toast-unchanged", want: rules.StatusWarn, contains: "ALTER TABLE public.orders REPLICA IDENTITY FULL;",
		mutate: withToast},
	{name: "pages only", rule: "toast-unchanged", want: rules.StatusWarn, contains: "3 TOAST pages at the last VACUUM",
		mutate: both(withToast, func(f *facts.Facts) { f.Toast.Tables[0].LiveTuples, f.Toast.Tables[0].Pages = 0, 3 })},
	{name: "only the key toastable", rule: "toast-unchanged", want: rules.StatusPass,
		mutate: both(withToast, func(f *facts.Facts) { f.Toast.Tables[0].Columns = nil })},
	{name: "not captured", rule: "toast-unchanged", want: rules.StatusPass,
		mutate: both(withToast, func(f *facts.Facts) { f.Tables.Tables[1].Captured = false })},
	{name: "full already", rule: "toast-unchanged", want: rules.StatusPass,
		mutate: both(withToast, func(f *facts.Facts) { f.Tables.Tables[1].ReplicaIdentity = 'f' })},
	{name: "no publication", rule: "toast-unchanged", want: rules.StatusSkip, contains: "see publication-exists",
		mutate: both(withToast, func(f *facts.Facts) { f.Publication = facts.Publication{Name: "streamkap_pub"} })},
	{name: "unreadable", rule: "toast-unchanged", want: rules.StatusError, mutate: func(f *facts.Facts) { f.Toast.Err = readFailed }},
	{name: "tables unreadable", rule: "toast-unchanged", want: rules.StatusError, mutate: func(f *facts.Facts) { f.Tables.Err = readFailed }},
}
