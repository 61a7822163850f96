package checks

import (
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// behindPgBouncer is what the catalog connection sees through PgBouncer
// in front of a server on a Unix socket.
func behindPgBouncer(f *facts.Facts) {
	f.Backend.ReportedPID, f.Backend.PID = 897067929, 21474
	f.Backend.ServerAddr, f.Backend.ServerPort = "", 0
	refusedReplication(f)
}

// refusedReplication is PgBouncer before 1.23 refusing the probe.
func refusedReplication(f *facts.Facts) {
	f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", Message: "unsupported startup parameter: replication"}
}

var poolerCases = []ruleCase{
	{name: "direct", rule: "pooler-detected", want: rules.StatusPass, contains: "(PID 4242) is the one that started for this connection"},
	{name: "pgbouncer", rule: "pooler-detected", want: rules.StatusFail, objects: []string{"host db.internal.example:5432"},
		contains: "told at startup that its server process is PID 897067929, but pg_backend_pid() is 21474", mutate: behindPgBouncer},
	{name: "pgbouncer refused replication", rule: "pooler-detected", want: rules.StatusFail,
		contains: "The replication connection failed through it: unsupported startup parameter: replication",
		mutate:   behindPgBouncer},
	{name: "pgbouncer 1.23 passes replication", rule: "pooler-detected", want: rules.StatusWarn, contains: "got through it",
		mutate: both(behindPgBouncer, func(f *facts.Facts) { f.ReplProbe.Err = nil })},
	{name: "unix socket upstream", rule: "pooler-detected", want: rules.StatusFail, contains: "Unix-socket client", mutate: behindPgBouncer},
	{name: "reused server process", rule: "pooler-detected", want: rules.StatusFail, contains: "served another client before",
		mutate: both(refusedReplication, func(f *facts.Facts) { f.Backend.StartedBefore = 600 })},
	{name: "application_name_add_host", rule: "pooler-detected", want: rules.StatusFail, contains: "with the client's address appended",
		mutate: both(refusedReplication, func(f *facts.Facts) { f.Backend.ApplicationName = "cdcpreflight - 10.1.2.3:51234" })},
	{name: "neon proxy", rule: "pooler-detected", want: rules.StatusPass, contains: "Neon's proxy replaces the process ID",
		mutate: both(behindPgBouncer, func(f *facts.Facts) { f.Platform.Name = facts.PlatformNeon })},
	{name: "neon pooler reuses", rule: "pooler-detected", want: rules.StatusFail, contains: "without -pooler",
		mutate: both(behindPgBouncer, func(f *facts.Facts) { f.Platform.Name, f.Backend.StartedBefore = facts.PlatformNeon, 30 })},
	{name: "azure", rule: "pooler-detected", want: rules.StatusFail, contains: "not the built-in PgBouncer on port 6432",
		mutate: both(behindPgBouncer, func(f *facts.Facts) { f.Platform.Name = facts.PlatformAzure })},
	{name: "proxy on another port", rule: "pooler-detected", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { f.Backend.ServerPort = 5433 }},
	{name: "snapshot from before the section", rule: "pooler-detected", want: rules.StatusError,
		contains: "a snapshot saved by an older cdcpreflight", mutate: func(f *facts.Facts) { f.Backend = facts.Backend{} }},
	{name: "unreadable", rule: "pooler-detected", want: rules.StatusError, mutate: func(f *facts.Facts) { f.Backend.Err = readFailed }},
	{name: "no connection", rule: "pooler-detected", want: rules.StatusError, mutate: tbNoConnect},
}

// consuming makes the connector's slot active in PID 777 with a WAL
// sender the role sees in detail.
func consuming(lag int64, replyAge float64) func(*facts.Facts) {
	return func(f *facts.Facts) {
		s := &f.Slots.Slots[0]
		s.Active, s.ActivePID, s.LagBytes = true, 777, ptr(lag)
		f.WalSenders.DetailsVisible = true
		f.WalSenders.Senders = []facts.WalSender{{PID: 777, ApplicationName: "streamkap", Slot: s.Name, State: "streaming",
			SentLSN: "0/3000000", FlushLSN: "0/2F80000", FlushBehind: ptr(int64(512 << 10)), FlushLag: ptr(0.4), ReplyAge: ptr(replyAge)}}
	}
}

var activityCases = []ruleCase{
	{name: "streaming", rule: "connector-activity", want: rules.StatusPass,
		contains: "slot streamkap_pgoutput_slot is active in PID 777 (streamkap): its confirmed position", mutate: consuming(512<<10, 2)},
	{name: "inactive", rule: "connector-activity", want: rules.StatusSkip, contains: "no consumer is connected"},
	{name: "slot missing", rule: "connector-activity", want: rules.StatusSkip, contains: "see slot-exists",
		mutate: func(f *facts.Facts) { f.Slots.Slots = nil }},
	{name: "not confirming", rule: "connector-activity", want: rules.StatusWarn, objects: []string{"slot streamkap_pgoutput_slot"},
		contains: "is 300.0 MB behind the current WAL, over --connector-lag-warn 256.0 MB", mutate: consuming(300<<20, 2)},
	{name: "lag threshold option", rule: "connector-activity", want: rules.StatusWarn, contains: "over --connector-lag-warn 1.0 MB",
		mutate: both(consuming(2<<20, 2), func(f *facts.Facts) { f.Options.ConnectorLagWarn = 1 << 20 })},
	{name: "silent", rule: "connector-activity", want: rules.StatusWarn, contains: "its last reply was 45s ago, over --connector-reply-warn 30s",
		mutate: consuming(1024, 45)},
	{name: "reply threshold option", rule: "connector-activity", want: rules.StatusWarn, contains: "over --connector-reply-warn 2s",
		mutate: both(consuming(1024, 3), func(f *facts.Facts) { f.Options.ConnectorReplyWarn = 2 * time.Second })},
	{name: "stopping", rule: "connector-activity", want: rules.StatusWarn, contains: "state stopping",
		mutate: both(consuming(1024, 1), func(f *facts.Facts) { f.WalSenders.Senders[0].State = "stopping" })},
	{name: "hidden details", rule: "connector-activity", want: rules.StatusPass, contains: "judged from the slot alone",
		mutate: both(consuming(1024, 1), func(f *facts.Facts) {
			f.WalSenders.DetailsVisible = false
			f.WalSenders.Senders = []facts.WalSender{{PID: 777, ApplicationName: "streamkap", Slot: "streamkap_pgoutput_slot"}}
		})},
	{name: "hidden details, lagging", rule: "connector-activity", want: rules.StatusWarn, contains: "pg_terminate_backend(777);",
		mutate: both(consuming(400<<20, 1), func(f *facts.Facts) {
			f.WalSenders.Senders = []facts.WalSender{{PID: 777, Slot: "streamkap_pgoutput_slot"}}
		})},
	{name: "wal senders unreadable", rule: "connector-activity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.WalSenders.Err = readFailed }},
	{name: "slots unreadable", rule: "connector-activity", want: rules.StatusError, mutate: func(f *facts.Facts) { f.Slots.Err = readFailed }},
}
