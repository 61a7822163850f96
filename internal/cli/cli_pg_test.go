package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// A password no output may ever contain.
const secret = "S3cret-Never-Print-Me"

func scenario(t *testing.T, name string, fill map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	sql := string(data)
	for k, v := range fill {
		sql = strings.ReplaceAll(sql, "{"+k+"}", v)
	}
	return sql
}

// assertNoSecret checks stdout, stderr and any report files.
func assertNoSecret(t *testing.T, r runResult, files ...string) {
	t.Helper()
	if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
		t.Errorf("the password appears in the output:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("the password appears in %s", f)
		}
	}
}

func allOutputs(t *testing.T) (args []string, files []string) {
	dir := t.TempDir()
	j, x, s := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "facts.json")
	return []string{"-o", "table", "-o", "json=" + j, "-o", "junit=" + x, "--save-facts", s}, []string{j, x, s}
}

// TestCheckStreamkapGuide: the guide's SQL, the connector over TLS: every
// error-severity rule passes and the exit code is 0.
func TestCheckStreamkapGuide(t *testing.T) {
	c := pgtest.ClusterWith(t, "guide", pglocal.Options{TLS: true})
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, scenario(t, "app-tables.sql", nil))
	pgtest.Exec(t, c, db, scenario(t, "streamkap-guide.sql", map[string]string{"password": secret, "database": db, "schema": "public"}))
	pgtest.Exec(t, c, db, scenario(t, "streamkap-guide-slot.sql", nil))
	t.Cleanup(func() {
		_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY streamkap_role; DROP ROLE streamkap_user; DROP ROLE streamkap_role;")
	})
	outArgs, files := allOutputs(t)
	r := run(t, nil, append([]string{"check", c.DSN("streamkap_user", secret, db, "require")}, outArgs...)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeReport(t, mustRead(t, files[0]))
	if rep.Summary.Fail != 0 || rep.Summary.Error != 0 {
		t.Errorf("rules failed or errored: %+v", rep.Summary)
	}
	for _, res := range rep.Results {
		if res.Severity == rules.Error && res.Status != rules.StatusPass && res.Status != rules.StatusSkip {
			t.Errorf("error-severity rule %s = %s: %s", res.Rule, res.Status, res.Message)
		}
	}
	assertNoSecret(t, r, files...)
}

// TestCheckWalLevelReplica: exit 1, wal-level fail.
func TestCheckWalLevelReplica(t *testing.T) {
	c := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	db := pgtest.NewDatabase(t, c)
	user := pgtest.UniqueName(t, "repl")
	pgtest.Exec(t, c, db, scenario(t, "replication-user.sql", map[string]string{
		"user": sqlident.Quote(user), "password": sqlident.Literal(secret)}))
	outArgs, files := allOutputs(t)
	r := run(t, nil, append([]string{"check", "--dsn", c.DSN(user, secret, db, "require")}, outArgs...)...)
	rep := decodeReport(t, mustRead(t, files[0]))
	if r.code != 1 || statusOf(rep, "wal-level") != "fail" || rep.Summary.Error != 0 {
		t.Errorf("exit %d, wal-level %s, summary %+v\n%s", r.code, statusOf(rep, "wal-level"), rep.Summary, r.stderr)
	}
	assertNoSecret(t, r, files...)
}

// TestCheckPoolerHostNoConnection: nothing can connect, pooler-hostname
// still fails, every other rule errors, exit 2, no password anywhere.
func TestCheckPoolerHostNoConnection(t *testing.T) {
	outArgs, files := allOutputs(t)
	dsn := "postgresql://streamkap_user:" + secret + "@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.invalid/neondb?sslmode=require&connect_timeout=5"
	r := run(t, nil, append([]string{"check", dsn, "-o", "json"}, outArgs...)...)
	if r.code != 2 {
		t.Fatalf("exit %d", r.code)
	}
	rep := decodeReport(t, mustRead(t, files[0]))
	// connector-config judges a connector configuration, not the database:
	// without one it skips.
	if statusOf(rep, "pooler-hostname") != "fail" || statusOf(rep, "connector-config") != "skip" || rep.Summary.Error != len(rep.Results)-2 {
		t.Errorf("pooler-hostname %s, summary %+v", statusOf(rep, "pooler-hostname"), rep.Summary)
	}
	if !strings.Contains(r.stderr, "could not connect") {
		t.Errorf("stderr does not say the connection failed: %q", r.stderr)
	}
	assertNoSecret(t, r, files...)
}

// TestCheckWrongPassword: the server's authentication failure is reported
// without the password that was tried.
func TestCheckWrongPassword(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := pgtest.UniqueName(t, "repl")
	pgtest.Exec(t, c, db, scenario(t, "replication-user.sql", map[string]string{
		"user": sqlident.Quote(user), "password": sqlident.Literal("another-password")}))
	for _, dsn := range []string{
		c.DSN(user, secret, db, "require"),
		"host=127.0.0.1 port=" + itoa(c.Port) + " user=" + user + " password=" + secret + " dbname=" + db,
		"postgres://" + user + ":" + secret + "@127.0.0.1:" + itoa(c.Port) + "/" + db + "?sslmode=bogus",
		"host=127.0.0.1 password='" + secret + " user=x", // unterminated quote: a parse error
	} {
		outArgs, _ := allOutputs(t)
		r := run(t, nil, append([]string{"check", dsn}, outArgs...)...)
		if r.code != 2 {
			t.Errorf("exit %d for %s", r.code, strings.ReplaceAll(dsn, secret, "…"))
		}
		assertNoSecret(t, r)
	}
	// The password from the environment, as libpq reads it.
	r := run(t, nil, "check", "--dsn", c.DSN(user, "", db, "require")+"&password="+secret)
	assertNoSecret(t, r)
}

// TestDemo runs the README's first command in-process.
func TestDemo(t *testing.T) {
	pgtest.BinDir(t) // skip or fail like every PostgreSQL test when binaries are missing
	r := run(t, map[string]string{"NO_COLOR": "1"}, "demo")
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"PASS", "FAIL", "replication-privilege", "not inherited", "wal-level"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo report lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "removing the cluster") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func itoa(n int) string { return strconv.Itoa(n) }
