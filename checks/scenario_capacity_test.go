package checks_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// capacityScenarios: rule → {passing scenario, non-passing scenario}.
var capacityScenarios = map[string][2]string{
	"connection-capacity":   {"TestScenarioStreamkapGuide", "TestScenarioConnectionsFilled"},
	"role-connection-limit": {"TestScenarioStreamkapGuide", "TestScenarioRoleConnectionLimit"},
}

// smallMaxConnections leaves 17 places to ordinary roles (3 are reserved
// for superusers). Before 12, max_wal_senders (10) must fit under it too.
const smallMaxConnections = 20

// holdSessions opens n idle sessions as role on c, held until the test
// ends (after the differential replay).
func holdSessions(t *testing.T, c *pglocal.Cluster, role, db string, n int) {
	t.Helper()
	for range n {
		conn, err := pgx.Connect(t.Context(), c.SocketDSN(role, db))
		if err != nil {
			t.Fatalf("open an idle session: %v", err)
		}
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
	}
}

// settled waits until exactly want client sessions other than monitor's
// are connected to the cluster (to db, when set, counting WAL senders too:
// the previous check's replication probe is a session of db): a backend
// whose client has gone still holds its place for a moment while it exits.
func settled(t *testing.T, monitor *pgx.Conn, db string, want int) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("%d client sessions", want), func() bool {
		var n int
		err := monitor.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND ($1 = '' AND backend_type = 'client backend'
	OR datname = $1 AND backend_type IN ('client backend', 'walsender'))`, db).Scan(&n)
		return err == nil && n == want
	})
}

// TestScenarioConnectionsFilled: a small max_connections filled by idle
// sessions of another role (and the test's own superuser session). With 5
// places left the connector fits, but the server is over 80% full: a
// warning. With fewer left than it needs (the check's own sessions take
// them while it runs) it does not fit: an error, counted as far as the
// connector role can see (it cannot see the kind of the other sessions),
// and exactly once it may (pg_read_all_stats). Before 12 the replication
// connection takes a place too: the connector needs 3, and the check's
// replication probe needs one beside its catalog session.
func TestScenarioConnectionsFilled(t *testing.T) {
	c := pgtest.ClusterWith(t, "small-max-connections", pglocal.Options{TLS: true,
		Settings: map[string]string{"max_connections": fmt.Sprint(smallMaxConnections)}})
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	filler := pgtest.UniqueName(t, "app")
	pgtest.Exec(t, c, db, "CREATE ROLE "+sqlident.Quote(filler)+" LOGIN")
	t.Cleanup(func() { _ = c.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+sqlident.Quote(filler)) })
	monitor := pgtest.Conn(t, c, "postgres") // a superuser takes an ordinary place while one is free
	dsn := c.DSN(user, testPassword, db, "require")
	need, free := 2, 1
	if c.VersionNum < 120000 {
		need, free = 3, 2
	}

	holdSessions(t, c, filler, db, 11)
	settled(t, monitor, "", 11)
	r := judgeDSN(t, dsn, facts.Options{}, time.Time{})["connection-capacity"]
	wantResult(t, r, rules.StatusWarn, []string{"setting max_connections"}, "of the 17 connections usable by its role would be in use (over 80%)",
		"max_connections is 20, 3 reserved for superusers", "cannot see the kind of other roles' sessions")

	fillers := 17 - 1 - free // the monitor holds one place
	holdSessions(t, c, filler, db, fillers-11)
	settled(t, monitor, "", fillers)
	r = judgeDSN(t, dsn, facts.Options{}, time.Time{})["connection-capacity"]
	wantResult(t, r, rules.StatusFail, []string{"setting max_connections"}, fmt.Sprintf("the connector needs %d", need),
		map[int]string{1: "1 connection is free", 2: "2 connections are free"}[free]+" for the connector's role", "ALTER SYSTEM SET max_connections = ")

	// The server agrees: with the check gone, that many ordinary sessions
	// of the connector's role get in, and the next is refused.
	settled(t, monitor, "", fillers)
	var in []*pgx.Conn
	for len(in) <= need {
		conn, err := pgx.Connect(t.Context(), c.SocketDSN(user, db))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53300" {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, conn)
	}
	if len(in) != free {
		t.Errorf("%d ordinary sessions of the connector's role got in, want %d", len(in), free)
	}
	for _, conn := range in {
		_ = conn.Close(context.Background())
	}

	// Seen exactly by a role that may see every session's kind.
	pgtest.Exec(t, c, db, "GRANT pg_read_all_stats TO "+sqlident.Quote(user))
	settled(t, monitor, "", fillers)
	r = judgeDSN(t, dsn, facts.Options{}, time.Time{})["connection-capacity"]
	wantResult(t, r, rules.StatusFail, nil, fmt.Sprintf("%d in use", fillers+1), "every session's kind is visible to this role")
	// The differential replay checks again: the check's session must have
	// given its place back.
	settled(t, monitor, "", fillers)
}

// TestScenarioRoleConnectionLimit: a CONNECTION LIMIT on the connector's
// role, then on the database, leaves no room for the connector's
// connections; a limit of 10 does. The limit is 1, or 2 through
// PostgreSQL 12, where the check's replication probe counts against it
// beside its catalog session (and the connector's replication connection
// too, so that it needs 3).
func TestScenarioRoleConnectionLimit(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	dsn := c.DSN(user, testPassword, db, "require")
	role := sqlident.Quote(user)
	monitor := pgtest.Conn(t, c, "postgres")
	limit := 1
	if c.VersionNum < 130000 {
		limit = 2
	}

	pgtest.Exec(t, c, db, "ALTER ROLE "+role+" CONNECTION LIMIT 10")
	wantResult(t, judgeDSN(t, dsn, facts.Options{}, time.Time{})["role-connection-limit"], rules.StatusPass, nil,
		"has CONNECTION LIMIT 10 with 0 in use")

	dbName := sqlident.Quote(db)
	pgtest.Exec(t, c, db, fmt.Sprintf("ALTER DATABASE %s CONNECTION LIMIT %d", dbName, limit))
	settled(t, monitor, db, 0) // superusers are not held to the limit, but counted in it
	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	wantResult(t, got["role-connection-limit"], rules.StatusFail, []string{"database " + dbName},
		fmt.Sprintf("database %s has CONNECTION LIMIT %d and 0 other sessions", dbName, limit), "ALTER DATABASE "+dbName+" CONNECTION LIMIT ")
	pgtest.Exec(t, c, db, "ALTER DATABASE "+dbName+" CONNECTION LIMIT -1")

	pgtest.Exec(t, c, db, fmt.Sprintf("ALTER ROLE %s CONNECTION LIMIT %d", role, limit))
	settled(t, monitor, db, 0)
	got = judgeDSN(t, dsn, facts.Options{}, time.Time{})
	wantResult(t, got["role-connection-limit"], rules.StatusFail, []string{"role " + role},
		fmt.Sprintf("role %s has CONNECTION LIMIT %d and 0 other sessions", role, limit), "ALTER ROLE "+role+" CONNECTION LIMIT ")
	wantResult(t, got["replication-connection"], rules.StatusPass, nil)
	// The differential replays this last judgement as the role when the
	// test ends: its one place must not still be held by the exiting
	// backend of the check above, or the replay's own login is refused.
	settled(t, monitor, db, 0)
}

// TestScenarioRoleConnectionLimitWalSender is what role-connection-limit
// assumes of the server: through PostgreSQL 12 a replication connection
// counts against the role's CONNECTION LIMIT, from 13 it does not.
func TestScenarioRoleConnectionLimitWalSender(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	pgtest.Exec(t, c, db, "ALTER ROLE "+sqlident.Quote(user)+" CONNECTION LIMIT 1")
	held, err := pgx.Connect(t.Context(), c.SocketDSN(user, db))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(context.Background())
	repl, err := pgconn.Connect(t.Context(), c.SocketDSN(user, db)+" replication=database")
	if repl != nil {
		defer repl.Close(context.Background())
	}
	var pgErr *pgconn.PgError
	refused := errors.As(err, &pgErr) && pgErr.Code == "53300"
	if !refused && err != nil {
		t.Fatal(err)
	}
	if want := c.VersionNum < 130000; refused != want {
		t.Errorf("PostgreSQL %d: a replication connection beside an ordinary one under CONNECTION LIMIT 1 refused = %v, want %v",
			c.VersionNum/10000, refused, want)
	}
	t.Logf("PostgreSQL %d: replication connection under a full CONNECTION LIMIT refused: %v", c.VersionNum/10000, refused)
}
