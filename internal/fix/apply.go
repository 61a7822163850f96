package fix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// DB is what applying needs of a connection; *pgx.Conn has it.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Timeouts bound every step on the server.
type Timeouts struct {
	// Lock: how long a step may wait for a lock the application holds.
	Lock time.Duration
	// Statement: how long a step may run, slot creation included (it
	// waits for transactions that were writing when it started).
	Statement time.Duration
}

// DefaultTimeouts keep a blocked step from blocking the application: a
// statement queued for an ACCESS EXCLUSIVE lock makes every later query on
// the table queue behind it.
var DefaultTimeouts = Timeouts{Lock: 5 * time.Second, Statement: 60 * time.Second}

// Applied is the outcome of running a plan.
type Applied struct {
	Done   []Step
	Failed *Failure
	NotRun []Step
}

// Failure is the step that failed and why.
type Failure struct {
	Step Step
	Err  error
}

// Apply runs the plan's steps in order, each in its own transaction (or on
// its own, outside any, when it cannot run in one), and stops at the first
// failure: later steps depend on earlier ones. Steps already done stay done;
// each was committed on its own. progress is told about each step as it ends.
func Apply(ctx context.Context, db DB, p Plan, t Timeouts, progress func(i int, s Step, err error)) Applied {
	var a Applied
	for i, s := range p.Steps {
		err := runStep(ctx, db, s, t)
		if progress != nil {
			progress(i, s, err)
		}
		if err != nil {
			a.Failed = &Failure{Step: s, Err: explain(s, err, t)}
			a.NotRun = p.Steps[i+1:]
			return a
		}
		a.Done = append(a.Done, s)
	}
	return a
}

func runStep(ctx context.Context, db DB, s Step, t Timeouts) error {
	if s.password && s.exec == "" {
		return errors.New("no password was given for the new role (the plan was built without one)")
	}
	// The server bounds the step; the client deadline only guards against
	// a server or network that stops answering.
	ctx, cancel := context.WithTimeout(ctx, t.Lock+t.Statement+15*time.Second)
	defer cancel()
	lock, stmt := fmt.Sprintf("%dms", t.Lock.Milliseconds()), fmt.Sprintf("%dms", t.Statement.Milliseconds())
	const set = "SELECT set_config('lock_timeout', $1, $3), set_config('statement_timeout', $2, $3)"
	if s.NonTransactional {
		// No transaction of ours is open here: each earlier step committed.
		// A slot being created waits for transactions that have written,
		// and cannot be created in one that has.
		if _, err := db.Exec(ctx, set, lock, stmt, false); err != nil {
			return fmt.Errorf("set timeouts: %w", err)
		}
		_, err := db.Exec(ctx, s.Exec())
		return err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, set, lock, stmt, true); err != nil {
		return fmt.Errorf("set timeouts: %w", err)
	}
	if _, err := tx.Exec(ctx, s.Exec()); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// explain adds what to do to the errors a step commonly meets.
func explain(s Step, err error, t Timeouts) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "55P03": // lock_not_available
		return fmt.Errorf("%w: another session held a lock this step needs (%s) for longer than lock_timeout (%s); "+
			"nothing of this step was applied. Find the session in pg_locks/pg_stat_activity, then run fix again", err, s.Locks, t.Lock)
	case "57014": // query_canceled: statement_timeout
		if s.Phase == rules.PhaseSlot {
			return fmt.Errorf("%w: creating the slot waits for transactions that were writing when it started, and one ran longer than "+
				"statement_timeout (%s); no slot was left behind. Look for long transactions (pg_stat_activity.xact_start), then run fix again", err, t.Statement)
		}
		return fmt.Errorf("%w: the step ran longer than statement_timeout (%s) and was rolled back", err, t.Statement)
	case "42501": // insufficient_privilege
		return fmt.Errorf("%w: this step needs %s; run fix as such a role", err, s.Needs)
	}
	return err
}
