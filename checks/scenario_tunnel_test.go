package checks_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// tunnelScenarios: rule → {passing scenario, non-passing scenario}.
var tunnelScenarios = map[string][2]string{
	"ssh-tunnel": {"TestScenarioSSHTunnel", "TestScenarioSSHTunnelBroken"},
}

// sshBastion is a real sshd on loopback and a dialer that logs in to it.
func sshBastion(t *testing.T, config ...string) (*pglocal.SSHD, *sshtunnel.Dialer) {
	t.Helper()
	key, err := pglocal.NewSSHKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	sshd := pgtest.SSHD(t, pglocal.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedKey()}, Config: config})
	pemBytes, err := key.OpenSSH("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, knownHosts := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(knownHosts, []byte(sshd.KnownHosts()), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := sshtunnel.New(sshtunnel.Config{Host: sshd.Host, Port: sshd.Port, User: sshd.User, KeyFile: keyFile, KnownHosts: knownHosts}, sshtunnel.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return sshd, d
}

// judgeThrough is one check of dsn through the tunnel d (nil: directly).
func judgeThrough(t *testing.T, dsn string, d *sshtunnel.Dialer) map[string]rules.Result {
	t.Helper()
	cfg, err := gather.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Expect: withDefaults(facts.Options{}), Tunnel: d})
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]rules.Result{}
	for _, r := range rules.Evaluate(reg, f, nil) {
		out[r.Rule] = r
	}
	return out
}

// TestScenarioSSHTunnel: the guide's database checked through a real sshd
// gets the verdicts it gets directly, rule by rule (the slot peek and the
// replication connection included), and ssh-tunnel passes naming the
// bastion's host key.
func TestScenarioSSHTunnel(t *testing.T) {
	// A cluster of its own: the guide's roles are cluster-wide, and other
	// tests of the guide leave them behind.
	c := pgtest.ClusterWith(t, "tunnel-guide", pglocal.Options{TLS: true})
	t.Cleanup(func() { // after the database is dropped
		_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY streamkap_role; DROP ROLE streamkap_user; DROP ROLE streamkap_role;")
	})
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, fixture(t, "app-tables.sql", nil))
	pgtest.Exec(t, c, db, fixture(t, "streamkap-guide.sql", map[string]string{
		"password": testPassword, "database": db, "schema": "public",
	}))
	pgtest.Exec(t, c, db, fixture(t, "streamkap-guide-slot.sql", nil))
	_, d := sshBastion(t)
	dsn := c.DSN("streamkap_user", testPassword, db, "require")
	direct, tunneled := judgeThrough(t, dsn, nil), judgeThrough(t, dsn, d)
	for id, want := range direct {
		got := tunneled[id]
		if id == "ssh-tunnel" {
			if want.Status != rules.StatusSkip || got.Status != rules.StatusPass || !strings.Contains(got.Message, "host key ssh-ed25519 SHA256:") {
				t.Errorf("ssh-tunnel: %s directly, %s through the tunnel: %s", want.Status, got.Status, got.Message)
			}
			continue
		}
		if got.Status != want.Status || strings.Join(got.Objects, ",") != strings.Join(want.Objects, ",") {
			t.Errorf("%s: %s %q through the tunnel, %s %q directly", id, got.Status, got.Objects, want.Status, want.Objects)
		}
	}
	if tunneled["slot-peek"].Status != rules.StatusPass || tunneled["replication-connection"].Status != rules.StatusPass {
		t.Errorf("through the tunnel: slot-peek %s, replication-connection %s", tunneled["slot-peek"].Status, tunneled["replication-connection"].Status)
	}
}

// TestScenarioSSHTunnelBroken: a bastion that may not forward to the
// database, and one that cannot reach it, fail ssh-tunnel with their own
// cause; every rule that needs the database is error saying the tunnel is
// why.
func TestScenarioSSHTunnelBroken(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	dsn := c.DSN(user, testPassword, db, "require")
	_, refusing := sshBastion(t, "PermitOpen 127.0.0.1:1")
	_, open := sshBastion(t)
	for _, tc := range []struct {
		name, dsn string
		d         *sshtunnel.Dialer
		want      string
	}{
		{"forwarding refused", dsn, refusing, "refused to forward to the database 127.0.0.1:" + strconv.Itoa(c.Port)},
		{"database unreachable", strings.Replace(dsn, ":"+strconv.Itoa(c.Port)+"/", ":1/", 1), open, "could not connect to the database 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judgeThrough(t, tc.dsn, tc.d)
			for id, r := range got {
				switch {
				case id == "ssh-tunnel":
					if r.Status != rules.StatusFail || !strings.Contains(r.Message, tc.want) || r.Remediation == "" {
						t.Errorf("ssh-tunnel = %s: %s", r.Status, r.Message)
					}
				case id == "pooler-hostname":
					if r.Status != rules.StatusPass {
						t.Errorf("pooler-hostname = %s", r.Status)
					}
				case id == "connector-config" && r.Status == rules.StatusSkip:
					// It judges a connector configuration, not the database.
				case r.Status != rules.StatusError || !strings.Contains(r.Message, "SSH tunnel") || !strings.Contains(r.Message, tc.want):
					t.Errorf("%s = %s: %s", id, r.Status, r.Message)
				}
				if strings.Contains(r.Message+r.Remediation, testPassword) {
					t.Errorf("%s shows the password", id)
				}
			}
		})
	}
}
