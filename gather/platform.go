package gather

import (
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// Signals are the SQL-visible and host-name signs of a managed platform.
type Signals struct {
	Host          string
	Settings      map[string]string // pg_settings rows, including platform GUCs
	Roles         []string          // which of platformRoles exist
	AuroraVersion bool              // aurora_version() exists
}

// platformRoles are created by the platforms themselves; a self-hosted
// server does not have them unless someone copied a dump's globals.
var platformRoles = []string{
	"neon_superuser", "rds_superuser", "rds_replication", "cloudsqlsuperuser",
	"azure_pg_admin", "azuresu", "supabase_admin", "supabase_replication_admin",
}

func (g *gatherer) platformSignals() read {
	return read{op: "detect platform", err: &g.platformErr, sql: `
SELECT array(SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1),
       to_regproc('aurora_version') IS NOT NULL`, args: []any{platformRoles},
		scan: func(rows pgx.Rows) error { return rowsOne(rows, &g.platformRoles, &g.aurora) },
	}
}

// DetectPlatform names the platform from its signs, most specific first
// (Aurora has everything RDS has). It is a pure function so that platform
// fact snapshots can be tested without the platform.
func DetectPlatform(s Signals) facts.Platform {
	host := strings.ToLower(s.Host)
	role := func(name string) bool { return slices.Contains(s.Roles, name) }
	setting := func(prefix string) string {
		for k := range s.Settings {
			if strings.HasPrefix(k, prefix) {
				return k
			}
		}
		return ""
	}
	var ev []string
	add := func(cond bool, why string) {
		if cond {
			ev = append(ev, why)
		}
	}
	found := func(name string) facts.Platform {
		slices.Sort(ev)
		return facts.Platform{Name: name, Evidence: ev}
	}

	add(strings.HasSuffix(host, ".neon.tech") || strings.HasSuffix(host, ".neon.build"), "host "+s.Host)
	add(s.Settings["neon.timeline_id"] != "", "setting neon.timeline_id")
	add(role("neon_superuser"), "role neon_superuser")
	if len(ev) > 0 {
		return found(facts.PlatformNeon)
	}
	add(s.AuroraVersion, "function aurora_version()")
	add(strings.Contains(host, ".cluster-") && strings.HasSuffix(host, ".rds.amazonaws.com"), "host "+s.Host)
	if len(ev) > 0 {
		return found(facts.PlatformAurora)
	}
	add(strings.HasSuffix(host, ".rds.amazonaws.com"), "host "+s.Host)
	add(role("rds_superuser"), "role rds_superuser")
	if k := setting("rds."); k != "" {
		add(true, "setting "+k)
	}
	if len(ev) > 0 {
		return found(facts.PlatformRDS)
	}
	add(role("cloudsqlsuperuser"), "role cloudsqlsuperuser")
	if k := setting("cloudsql."); k != "" {
		add(true, "setting "+k)
	}
	add(strings.HasPrefix(s.Host, "/cloudsql/"), "socket "+s.Host)
	if len(ev) > 0 {
		return found(facts.PlatformCloudSQL)
	}
	add(strings.HasSuffix(host, ".postgres.database.azure.com"), "host "+s.Host)
	add(role("azure_pg_admin"), "role azure_pg_admin")
	if k := setting("azure."); k != "" {
		add(true, "setting "+k)
	}
	if len(ev) > 0 {
		return found(facts.PlatformAzure)
	}
	add(strings.HasSuffix(host, ".supabase.co") || strings.HasSuffix(host, ".supabase.com"), "host "+s.Host)
	add(role("supabase_admin"), "role supabase_admin")
	if k := setting("supautils."); k != "" {
		add(true, "setting "+k)
	}
	if len(ev) > 0 {
		return found(facts.PlatformSupabase)
	}
	return facts.Platform{Name: facts.PlatformSelfHosted}
}
