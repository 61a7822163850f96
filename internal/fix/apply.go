package fix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// DB is what applying needs of a connection; *pgx.Conn has it.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	PgConn() *pgconn.PgConn
	TypeMap() *pgtype.Map
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
	// Unknown are the steps that were with the server when the connection
	// was lost (Lost says how): it may have committed some of them before
	// it noticed, and nobody heard back. The server runs them in order and
	// stops at the first failure, so those that committed are a prefix.
	Unknown []Step
	Lost    error
	NotRun  []Step
}

// Failure is the step that failed and why.
type Failure struct {
	Step Step
	Err  error
}

// batchSize bounds the steps sent in one pipeline: thousands of steps
// (a replica identity per table) cost a round trip per batch, not several
// per step, while what waits in the server's input stays small.
const batchSize = 500

// Apply runs the plan's steps in order, each in its own transaction (or on
// its own, outside any, when it cannot run in one), and stops at the first
// failure: later steps depend on earlier ones. Steps already done stay done;
// each was committed on its own. progress is told about each step as it ends.
//
// Consecutive transactional steps go to the server together, in a pipeline
// with one Sync per batch: the server runs them back to back, each in its
// own BEGIN … COMMIT under its own lock_timeout and statement_timeout, and
// after an error it skips everything up to the Sync, so the steps after a
// failing one do not run.
func Apply(ctx context.Context, db DB, p Plan, t Timeouts, progress func(i int, s Step, err error)) Applied {
	var a Applied
	for i := 0; i < len(p.Steps); {
		if ctx.Err() != nil {
			// Interrupted between two batches: nothing more was sent.
			a.NotRun = p.Steps[i:]
			return a
		}
		s := p.Steps[i]
		n, batch := 1, !s.NonTransactional && !s.missingPassword()
		for batch && n < batchSize && i+n < len(p.Steps) && !p.Steps[i+n].NonTransactional && !p.Steps[i+n].missingPassword() {
			n++
		}
		var errs []error
		switch {
		case s.missingPassword():
			errs = []error{errNoPassword}
		case batch:
			errs = runBatch(ctx, db, p.Steps[i:i+n], t)
		default:
			errs = []error{runAlone(ctx, db, s, t)}
		}
		for j, err := range errs {
			s := p.Steps[i+j]
			if err != nil && !answered(err) {
				// No answer from the server about this step: the
				// connection is gone (or the apply was interrupted).
				// What was sent may have run.
				a.Lost = err
				sent := i + n
				if errors.Is(err, errNotSent) || pgconn.SafeToRetry(err) {
					sent = i + j
				}
				a.Unknown = p.Steps[i+j : sent]
				a.NotRun = p.Steps[sent:]
				return a
			}
			if progress != nil {
				progress(i+j, s, err)
			}
			if err != nil {
				a.Failed = &Failure{Step: s, Err: explain(s, err, t)}
				a.NotRun = p.Steps[i+j+1:]
				return a
			}
			a.Done = append(a.Done, s)
		}
		i += n
	}
	return a
}

// answered reports whether err is the server's answer about a step (it
// refused it: the step did not commit, and nothing after it in its batch
// ran), rather than a lost connection, a client timeout or an interrupt,
// after which nobody knows what the server did.
func answered(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || errors.Is(err, errNoPassword)
}

// errNotSent marks an error from before a step was sent: the step did not run.
var errNotSent = errors.New("the step was not sent")

// setTimeouts sets both timeouts; $3 says whether only for the transaction.
const setTimeouts = "SELECT set_config('lock_timeout', $1, $3), set_config('statement_timeout', $2, $3)"

// stepSavepoint follows the step's SET LOCALs: a transaction statement,
// after which the server arms statement_timeout afresh, with the value
// just set, for the next statement, the step (without it, PostgreSQL 10
// keeps the timer armed at BEGIN, with the session's value).
const stepSavepoint = "SAVEPOINT cdcpreflight_step"

func timeoutArgs(t Timeouts, local bool) []any {
	return []any{fmt.Sprintf("%dms", t.Lock.Milliseconds()), fmt.Sprintf("%dms", t.Statement.Milliseconds()), local}
}

// runAlone runs a step that cannot run in a transaction block (a slot
// being created waits for transactions that have written, and cannot be
// created in one that has; ALTER SYSTEM refuses one). No transaction of
// ours is open here: each earlier step committed.
func runAlone(ctx context.Context, db DB, s Step, t Timeouts) error {
	// The server bounds the step; the client deadline only guards against
	// a server or network that stops answering.
	ctx, cancel := context.WithTimeout(ctx, t.Lock+t.Statement+15*time.Second)
	defer cancel()
	if _, err := db.Exec(ctx, setTimeouts, timeoutArgs(t, false)...); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return fmt.Errorf("set timeouts: %w", err)
		}
		return fmt.Errorf("set timeouts: %w (%w)", err, errNotSent)
	}
	_, err := db.Exec(ctx, s.Exec())
	return err
}

var errNoPassword = errors.New("no password was given for the new role (the plan was built without one)")

// missingPassword: the step sets a password and none was given.
func (s Step) missingPassword() bool { return s.password && s.exec == "" }

// runBatch runs transactional steps in one pipeline and returns an error
// (nil: done) for each step up to and including the first that failed;
// the steps after it did not run.
func runBatch(ctx context.Context, db DB, steps []Step, t Timeouts) []error {
	var errs []error
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(steps))*(t.Lock+t.Statement)+15*time.Second)
	defer cancel()
	conn := db.PgConn()
	var eqb pgx.ExtendedQueryBuilder
	if err := eqb.Build(db.TypeMap(), nil, timeoutArgs(t, true)); err != nil {
		return []error{fmt.Errorf("set timeouts: %w", err)}
	}
	pl := conn.StartPipeline(ctx)
	for _, s := range steps {
		pl.SendQueryParams("BEGIN", nil, nil, nil, nil)
		pl.SendQueryParams(setTimeouts, eqb.ParamValues, nil, eqb.ParamFormats, eqb.ResultFormats)
		pl.SendQueryParams(stepSavepoint, nil, nil, nil, nil)
		pl.SendQueryParams(s.Exec(), nil, nil, nil, nil)
		pl.SendQueryParams("COMMIT", nil, nil, nil, nil)
	}
	pl.SendPipelineSync()
	if err := pl.Flush(); err != nil {
		return []error{err}
	}
	failed := false
	for range steps {
		var err error
		for k, what := range []string{"begin", "set timeouts", "", "", "commit"} {
			if err = result(pl); err != nil {
				if what != "" && k != 3 {
					err = fmt.Errorf("%s: %w", what, err)
				}
				break
			}
		}
		errs = append(errs, err)
		if err != nil {
			failed = true
			break
		}
	}
	if err := pipelineEnd(pl); err != nil && !failed {
		errs = append(errs[:len(errs)-1], err)
		failed = true
	}
	if failed {
		// The failed step's transaction block is still open (aborted)
		// after the Sync: end it, so the connection is usable.
		_, _ = db.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return errs
}

// result takes the next statement's outcome from the pipeline.
func result(pl *pgconn.Pipeline) error {
	res, err := pl.GetResults()
	if err != nil {
		return err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return fmt.Errorf("pipeline: expected a statement's result, got %T", res)
	}
	_, err = rr.Close()
	return err
}

// pipelineEnd takes the batch's Sync and closes the pipeline.
func pipelineEnd(pl *pgconn.Pipeline) error {
	for {
		res, err := pl.GetResults()
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				continue
			}
			_ = pl.Close()
			return err
		}
		if _, ok := res.(*pgconn.PipelineSync); ok || res == nil {
			return pl.Close()
		}
	}
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
