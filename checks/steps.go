package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Steps of several rules run in one plan, ordered by phase and with
// identical SQL merged, so the builders below keep the SQL of one kind of
// fix byte-identical whichever rule asks for it.

const (
	needsSuperuser   = "superuser"
	needsReplication = "a role with REPLICATION or a superuser"
	needsCreateDB    = "a role with CREATE on the database (or a superuser)"
	needsDBOwner     = "the database owner or a superuser"
	// needsTableOwners: adding a table to a publication, or altering it,
	// needs ownership of every table named.
	needsTableOwners = "the owner of each table listed (or a superuser)"
	locksPublished   = "SHARE UPDATE EXCLUSIVE on each table listed"
)

// setSystem is the self-hosted ALTER SYSTEM for one setting. It is opt-in
// because it changes the whole server, and runs outside a transaction
// because PostgreSQL refuses ALTER SYSTEM inside one. A reloadable setting
// is followed by a reload so that the plan leaves it in effect; a
// postmaster setting waits for a restart that fix never does.
func setSystem(name, value string, restart bool) []rules.Step {
	set := rules.Step{
		Phase: rules.PhaseSystem, SQL: fmt.Sprintf("ALTER SYSTEM SET %s = %s;", name, value),
		Needs: needsSuperuser, NonTransactional: true, OptIn: rules.OptInAlterSystem,
	}
	if restart {
		set.Restart = true
		set.Note = name + " changes only when PostgreSQL restarts"
		return []rules.Step{set}
	}
	return []rules.Step{set, reloadConf()}
}

// reloadConf signals the postmaster, which a rollback cannot take back.
func reloadConf() rules.Step {
	return rules.Step{
		Phase: rules.PhaseSystem, SQL: "SELECT pg_reload_conf();", Needs: needsSuperuser,
		NonTransactional: true, OptIn: rules.OptInAlterSystem,
		Note: "applies the reloadable settings changed by ALTER SYSTEM before it",
	}
}

// roleStep changes the connector role itself; it locks nothing the
// application uses.
func roleStep(sql, needs string) rules.Step {
	return rules.Step{Phase: rules.PhaseRoles, SQL: sql, Needs: needs}
}

// grantStep gives the connector role access to user objects.
func grantStep(sql, needs string) rules.Step {
	return rules.Step{Phase: rules.PhaseGrants, SQL: sql, Needs: needs}
}

// helperStep creates or grants on the signal and heartbeat tables, which
// the application does not use, so their locks are not worth naming.
func helperStep(sql, needs string) rules.Step {
	return rules.Step{Phase: rules.PhaseHelpers, SQL: sql, Needs: needs}
}

// alterTable is an ALTER TABLE: it waits for an ACCESS EXCLUSIVE lock, and
// while it waits every later query on the table queues behind it.
func alterTable(phase rules.Phase, table, action string) rules.Step {
	return rules.Step{
		Phase: phase, SQL: "ALTER TABLE " + table + " " + action + ";",
		Needs: ownerOf("table " + table), Locks: "ACCESS EXCLUSIVE on " + table,
	}
}

func ownerOf(object string) string { return "the owner of " + object + " (or a superuser)" }

// addToPublication adds tables to an existing publication. Callers emit it
// only when the publication exists: when it does not, publication-exists
// creates it with every table listed.
func addToPublication(pub string, tables ...string) rules.Step {
	return rules.Step{
		Phase: rules.PhasePublication,
		SQL:   fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s;", pub, strings.Join(tables, ", ")),
		Needs: "the publication's owner, owning each table listed (or a superuser)", Locks: locksPublished,
	}
}

// setPublicationOption changes a publication parameter, which locks no table.
func setPublicationOption(pub, option string) rules.Step {
	return rules.Step{
		Phase: rules.PhasePublication, SQL: fmt.Sprintf("ALTER PUBLICATION %s SET (%s);", pub, option),
		Needs: "the publication's owner (or a superuser)",
	}
}
