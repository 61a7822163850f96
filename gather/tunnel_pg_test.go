package gather_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
)

// TestGatherThroughTunnel: through a real sshd the catalog connection, the
// replication probe and the slot peek all work, the target stays the
// database's host, and the tunnel's facts say how it went.
func TestGatherThroughTunnel(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := connectorRole(t, c, db)
	slot := pgtest.UniqueName(t, "slot")
	pgtest.Exec(t, c, db, "CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION streamkap_pub FOR TABLE t")
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot("+sqlident.Literal(slot)+", 'pgoutput')")
	key, err := pglocal.NewSSHKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	sshd := pgtest.SSHD(t, pglocal.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedKey()}})
	pemBytes, err := key.OpenSSH("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, knownHosts := filepath.Join(dir, "key"), filepath.Join(dir, "known_hosts")
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
	dsn := strings.Replace(c.DSN(user, password, db, "require"), "@127.0.0.1:", "@localhost:", 1)
	cfg, err := gather.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Tunnel: d, Expect: facts.Options{Slot: slot, Publication: "streamkap_pub",
		SignalSchema: "streamkap", SnapshotMode: "auto"}})
	if f.Connect.Err != nil || f.ReplProbe.Err != nil || !f.Peek.Attempted || f.Peek.Err != nil || f.Slots.Err != nil {
		t.Fatalf("connect %v, probe %v, peek %+v, slots %v", f.Connect.Err, f.ReplProbe.Err, f.Peek, f.Slots.Err)
	}
	st := f.SSHTunnel
	if !st.Configured || !st.Forwarded || st.Err != nil || st.Failure != "" {
		t.Errorf("tunnel facts %+v", st)
	}
	if st.Bastion != sshd.Addr() || st.User != sshd.User || st.Target != "localhost:"+strconv.Itoa(c.Port) ||
		!strings.HasPrefix(st.ServerVersion, "SSH-2.0-OpenSSH") || !strings.HasPrefix(st.HostKey, "ssh-ed25519 SHA256:") ||
		!strings.Contains(st.Auth, keyFile) || !strings.Contains(st.HostKeyCheck, knownHosts) {
		t.Errorf("tunnel facts %+v", st)
	}
	if f.Target.Host != "localhost" || !f.Session.SSL {
		t.Errorf("target %+v, TLS %v: the database's own host, over TLS", f.Target, f.Session.SSL)
	}
	// The probe, a WAL sender while it lived, is not counted.
	if f.Replication.WalSendersUsed != 0 {
		t.Errorf("WAL senders used %d", f.Replication.WalSendersUsed)
	}

	// A cancel request dials the connection's remote address, which is
	// the database's through the tunnel: it reaches the same server.
	tun, err := d.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	conn, err := pgx.ConnectConfig(ctx, gather.ThroughTunnel(cfg, tun))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		done <- err
	}()
	admin := pgtest.Conn(t, c, db)
	for sleeping := false; !sleeping; {
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active')`,
			conn.PgConn().PID()).Scan(&sleeping); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := conn.PgConn().CancelRequest(ctx); err != nil {
		t.Fatalf("cancel request through the tunnel: %v", err)
	}
	var pgErr *pgconn.PgError
	if err := <-done; !errors.As(err, &pgErr) || pgErr.Code != "57014" || time.Since(start) > 20*time.Second {
		t.Errorf("the sleep ended with %v after %s, want 57014 from the cancel", err, time.Since(start))
	}
}
