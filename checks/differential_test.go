//go:build differential

package checks_test

// The differential test: every scenario database the suite judges is, once
// its test is done with it, judged again and then played by a real
// pgoutput client doing what a connector does (internal/connsim). The two
// must agree: no database where the client breaks and the check exits 0,
// none where an error-severity rule fails and the client works, and for
// every step that breaks a failing rule that names it. It hooks judgeDSN,
// so a new scenario is in it by being written.
//
//	go test -tags differential ./checks/
//
// CDCPREFLIGHT_DIFF_REPORT=FILE also writes the table of verdicts there.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/connsim"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func differentialHooks() (func(*testing.T, string, facts.Options, time.Time), func(int) int) {
	return registerDifferential, writeDifferentialReport
}

// stepRules are the rules that speak for each step a connector takes: when
// the step breaks, one of them must fail.
var stepRules = map[string][]string{
	connsim.StepConnect: {"database-connect", "pooler-hostname",
		"connection-capacity", "role-connection-limit", "pooler-detected"},
	connsim.StepReplicationConnect: {"replication-connection", "replication-privilege", "database-connect", "pooler-hostname", "standby",
		"connection-capacity", "role-connection-limit", "pooler-detected"},
	connsim.StepCapture:     {"tables-exist", "capture-scope"},
	connsim.StepPublication: {"publication-autocreate", "publication-exists"},
	connsim.StepSlot: {"slot-exists", "slot-config", "slot-health", "replication-capacity", "wal-level", "standby",
		"output-plugin", "replication-privilege"},
	connsim.StepSnapshot:     {"table-select", "schema-usage", "tables-exist", "role-timeouts"},
	connsim.StepSnapshotRows: {"row-level-security"},
	connsim.StepStream: {"slot-peek", "publication-exists", "slot-config", "slot-health", "wal-level", "standby", "slot-in-use",
		"synchronized-standby-slots"},
	connsim.StepWrite: {"replica-identity"},
	connsim.StepChanges: {"publication-coverage", "publication-operations", "publication-partitions", "publication-filters",
		"unlogged-tables", "publication-exists", "tables-exist", "replica-identity-full", "publication-autocreate",
		"synchronized-standby-slots"},
	connsim.StepColumns:      {"publication-filters", "generated-columns"},
	connsim.StepSignal:       {"signal-table", "signal-table-privileges", "signal-collection"},
	connsim.StepSignalStream: {"publication-signal-table", "signal-table", "signal-collection", "publication-autocreate"},
	connsim.StepHeartbeat:    {"heartbeat-query"},
}

// unobservable are error-severity rules whose failure no client run can
// show, because they guard safety or the future rather than whether
// streaming works now. Each says why.
var unobservable = map[string]string{
	"ssl":                "a plaintext connection streams as well as an encrypted one; TLS is a security requirement",
	"server-version":     "an end-of-life server streams today; it stops getting fixes",
	"default-privileges": "it is about tables created later, which no run now can write to",
	"slot-health":        "a slot holding back too much WAL still streams; it is the primary's disk at risk",
	"connector-config":   "Kafka Connect validates a configuration before any task runs; the database never sees it",
	"topic-names":        "topics are Kafka's: two tables sharing one stream fine and collide downstream",
	"replica-identity-autoset": "Debezium only logs an ALTER … REPLICA IDENTITY it cannot run and streams on; " +
		"what is lost is the identity the destination expected",
	"slot-xid-horizon": "a slot holding the xmin horizon back past the failsafe age still streams; it is VACUUM, and " +
		"wraparound of the whole server, at risk",
}

type diffTarget struct {
	dsn    string
	expect facts.Options
	now    time.Time
	done   bool
}

type diffRow struct {
	test     string
	exit     int
	failing  []string
	errored  int
	steps    []string
	verdict  string // agree, or what went wrong
	problems []string
}

var (
	diffMu   sync.Mutex
	diffRows []diffRow
	// targets: the last judgement of each database, per test.
	targets = map[string]*diffTarget{}
)

// registerDifferential remembers the database's latest judgement and, at
// the end of the test, replays it. Each call registers a cleanup; the
// first to run (the one registered last) does the work, so the replay sees
// the database as the test left it after its last judgement.
func registerDifferential(t *testing.T, dsn string, expect facts.Options, now time.Time) {
	key := t.Name() + "\x00" + databaseOf(dsn)
	diffMu.Lock()
	tg := targets[key]
	if tg == nil {
		tg = &diffTarget{}
		targets[key] = tg
	}
	tg.dsn, tg.expect, tg.now = dsn, expect, now
	diffMu.Unlock()
	t.Cleanup(func() {
		diffMu.Lock()
		if tg.done {
			diffMu.Unlock()
			return
		}
		tg.done = true
		diffMu.Unlock()
		differential(t, tg)
	})
}

func databaseOf(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return dsn
	}
	return cfg.Database
}

func differential(t *testing.T, tg *diffTarget) {
	results := evaluate(t, tg.dsn, tg.expect, tg.now)
	byRule := map[string]rules.Result{}
	row := diffRow{test: t.Name(), exit: rules.ExitCode(results, rules.Error)}
	for _, r := range results {
		byRule[r.Rule] = r
		switch r.Status {
		case rules.StatusFail:
			row.failing = append(row.failing, r.Rule)
		case rules.StatusError:
			row.errored++
		}
	}
	rep, err := play(t, tg)
	if err != nil {
		t.Errorf("differential: %v", err)
		row.verdict = "client could not run: " + err.Error()
		record(row)
		return
	}
	row.steps = rep.Steps()
	for _, p := range rep.Problems {
		row.problems = append(row.problems, p.String())
	}
	var wrong []string
	// warned: the severity principle lets a rule warn for a table merely
	// in the default scope, saying so; the breakage is then reported, only
	// not gating. A listed table never gets this.
	warned := func(step string) bool {
		return len(tg.expect.Tables) == 0 && slices.ContainsFunc(stepRules[step], func(id string) bool {
			r := byRule[id]
			return r.Status == rules.StatusWarn && strings.Contains(r.Message, "default all-tables scope")
		})
	}
	failed := func(step string) bool {
		return slices.ContainsFunc(stepRules[step], func(id string) bool { return byRule[id].Status == rules.StatusFail })
	}
	switch {
	case !rep.OK() && row.exit == 0 && allSteps(row.steps, warned):
		row.verdict = "agree (warned: default scope)"
	case !rep.OK() && row.exit == 0:
		wrong = append(wrong, "FALSE PASS: the check exits 0 while the client breaks: "+strings.Join(row.problems, "; "))
	case !rep.OK():
		for _, step := range row.steps {
			if !failed(step) && !warned(step) {
				wrong = append(wrong, fmt.Sprintf("WRONG REASON: step %s breaks (%s) but none of %s fails (failing: %s)",
					step, problemsOf(rep, step), strings.Join(stepRules[step], ", "), strings.Join(row.failing, ", ")))
			}
		}
	default:
		for _, id := range row.failing {
			if _, ok := unobservable[id]; !ok {
				wrong = append(wrong, fmt.Sprintf("FALSE ALARM: %s fails (%s) while the client works", id, byRule[id].Message))
			}
		}
	}
	switch {
	case len(wrong) > 0:
		row.verdict = strings.Join(wrong, " | ")
		t.Errorf("differential: %s\nclient notes: %s", row.verdict, strings.Join(rep.Notes, "; "))
	case row.verdict == "":
		row.verdict = "agree"
	}
	record(row)
}

func allSteps(steps []string, ok func(string) bool) bool {
	for _, s := range steps {
		if !ok(s) {
			return false
		}
	}
	return len(steps) > 0
}

func problemsOf(rep connsim.Report, step string) string {
	var out []string
	for _, p := range rep.Problems {
		if p.Step == step {
			out = append(out, p.String())
		}
	}
	return strings.Join(out, "; ")
}

// play runs the connector stand-in with the connector's login and the
// superuser of the server behind the DSN as the application.
func play(t *testing.T, tg *diffTarget) (connsim.Report, error) {
	u, err := url.Parse(tg.dsn)
	if err != nil {
		return connsim.Report{}, err
	}
	port, _ := strconv.Atoi(u.Port())
	c, ok := pgtest.Serving(port)
	if !ok {
		// Nothing this test binary started listens there: a connector
		// cannot connect either.
		return connsim.Report{Problems: []connsim.Problem{{Step: connsim.StepConnect, Detail: "no server at " + u.Host}}}, nil
	}
	connector := tg.dsn
	if who := tg.expect.ConnectorUser; who != "" && who != u.User.Username() {
		// An audit of another role knows its name, not its password: log in
		// as it over the cluster's socket, where authentication is trust,
		// so that its privileges, not a guessed password, are exercised.
		connector = c.SocketDSN(who, databaseOf(tg.dsn))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return connsim.Run(ctx, connsim.Config{
		ConnectorDSN: connector, AdminDSN: c.SuperDSN(databaseOf(tg.dsn)),
		Slot: tg.expect.Slot, Publication: tg.expect.Publication, SignalSchema: tg.expect.SignalSchema,
		SnapshotMode: tg.expect.SnapshotMode, Tables: tg.expect.Tables, SoftDeletes: tg.expect.SoftDeletes,
		SignalTable: tg.expect.SignalTable, Connector: tg.expect.Connector,
		Log: func(format string, a ...any) { t.Logf("connsim: "+format, a...) },
	})
}

func record(r diffRow) {
	diffMu.Lock()
	diffRows = append(diffRows, r)
	diffMu.Unlock()
}

// writeDifferentialReport prints the table of scenarios and verdicts and
// fails the run when the differential judged nothing.
func writeDifferentialReport(code int) int {
	diffMu.Lock()
	defer diffMu.Unlock()
	sort.Slice(diffRows, func(i, j int) bool { return diffRows[i].test < diffRows[j].test })
	var b strings.Builder
	agree := 0
	fmt.Fprintf(&b, "| scenario | check exit | failing rules | client broke at | verdict |\n|---|---|---|---|---|\n")
	for _, r := range diffRows {
		if strings.HasPrefix(r.verdict, "agree") {
			agree++
		}
		failing := strings.Join(r.failing, ", ")
		if r.errored > 0 {
			failing += fmt.Sprintf(" (+%d error)", r.errored)
		}
		steps := strings.Join(r.steps, ", ")
		if steps == "" {
			steps = "works"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", r.test, r.exit, failing, steps, r.verdict)
	}
	fmt.Fprintf(&b, "\ndifferential: %d scenario databases, %d agree, %d disagree\n", len(diffRows), agree, len(diffRows)-agree)
	fmt.Print(b.String())
	if path := os.Getenv("CDCPREFLIGHT_DIFF_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "differential: write %s: %v\n", path, err)
			return 1
		}
	}
	if len(diffRows) == 0 && code == 0 {
		fmt.Fprintln(os.Stderr, "differential: no scenario was judged")
		return 1
	}
	return code
}
