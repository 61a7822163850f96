package gather

import (
	"context"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// TestAllTablesCountWithoutTheTablesRead: when the tables read failed, a
// FOR ALL TABLES publication's table count is not lost: the second batch
// counts them itself.
func TestAllTablesCountWithoutTheTablesRead(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE public.a (id int); CREATE TABLE public.b (id int); CREATE UNLOGGED TABLE public.u (id int);
CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`)
	conn := pgtest.Conn(t, c, db)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := &facts.Facts{Options: facts.Options{Publication: "streamkap_pub"}}
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&f.Server.VersionNum); err != nil {
		t.Fatal(err)
	}
	g := &gatherer{f: f, t: DefaultTimeouts}
	var beginErr *facts.Error
	if err := g.runReads(ctx, conn, append(g.begin(&beginErr), g.publication()...)); err != nil || beginErr != nil {
		t.Fatal(err, beginErr)
	}
	if !g.countAllTables || f.Publication.TableCount != 0 {
		t.Fatalf("the publication read counted a FOR ALL TABLES publication itself: %d", f.Publication.TableCount)
	}
	f.Tables.Err = &facts.Error{Op: "read tables", Message: "failed"}
	second := g.finishPublication()
	if len(second) != 1 {
		t.Fatalf("%d reads to count the tables", len(second))
	}
	if err := g.runReads(ctx, conn, second, "ROLLBACK"); err != nil || f.Publication.Err != nil {
		t.Fatal(err, f.Publication.Err)
	}
	if f.Publication.TableCount != 2 {
		t.Errorf("counted %d tables, want 2 (the unlogged one is not published)", f.Publication.TableCount)
	}
}
