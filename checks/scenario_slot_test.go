package checks_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// slotScenarios: rule → {passing scenario, non-passing scenario}.
var slotScenarios = map[string][2]string{
	"slot-exists":   {"TestScenarioSlotDecodes", "TestScenarioSlotMissing"},
	"slot-config":   {"TestScenarioSlotDecodes", "TestScenarioSlotWrongKind"},
	"slot-health":   {"TestScenarioSlotDecodes", "TestScenarioSlotInvalidated"},
	"slot-lifetime": {"TestScenarioSlotDecodes", "TestScenarioSlotLifetimeNeon"},
	"slot-peek":     {"TestScenarioSlotDecodes", "TestScenarioSlotBeforePublication"},
	"other-slots":   {"TestScenarioSlotDecodes", "TestScenarioOtherSlotsRetainingWAL"},
}

// slotPub is a publication name that must be quoted everywhere, including
// in the peek's publication_names option (a list of identifiers).
const slotPub = `CDC "Pub"; DROP TABLE x; -- ü`

// slotEnv is a fresh database, a non-superuser connector role with
// REPLICATION (the peek needs it), and names for the slot, publication
// and table. Slot names are cluster-wide, so each test gets its own.
type slotEnv struct {
	c                   *pglocal.Cluster
	db, user, slot, pub string
	table               string
	super               *pgx.Conn // superuser, to read the slots
}

func newSlotEnv(t *testing.T, c *pglocal.Cluster) slotEnv {
	t.Helper()
	db := pgtest.NewDatabase(t, c)
	return slotEnv{c: c, db: db, user: replicationUser(t, c, db), slot: pgtest.UniqueName(t, "slot"), pub: slotPub,
		table: `public."App Events"`, super: pgtest.Conn(t, c, db)}
}

// exec runs a slot fixture as the superuser, each call in its own
// transaction (slot creation refuses a transaction that has written).
func (e slotEnv) exec(t *testing.T, file string, fill map[string]string) {
	t.Helper()
	all := map[string]string{"table": e.table, "publication": sqlident.Quote(e.pub),
		"slot": sqlident.Literal(e.slot), "plugin": sqlident.Literal("pgoutput")}
	for k, v := range fill {
		all[k] = v
	}
	pgtest.Exec(t, e.c, e.db, fixture(t, file, all))
}

// setUp is the right order: table, publication, then the slot, then
// changes for the slot to hold.
func (e slotEnv) setUp(t *testing.T) {
	t.Helper()
	e.exec(t, "slot-table.sql", nil)
	e.exec(t, "slot-publication.sql", nil)
	e.exec(t, "slot-create.sql", nil)
	e.exec(t, "slot-writes.sql", nil)
}

func (e slotEnv) judge(t *testing.T, tweak func(o *facts.Options)) map[string]rules.Result {
	t.Helper()
	o := facts.Options{Slot: e.slot, Publication: e.pub, SignalSchema: "streamkap", SnapshotMode: "auto"}
	if tweak != nil {
		tweak(&o)
	}
	return judgeDSN(t, e.c.DSN(e.user, testPassword, e.db, "require"), o, time.Time{})
}

// slotPos is what a peek must never move, and who holds the slot.
type slotPos struct {
	restart, confirmed string
	active             bool
	pid                int
	walStatus          string
}

func (e slotEnv) position(t *testing.T, slot string) slotPos {
	t.Helper()
	var p slotPos
	walStatus := "''"
	if e.c.VersionNum >= 130000 {
		walStatus = "coalesce(wal_status, '')"
	}
	err := e.super.QueryRow(t.Context(), `SELECT coalesce(restart_lsn::text, ''),
	coalesce(confirmed_flush_lsn::text, ''), active, coalesce(active_pid, 0), `+walStatus+`
FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&p.restart, &p.confirmed, &p.active, &p.pid, &p.walStatus)
	if err != nil {
		t.Fatalf("read slot %s: %v", slot, err)
	}
	return p
}

func slotObj(name string) string { return "slot " + sqlident.Quote(name) }

// expectResult checks one rule's status and that its text says what it must.
func expectResult(t *testing.T, got map[string]rules.Result, id string, want rules.Status, says ...string) rules.Result {
	t.Helper()
	r := got[id]
	if r.Status != want {
		t.Errorf("%s = %s, want %s: %s", id, r.Status, want, r.Message)
	}
	text := r.Message + "\n" + r.Remediation + "\n" + strings.Join(r.FixSQL, "\n")
	for _, s := range says {
		if !strings.Contains(text, s) {
			t.Errorf("%s does not say %q:\n%s", id, s, text)
		}
	}
	return r
}

var sawChanges = regexp.MustCompile(`saw (\d+) changes? without consuming`)

// TestScenarioSlotDecodes: the right setup with changes pending. Every slot
// rule passes, the peek decodes the changes, and checking twice sees them
// twice: the slot's restart_lsn and confirmed_flush_lsn do not move.
func TestScenarioSlotDecodes(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.setUp(t)
	before := e.position(t, e.slot)
	for run := range 2 {
		got := e.judge(t, nil)
		expectStatus(t, got, map[string]rules.Status{
			"slot-exists": rules.StatusPass, "slot-config": rules.StatusPass, "slot-health": rules.StatusPass,
			"slot-lifetime": rules.StatusPass, "slot-peek": rules.StatusPass, "other-slots": rules.StatusPass,
		})
		m := sawChanges.FindStringSubmatch(got["slot-peek"].Message)
		if m == nil {
			t.Fatalf("run %d: the peek saw no change: %s", run, got["slot-peek"].Message)
		}
		// BEGIN, RELATION, the ten INSERTs, COMMIT: upto_nchanges = 1 stops
		// only after a whole transaction.
		if n, _ := strconv.Atoi(m[1]); n < 10 {
			t.Errorf("run %d: the peek saw %d changes, want the whole 10-row transaction", run, n)
		}
		if !strings.Contains(got["slot-peek"].Message, sqlident.Quote(e.pub)) {
			t.Errorf("slot-peek should name the publication quoted: %s", got["slot-peek"].Message)
		}
		if e.c.VersionNum < 130000 {
			expectResult(t, got, "slot-health", rules.StatusPass, "has no wal_status")
		}
		after := e.position(t, e.slot)
		if after.restart != before.restart || after.confirmed != before.confirmed || after.active {
			t.Fatalf("run %d: the check moved or kept the slot: before %+v, after %+v", run, before, after)
		}
	}
}

// TestScenarioSlotMissing: no slot. The remediation SQL creates it.
func TestScenarioSlotMissing(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.exec(t, "slot-table.sql", nil)
	e.exec(t, "slot-publication.sql", nil)
	got := e.judge(t, nil)
	r := expectResult(t, got, "slot-exists", rules.StatusFail, "does not exist", "after the publication")
	if !slices.Equal(r.Objects, []string{slotObj(e.slot)}) {
		t.Errorf("objects = %q", r.Objects)
	}
	for _, id := range []string{"slot-config", "slot-health", "slot-lifetime"} {
		expectResult(t, got, id, rules.StatusSkip, "does not exist")
	}
	expectResult(t, got, "slot-peek", rules.StatusSkip, "does not exist")
	want := "SELECT pg_create_logical_replication_slot(" + sqlident.Literal(e.slot) + ", 'pgoutput');"
	if len(r.FixSQL) != 1 || r.FixSQL[0] != want {
		t.Fatalf("fix SQL = %q, want %q", r.FixSQL, want)
	}
	pgtest.Exec(t, e.c, e.db, r.FixSQL[0])
	got = e.judge(t, nil)
	expectStatus(t, got, map[string]rules.Status{"slot-exists": rules.StatusPass, "slot-config": rules.StatusPass, "slot-peek": rules.StatusPass})
}

// TestScenarioSlotWrongKind: slots the connector cannot decode. None is
// peeked, and the remediation never drops anything by itself.
func TestScenarioSlotWrongKind(t *testing.T) {
	c := pgtest.Cluster(t)
	check := func(t *testing.T, e slotEnv, peekSays string, says ...string) {
		t.Helper()
		got := e.judge(t, nil)
		r := expectResult(t, got, "slot-config", rules.StatusFail, says...)
		if !slices.Equal(r.Objects, []string{slotObj(e.slot)}) {
			t.Errorf("objects = %q", r.Objects)
		}
		if len(r.FixSQL) != 0 {
			t.Errorf("slot-config must not offer SQL to apply: %q", r.FixSQL)
		}
		expectResult(t, got, "slot-exists", rules.StatusPass)
		expectResult(t, got, "slot-peek", rules.StatusSkip, peekSays)
	}
	t.Run("test_decoding", func(t *testing.T) {
		e := newSlotEnv(t, c)
		e.exec(t, "slot-table.sql", nil)
		e.exec(t, "slot-publication.sql", nil)
		e.exec(t, "slot-create.sql", map[string]string{"plugin": sqlident.Literal("test_decoding")})
		check(t, e, "not a pgoutput logical slot", "uses the output plugin test_decoding, not pgoutput", "never drops slots",
			"SELECT pg_drop_replication_slot("+sqlident.Literal(e.slot)+");")
	})
	t.Run("physical", func(t *testing.T) {
		e := newSlotEnv(t, c)
		e.exec(t, "slot-table.sql", nil)
		e.exec(t, "slot-publication.sql", nil)
		e.exec(t, "slot-create-physical.sql", nil)
		// A physical slot belongs to no database: the database's cleanup
		// would leave it behind, retaining WAL on the shared cluster.
		t.Cleanup(func() {
			_ = c.Exec(context.Background(), "postgres", "SELECT pg_drop_replication_slot("+sqlident.Literal(e.slot)+")")
		})
		check(t, e, "not a pgoutput logical slot", "is a physical slot, not a logical one", "never drops slots")
	})
	t.Run("another database", func(t *testing.T) {
		e := newSlotEnv(t, c)
		e.exec(t, "slot-table.sql", nil)
		e.exec(t, "slot-publication.sql", nil)
		elsewhere := e
		elsewhere.db = pgtest.NewDatabase(t, c)
		elsewhere.exec(t, "slot-create.sql", nil)
		check(t, e, "decoding works only there", "belongs to database "+sqlident.Quote(elsewhere.db), "never drops slots")
	})
	t.Run("temporary", func(t *testing.T) {
		e := newSlotEnv(t, c)
		e.exec(t, "slot-table.sql", nil)
		e.exec(t, "slot-publication.sql", nil)
		// The slot lives as long as this session.
		holder := pgtest.Conn(t, c, e.db)
		sql := fixture(t, "slot-create-temporary.sql", map[string]string{"slot": sqlident.Literal(e.slot)})
		if _, err := holder.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
		check(t, e, "is active in process", "is temporary", "once the temporary one is gone")
	})
}

// TestScenarioSlotBeforePublication: the slot holds changes written before
// the publication existed. PostgreSQL 10–17 fail the peek with 42704,
// PostgreSQL 18 only warns and skips them; both are explained.
func TestScenarioSlotBeforePublication(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.exec(t, "slot-table.sql", nil)
	e.exec(t, "slot-create.sql", nil)
	e.exec(t, "slot-writes.sql", nil)
	e.exec(t, "slot-publication.sql", nil)
	before := e.position(t, e.slot)
	got := e.judge(t, nil)
	evidence := "SQLSTATE 42704"
	if e.c.VersionNum >= 180000 {
		evidence = "skipped loading publication"
	}
	r := expectResult(t, got, "slot-peek", rules.StatusFail, "the slot was created before the publication", evidence,
		"SELECT pg_drop_replication_slot("+sqlident.Literal(e.slot)+");", "never drops slots")
	if want := []string{slotObj(e.slot), "publication " + sqlident.Quote(e.pub)}; !slices.Equal(r.Objects, want) {
		t.Errorf("objects = %q, want %q", r.Objects, want)
	}
	if len(r.FixSQL) != 0 {
		t.Errorf("slot-peek must not offer SQL to apply: %q", r.FixSQL)
	}
	expectStatus(t, got, map[string]rules.Status{"slot-exists": rules.StatusPass, "slot-config": rules.StatusPass})
	if after := e.position(t, e.slot); after.restart != before.restart || after.confirmed != before.confirmed || after.active {
		t.Errorf("the failed peek moved or kept the slot: before %+v, after %+v", before, after)
	}
}

// TestScenarioSlotActiveConsumer: a consumer streams from the slot. The
// check does not peek, and the consumer keeps the slot.
func TestScenarioSlotActiveConsumer(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.setUp(t)
	consumer := startConsumer(t, e)
	got := e.judge(t, nil)
	expectResult(t, got, "slot-peek", rules.StatusSkip, "is active in process "+strconv.Itoa(consumer.pid))
	expectResult(t, got, "slot-lifetime", rules.StatusPass, "is active")
	expectResult(t, got, "slot-exists", rules.StatusPass)
	if err := consumer.exited(); err != nil {
		t.Fatalf("the consumer stopped during the check: %v", err)
	}
	if p := e.position(t, e.slot); !p.active || p.pid != consumer.pid {
		t.Errorf("the consumer lost the slot: %+v, consumer PID %d", p, consumer.pid)
	}
}

// TestScenarioSlotBacklogOverLimit: a backlog over --peek-max-backlog is
// not decoded.
func TestScenarioSlotBacklogOverLimit(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.setUp(t)
	got := e.judge(t, func(o *facts.Options) { o.PeekMaxBacklog = 1 })
	expectResult(t, got, "slot-peek", rules.StatusSkip, "over --peek-max-backlog 1 B")
}

// TestScenarioSlotRetainedWAL: a slot holding more WAL than
// --retained-wal-warn is a warning (before 13 the only thing judged).
func TestScenarioSlotRetainedWAL(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.setUp(t)
	got := e.judge(t, func(o *facts.Options) { o.RetainedWALWarn = 1 })
	says := []string{"over --retained-wal-warn 1 B", "Nothing consumes the slot now"}
	if e.c.VersionNum < 130000 {
		says = append(says, "has no wal_status")
	}
	r := expectResult(t, got, "slot-health", rules.StatusWarn, says...)
	if !slices.Equal(r.Objects, []string{slotObj(e.slot)}) {
		t.Errorf("objects = %q", r.Objects)
	}
}

// TestScenarioSlotInvalidated: max_slot_wal_keep_size = 1MB and a few WAL
// segments later the slot is lost (13+; before 13 nothing invalidates a slot).
func TestScenarioSlotInvalidated(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 130000 {
		t.Skipf("PostgreSQL %d has no max_slot_wal_keep_size: slots are never invalidated (see TestScenarioSlotRetainedWAL)", v/10000)
	}
	c := pgtest.ClusterWith(t, "slot-keep-1mb", pglocal.Options{TLS: true, Settings: map[string]string{"max_slot_wal_keep_size": "1MB"}})
	e := newSlotEnv(t, c)
	e.setUp(t)
	for i := 0; e.position(t, e.slot).walStatus != "lost"; i++ {
		if i == 20 {
			t.Fatalf("the slot was not invalidated: %+v", e.position(t, e.slot))
		}
		e.exec(t, "slot-switch-wal.sql", nil)
		pgtest.Exec(t, c, e.db, "CHECKPOINT")
	}
	got := e.judge(t, nil)
	reason := "wal_status = lost"
	if c.VersionNum >= 170000 {
		reason = "invalidation_reason = wal_removed"
	}
	r := expectResult(t, got, "slot-health", rules.StatusFail, "is invalidated", reason, "cannot be repaired",
		"SELECT pg_drop_replication_slot("+sqlident.Literal(e.slot)+");")
	if !slices.Equal(r.Objects, []string{slotObj(e.slot)}) {
		t.Errorf("objects = %q", r.Objects)
	}
	expectResult(t, got, "slot-peek", rules.StatusSkip, "is invalidated")
	expectResult(t, got, "slot-exists", rules.StatusPass)
}

// TestScenarioOtherSlotsRetainingWAL: someone else's inactive slot keeps
// WAL; it is listed, and left alone.
func TestScenarioOtherSlotsRetainingWAL(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.setUp(t)
	other := pgtest.UniqueName(t, "abandoned")
	e.exec(t, "slot-create.sql", map[string]string{"slot": sqlident.Literal(other)})
	e.exec(t, "slot-writes.sql", nil)
	got := e.judge(t, func(o *facts.Options) { o.RetainedWALWarn = 1 })
	r := expectResult(t, got, "other-slots", rules.StatusWarn, other+" (", "SELECT pg_drop_replication_slot("+sqlident.Literal(other)+");",
		"never drops slots")
	if !slices.Contains(r.Objects, slotObj(other)) || slices.Contains(r.Objects, slotObj(e.slot)) {
		t.Errorf("objects = %q: want %s and not the connector's slot", r.Objects, other)
	}
	if len(r.FixSQL) != 0 {
		t.Errorf("other-slots must not offer SQL to apply: %q", r.FixSQL)
	}
	if p := e.position(t, other); p.restart == "" {
		t.Errorf("the other slot changed: %+v", p)
	}
}

// TestScenarioSlotLifetimeNeon: on Neon (detected by its neon_superuser
// role) an inactive slot is at risk; an active one is not.
func TestScenarioSlotLifetimeNeon(t *testing.T) {
	c := pgtest.ClusterWith(t, "slot-neon", pglocal.Options{TLS: true})
	e := newSlotEnv(t, c)
	e.exec(t, "slot-neon-role.sql", nil)
	e.setUp(t)
	got := e.judge(t, nil)
	r := expectResult(t, got, "slot-lifetime", rules.StatusWarn, "Neon removes inactive slots after about 40 hours",
		"Start the connector soon after creating the slot")
	if !slices.Equal(r.Objects, []string{slotObj(e.slot)}) {
		t.Errorf("objects = %q", r.Objects)
	}
	consumer := startConsumer(t, e)
	got = e.judge(t, nil)
	expectResult(t, got, "slot-lifetime", rules.StatusPass, "is active (PID "+strconv.Itoa(consumer.pid)+")")
}

// TestScenarioSlotIdleTimeout: PostgreSQL 18 invalidates slots idle for
// longer than idle_replication_slot_timeout.
func TestScenarioSlotIdleTimeout(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 180000 {
		t.Skipf("PostgreSQL %d has no idle_replication_slot_timeout", v/10000)
	}
	c := pgtest.ClusterWith(t, "slot-idle-1d", pglocal.Options{TLS: true, Settings: map[string]string{"idle_replication_slot_timeout": "1d"}})
	e := newSlotEnv(t, c)
	e.setUp(t)
	got := e.judge(t, nil)
	expectResult(t, got, "slot-lifetime", rules.StatusWarn, "of the 24h0m0s idle_replication_slot_timeout",
		"ALTER SYSTEM SET idle_replication_slot_timeout = 0;")
}

// consumer is a pg_recvlogical streaming from a slot, as a connector would.
type consumer struct {
	pid  int         // its WAL sender's, the slot's active_pid
	proc *os.Process // pg_recvlogical itself
	done chan struct{}
	err  error // set when done is closed
	out  *bytes.Buffer
}

// exited returns why the consumer stopped, or nil while it runs.
func (c *consumer) exited() error {
	select {
	case <-c.done:
		return &exitError{err: c.err, stderr: c.out.String()}
	default:
		return nil
	}
}

type exitError struct {
	err    error
	stderr string
}

func (e *exitError) Error() string {
	return "pg_recvlogical exited: " + errString(e.err) + ": " + e.stderr
}

func errString(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// startConsumer starts pg_recvlogical on the slot and waits until it holds
// it; the test's cleanup kills it (by its own PID) before the database goes.
func startConsumer(t *testing.T, e slotEnv, extra ...string) *consumer {
	t.Helper()
	bin := recvlogicalBinary(t, e.c)
	ctx, cancel := context.WithCancel(context.Background())
	// publication_names is a list of identifiers: the name goes quoted.
	args := append([]string{"-d", e.c.SuperDSN(e.db), "--slot", e.slot, "--start", "-f", "-",
		"--no-loop", "-o", "proto_version=1", "-o", "publication_names=" + sqlident.Quote(e.pub)}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cons := &consumer{done: make(chan struct{}), out: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = nil, cons.out // the binary stream is not needed
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	cons.proc = cmd.Process
	go func() {
		cons.err = cmd.Wait()
		close(cons.done)
	}()
	t.Cleanup(func() {
		cancel() // kills this process only
		<-cons.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := cons.exited(); err != nil {
			t.Fatal(err)
		}
		if p := e.position(t, e.slot); p.active {
			cons.pid = p.pid
			return cons
		}
		if time.Now().After(deadline) {
			t.Fatalf("pg_recvlogical did not take slot %s in 20 s", e.slot)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recvlogicalBinary finds pg_recvlogical: the cluster's bin directory first
// (the npm server builds ship none), then PATH, then Debian's directories.
// It is a client, so any recent version can stream from PostgreSQL 10–18.
func recvlogicalBinary(t *testing.T, c *pglocal.Cluster) string {
	t.Helper()
	candidates := []string{filepath.Join(c.BinDir, "pg_recvlogical")}
	if p, err := exec.LookPath("pg_recvlogical"); err == nil {
		candidates = append(candidates, p)
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_recvlogical")
	slices.SortFunc(debian, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, p := range append(candidates, debian...) {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("pg_recvlogical not found (CI=true: missing binaries are an error, not a skip)")
	}
	t.Skip("skipping: pg_recvlogical not found in the cluster's bin directory, on PATH or under /usr/lib/postgresql")
	return ""
}

// versionOf reads N from /usr/lib/postgresql/N/bin/….
func versionOf(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}
