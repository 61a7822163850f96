package fix

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func step(sql string) Step { return Step{Step: rules.Step{Phase: rules.PhaseGrants, SQL: sql}} }

// TestApplyStopsAtTheFirstFailure: the steps of a pipelined batch after a
// failing one never reach the server's executor, those before it stay
// committed, and the connection is usable afterwards.
func TestApplyStopsAtTheFirstFailure(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	conn := pgtest.Conn(t, c, db)
	var steps []Step
	for i := range 5 {
		steps = append(steps, step(fmt.Sprintf("CREATE TABLE public.before_%d (id int);", i)))
	}
	steps = append(steps, step("CREATE TABLE public.before_0 (id int);")) // fails: exists
	for i := range 5 {
		steps = append(steps, step(fmt.Sprintf("CREATE TABLE public.after_%d (id int);", i)))
	}
	var told []int
	a := Apply(t.Context(), conn, Plan{Steps: steps}, DefaultTimeouts, func(i int, _ Step, _ error) { told = append(told, i) })
	if len(a.Done) != 5 || a.Failed == nil || len(a.NotRun) != 5 {
		t.Fatalf("done %d, failed %v, not run %d; want 5, the duplicate, 5", len(a.Done), a.Failed, len(a.NotRun))
	}
	var pgErr *pgconn.PgError
	if !errors.As(a.Failed.Err, &pgErr) || pgErr.Code != "42P07" {
		t.Errorf("the failure is %v, want 42P07 duplicate_table", a.Failed.Err)
	}
	if len(told) != 6 {
		t.Errorf("progress told about steps %v, want 0 to 5", told)
	}
	var before, after int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE relname LIKE 'before\_%'),
		count(*) FILTER (WHERE relname LIKE 'after\_%') FROM pg_class WHERE relnamespace = 'public'::regnamespace`).Scan(&before, &after); err != nil {
		t.Fatalf("the connection is not usable after the failure: %v", err)
	}
	if before != 5 || after != 0 {
		t.Errorf("%d tables of the steps before the failure, %d of those after; want 5 and 0", before, after)
	}
}

// TestApplyBoundsEachStep: statement_timeout bounds each pipelined step
// with the value fix sets for it (on PostgreSQL 10 too, where the server
// would otherwise keep the timer it armed at BEGIN), and the steps after
// the one it cancelled do not run.
func TestApplyBoundsEachStep(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	conn := pgtest.Conn(t, c, db)
	steps := []Step{step("SELECT 1;"), step("SELECT pg_sleep(30);"), step("CREATE TABLE public.after_sleep (id int);")}
	start := time.Now()
	a := Apply(t.Context(), conn, Plan{Steps: steps}, Timeouts{Lock: time.Second, Statement: 300 * time.Millisecond}, nil)
	took := time.Since(start)
	var pgErr *pgconn.PgError
	if a.Failed == nil || !errors.As(a.Failed.Err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("want the sleeping step cancelled by statement_timeout (57014), got %+v", a.Failed)
	}
	if len(a.Done) != 1 || len(a.NotRun) != 1 {
		t.Errorf("done %d, not run %d; want 1 and 1", len(a.Done), len(a.NotRun))
	}
	if took > 15*time.Second {
		t.Errorf("the apply took %s: the step was not bounded by its 300ms statement_timeout", took)
	}
	var exists bool
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass('public.after_sleep') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("the step after the cancelled one ran (exists %v, err %v)", exists, err)
	}
}
