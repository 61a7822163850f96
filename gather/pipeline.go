package gather

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// A read is one catalog statement: its SQL and arguments, what to do with
// its rows, and the section whose error a failure becomes.
type read struct {
	op   string // what was being done, for the error: "read tables"
	sql  string
	args []any
	scan func(pgx.Rows) error
	// err is where a failure is recorded; the first failure of a section
	// wins, as when its reads ran one after the other. nil: ignored.
	err **facts.Error
	// raw reads run as they are, without the rollback to the savepoint:
	// the statements that open the transaction and set the savepoint.
	raw bool
}

// savepoint is set once, right after the transaction's timeouts, and
// every read starts by rolling back to it: a read that failed (a
// permission denied on a view, a statement timeout) leaves the
// transaction usable for the next, and GUCs set before it survive.
const savepoint = "cdcpreflight_read"

// runReads sends every read in one write, each in its own segment:
//
//	ROLLBACK TO SAVEPOINT; the read; Sync
//
// and then takes the results in order. The server runs the segments back
// to back, so a batch costs one round trip whatever the number of reads;
// a Sync after each read makes it a unit of its own for the server: the
// statement timeout bounds it alone (the timer restarts after a Sync, on
// every major from 10), and a failure skips nothing past its Sync. tail
// statements (the final ROLLBACK) follow the reads in the same write, each
// in a segment of its own; their results are read and their failures
// ignored. It returns an error only when the connection itself failed:
// then every read that had not completed has recorded it.
func (g *gatherer) runReads(ctx context.Context, conn *pgx.Conn, reads []read, tail ...string) error {
	tracer := conn.Config().Tracer
	defer cancelUntilDrained(ctx, conn.PgConn())()
	p := conn.PgConn().StartPipeline(ctx)
	sent := make([]bool, len(reads))
	for i, r := range reads {
		var eqb pgx.ExtendedQueryBuilder
		// Exec mode, as pgx.QueryExecModeExec: parameters typed by the
		// server from their context, in text, and no named statements
		// left on a pooler's shared server connection.
		if err := eqb.Build(conn.TypeMap(), nil, r.args); err != nil {
			g.record(r, fmt.Errorf("encode the parameters: %w", err))
			continue
		}
		sent[i] = true
		if !r.raw {
			p.SendQueryParams("ROLLBACK TO SAVEPOINT "+savepoint, nil, nil, nil, nil)
		}
		p.SendQueryParams(r.sql, eqb.ParamValues, nil, eqb.ParamFormats, eqb.ResultFormats)
		p.SendPipelineSync()
	}
	for _, s := range tail {
		p.SendQueryParams(s, nil, nil, nil, nil)
		p.SendPipelineSync()
	}
	if err := p.Flush(); err != nil {
		return g.broken(p, reads, sent, 0, err)
	}
	for i, r := range reads {
		if !sent[i] {
			continue
		}
		ctx := ctx
		if tracer != nil {
			ctx = tracer.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: r.sql, Args: r.args})
		}
		err := g.segment(p, conn, r)
		if tracer != nil {
			tracer.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{Err: err})
		}
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
		case errors.As(err, &pgErr):
			// The server skipped the rest of the segment; its Sync is next.
			g.record(r, err)
			if err := syncResult(p); err != nil {
				return g.broken(p, reads, sent, i+1, err)
			}
		default:
			g.record(r, err)
			return g.broken(p, reads, sent, i+1, err)
		}
	}
	for range tail {
		if _, err := p.GetResults(); err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				_ = p.Close()
				return err
			}
		}
		if err := syncResult(p); err != nil {
			_ = p.Close()
			return err
		}
	}
	return p.Close()
}

// segment takes one read's results: the rollback to the savepoint, the
// read's rows, and the Sync. A server error is returned before the Sync
// is taken.
func (g *gatherer) segment(p *pgconn.Pipeline, conn *pgx.Conn, r read) error {
	if !r.raw {
		res, err := p.GetResults()
		if err != nil {
			return err
		}
		if rr, ok := res.(*pgconn.ResultReader); ok {
			if _, err := rr.Close(); err != nil {
				return err
			}
		}
	}
	res, err := p.GetResults()
	if err != nil {
		return err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return fmt.Errorf("pipeline: expected the rows of %q, got %T", r.op, res)
	}
	rows := pgx.RowsFromResultReader(conn.TypeMap(), rr)
	readErr := r.scan(rows)
	rows.Close() // reads what the scan left
	if readErr == nil {
		readErr = rows.Err()
	}
	// A server error while the rows came (a statement timeout) ended the
	// segment early; a scan error ends the read but not the segment.
	// Either way its Sync is next, and if the connection is gone, taking
	// it says so.
	if err := syncResult(p); err != nil {
		return err
	}
	if readErr != nil {
		g.record(r, readErr)
	}
	return nil
}

// cancelEvery is how often a pipeline whose context ended asks the server
// again to cancel the statement it runs.
const cancelEvery = 200 * time.Millisecond

// cancelUntilDrained keeps cancelling on the server, once ctx ends (Ctrl-C,
// --timeout), whatever statement of the pipeline runs, until the caller has
// read the pipeline to its end; it returns the function that says so. A
// CancelRequest cancels only the statement running when it arrives, and
// the reads queued behind it would run, or wait for the same lock, one
// after the other: this way each stops at once, the session is idle when
// the connection closes, and no statement of ours stays behind.
func cancelUntilDrained(ctx context.Context, pc *pgconn.PgConn) (drained func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	// The cancel requests must outlive ctx: they are sent because it ended.
	go func() { //nolint:gosec // G118: see above
		defer close(stopped)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTicker(cancelEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				cctx, cancel := context.WithTimeout(context.Background(), cancelDeadline)
				_ = pc.CancelRequest(cctx)
				cancel()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// syncResult takes the Sync that ends a segment.
func syncResult(p *pgconn.Pipeline) error {
	res, err := p.GetResults()
	if err != nil {
		return err
	}
	if _, ok := res.(*pgconn.PipelineSync); !ok {
		return fmt.Errorf("pipeline: expected the end of a read, got %T", res)
	}
	return nil
}

// broken records a failed connection on every read from index from on that
// was sent and closes the pipeline.
func (g *gatherer) broken(p *pgconn.Pipeline, reads []read, sent []bool, from int, err error) error {
	for i := from; i < len(reads); i++ {
		if sent[i] {
			g.record(reads[i], err)
		}
	}
	_ = p.Close()
	return err
}

func (g *gatherer) record(r read, err error) {
	if r.err != nil && *r.err == nil {
		*r.err = g.fail(r.op, err)
	}
}

// rowsOne scans the single row of a read into dst; no row is
// pgx.ErrNoRows, as with QueryRow.
func rowsOne(rows pgx.Rows, dst ...any) error {
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	return rows.Scan(dst...)
}
