package checks_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// poolerScenarios: rule → {passing scenario, non-passing scenario}.
var poolerScenarios = map[string][2]string{
	"pooler-detected": {"TestScenarioPoolerDetectedDirect", "TestScenarioPoolerDetected"},
}

// TestScenarioPoolerDetected: a real PgBouncer on 127.0.0.1 and a port of
// its own, which no host-name rule can tell from PostgreSQL: the process
// ID the connection was given at startup is not the server process's.
// PgBouncer before 1.23 refuses the replication probe, which makes it an
// error.
func TestScenarioPoolerDetected(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	b := pgtest.PgBouncer(t, c, map[string]string{user: testPassword})
	got := judgeDSN(t, b.DSN(user, testPassword, db, "disable"), facts.Options{}, allSupported)
	wantResult(t, got["pooler-hostname"], rules.StatusPass, nil, "is not a known pooler endpoint")
	r := got["pooler-detected"]
	says := []string{"a connection pooler answers at 127.0.0.1:" + fmt.Sprint(b.Port), "pg_backend_pid() is",
		fmt.Sprintf("the server listens on port %d, not %d", c.Port, b.Port), "not at PgBouncer"}
	status := rules.StatusFail
	if got["replication-connection"].Status == rules.StatusPass {
		// PgBouncer 1.23+ passes replication connections in session mode.
		status = rules.StatusWarn
		says = append(says, "got through it")
	} else {
		says = append(says, "The replication connection failed through it")
	}
	wantResult(t, r, status, []string{fmt.Sprintf("host 127.0.0.1:%d", b.Port)}, says...)
	t.Logf("PgBouncer %s: %s", b.Version, r.Message)
}

// TestScenarioPoolerDetectedDirect: connected to PostgreSQL itself, and
// through a TCP relay (internal/netdelay) that forwards bytes unchanged:
// neither is a pooler, although the relay's port is not the server's.
func TestScenarioPoolerDetectedDirect(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	wantResult(t, judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})["pooler-detected"],
		rules.StatusPass, nil, "is the one that started for this connection")

	p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", c.Port), 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Serve() }()
	t.Cleanup(p.Close)
	relay := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=require", user, testPassword, p.Addr().(*net.TCPAddr).Port, db)
	// Not judgeDSN: the differential replays only servers the tests started.
	r := evaluateWith(t, relay, facts.Options{}, gather.DefaultTimeouts)["pooler-detected"]
	wantResult(t, r, rules.StatusPass, nil, "is the one that started for this connection")
}
