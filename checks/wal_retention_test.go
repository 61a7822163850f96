package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func srvKeep(v string) func(*facts.Facts) {
	return func(f *facts.Facts) { f.Settings.Values["max_slot_wal_keep_size"] = v }
}

var walRetentionCases = []ruleCase{
	{name: "capped", rule: "wal-retention-limit", want: rules.StatusPass, contains: "max_slot_wal_keep_size = 10.0 GB"},
	{name: "unlimited", rule: "wal-retention-limit", want: rules.StatusWarn, objects: []string{"setting max_slot_wal_keep_size"},
		contains: "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';", mutate: srvKeep("-1")},
	{name: "unlimited on rds", rule: "wal-retention-limit", want: rules.StatusWarn, contains: "DB parameter group",
		mutate: func(f *facts.Facts) { srvKeep("-1")(f); f.Platform.Name = facts.PlatformRDS }},
	{name: "unlimited on neon", rule: "wal-retention-limit", want: rules.StatusWarn, contains: "Neon does not let you change",
		mutate: func(f *facts.Facts) { srvKeep("-1")(f); f.Platform.Name = facts.PlatformNeon }},
	{name: "zero", rule: "wal-retention-limit", want: rules.StatusFail, contains: "any connector lag invalidates its slot",
		mutate: srvKeep("0")},
	{name: "pg 12", rule: "wal-retention-limit", want: rules.StatusSkip, contains: "PostgreSQL 12 has no max_slot_wal_keep_size",
		mutate: func(f *facts.Facts) { tbVersion(120022)(f); delete(f.Settings.Values, "max_slot_wal_keep_size") }},
	{name: "not visible", rule: "wal-retention-limit", want: rules.StatusError,
		mutate: func(f *facts.Facts) { delete(f.Settings.Values, "max_slot_wal_keep_size") }},
	{name: "garbled", rule: "wal-retention-limit", want: rules.StatusError, mutate: srvKeep("lots")},
	{name: "settings unreadable", rule: "wal-retention-limit", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Settings = facts.Settings{Err: readFailed} }},
	{name: "no connection", rule: "wal-retention-limit", want: rules.StatusError, mutate: tbNoConnect},
}
