package gather

import (
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func TestDetectPlatform(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Signals
		want string
	}{
		{"neon host", Signals{Host: "ep-cool-darkness-123456.us-east-2.aws.neon.tech"}, facts.PlatformNeon},
		{"neon pooler host", Signals{Host: "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"}, facts.PlatformNeon},
		{"neon setting behind a tunnel", Signals{Host: "127.0.0.1", Settings: map[string]string{"neon.timeline_id": "d4c8"}}, facts.PlatformNeon},
		{"neon role", Signals{Host: "10.0.0.5", Roles: []string{"neon_superuser"}}, facts.PlatformNeon},
		{"aurora function", Signals{Host: "10.0.0.5", Roles: []string{"rds_superuser", "rds_replication"}, AuroraVersion: true}, facts.PlatformAurora},
		{"aurora cluster host", Signals{Host: "app.cluster-abc123.eu-west-1.rds.amazonaws.com"}, facts.PlatformAurora},
		{"rds host", Signals{Host: "app.abc123.eu-west-1.rds.amazonaws.com"}, facts.PlatformRDS},
		{"rds roles and setting", Signals{Host: "localhost", Roles: []string{"rds_superuser"}, Settings: map[string]string{"rds.logical_replication": "on"}}, facts.PlatformRDS},
		{"cloud sql role", Signals{Host: "10.1.2.3", Roles: []string{"cloudsqlsuperuser"}}, facts.PlatformCloudSQL},
		{"cloud sql socket", Signals{Host: "/cloudsql/proj:region:inst"}, facts.PlatformCloudSQL},
		{"cloud sql flag", Signals{Host: "10.1.2.3", Settings: map[string]string{"cloudsql.logical_decoding": "on"}}, facts.PlatformCloudSQL},
		{"azure host", Signals{Host: "mydb.postgres.database.azure.com"}, facts.PlatformAzure},
		{"azure role", Signals{Host: "10.0.0.9", Roles: []string{"azure_pg_admin"}}, facts.PlatformAzure},
		{"supabase host", Signals{Host: "db.abcdefghijklmnop.supabase.co"}, facts.PlatformSupabase},
		{"supabase pooler", Signals{Host: "aws-0-eu-central-1.pooler.supabase.com"}, facts.PlatformSupabase},
		{"supabase role", Signals{Host: "10.0.0.9", Roles: []string{"supabase_admin"}}, facts.PlatformSupabase},
		{"self-hosted", Signals{Host: "db1.internal", Settings: map[string]string{"wal_level": "logical"}}, facts.PlatformSelfHosted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DetectPlatform(tc.in)
			if got.Name != tc.want {
				t.Errorf("DetectPlatform = %s (%v), want %s", got.Name, got.Evidence, tc.want)
			}
			if tc.want != facts.PlatformSelfHosted && len(got.Evidence) == 0 {
				t.Error("no evidence recorded")
			}
		})
	}
}

func TestRedact(t *testing.T) {
	if got := Redact("password authentication failed: s3cret", "s3cret"); got != "password authentication failed: ********" {
		t.Errorf("Redact = %q", got)
	}
	if got := Redact("nothing", ""); got != "nothing" {
		t.Errorf("empty secret: %q", got)
	}
}
