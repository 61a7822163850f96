package checks

import (
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

var readFailed = &facts.Error{Op: "read", Message: "permission denied", SQLState: "42501"}

var serverCases = []ruleCase{
	{name: "supported", rule: "server-version", want: rules.StatusPass},
	{name: "9.6", rule: "server-version", want: rules.StatusFail, contains: "9.6 is older than 10",
		mutate: func(f *facts.Facts) { f.Server.VersionNum, f.Server.Version = 90624, "9.6.24" }},
	{name: "end of life", rule: "server-version", want: rules.StatusWarn, contains: "end of life on 2026-11-12",
		mutate: func(f *facts.Facts) { f.Server.VersionNum, f.Server.Version = 140019, "14.19" }},
	{name: "14 before its end of life", rule: "server-version", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Server.VersionNum = 140019
			f.GatheredAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}},
	{name: "future major", rule: "server-version", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { f.Server.VersionNum = 190001 }},
	{name: "facts missing", rule: "server-version", want: rules.StatusError, contains: "permission denied",
		mutate: func(f *facts.Facts) { f.Server = facts.Server{Err: readFailed} }},

	{name: "logical", rule: "wal-level", want: rules.StatusPass},
	{name: "replica self-hosted", rule: "wal-level", want: rules.StatusFail, objects: []string{"setting wal_level"},
		contains: "ALTER SYSTEM SET wal_level = logical;",
		mutate:   func(f *facts.Facts) { f.Settings.Values["wal_level"] = "replica" }},
	{name: "replica on neon", rule: "wal-level", want: rules.StatusFail, contains: "Logical Replication → Enable",
		mutate: func(f *facts.Facts) {
			f.Settings.Values["wal_level"] = "replica"
			f.Platform.Name = facts.PlatformNeon
		}},
	{name: "replica on rds", rule: "wal-level", want: rules.StatusFail, contains: "rds.logical_replication = 1",
		mutate: func(f *facts.Facts) {
			f.Settings.Values["wal_level"] = "replica"
			f.Platform.Name = facts.PlatformRDS
		}},
	{name: "replica on cloud sql", rule: "wal-level", want: rules.StatusFail, contains: "cloudsql.logical_decoding = on",
		mutate: func(f *facts.Facts) {
			f.Settings.Values["wal_level"] = "minimal"
			f.Platform.Name = facts.PlatformCloudSQL
		}},
	{name: "not visible", rule: "wal-level", want: rules.StatusError,
		mutate: func(f *facts.Facts) { delete(f.Settings.Values, "wal_level") }},
	{name: "settings unreadable", rule: "wal-level", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Settings = facts.Settings{Err: readFailed} }},

	{name: "room left", rule: "replication-capacity", want: rules.StatusPass},
	{name: "slots full", rule: "replication-capacity", want: rules.StatusFail, objects: []string{"setting max_replication_slots"},
		contains: "every replication slot is in use (10 of max_replication_slots 10)",
		mutate:   func(f *facts.Facts) { f.Replication.SlotsUsed = 10 }},
	{name: "slots full but ours exists", rule: "replication-capacity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { f.Replication.SlotsUsed, f.Replication.SlotExists = 10, true }},
	{name: "wal senders busy on neon", rule: "replication-capacity", want: rules.StatusFail, contains: "Neon fixes max_wal_senders at 10",
		mutate: func(f *facts.Facts) {
			f.Replication.WalSendersUsed = 10
			f.Platform.Name = facts.PlatformNeon
		}},
	{name: "no slots configured", rule: "replication-capacity", want: rules.StatusFail,
		contains: "max_replication_slots is 0: the server allows no replication slot",
		mutate:   func(f *facts.Facts) { f.Replication.MaxReplicationSlots, f.Replication.SlotsUsed = 0, 0 }},
	{name: "unreadable", rule: "replication-capacity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Replication = facts.ReplicationUsage{Err: readFailed} }},
}
