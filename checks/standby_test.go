package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func srvStandby(num int) func(*facts.Facts) {
	return func(f *facts.Facts) { tbVersion(num)(f); f.Server.InRecovery = true }
}

var standbyCases = []ruleCase{
	{name: "primary", rule: "standby", want: rules.StatusPass, contains: "connected to a primary"},
	{name: "standby before 16", rule: "standby", want: rules.StatusFail, objects: []string{"server 15.18"},
		contains: "logical decoding on a standby needs PostgreSQL 16", mutate: srvStandby(150018)},
	{name: "16 with signal-table snapshots", rule: "standby", want: rules.StatusFail, contains: "signal-table snapshots cannot write",
		mutate: func(f *facts.Facts) { srvStandby(160004)(f); f.Options.SnapshotMode = "signal-table" }},
	{name: "16 self-hosted", rule: "standby", want: rules.StatusWarn, contains: "ALTER SYSTEM SET hot_standby_feedback = on;",
		mutate: srvStandby(160004)},
	{name: "16 says feedback state", rule: "standby", want: rules.StatusWarn, contains: "hot_standby_feedback is off",
		mutate: srvStandby(160004)},
	{name: "17 feedback on", rule: "standby", want: rules.StatusWarn, contains: "hot_standby_feedback is already on",
		mutate: func(f *facts.Facts) {
			srvStandby(170006)(f)
			f.Options.SnapshotMode = "read-only"
			f.Settings.Values["hot_standby_feedback"] = "on"
		}},
	{name: "16 rds replica", rule: "standby", want: rules.StatusWarn, contains: "read replica's DB parameter group",
		mutate: func(f *facts.Facts) { srvStandby(160004)(f); f.Platform.Name = facts.PlatformRDS }},
	{name: "16 settings unreadable", rule: "standby", want: rules.StatusWarn, contains: "hot_standby_feedback is unknown",
		mutate: func(f *facts.Facts) { srvStandby(160004)(f); f.Settings = facts.Settings{Err: readFailed} }},
	{name: "unreadable", rule: "standby", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Server = facts.Server{Err: readFailed} }},
	{name: "no connection", rule: "standby", want: rules.StatusError, mutate: tbNoConnect},
}
