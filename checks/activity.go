package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// activityRules judge the consumer connected to the connector's slot.
func activityRules() []rules.Rule {
	return []rules.Rule{connectorActivity()}
}

func connectorActivity() rules.Rule {
	return rules.Rule{
		ID: "connector-activity", Title: "The consumer connected to the slot is streaming and confirming",
		Category: rules.CategorySlot, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionSlots, facts.SectionWalSenders},
		Why: `"The connector is connected but nothing arrives": the slot is active, yet the consumer has stopped taking
changes (its destination is down, it is stuck on a record, its process hangs). The WAL sender keeps
the slot, the slot keeps WAL, and nothing says so until the disk fills. When the connector's slot is
active this rule reads its consumer's WAL sender in pg_stat_replication (its state, streaming or
catching up, what it has sent and what the consumer has flushed, and, from PostgreSQL 12, how long
since the consumer's last reply) and compares the slot's confirmed_flush_lsn with the current WAL
position. It warns when the confirmed position is further behind than --connector-lag-warn (256MB
by default; the WAL of every database counts, so a quiet captured database next to a busy one lags
unless the connector's heartbeats move it), and when the last reply is older than
--connector-reply-warn (30s by default; Debezium and pg_recvlogical reply every 10 s, and the WAL
sender drops a consumer silent for wal_sender_timeout, 60 s by default). Only a superuser or a member
of pg_read_all_stats (pg_monitor) sees a WAL sender's details; without them the rule judges from the
slot alone and says so. An inactive slot is skipped: nothing is connected (slot-health and
slot-lifetime speak for it).`,
		Fix: `Look at the connector first: its task status and log (a failing destination, a record it cannot
convert, a paused pipeline). On a database where the captured tables rarely change, configure the
connector's heartbeat (heartbeat.interval.ms and, for Streamkap, the streamkap_heartbeat table with
heartbeat.action.query) so that its confirmed position keeps up. A consumer whose process hangs can be
restarted; terminating its WAL sender (SELECT pg_terminate_backend(pid)) frees the slot for the
restart. Raise the thresholds (--connector-lag-warn, --connector-reply-warn) on a server that writes
WAL faster than the connector confirms by design.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			s, out, ok := connectorSlot(f)
			if !ok {
				return out
			}
			name := sqlident.Quote(s.Name)
			if !s.Active {
				return rules.Skip("slot %s is not active: no consumer is connected to it now (when the connector should be running, "+
					"this is why nothing arrives; see slot-health and slot-lifetime)", name)
			}
			lagWarn, replyWarn := f.Options.ConnectorLagWarnInForce(), f.Options.ConnectorReplyWarnInForce()
			var problems, notes []string
			if s.LagBytes != nil {
				lag := fmt.Sprintf("its confirmed position (confirmed_flush_lsn %s) is %s behind the current WAL", s.ConfirmedFlushLSN, bytesOf(*s.LagBytes))
				if *s.LagBytes > lagWarn {
					problems = append(problems, lag+fmt.Sprintf(", over --connector-lag-warn %s: the consumer is not confirming what it receives",
						bytesOf(lagWarn)))
				} else {
					notes = append(notes, lag)
				}
			}
			w, found := f.WalSenders.Find(s.ActivePID)
			switch {
			case !found:
				notes = append(notes, fmt.Sprintf("PID %d is not among the WAL senders (it may have just gone)", s.ActivePID))
			case w.State == "":
				notes = append(notes, "its WAL sender's state and positions are hidden from this role (they need pg_read_all_stats, or "+
					"pg_monitor): judged from the slot alone")
			default:
				notes = append(notes, senderState(w))
				if w.ReplyAge != nil {
					age := time.Duration(*w.ReplyAge * float64(time.Second))
					if age > replyWarn {
						problems = append(problems, fmt.Sprintf("its last reply was %s ago, over --connector-reply-warn %s: the consumer "+
							"is connected but not listening", age.Round(time.Second), replyWarn))
					} else {
						notes = append(notes, fmt.Sprintf("its last reply was %s ago", age.Round(100*time.Millisecond)))
					}
				}
				if w.State != "streaming" && w.State != "catchup" {
					problems = append(problems, fmt.Sprintf("its WAL sender is in state %s, neither streaming nor catching up", w.State))
				}
			}
			who := fmt.Sprintf("slot %s is active in PID %d", name, s.ActivePID)
			if found && w.ApplicationName != "" {
				who += fmt.Sprintf(" (%s)", w.ApplicationName)
			}
			if len(problems) == 0 {
				return rules.Pass("%s: %s", who, strings.Join(notes, "; "))
			}
			text := "Look at the connector: its task status and log (a failing destination, a record it cannot convert, a paused " +
				"pipeline). Its slot keeps WAL until it confirms (see slot-health). When the captured tables rarely change, configure its " +
				"heartbeat (heartbeat.interval.ms; for Streamkap the streamkap_heartbeat table with heartbeat.action.query) so that its " +
				fmt.Sprintf("confirmed position keeps up. A consumer that hangs can be restarted; terminating its WAL sender (SELECT "+
					"pg_terminate_backend(%d);) frees the slot for the restart. Raise --connector-lag-warn or --connector-reply-warn where "+
					"this lag is by design.", s.ActivePID)
			return rules.Finding("%s, but %s (%s)", who, strings.Join(problems, "; and "), strings.Join(notes, "; ")).
				WithObjects(slotObject(s.Name)).WithRemediation(text)
		},
	}
}

// senderState describes a WAL sender the role may see in detail.
func senderState(w facts.WalSender) string {
	s := "its WAL sender is " + w.State
	if w.SentLSN != "" {
		s += ", sent up to " + w.SentLSN
	}
	if w.FlushLSN != "" {
		s += ", flushed by the consumer up to " + w.FlushLSN
	}
	if w.FlushBehind != nil && *w.FlushBehind > 0 {
		s += fmt.Sprintf(" (%s sent and not yet flushed)", bytesOf(*w.FlushBehind))
	}
	if w.FlushLag != nil {
		s += fmt.Sprintf(", flush lag %s", time.Duration(*w.FlushLag*float64(time.Second)).Round(time.Millisecond))
	}
	return s
}

func bytesOf(n int64) string { return facts.Bytes(n) }
