package checks

import (
	"fmt"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Each platform changes settings, grants role attributes and keeps slots
// its own way, and "ALTER SYSTEM" or "as a superuser" is useless advice on
// a service that allows neither. Everything rules say differently per
// platform is a field of platformAdvice, and each platform is one entry of
// platforms: adding a platform is one entry, and TestPlatformAdviceIsComplete
// fails when an entry lacks a field, instead of a user getting another
// platform's advice.

// platformAdvice is what a platform's remediation says. Fields that take
// arguments build advice that depends on the facts; the others are fixed.
// Steps are built per call, so no finding shares them with another.
type platformAdvice struct {
	// enableLogical: how to get wal_level = logical (wal-level).
	enableLogical remedy
	// raiseLimit: how to raise a postmaster setting such as
	// max_replication_slots to want (replication-capacity, replication-connection).
	raiseLimit func(setting string, want int) (string, []rules.Step)
	// grantReplication: how the connector role, named unquoted, gets the
	// right to replicate on this major (replication-privilege, replication-connection).
	grantReplication func(major int, role string) (string, []rules.Step)
	// replicationMissing ends "role X …" when the role may not replicate:
	// what the platform's way of replicating needs and the role lacks.
	replicationMissing string
	// grantBypassRLS: how the connector role, quoted, gets BYPASSRLS on this
	// major, ending with policy, the per-table way out (row-level-security).
	grantBypassRLS func(major int, role, policy string) (string, []rules.Step)
	// hbaNote ends pg_hba.conf advice: whether the file is the user's to
	// edit there. It gets the platform's name as the facts spell it.
	hbaNote func(platform string) string
	// standbyFeedback: how to turn on hot_standby_feedback on a standby (standby).
	standbyFeedback remedy
	// capWAL: how to set max_slot_wal_keep_size (wal-retention-limit).
	capWAL remedy
	// idleSlotTimeout: how to raise or disable PostgreSQL 18's
	// idle_replication_slot_timeout (slot-lifetime).
	idleSlotTimeout remedy
	// publishAll: whether FOR ALL TABLES is an option when the publication
	// is created (publication-exists).
	publishAll string
	// publicationOwner: who the publication's owner is there, said
	// wherever a publication is altered.
	publicationOwner note
	// slotCreatorNeeds is who may create the slot, as its step's Needs;
	// slotCreator says the same in a sentence (slot-exists).
	slotCreatorNeeds, slotCreator string
	// slotRemoval: whether the platform removes slots by itself
	// (slot-exists, slot-lifetime).
	slotRemoval slotRemoval
	// failover: what becomes of the connector's slot when a standby takes
	// over (slot-failover).
	failover failoverAdvice
	// setReloadable: how to set a reloadable server parameter to value,
	// written as SQL quotes it (synchronized-standby-slots).
	setReloadable func(name, value string) (string, []rules.Step)
	// raiseConnections: how to raise max_connections to want (connection-capacity).
	raiseConnections func(want int) (string, []rules.Step)
	// directHost: how the connector reaches the server itself rather than
	// a connection pooler in front of it (pooler-detected).
	directHost string
}

// failoverAdvice is what a platform does with logical slots when a standby
// takes over, as far as it is documented; where it is not, the text says
// so instead of guessing.
type failoverAdvice struct {
	// survives, when it says something, is why the slot survives whatever
	// the version (Neon has no standby to fail over to): the rule passes
	// with it.
	survives note
	// before17 is what becomes of the slot before PostgreSQL 17, which has
	// no failover slots, when standbys are seen; before17Severity is how
	// much that matters there.
	before17         note
	before17Severity rules.Severity
	// unseen is said when no standby is visible from SQL: a platform's
	// high-availability standby may replicate below PostgreSQL.
	unseen note
	// sync17 is how standbys synchronize the slot from PostgreSQL 17.
	sync17 string
}

// remedy is fixed advice: the text and, where SQL can carry it out, the steps.
type remedy func() (string, []rules.Step)

// textOnly is advice that no SQL of ours carries out: a console, a
// parameter group, a support ticket.
func textOnly(text string) remedy {
	return func() (string, []rules.Step) { return text, nil }
}

// note is a sentence only some platforms add. A field of this type is
// says("…") or nothing, never the zero value, so that the completeness test
// tells "nothing to add here" from a field that was forgotten.
type note struct {
	text string
	set  bool
}

func says(text string) note { return note{text: text, set: true} }

var nothing = note{set: true}

// after appends the note to s as a further sentence.
func (n note) after(s string) string {
	if n.text == "" {
		return s
	}
	return s + " " + n.text
}

// slotRemoval is how a platform removes replication slots by itself, which
// the connector only notices at its next start.
type slotRemoval struct {
	onCreate note                       // said with the slot's creation
	risk     func(otherActive int) note // slot-lifetime's finding for an inactive slot, given how many others are active
	advice   note                       // slot-lifetime's remedy
}

// keepsSlots: the platform removes no slot on its own (PostgreSQL 18's
// idle_replication_slot_timeout is judged apart, from the settings).
var keepsSlots = slotRemoval{onCreate: nothing, risk: func(int) note { return nothing }, advice: nothing}

// platformOf is the advice for the platform the facts name. gather always
// names one; facts without a name (written by hand, or by a test) get the
// self-hosted advice, and a name this version does not know gets unknownPlatform.
func platformOf(f *facts.Facts) platformAdvice {
	if f.Platform.Name == "" {
		return selfHosted
	}
	if p, ok := platforms[f.Platform.Name]; ok {
		return p
	}
	return unknownPlatform
}

// platforms holds one entry per name in facts.PlatformNames.
var platforms = map[string]platformAdvice{
	facts.PlatformSelfHosted: selfHosted,

	facts.PlatformNeon: {
		enableLogical: textOnly("In the Neon Console open the project's Settings → Logical Replication → Enable. " +
			"It cannot be undone, and it restarts every compute of the project (connections drop)."),
		raiseLimit: func(setting string, _ int) (string, []rules.Step) {
			return fmt.Sprintf("Neon fixes %s at 10; drop replication slots nobody uses, or ask Neon support for more.", setting), nil
		},
		grantReplication: func(major int, role string) (string, []rules.Step) {
			if major > 0 && major < 16 {
				return fmt.Sprintf("On Neon with PostgreSQL %d, REPLICATION cannot be granted with SQL (only a superuser may, and Neon gives none). "+
					"Create the connector role in the Neon Console, CLI or API instead: roles created there have REPLICATION.", major), nil
			}
			return "Run this as a Neon role created in the Console (it has CREATEROLE and REPLICATION) that administers the connector role, " +
					"or create the connector role in the Console.",
				alterReplication(role, "a Neon role created in the Console (CREATEROLE and REPLICATION) that administers the connector role")
		},
		replicationMissing: noReplicationAttribute,
		grantBypassRLS: func(major int, role, policy string) (string, []rules.Step) {
			if major > 0 && major < 16 {
				return fmt.Sprintf("On Neon with PostgreSQL %d only a superuser may grant BYPASSRLS, and Neon gives none: "+
					"create the connector role in the Neon Console, CLI or API (such roles have BYPASSRLS). %s", major, policy), nil
			}
			return "Run this as a Neon role created in the Console (it has CREATEROLE and BYPASSRLS) that administers the connector role. " + policy,
				alterBypassRLS(role, "a Neon role created in the Console (CREATEROLE and BYPASSRLS) that administers the connector role")
		},
		hbaNote:         managedHBA,
		standbyFeedback: textOnly("Ask the platform to run the replica with hot_standby_feedback = on."),
		capWAL: textOnly("Neon does not let you change max_slot_wal_keep_size; it removes inactive slots itself. " +
			"Watch the slot's lag (slot-health) and drop slots nobody consumes."),
		idleSlotTimeout:  idleSlotTimeoutManaged,
		publishAll:       "On Neon there is no superuser, so FOR ALL TABLES and FOR TABLES IN SCHEMA are not possible: list the tables.",
		publicationOwner: says("On Neon, that is the Console-created role that created the tables."),
		slotCreatorNeeds: needsReplication,
		slotCreator:      replicationRole,
		slotRemoval: slotRemoval{
			onCreate: says("On Neon, restoring a branch removes its replication slots (re-create this one afterwards), and inactive slots " +
				"are removed after about 40 hours when other slots are active: start the connector soon after."),
			risk: func(otherActive int) note {
				risk := "Neon removes inactive slots after about 40 hours when other slots are active"
				if otherActive > 0 {
					risk += fmt.Sprintf(" (%s active now)", plural(otherActive, "other slot is", "other slots are"))
				}
				return says(risk + ", and its logical replication monitor drops slots that hold back too much WAL")
			},
			advice: says("On Neon, if the connector must stay stopped for long, expect the slot to be gone and plan to re-create it " +
				"(after the publication) and re-snapshot when it starts; keep the connector's lag small so that the logical replication " +
				"monitor does not drop the slot."),
		},
		failover: failoverAdvice{
			survives: says("Neon has no standby to fail over to: a compute is stateless and its replication slots are kept in Neon's storage, " +
				"so the slot survives compute restarts and suspends (a branch restore removes it: see slot-lifetime)."),
			before17:         says("Neon keeps replication slots in its storage across compute restarts."),
			before17Severity: rules.Info,
			unseen:           nothing,
			sync17:           "Neon keeps replication slots in its storage: there is no standby to synchronize them to.",
		},
		setReloadable: func(name, _ string) (string, []rules.Step) {
			return fmt.Sprintf("Neon does not let you set %s; ask Neon support.", name), nil
		},
		raiseConnections: func(int) (string, []rules.Step) {
			return "On Neon max_connections follows the compute size (0.25 CU: 104, 0.5 CU: 209, 1 CU: 419, 2 CU: 839, 4 CU: 1678, " +
				"8 CU: 3357, larger: 4000; with autoscaling, the size min(max CU, 8 × min CU) decides), and 7 of them are reserved for Neon. " +
				"Raise the compute size (or its autoscaling minimum), or move the application to the pooled -pooler host, whose " +
				"PgBouncer shares few server connections; the connector stays on the direct host.", nil
		},
		directHost: "Use the endpoint's direct host, the one without -pooler (ep-…-123456.<region>.aws.neon.tech): Neon's pooler is PgBouncer in transaction mode.",
	},

	facts.PlatformRDS: {
		enableLogical: textOnly("Set rds.logical_replication = 1 in the instance's custom DB parameter group (the default group cannot be changed), " +
			"then reboot the instance: the parameter is static, and after the reboot wal_level is logical."),
		raiseLimit:         raiseLimitRDS,
		grantReplication:   grantReplicationRDS,
		replicationMissing: noRDSReplication,
		grantBypassRLS:     grantBypassRLSManaged,
		hbaNote:            managedHBA,
		standbyFeedback:    standbyFeedbackRDS,
		capWAL:             textOnly("Set max_slot_wal_keep_size (in MB, e.g. 10240) in the instance's custom DB parameter group; it is dynamic (no reboot)."),
		idleSlotTimeout:    idleSlotTimeoutManaged,
		publishAll:         publishAllAsSuperuser,
		publicationOwner:   nothing,
		slotCreatorNeeds:   needsRDSReplication,
		slotCreator:        rdsReplicationMember,
		slotRemoval:        keepsSlots,
		failover: failoverAdvice{
			survives: nothing,
			before17: says("On RDS a Multi-AZ DB instance fails over to a block-level copy of its storage, which is commonly understood to keep " +
				"replication slots (AWS does not state it: unverified); a Multi-AZ DB cluster copies logical slots to its reader instances " +
				"(14.8+ and 15.3+); a promoted read replica has only the slots it had itself (kept through promotion from 16.1), never the " +
				"primary's, so the connector's slot is gone after a read replica takes over."),
			before17Severity: rules.Info,
			unseen: says("A Multi-AZ DB instance's standby replicates below PostgreSQL and is not visible here; whether the slot survives its " +
				"failover is not stated by AWS (unverified)."),
			sync17: "From PostgreSQL 17 RDS synchronizes failover slots to a read replica: in the replica's DB parameter group set " +
				"rds.logical_replication = 1, hot_standby_feedback = 1, sync_replication_slots = 1 and rds.logical_slot_sync_dbname to the " +
				"captured database (the default is postgres); in the primary's, list the replica's physical slot in synchronized_standby_slots.",
		},
		setReloadable: func(name, value string) (string, []rules.Step) {
			return fmt.Sprintf("Set %s = %s in the instance's custom DB parameter group (dynamic: no reboot).", name, value), nil
		},
		raiseConnections: func(want int) (string, []rules.Step) {
			return fmt.Sprintf("Raise max_connections (to %d or more) in the instance's DB parameter group, then reboot; its default follows the "+
				"instance class's memory, so a larger class raises it too. Or close idle sessions, or put the application (not the connector) "+
				"behind RDS Proxy.", want), nil
		},
		directHost: "Use the DB instance endpoint, not an RDS Proxy endpoint: RDS Proxy does not support replication connections.",
	},

	facts.PlatformAurora: {
		enableLogical: textOnly("Set rds.logical_replication = 1 in the DB cluster parameter group, then reboot the writer instance; " +
			"after the reboot wal_level is logical."),
		raiseLimit:         raiseLimitRDS,
		grantReplication:   grantReplicationRDS,
		replicationMissing: noRDSReplication,
		grantBypassRLS:     grantBypassRLSManaged,
		hbaNote:            managedHBA,
		standbyFeedback:    standbyFeedbackRDS,
		capWAL: textOnly("Set max_slot_wal_keep_size (in MB, e.g. 10240) in the DB cluster parameter group if your Aurora version offers it; " +
			"otherwise watch the slot's lag (slot-health) and drop slots nobody consumes."),
		idleSlotTimeout:  idleSlotTimeoutManaged,
		publishAll:       publishAllAsSuperuser,
		publicationOwner: nothing,
		slotCreatorNeeds: needsRDSReplication,
		slotCreator:      rdsReplicationMember,
		slotRemoval:      keepsSlots,
		failover: failoverAdvice{
			survives: nothing,
			before17: says("Aurora is commonly reported to keep logical slots across a writer failover, since they live on the shared cluster " +
				"volume; AWS's pages do not say so (unverified): test a failover before relying on it."),
			before17Severity: rules.Info,
			unseen: says("Aurora's replicas share the cluster volume and are not visible here as standbys; that logical slots survive a writer " +
				"failover is commonly reported but not stated by AWS (unverified)."),
			sync17: "Aurora's replicas share the cluster volume: PostgreSQL's slot synchronization (sync_replication_slots) does not apply to them " +
				"as to a streaming standby (unverified): ask AWS whether the slot survives a writer failover.",
		},
		setReloadable: func(name, value string) (string, []rules.Step) {
			return fmt.Sprintf("Set %s = %s in the DB cluster parameter group (dynamic: no reboot).", name, value), nil
		},
		raiseConnections: func(want int) (string, []rules.Step) {
			return fmt.Sprintf("Raise max_connections (to %d or more) in the DB cluster parameter group, then reboot the writer; its default "+
				"follows the instance class's memory. Or close idle sessions, or put the application (not the connector) behind RDS Proxy.", want), nil
		},
		directHost: "Use the cluster (writer) endpoint, not an RDS Proxy endpoint: RDS Proxy does not support replication connections.",
	},

	facts.PlatformCloudSQL: {
		enableLogical: textOnly("Set the database flag cloudsql.logical_decoding = on " +
			"(gcloud sql instances patch INSTANCE --database-flags=cloudsql.logical_decoding=on, which replaces the other flags: list them too); " +
			"the instance restarts and wal_level becomes logical."),
		raiseLimit: func(setting string, _ int) (string, []rules.Step) {
			return fmt.Sprintf("Raise the database flag %s (the instance restarts); or drop replication slots nobody uses.", setting), nil
		},
		grantReplication:   replicateAs("Run this as postgres or another cloudsqlsuperuser member.", "postgres or another cloudsqlsuperuser member"),
		replicationMissing: noReplicationAttribute,
		grantBypassRLS:     grantBypassRLSManaged,
		hbaNote:            managedHBA,
		standbyFeedback:    textOnly("Set the database flag hot_standby_feedback = on on the read replica."),
		capWAL:             textOnly("Set the database flag max_slot_wal_keep_size (in MB, e.g. 10240) on the instance."),
		idleSlotTimeout:    idleSlotTimeoutManaged,
		publishAll:         publishAllAsSuperuser,
		publicationOwner:   nothing,
		slotCreatorNeeds:   needsReplication,
		slotCreator:        replicationRole,
		slotRemoval:        keepsSlots,
		failover: failoverAdvice{
			survives: nothing,
			before17: says("Cloud SQL's high-availability standby uses a regional persistent disk written synchronously, so the slot should " +
				"survive an HA failover (Google does not state it: unverified); a cross-region replica promoted for disaster recovery does not " +
				"have the primary's slots."),
			before17Severity: rules.Info,
			unseen: says("Cloud SQL's high-availability standby replicates below PostgreSQL and is not visible here; that the slot survives its " +
				"failover is expected but not stated by Google (unverified)."),
			sync17: "For a switchover or failover to a cross-region replica, Cloud SQL Enterprise Plus documents logical failover slots " +
				"(PostgreSQL 17+): follow Google's \"advanced disaster recovery: logical failover slot\" guide.",
		},
		setReloadable: func(name, value string) (string, []rules.Step) {
			return fmt.Sprintf("Set the database flag %s = %s on the instance (gcloud sql instances patch INSTANCE --database-flags=…, "+
				"which replaces the other flags: list them too).", name, value), nil
		},
		raiseConnections: func(want int) (string, []rules.Step) {
			return fmt.Sprintf("Raise the database flag max_connections (to %d or more; the instance restarts), whose default follows the "+
				"machine type; or close idle sessions, or pool the application's connections (not the connector's).", want), nil
		},
		directHost: "Connect to the instance's own address, or through the Cloud SQL Auth Proxy (it forwards connections unchanged), not through a connection pooler.",
	},

	facts.PlatformAzure: {
		enableLogical: textOnly("Set the server parameter wal_level = logical (portal: Server parameters; or " +
			"az postgres flexible-server parameter set --name wal_level --value logical), then restart the server."),
		raiseLimit: func(setting string, _ int) (string, []rules.Step) {
			return fmt.Sprintf("Raise the server parameter %s, then restart; or drop replication slots nobody uses.", setting), nil
		},
		grantReplication:   replicateAs("Run this as the server admin user.", "the Azure server admin user"),
		replicationMissing: noReplicationAttribute,
		grantBypassRLS:     grantBypassRLSManaged,
		hbaNote:            managedHBA,
		standbyFeedback:    textOnly("Set the server parameter hot_standby_feedback = on on the read replica."),
		capWAL:             textOnly("Set the server parameter max_slot_wal_keep_size (in MB, e.g. 10240); it is dynamic (no restart)."),
		idleSlotTimeout:    idleSlotTimeoutManaged,
		publishAll:         publishAllAsSuperuser,
		publicationOwner:   nothing,
		slotCreatorNeeds:   needsReplication,
		slotCreator:        replicationRole,
		slotRemoval:        keepsSlots,
		failover: failoverAdvice{
			survives: nothing,
			before17: says("On Azure Flexible Server with high availability, PostgreSQL 16 and older do not keep logical slots on the standby " +
				"after a failover by default: allow the pg_failover_slots extension (azure.extensions), load it (shared_preload_libraries, " +
				"restart) and set hot_standby_feedback = on. Azure's HA itself uses replication slots (at least 4 max_replication_slots)."),
			before17Severity: rules.Warning,
			unseen: says("Azure's high-availability standby may not be visible here: with PostgreSQL 16 or older its logical slots are lost at a " +
				"failover unless pg_failover_slots is set up; from 17, set the server parameters sync_replication_slots = on and " +
				"hot_standby_feedback = on."),
			sync17: "Set the server parameters sync_replication_slots = on and hot_standby_feedback = on; Azure then keeps failover slots on " +
				"the high-availability standby.",
		},
		setReloadable: func(name, value string) (string, []rules.Step) {
			return fmt.Sprintf("Set the server parameter %s = %s (portal: Server parameters; or az postgres flexible-server parameter set).", name, value), nil
		},
		raiseConnections: func(want int) (string, []rules.Step) {
			return fmt.Sprintf("Raise the server parameter max_connections (to %d or more; a restart follows), within what the compute tier "+
				"allows; or close idle sessions, or send the application (not the connector) through the built-in PgBouncer on port 6432.", want), nil
		},
		directHost: "Connect to port 5432, the server itself, not the built-in PgBouncer on port 6432.",
	},

	facts.PlatformSupabase: {
		enableLogical: textOnly("Supabase projects run with wal_level = logical; if this one does not, ask Supabase support."),
		raiseLimit: func(setting string, _ int) (string, []rules.Step) {
			return fmt.Sprintf("Raise %s in the project's database settings (or ask Supabase support); or drop replication slots nobody uses.", setting), nil
		},
		grantReplication: func(major int, role string) (string, []rules.Step) {
			if major > 0 && major < 17 {
				return fmt.Sprintf("On Supabase with PostgreSQL %d only the postgres user can replicate: connect the connector as postgres, "+
					"or upgrade to 17 where postgres can grant REPLICATION.", major), nil
			}
			return "Run this as the postgres user.", alterReplication(role, "the postgres user")
		},
		replicationMissing: noReplicationAttribute,
		grantBypassRLS:     grantBypassRLSManaged,
		hbaNote:            managedHBA,
		standbyFeedback:    textOnly("Ask the platform to run the replica with hot_standby_feedback = on."),
		capWAL: textOnly("Set max_slot_wal_keep_size through Supabase's custom Postgres configuration (supabase postgres-config update) or ask Supabase support; " +
			"meanwhile watch the slot's lag (slot-health)."),
		idleSlotTimeout:  idleSlotTimeoutManaged,
		publishAll:       publishAllAsSuperuser,
		publicationOwner: nothing,
		slotCreatorNeeds: needsReplication,
		slotCreator:      replicationRole,
		slotRemoval:      keepsSlots,
		failover: failoverAdvice{
			survives: nothing,
			before17: says("What Supabase does with logical slots at a failover is not documented (unverified): ask Supabase support " +
				"whether the slot survives, or plan to re-create it and re-snapshot."),
			before17Severity: rules.Info,
			unseen:           says("Whether the slot survives a failover on Supabase is not documented (unverified)."),
			sync17:           "Ask Supabase support whether standbys synchronize failover slots (sync_replication_slots) on your project.",
		},
		setReloadable: func(name, value string) (string, []rules.Step) {
			return fmt.Sprintf("Set %s = %s through Supabase's custom Postgres configuration (supabase postgres-config update), or ask "+
				"Supabase support.", name, value), nil
		},
		raiseConnections: func(want int) (string, []rules.Step) {
			return fmt.Sprintf("max_connections follows the project's compute size: upgrade the compute add-on (or set max_connections, to %d "+
				"or more, through Supabase's custom Postgres configuration); or move the application to Supavisor, the pooler, while the "+
				"connector keeps the direct host.", want), nil
		},
		directHost: "Use the direct connection, db.<project-ref>.supabase.co on port 5432, not Supavisor (*.pooler.supabase.com).",
	},
}

// selfHosted is a server whose configuration files and superuser are the
// user's: ALTER SYSTEM (an opt-in step of fix) and ALTER ROLE as a superuser.
var selfHosted = platformAdvice{
	enableLogical: func() (string, []rules.Step) {
		return "Run ALTER SYSTEM SET wal_level = logical as a superuser (or edit postgresql.conf), then restart PostgreSQL: " +
			"wal_level only changes at server start.", setSystem("wal_level", "logical", true)
	},
	raiseLimit: func(setting string, want int) (string, []rules.Step) {
		return fmt.Sprintf("Raise %s (ALTER SYSTEM, then restart PostgreSQL), or drop replication slots nobody uses.", setting),
			setSystem(setting, fmt.Sprint(want), true)
	},
	grantReplication:   replicateAs("Run this as a superuser.", needsSuperuser),
	replicationMissing: noReplicationAttribute,
	grantBypassRLS: func(_ int, role, policy string) (string, []rules.Step) {
		return "Run this as a superuser. " + policy, alterBypassRLS(role, needsSuperuser)
	},
	hbaNote: func(string) string {
		return "On a managed platform pg_hba.conf is not yours to edit: allow the client address through the platform's console " +
			"(network access, firewall rules, IP allow list), which applies it itself."
	},
	standbyFeedback: func() (string, []rules.Step) {
		return "Turn on hot_standby_feedback on the standby (reloadable, no restart):", setSystem("hot_standby_feedback", "on", false)
	},
	capWAL: func() (string, []rules.Step) {
		return "Cap what slots may retain below the free space of the WAL volume (" + suggestedWALCap + " here; adjust). " +
				"It is reloadable: no restart. A slot that falls further behind is invalidated and needs a new snapshot, but the server keeps running.",
			setSystem("max_slot_wal_keep_size", "'"+suggestedWALCap+"'", false)
	},
	idleSlotTimeout: func() (string, []rules.Step) {
		return "Or disable (0) or raise idle_replication_slot_timeout; it takes effect on reload.",
			setSystem("idle_replication_slot_timeout", "0", false)
	},
	publishAll:       publishAllAsSuperuser,
	publicationOwner: nothing,
	slotCreatorNeeds: needsReplication,
	slotCreator:      replicationRole,
	slotRemoval:      keepsSlots,
	failover: failoverAdvice{
		survives: nothing,
		before17: says("PostgreSQL 16 and older do not copy logical slots to standbys: after a failover the new primary has no such slot, " +
			"the connector fails at its next start and needs a new snapshot. Keep the slot across failovers with the pg_failover_slots " +
			"extension (in shared_preload_libraries on every node) or, under Patroni, by declaring it a permanent slot (slots: in the " +
			"cluster configuration; slots neither declared nor in ignore_slots are dropped); or plan to re-create it and re-snapshot after " +
			"a failover. PostgreSQL 17 adds failover slots."),
		before17Severity: rules.Warning,
		unseen:           nothing,
		sync17: "On each standby set sync_replication_slots = on, hot_standby_feedback = on, primary_slot_name to its physical slot on " +
			"this server, and dbname=<the captured database> in primary_conninfo, then reload it; on this server list those physical slots " +
			"in synchronized_standby_slots.",
	},
	setReloadable: func(name, value string) (string, []rules.Step) {
		return "Run this as a superuser (reloadable, no restart):", setSystem(name, value, false)
	},
	raiseConnections: func(want int) (string, []rules.Step) {
		return fmt.Sprintf("Raise max_connections (to %d or more: ALTER SYSTEM, then restart PostgreSQL; each connection costs memory), "+
				"or close idle sessions and let the application connect through a pooler (the connector itself connects directly).", want),
			setSystem("max_connections", fmt.Sprint(want), true)
	},
	directHost: "Point the connector at PostgreSQL's own host and port, not at PgBouncer, Pgpool-II or another pooler in front of it.",
}

// unknownPlatform is for a name this version does not know, from facts
// written by another version or by hand. It gives the advice such names
// got before the table existed: self-hosted, except where that advice
// would claim pg_hba.conf, a superuser or the server's settings are the
// user's, since a named platform is likely a managed one.
var unknownPlatform = func() platformAdvice {
	p := selfHosted
	p.hbaNote = managedHBA
	p.grantBypassRLS = grantBypassRLSManaged
	p.idleSlotTimeout = idleSlotTimeoutManaged
	p.setReloadable = func(name, value string) (string, []rules.Step) {
		return fmt.Sprintf("Set the server parameter %s = %s the platform's way (its parameter settings); it is reloadable.", name, value), nil
	}
	p.raiseConnections = func(want int) (string, []rules.Step) {
		return fmt.Sprintf("Raise max_connections to %d or more the platform's way (its parameter settings; a restart follows), "+
			"or close idle sessions.", want), nil
	}
	return p
}()

// Advice that several platforms share.
const (
	noReplicationAttribute = "has neither REPLICATION nor superuser"
	noRDSReplication       = "is not a member of rds_replication"
	publishAllAsSuperuser  = "A superuser may use FOR ALL TABLES instead, which also covers tables created later, but it publishes keyless tables too: " +
		"their UPDATE and DELETE then fail until they get a replica identity (see replica-identity)."
	replicationRole      = "a role with REPLICATION (or a superuser)"
	rdsReplicationMember = "a member of rds_replication (or the master user)"
	needsRDSReplication  = "a member of rds_replication or the RDS master user"
)

// raiseLimitRDS: RDS and Aurora both take postmaster settings from a
// parameter group and a reboot.
func raiseLimitRDS(setting string, _ int) (string, []rules.Step) {
	return fmt.Sprintf("Raise %s in the DB parameter group, then reboot; or drop replication slots nobody uses.", setting), nil
}

// grantReplicationRDS: RDS and Aurora do not let anyone set REPLICATION;
// membership in rds_replication stands in for it.
func grantReplicationRDS(_ int, role string) (string, []rules.Step) {
	return "On RDS and Aurora the REPLICATION attribute cannot be set; grant the rds_replication role instead " +
			"(as the master user or another rds_superuser member).",
		[]rules.Step{roleStep(fmt.Sprintf("GRANT rds_replication TO %s;", sqlident.Quote(role)), "the RDS master user (rds_superuser)")}
}

// standbyFeedbackRDS: a read replica on RDS or Aurora has its own
// parameter group.
var standbyFeedbackRDS = textOnly("Set hot_standby_feedback = 1 in the read replica's DB parameter group (dynamic).")

// replicateAs is ALTER ROLE … REPLICATION run by needs, with text saying who.
func replicateAs(text, needs string) func(int, string) (string, []rules.Step) {
	return func(_ int, role string) (string, []rules.Step) { return text, alterReplication(role, needs) }
}

func alterReplication(role, needs string) []rules.Step {
	return []rules.Step{roleStep(fmt.Sprintf("ALTER ROLE %s WITH REPLICATION;", sqlident.Quote(role)), needs)}
}

func alterBypassRLS(role, needs string) []rules.Step {
	return []rules.Step{roleStep(fmt.Sprintf("ALTER ROLE %s BYPASSRLS;", role), needs)}
}

// grantBypassRLSManaged: managed platforms give no superuser, which
// PostgreSQL before 16 requires to grant BYPASSRLS; from 16 a role with
// CREATEROLE and BYPASSRLS may, if the platform has one.
func grantBypassRLSManaged(major int, role, policy string) (string, []rules.Step) {
	if major > 0 && major < 16 {
		// Applying a statement the platform refuses would stop the whole
		// plan, so a person decides between it and the policies.
		step := alterBypassRLS(role, needsSuperuser)[0]
		step.Manual = true
		step.Note = "managed platforms give no superuser, so this is likely refused; if it is, add the permissive policy instead"
		return "Before PostgreSQL 16 only a superuser may grant BYPASSRLS (\"must be superuser to change bypassrls attribute\"), " +
			"and managed platforms give none: this statement is likely refused. " + policy, []rules.Step{step}
	}
	return "Run this as a role with CREATEROLE, BYPASSRLS itself and ADMIN on the connector role; managed platforms may refuse it. " + policy,
		alterBypassRLS(role, "a role with CREATEROLE, BYPASSRLS and ADMIN on the connector role")
}

// managedHBA: a managed platform writes pg_hba.conf from its network
// settings, and most of them require TLS there.
func managedHBA(platform string) string {
	return fmt.Sprintf("On %s pg_hba.conf is not yours to edit: allow the client address through the platform's console "+
		"(network access, firewall rules, IP allow list), which applies it itself, and connect with TLS.", platformTitle(platform))
}

// platformTitles are the managed platforms' names as their users say them,
// for sentences; facts spell them as identifiers ("cloudsql").
var platformTitles = map[string]string{
	facts.PlatformNeon:     "Neon",
	facts.PlatformRDS:      "Amazon RDS",
	facts.PlatformAurora:   "Amazon Aurora",
	facts.PlatformCloudSQL: "Cloud SQL",
	facts.PlatformAzure:    "Azure Database for PostgreSQL",
	facts.PlatformSupabase: "Supabase",
}

// platformTitle is name as a sentence says it; a name this version does
// not know is said as the facts spell it.
func platformTitle(name string) string {
	if t, ok := platformTitles[name]; ok {
		return t
	}
	return name
}

// idleSlotTimeoutManaged: managed platforms set parameters in their own
// console, not with ALTER SYSTEM.
var idleSlotTimeoutManaged = textOnly("Or disable (0) or raise idle_replication_slot_timeout in the platform's parameter settings.")
