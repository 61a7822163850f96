package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func replicationPrivilege() rules.Rule {
	return rules.Rule{
		ID: "replication-privilege", Title: "The connector role may replicate",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []string{"role", "platform", "server"},
		Why: `Creating and reading a replication slot needs the REPLICATION attribute on the login role itself,
superuser, or (on RDS and Aurora, where the attribute cannot be set) membership in rds_replication.
Role attributes are not inherited: GRANT streamkap_role TO streamkap_user does not pass on
streamkap_role's REPLICATION, which is why Streamkap's script also runs ALTER USER streamkap_user WITH
REPLICATION. Without it the connector fails with "must be superuser or replication role" (PG 10-15) or
"permission denied to use replication slots" (PG 16+).`,
		Fix: `Self-hosted, Azure, Cloud SQL, Supabase 17+: ALTER ROLE <user> WITH REPLICATION; as a role allowed to.
RDS and Aurora: GRANT rds_replication TO <user>;. Neon: roles created in the Console, CLI or API
already have REPLICATION; on Neon PostgreSQL 14 and 15 it cannot be granted with SQL.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := needDB(f, f.Role.Err); !ok {
				return o
			}
			r := f.Role
			obj := "role " + sqlident.Quote(r.Name)
			switch {
			case !r.Exists:
				return rules.Finding("role %s does not exist", sqlident.Quote(r.Name)).WithObjects(obj).
					WithRemediation("Create the connector role first (Streamkap's script: CREATE USER streamkap_user PASSWORD '…'), or name the right one with --connector-user.")
			case r.Super:
				return rules.Pass("role %s is a superuser", sqlident.Quote(r.Name))
			case r.Replication:
				return rules.Pass("role %s has REPLICATION", sqlident.Quote(r.Name))
			case r.RDSReplication:
				return rules.Pass("role %s is a member of rds_replication", sqlident.Quote(r.Name))
			}
			msg := fmt.Sprintf("role %s has neither REPLICATION nor superuser", sqlident.Quote(r.Name))
			if f.Platform.Name == facts.PlatformRDS || f.Platform.Name == facts.PlatformAurora {
				msg = fmt.Sprintf("role %s is not a member of rds_replication", sqlident.Quote(r.Name))
			}
			if len(r.ReplicationVia) > 0 {
				quoted := make([]string, len(r.ReplicationVia))
				for i, v := range r.ReplicationVia {
					quoted[i] = sqlident.Quote(v)
				}
				msg += fmt.Sprintf("; it is a member of %s, which has REPLICATION, but role attributes are not inherited",
					strings.Join(quoted, ", "))
			}
			text, sql := grantReplication(f.Platform.Name, f.Server.Major(), r.Name)
			return rules.Finding("%s", msg).WithObjects(obj).WithRemediation(text, sql...)
		},
	}
}

// privilegeRules judge what the connector role may do.
func privilegeRules() []rules.Rule {
	return []rules.Rule{replicationPrivilege()}
}
