package gather_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// TestToastReadKeepsPublishedRows: the TOAST read returns the tables with
// out-of-line values that the publication has, by name, as a partition of
// a partitioned table it names (13+), or through their schema (15+), and
// none that it does not have, that are REPLICA IDENTITY FULL, or whose
// values all stay inline.
func TestToastReadKeepsPublishedRows(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	big := `(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) AS g)`
	pgtest.Exec(t, c, db, `CREATE TABLE public.named (id int PRIMARY KEY, body text);
CREATE TABLE public.unpublished (id int PRIMARY KEY, body text);
CREATE TABLE public.full_identity (id int PRIMARY KEY, body text);
ALTER TABLE public.full_identity REPLICA IDENTITY FULL;
CREATE TABLE public.inline (id int PRIMARY KEY, body text);
SET synchronous_commit = on;
INSERT INTO public.named VALUES (1, `+big+`);
INSERT INTO public.unpublished VALUES (1, `+big+`);
INSERT INTO public.full_identity VALUES (1, `+big+`);
INSERT INTO public.inline VALUES (1, 'short');`)
	members := "public.named, public.full_identity, public.inline"
	want := []string{"public.named"}
	if c.VersionNum >= 130000 {
		pgtest.Exec(t, c, db, `CREATE TABLE public.parted (id int, body text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (100);
INSERT INTO public.parted VALUES (1, `+big+`);`)
		members += ", public.parted"
		want = append(want, "public.parted_1")
	}
	pub := "CREATE PUBLICATION streamkap_pub FOR TABLE " + members
	if c.VersionNum >= 150000 {
		pgtest.Exec(t, c, db, `CREATE SCHEMA tenant;
CREATE TABLE tenant.docs (id int PRIMARY KEY, body text);
INSERT INTO tenant.docs VALUES (1, `+big+`);`)
		pub += ", TABLES IN SCHEMA tenant"
		want = append(want, "tenant.docs")
	}
	pgtest.Exec(t, c, db, pub)
	user := connectorRole(t, c, db)
	cfg, err := gather.ParseDSN(c.DSN(user, password, db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	expect := facts.Options{Slot: "s", Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "auto"}
	var got []string
	for deadline := time.Now().Add(15 * time.Second); ; { // statistics reach other sessions within a second or so
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		f := gather.Gather(ctx, cfg, gather.Options{Expect: expect})
		cancel()
		if f.Toast.Err != nil {
			t.Fatal(f.Toast.Err)
		}
		got = nil
		for _, tt := range f.Toast.Tables {
			got = append(got, tt.Table)
			if !slices.Contains(tt.Columns, "body") || slices.Contains(tt.Columns, "id") {
				t.Errorf("%s: TOASTable columns %q, want body and not id", tt.Table, tt.Columns)
			}
		}
		if slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Errorf("TOAST read on PostgreSQL %d: %q, want %q", c.VersionNum/10000, got, want)
	}

	// It takes no lock: a table locked ACCESS EXCLUSIVE (a VACUUM FULL,
	// an ALTER TABLE) is still read, and at once.
	locker := pgtest.Conn(t, c, db)
	if _, err := locker.Exec(t.Context(), "BEGIN; LOCK TABLE public.named IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = locker.Exec(context.Background(), "ROLLBACK") })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Expect: expect,
		Timeouts: gather.Timeouts{Statement: 5 * time.Second, Lock: 500 * time.Millisecond, IdleInTransaction: time.Minute}})
	if f.Toast.Err != nil || len(f.Toast.Tables) == 0 || f.Toast.Tables[0].Table != "public.named" {
		t.Errorf("TOAST read with public.named locked: %+v", f.Toast)
	}
}
