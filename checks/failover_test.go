package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// withStandby adds an active physical slot and its WAL sender.
func withStandby(f *facts.Facts) {
	f.Slots.Slots = append(f.Slots.Slots, facts.Slot{Name: "standby1", Type: "physical", Active: true, ActivePID: 700,
		RetainedBytes: ptr(int64(0))})
	f.WalSenders.Senders = append(f.WalSenders.Senders, facts.WalSender{PID: 700, ApplicationName: "standby1", Physical: true, Slot: "standby1"})
}

// on17 is PostgreSQL 17 with synchronized_standby_slots set to list.
func on17(list string, failover bool) func(*facts.Facts) {
	return func(f *facts.Facts) {
		tbVersion(170006)(f)
		f.Slots.Slots[0].Failover = ptr(failover)
		f.WalSenders.SynchronizedStandbySlots = ptr(list)
	}
}

func both(ms ...func(*facts.Facts)) func(*facts.Facts) {
	return func(f *facts.Facts) {
		for _, m := range ms {
			m(f)
		}
	}
}

var failoverCases = []ruleCase{
	{name: "no standby", rule: "slot-failover", want: rules.StatusPass, contains: "no standby replicates from this server"},
	{name: "neon keeps slots", rule: "slot-failover", want: rules.StatusPass, contains: "Neon has no standby to fail over to",
		mutate: both(withStandby, func(f *facts.Facts) { f.Platform.Name = facts.PlatformNeon })},
	{name: "rds standby unseen", rule: "slot-failover", want: rules.StatusPass, contains: "not stated by AWS (unverified)",
		mutate: func(f *facts.Facts) { f.Platform.Name = facts.PlatformRDS }},
	{name: "15 with a standby", rule: "slot-failover", want: rules.StatusWarn, objects: []string{`slot streamkap_pgoutput_slot`},
		contains: "pg_failover_slots", mutate: withStandby},
	{name: "15 standby without slot", rule: "slot-failover", want: rules.StatusWarn, contains: "a physical WAL sender without a slot (walreceiver), PID 9",
		mutate: func(f *facts.Facts) {
			f.WalSenders.Senders = []facts.WalSender{{PID: 9, ApplicationName: "walreceiver", Physical: true},
				{PID: 10, ApplicationName: "walproposer", Physical: true}, {PID: 11, ApplicationName: "cdc"}}
		}},
	{name: "neon walproposer is no standby", rule: "slot-failover", want: rules.StatusPass, contains: "no standby replicates",
		mutate: func(f *facts.Facts) {
			f.WalSenders.Senders = []facts.WalSender{{PID: 10, ApplicationName: "walproposer", Physical: true}}
		}},
	{name: "15 rds standby", rule: "slot-failover", want: rules.StatusWarn, contains: "AWS does not state it: unverified",
		mutate: both(withStandby, func(f *facts.Facts) { f.Platform.Name = facts.PlatformRDS })},
	{name: "17 not a failover slot", rule: "slot-failover", want: rules.StatusWarn,
		contains: `'ALTER_REPLICATION_SLOT streamkap_pgoutput_slot (FAILOVER true)'`, mutate: both(on17("", false), withStandby)},
	{name: "17 recreate as failover", rule: "slot-failover", want: rules.StatusWarn,
		contains: "pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput', false, false, true);",
		mutate:   both(on17("", false), withStandby)},
	{name: "17 azure", rule: "slot-failover", want: rules.StatusWarn, contains: "Azure then keeps failover slots",
		mutate: both(on17("", false), withStandby, func(f *facts.Facts) { f.Platform.Name = facts.PlatformAzure })},
	{name: "17 no sync worker", rule: "slot-failover", want: rules.StatusWarn, contains: "no standby synchronizes slots",
		mutate: both(on17("standby1", true), withStandby)},
	{name: "17 synced, list empty", rule: "slot-failover", want: rules.StatusWarn,
		contains: "ALTER SYSTEM SET synchronized_standby_slots = 'standby1';",
		mutate: both(on17("", true), withStandby, func(f *facts.Facts) {
			f.WalSenders.SlotSyncWorkers = []string{"standby1_slotsync worker"}
		})},
	{name: "17 synced and listed", rule: "slot-failover", want: rules.StatusPass, contains: "synchronized by standby1_slotsync worker",
		mutate: both(on17("standby1", true), withStandby, func(f *facts.Facts) {
			f.WalSenders.SlotSyncWorkers = []string{"standby1_slotsync worker"}
		})},
	{name: "on a standby", rule: "slot-failover", want: rules.StatusSkip, contains: "failover slots are the primary's",
		mutate: both(withStandby, func(f *facts.Facts) { f.Server.InRecovery = true })},
	{name: "slot missing", rule: "slot-failover", want: rules.StatusSkip, contains: "see slot-exists",
		mutate: both(withStandby, func(f *facts.Facts) { f.Slots.Slots = f.Slots.Slots[1:] })},
	{name: "wal senders unreadable", rule: "slot-failover", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.WalSenders.Err = readFailed }},
	{name: "no connection", rule: "slot-failover", want: rules.StatusError, mutate: tbNoConnect},

	{name: "15 has no setting", rule: "synchronized-standby-slots", want: rules.StatusSkip, contains: "PostgreSQL 15 has no synchronized_standby_slots"},
	{name: "17 empty", rule: "synchronized-standby-slots", want: rules.StatusPass, contains: "is empty", mutate: on17("", true)},
	{name: "17 listed standby streams", rule: "synchronized-standby-slots", want: rules.StatusPass, contains: "each an active physical slot: standby1",
		mutate: both(on17(` "standby1" `, true), withStandby)},
	{name: "17 missing, failover slot", rule: "synchronized-standby-slots", want: rules.StatusFail,
		objects:  []string{"slot gone", "slot streamkap_pgoutput_slot"},
		contains: "gone does not exist. Slot streamkap_pgoutput_slot is a failover slot, so decoding it waits for them",
		mutate:   both(on17("standby1, Gone", true), withStandby)},
	{name: "17 missing, keeps the healthy", rule: "synchronized-standby-slots", want: rules.StatusFail,
		contains: "ALTER SYSTEM SET synchronized_standby_slots = 'standby1';", mutate: both(on17("standby1,gone", true), withStandby)},
	{name: "17 inactive and behind", rule: "synchronized-standby-slots", want: rules.StatusFail, contains: "is inactive (no standby streams from it) and 2.0 MB behind",
		mutate: both(on17("sleeper", true), func(f *facts.Facts) {
			f.Slots.Slots = append(f.Slots.Slots, facts.Slot{Name: "sleeper", Type: "physical", RetainedBytes: ptr(int64(2 << 20))})
		})},
	{name: "17 inactive, caught up", rule: "synchronized-standby-slots", want: rules.StatusWarn, contains: "as soon as WAL moves past",
		mutate: both(on17("sleeper", true), func(f *facts.Facts) {
			f.Slots.Slots = append(f.Slots.Slots, facts.Slot{Name: "sleeper", Type: "physical", RetainedBytes: ptr(int64(0))})
		})},
	{name: "17 logical listed", rule: "synchronized-standby-slots", want: rules.StatusFail, contains: "is a logical slot, not a standby's",
		mutate: on17("streamkap_pgoutput_slot", true)},
	{name: "17 invalidated", rule: "synchronized-standby-slots", want: rules.StatusFail, contains: "is invalidated",
		mutate: both(on17("standby1", true), withStandby, func(f *facts.Facts) { f.Slots.Slots[1].WalStatus = "lost" })},
	{name: "17 missing, not a failover slot", rule: "synchronized-standby-slots", want: rules.StatusWarn,
		contains: "is not a failover slot, so the connector is not held back; but it holds back every failover slot (sub1)",
		mutate: both(on17("gone", false), func(f *facts.Facts) {
			f.Slots.Slots = append(f.Slots.Slots, facts.Slot{Name: "sub1", Type: "logical", Failover: ptr(true)})
		})},
	{name: "17 missing, no slot", rule: "synchronized-standby-slots", want: rules.StatusWarn, contains: "no other slot is a failover slot",
		mutate: both(on17("gone", true), func(f *facts.Facts) { f.Slots.Slots = nil })},
	{name: "17 rds", rule: "synchronized-standby-slots", want: rules.StatusFail, contains: "in the instance's custom DB parameter group",
		mutate: both(on17("gone", true), func(f *facts.Facts) { f.Platform.Name = facts.PlatformRDS })},
	{name: "wal senders unreadable", rule: "synchronized-standby-slots", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.WalSenders.Err = readFailed }},
	{name: "slots unreadable", rule: "synchronized-standby-slots", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Slots.Err = readFailed }},

	{name: "peek waited for standbys", rule: "slot-peek", want: rules.StatusFail,
		contains: "waited until statement_timeout", mutate: both(on17("standby1", true), withStandby, func(f *facts.Facts) {
			f.Peek.Err = &facts.Error{Op: "peek at the replication slot", Message: "canceling statement due to statement timeout", SQLState: "57014"}
		})},
	{name: "peek waited, said by a notice", rule: "slot-peek", want: rules.StatusFail,
		contains: "synchronized_standby_slots", mutate: func(f *facts.Facts) {
			f.Peek.Err = &facts.Error{Op: "peek at the replication slot", Message: "canceling statement due to statement timeout", SQLState: "57014"}
			f.Peek.Notices = []string{`WARNING: replication slot "x" specified in parameter "synchronized_standby_slots" does not exist`}
		}},
}
