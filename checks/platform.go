package checks

import (
	"fmt"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Each platform changes server settings its own way; remediation text names
// that way, because "ALTER SYSTEM" is useless advice on a managed service.

// enableLogical says how to get wal_level = logical.
func enableLogical(platform string) (string, []rules.Step) {
	switch platform {
	case facts.PlatformNeon:
		return "In the Neon Console open the project's Settings → Logical Replication → Enable. " +
			"It cannot be undone, and it restarts every compute of the project (connections drop).", nil
	case facts.PlatformRDS:
		return "Set rds.logical_replication = 1 in the instance's custom DB parameter group (the default group cannot be changed), " +
			"then reboot the instance: the parameter is static, and after the reboot wal_level is logical.", nil
	case facts.PlatformAurora:
		return "Set rds.logical_replication = 1 in the DB cluster parameter group, then reboot the writer instance; " +
			"after the reboot wal_level is logical.", nil
	case facts.PlatformCloudSQL:
		return "Set the database flag cloudsql.logical_decoding = on " +
			"(gcloud sql instances patch INSTANCE --database-flags=cloudsql.logical_decoding=on, which replaces the other flags: list them too); " +
			"the instance restarts and wal_level becomes logical.", nil
	case facts.PlatformAzure:
		return "Set the server parameter wal_level = logical (portal: Server parameters; or " +
			"az postgres flexible-server parameter set --name wal_level --value logical), then restart the server.", nil
	case facts.PlatformSupabase:
		return "Supabase projects run with wal_level = logical; if this one does not, ask Supabase support.", nil
	}
	return "Run ALTER SYSTEM SET wal_level = logical as a superuser (or edit postgresql.conf), then restart PostgreSQL: " +
		"wal_level only changes at server start.", setSystem("wal_level", "logical", true)
}

// raiseLimit says how to raise a postmaster setting such as max_replication_slots.
func raiseLimit(platform, setting string, want int) (string, []rules.Step) {
	switch platform {
	case facts.PlatformNeon:
		return fmt.Sprintf("Neon fixes %s at 10; drop replication slots nobody uses, or ask Neon support for more.", setting), nil
	case facts.PlatformRDS, facts.PlatformAurora:
		return fmt.Sprintf("Raise %s in the DB parameter group, then reboot; or drop replication slots nobody uses.", setting), nil
	case facts.PlatformCloudSQL:
		return fmt.Sprintf("Raise the database flag %s (the instance restarts); or drop replication slots nobody uses.", setting), nil
	case facts.PlatformAzure:
		return fmt.Sprintf("Raise the server parameter %s, then restart; or drop replication slots nobody uses.", setting), nil
	case facts.PlatformSupabase:
		return fmt.Sprintf("Raise %s in the project's database settings (or ask Supabase support); or drop replication slots nobody uses.", setting), nil
	}
	return fmt.Sprintf("Raise %s (ALTER SYSTEM, then restart PostgreSQL), or drop replication slots nobody uses.", setting),
		setSystem(setting, fmt.Sprint(want), true)
}

// grantReplication says how the connector role gets the right to replicate.
func grantReplication(platform string, major int, role string) (string, []rules.Step) {
	r := sqlident.Quote(role)
	alter := func(needs string) []rules.Step {
		return []rules.Step{roleStep(fmt.Sprintf("ALTER ROLE %s WITH REPLICATION;", r), needs)}
	}
	switch platform {
	case facts.PlatformRDS, facts.PlatformAurora:
		return "On RDS and Aurora the REPLICATION attribute cannot be set; grant the rds_replication role instead " +
				"(as the master user or another rds_superuser member).",
			[]rules.Step{roleStep(fmt.Sprintf("GRANT rds_replication TO %s;", r), "the RDS master user (rds_superuser)")}
	case facts.PlatformNeon:
		if major > 0 && major < 16 {
			return fmt.Sprintf("On Neon with PostgreSQL %d, REPLICATION cannot be granted with SQL (only a superuser may, and Neon gives none). "+
				"Create the connector role in the Neon Console, CLI or API instead: roles created there have REPLICATION.", major), nil
		}
		return "Run this as a Neon role created in the Console (it has CREATEROLE and REPLICATION) that administers the connector role, " +
				"or create the connector role in the Console.",
			alter("a Neon role created in the Console (CREATEROLE and REPLICATION) that administers the connector role")
	case facts.PlatformSupabase:
		if major > 0 && major < 17 {
			return fmt.Sprintf("On Supabase with PostgreSQL %d only the postgres user can replicate: connect the connector as postgres, "+
				"or upgrade to 17 where postgres can grant REPLICATION.", major), nil
		}
		return "Run this as the postgres user.", alter("the postgres user")
	case facts.PlatformCloudSQL:
		return "Run this as postgres or another cloudsqlsuperuser member.", alter("postgres or another cloudsqlsuperuser member")
	case facts.PlatformAzure:
		return "Run this as the server admin user.", alter("the Azure server admin user")
	}
	return "Run this as a superuser.", alter(needsSuperuser)
}
