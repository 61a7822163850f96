package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/report"
)

// fleetTarget is one line of a test's targets file.
type testTarget struct {
	name, dsn, extra string
}

func writeTargets(t *testing.T, targets []testTarget) string {
	t.Helper()
	var b strings.Builder
	for _, tt := range targets {
		fmt.Fprintf(&b, "- name: %q\n", tt.name)
		if strings.HasPrefix(tt.dsn, "$") {
			fmt.Fprintf(&b, "  dsn_env: %s\n", tt.dsn[1:])
		} else {
			fmt.Fprintf(&b, "  dsn: %q\n", tt.dsn)
		}
		if tt.extra != "" {
			b.WriteString("  " + strings.ReplaceAll(strings.TrimSpace(tt.extra), "\n", "\n  ") + "\n")
		}
	}
	return writeFile(t, "targets.yml", b.String())
}

func decodeFleet(t *testing.T, path string) report.JSONFleet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	doc, err := report.DecodeFleetJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

// closedPort is a loopback port nothing listens on: connections are refused.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// numbers are what moves between two runs: WAL positions (hex), sizes,
// counts.
var numbers = regexp.MustCompile(`[0-9A-F]+/[0-9A-F]+|[0-9]+`)

// ruleVerdicts is a report's rule → status and message (numbers masked: WAL
// positions move between two runs).
func ruleVerdicts(rep report.JSONReport) map[string]string {
	m := map[string]string{}
	for _, r := range rep.Results {
		m[r.Rule] = string(r.Status) + " " + numbers.ReplaceAllString(r.Message, "N") + " " + strings.Join(r.Objects, ",")
	}
	return m
}

// TestFleetVerdictsMatchSingleChecks: a fleet of healthy and broken
// databases on two clusters, one that refuses connections and one whose
// DSN comes from the environment: each target's verdicts, and the exit
// code it alone would have, are those of checking it alone, and the
// fleet's exit code is the worst.
func TestFleetVerdictsMatchSingleChecks(t *testing.T) {
	c := pgtest.ClusterWith(t, "fleet", pglocal.Options{TLS: true})
	healthy := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, healthy, scenario(t, "app-tables.sql", nil))
	pgtest.Exec(t, c, healthy, scenario(t, "streamkap-guide.sql", map[string]string{"password": secret, "database": healthy, "schema": "public"}))
	pgtest.Exec(t, c, healthy, scenario(t, "streamkap-guide-slot.sql", nil))
	t.Cleanup(func() {
		_ = c.Exec(context.Background(), "postgres", "SELECT pg_drop_replication_slot('streamkap_pgoutput_slot')")
		_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY streamkap_role; DROP ROLE streamkap_user; DROP ROLE streamkap_role;")
	})
	broken := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, broken, scenario(t, "app-tables.sql", nil))
	replica := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	noLogical := pgtest.NewDatabase(t, replica)

	targets := []testTarget{
		{name: "healthy", dsn: c.DSN("streamkap_user", secret, healthy, "require")},
		{name: "no publication", dsn: c.DSN(c.SuperUser, c.SuperPassword, broken, "require")},
		{name: `wal "replica"`, dsn: replica.DSN(replica.SuperUser, replica.SuperPassword, noLogical, "require"), extra: "slot: other_slot\nsnapshot_mode: read-only"},
		{name: "refused", dsn: fmt.Sprintf("postgres://u:%s@127.0.0.1:%d/x?sslmode=disable", secret, closedPort(t))},
		{name: "from env", dsn: "$FLEET_TEST_DSN", extra: "publication: other_pub\ntables: [public.orders]"},
	}
	env := map[string]string{"FLEET_TEST_DSN": c.DSN(c.SuperUser, c.SuperPassword, broken, "require")}
	dir := t.TempDir()
	jsonPath, junitPath := filepath.Join(dir, "fleet.json"), filepath.Join(dir, "fleet.xml")
	r := run(t, env, "check", "--no-config", "--targets", writeTargets(t, targets), "--jobs", "3",
		"-o", "table", "-o", "json="+jsonPath, "-o", "junit="+junitPath)
	if r.code != exitError {
		t.Errorf("fleet exit %d, want 2 (the refused target)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoSecret(t, r, jsonPath, junitPath)
	doc := decodeFleet(t, jsonPath)
	if len(doc.Targets) != len(targets) || doc.Summary.Checked != len(targets) {
		t.Fatalf("%d targets in the report", len(doc.Targets))
	}
	single := map[string][]string{
		"healthy":        {targets[0].dsn},
		"no publication": {targets[1].dsn},
		`wal "replica"`:  {targets[2].dsn, "--slot", "other_slot", "--snapshot-mode", "read-only"},
		"refused":        {targets[3].dsn},
		"from env":       {env["FLEET_TEST_DSN"], "--publication", "other_pub", "--tables", "public.orders"},
	}
	wantCodes := map[string]int{"healthy": 0, "no publication": 1, `wal "replica"`: 1, "refused": 2, "from env": 1}
	for i, rep := range doc.Targets {
		name := rep.Target.Name
		if name != targets[i].name {
			t.Errorf("target %d is %q, want %q (the file's order)", i, name, targets[i].name)
		}
		alonePath := filepath.Join(dir, "alone.json")
		alone := run(t, nil, append([]string{"check", "--no-config", "-o", "json=" + alonePath}, single[name]...)...)
		aloneRep := decodeReport(t, mustRead(t, alonePath))
		got, want := ruleVerdicts(rep), ruleVerdicts(aloneRep)
		for rule, w := range want {
			if got[rule] != w {
				t.Errorf("%s: %s: fleet %q, alone %q", name, rule, got[rule], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d rules in the fleet, %d alone", name, len(got), len(want))
		}
		code := report.TargetExitCode(rep.Run(doc.FailOn))
		if code != alone.code || code != wantCodes[name] {
			t.Errorf("%s: exit %d in the fleet, %d alone, want %d", name, code, alone.code, wantCodes[name])
		}
		rep.Target.Name = ""
		if rep.Target != aloneRep.Target {
			t.Errorf("%s: target %+v in the fleet, %+v alone", name, rep.Target, aloneRep.Target)
		}
	}
	if doc.Summary.Clean != 1 || doc.Summary.Findings != 3 || doc.Summary.Incomplete != 1 || doc.Summary.ExitCode != 2 {
		t.Errorf("summary %+v", doc.Summary)
	}
	for _, want := range []string{"healthy", `wal "replica"`, "── no publication", "could not be judged", "5 targets checked: 1 clean, 3 with findings, 1 incomplete"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "target refused: could not connect") {
		t.Errorf("stderr does not name the target that could not be reached: %s", r.stderr)
	}
	validateFleet(t, mustRead(t, jsonPath))
	xmllintFleet(t, junitPath)
}

// validateFleet holds a fleet report to report/fleet-schema.json.
func validateFleet(t *testing.T, data string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	const base = "https://github.com/cdcpreflight/cdcpreflight/report/"
	for name, schema := range map[string][]byte{"schema.json": report.JSONSchema, "fleet-schema.json": report.FleetJSONSchema} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(base+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(base + "fleet-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschemaUnmarshal([]byte(data))
	if err != nil {
		t.Fatalf("JSON fleet report: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("the fleet report does not follow report/fleet-schema.json: %v", err)
	}
}

func xmllintFleet(t *testing.T, path string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found; CI must install libxml2-utils")
		}
		t.Skip("xmllint not found")
	}
	xsd := filepath.Join("..", "..", "report", "testdata", "junit-10.xsd")
	if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Errorf("xmllint: %v\n%s", err, out)
	}
}

// TestFleetSilentTargetTimesOutAlone: a target that accepts the connection
// and never answers ends in its own timeout, while the others, checked
// beside it, finish with their verdicts; the run takes about that timeout,
// not the sum, and four targets of one silent server take two timeouts,
// not four.
func TestFleetSilentTargetTimesOutAlone(t *testing.T) {
	c := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	targets := []testTarget{{name: "silent", dsn: "postgres://u@" + silentPeer(t) + "/x?sslmode=disable", extra: "timeout: 3s"}}
	// Four more databases of another silent server: they wait for the
	// first one's timeout, then for theirs side by side.
	other := silentPeer(t)
	for i := range 4 {
		targets = append(targets, testTarget{name: "mute" + strconv.Itoa(i), dsn: fmt.Sprintf("postgres://u@%s/m%d?sslmode=disable", other, i), extra: "timeout: 2s"})
	}
	for i := range 4 {
		db := pgtest.NewDatabase(t, c)
		targets = append(targets, testTarget{name: "db" + strconv.Itoa(i), dsn: c.DSN(c.SuperUser, c.SuperPassword, db, "require")})
	}
	jsonPath := filepath.Join(t.TempDir(), "fleet.json")
	start := time.Now()
	r := run(t, nil, "check", "--no-config", "--targets", writeTargets(t, targets), "--jobs", "6", "-o", "json="+jsonPath)
	took := time.Since(start)
	if r.code != exitError {
		t.Errorf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	doc := decodeFleet(t, jsonPath)
	for _, rep := range doc.Targets {
		v := ruleVerdicts(rep)
		if rep.Target.Name == "silent" || strings.HasPrefix(rep.Target.Name, "mute") {
			if !strings.Contains(v["wal-level"], "error") || !strings.Contains(v["wal-level"], "timed out") {
				t.Errorf("silent: wal-level %q, want an error that says it timed out", v["wal-level"])
			}
			continue
		}
		if !strings.HasPrefix(v["wal-level"], "fail") || report.TargetExitCode(rep.Run(doc.FailOn)) != 1 {
			t.Errorf("%s: wal-level %q: not judged beside the silent target", rep.Target.Name, v["wal-level"])
		}
	}
	// The silent target holds a job for its 3 s while the databases go
	// through the others; the mute server's targets take 2 s + 2 s, not
	// 4 × 2 s.
	if took < 4*time.Second || took > 6500*time.Millisecond {
		t.Errorf("the fleet took %s: want 4 s (the mute server's first timeout, then the others' side by side) plus little, not 8 s", took)
	}
	t.Logf("fleet with a silent target: %s", took.Round(time.Millisecond))
}

// TestFleetSessionBound watches pg_stat_activity while a fleet of six
// databases of one server, reached across a slow link so that checks
// overlap, is checked with six jobs: cdcpreflight never has more than two
// sessions per target the bound allows on the server (a check's catalog
// connection and its replication probe), and with --per-server 2 it does
// use the room.
func TestFleetSessionBound(t *testing.T) {
	c := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	proxy, err := netdelay.Listen(context.Background(), "127.0.0.1:0", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = proxy.Serve() }()
	t.Cleanup(proxy.Close)
	port := proxy.Addr().(*net.TCPAddr).Port
	var targets []testTarget
	for i := range 6 {
		db := pgtest.NewDatabase(t, c)
		host := "127.0.0.1"
		if i%2 == 1 {
			host = "localhost" // another name of the same server
		}
		targets = append(targets, testTarget{name: "db" + strconv.Itoa(i),
			dsn: fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", c.SuperUser, c.SuperPassword, host, port, db)})
	}
	file := writeTargets(t, targets)
	watch := pgtest.Conn(t, c, "postgres")
	for _, perServer := range []int{1, 2} {
		t.Run("per-server "+strconv.Itoa(perServer), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			peak := make(chan int)
			go func() {
				most := 0
				for ctx.Err() == nil {
					var n int
					if err := watch.QueryRow(context.Background(),
						`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, gather.ApplicationName).Scan(&n); err == nil {
						most = max(most, n)
					}
					time.Sleep(2 * time.Millisecond)
				}
				peak <- most
			}()
			r := run(t, nil, "check", "--no-config", "--targets", file, "--jobs", "6", "--per-server", strconv.Itoa(perServer), "-o", "json="+filepath.Join(t.TempDir(), "f.json"))
			cancel()
			most := <-peak
			if r.code != exitFindings {
				t.Errorf("exit %d, want 1 (wal_level replica everywhere)\n%s", r.code, r.stderr)
			}
			if most > 2*perServer {
				t.Errorf("%d cdcpreflight sessions at once on the server, bound %d", most, 2*perServer)
			}
			if most < 2*perServer-1 {
				t.Errorf("at most %d sessions seen: the watch saw too little, or the bound was not used", most)
			}
			t.Logf("per-server %d: at most %d sessions", perServer, most)
		})
	}
}

// TestFleetShardsAndMerge: --shard K/N for N = 4 splits the fleet into
// disjoint parts that cover it, by name alone; merging the four JSON
// reports gives the report of one unsharded run (timings aside) as JSON and as
// a table, and its exit code; merge refuses a missing or a repeated shard.
func TestFleetShardsAndMerge(t *testing.T) {
	// A cluster of its own: another test's sessions ending on a shared one
	// (a WAL sender counted by replication-capacity) would change a
	// message between the runs compared.
	c := pgtest.ClusterWith(t, "fleet-merge", pglocal.Options{TLS: true, WalLevel: "replica"})
	var targets []testTarget
	for i := range 3 {
		db := pgtest.NewDatabase(t, c)
		targets = append(targets, testTarget{name: "db-" + strconv.Itoa(i), dsn: c.DSN(c.SuperUser, c.SuperPassword, db, "require")})
	}
	for i := range 6 {
		targets = append(targets, testTarget{name: fmt.Sprintf("gone %d", i), dsn: fmt.Sprintf("postgres://u@127.0.0.1:%d/x?sslmode=disable", closedPort(t))})
	}
	file := writeTargets(t, targets)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.json")
	all := run(t, nil, "check", "--no-config", "--targets", file, "-o", "json="+whole, "-o", "table="+filepath.Join(dir, "whole.txt"))
	seen := map[string]int{}
	var shards []string
	for k := 1; k <= 4; k++ {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.json", k))
		r := run(t, nil, "check", "--no-config", "--targets", file, "--shard", fmt.Sprintf("%d/4", k), "-o", "json="+p)
		doc := decodeFleet(t, p)
		if doc.Shard == nil || doc.Shard.Index != k || doc.Summary.Targets != len(doc.Targets) || len(doc.Names) != len(targets) {
			t.Errorf("shard %d: %+v, %d targets", k, doc.Shard, len(doc.Targets))
		}
		if r.code != doc.Summary.ExitCode {
			t.Errorf("shard %d: exit %d, its summary says %d", k, r.code, doc.Summary.ExitCode)
		}
		for _, rep := range doc.Targets {
			seen[rep.Target.Name]++
			if shardOf(rep.Target.Name, 4) != k {
				t.Errorf("%s in shard %d, its name says %d", rep.Target.Name, k, shardOf(rep.Target.Name, 4))
			}
		}
		shards = append(shards, p)
	}
	for _, tt := range targets {
		if seen[tt.name] != 1 {
			t.Errorf("%s is in %d shards", tt.name, seen[tt.name])
		}
	}
	merged := filepath.Join(dir, "merged.json")
	m := run(t, nil, append([]string{"merge", "-o", "json=" + merged, "-o", "table=" + filepath.Join(dir, "merged.txt")}, shards...)...)
	if m.code != all.code {
		t.Errorf("merge exit %d, one run %d\n%s", m.code, all.code, m.stderr)
	}
	if got, want := durations.ReplaceAllString(mustRead(t, merged), ""), durations.ReplaceAllString(mustRead(t, whole), ""); got != want {
		t.Errorf("merged JSON differs from one run's: %s", firstDifference(got, want))
	}
	if got, want := durations.ReplaceAllString(mustRead(t, filepath.Join(dir, "merged.txt")), ""), durations.ReplaceAllString(mustRead(t, filepath.Join(dir, "whole.txt")), ""); got != want {
		t.Errorf("merged table differs from one run's: %s", firstDifference(got, want))
	}
	// Numbers masked, the targets' names and order are held exactly.
	names := func(doc report.JSONFleet) (n []string) {
		for _, rep := range doc.Targets {
			n = append(n, rep.Target.Name)
		}
		return n
	}
	if got, want := names(decodeFleet(t, merged)), names(decodeFleet(t, whole)); !slices.Equal(got, want) {
		t.Errorf("merged targets %v, one run's %v", got, want)
	}
	validateFleet(t, mustRead(t, merged))
	// Round trip: the merged report merges again to itself.
	again := filepath.Join(dir, "again.json")
	if r := run(t, nil, "merge", "-o", "json="+again, merged); r.code != all.code || mustRead(t, again) != mustRead(t, merged) {
		t.Errorf("merging the merged report: exit %d\n%s", r.code, r.stderr)
	}
	// In GitHub Actions the merged fleet's annotations name their targets,
	// and its Markdown report goes to the job summary.
	summary := filepath.Join(dir, "summary.md")
	gh := run(t, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}, append([]string{"merge"}, shards...)...)
	if !strings.Contains(gh.stdout, "::error title=") || !strings.Contains(gh.stdout, "(gone 0)::") || !strings.Contains(gh.stdout, "wal-level (db-0)::") {
		t.Errorf("annotations do not name the targets:\n%s", gh.stdout)
	}
	if md := mustRead(t, summary); !strings.Contains(md, "fleet of 9 targets") || !strings.Contains(md, "| db-1 |") {
		t.Errorf("job summary:\n%s", md)
	}
	for name, tc := range map[string]struct {
		files []string
		want  string
	}{
		"missing shard":  {shards[:3], "shard 4/4 missing"},
		"repeated shard": {[]string{shards[0], shards[0], shards[1], shards[2], shards[3]}, "are both shard 1/4: they overlap"},
		"whole and part": {[]string{whole, shards[0]}, "one is a shard, the other the whole fleet"},
		"a single check": {[]string{writeFile(t, "one.json", render1(t))}, "a report of one database"},
		"nothing":        {nil, "no reports"},
	} {
		r := run(t, nil, append([]string{"merge"}, tc.files...)...)
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, r.code, r.stderr, tc.want)
		}
	}
}

// durations are what differs between two runs of one fleet: the timings,
// and the live server's counters (the backend that answered,
// pooler-detected; the connections in use, connection-capacity, which
// include the previous run's backends still exiting): every number.
var durations = regexp.MustCompile(`"duration_ms": [0-9.e+-]+|[0-9]+`)

// render1 is a single database's JSON report.
func render1(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.JSON(&b, report.Run{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestFleetInterrupt: Ctrl-C while two targets' catalog reads wait for
// locks the test holds: both are cancelled on the server, the reports hold
// the targets judged (those two marked interrupted), not the one never
// started, and the exit code is 130.
func TestFleetInterrupt(t *testing.T) {
	c := pgtest.ClusterWith(t, "interrupt", pglocal.Options{})
	ctx := context.Background()
	var targets []testTarget
	var locked []string
	for i := range 2 {
		db := pgtest.NewDatabase(t, c)
		targets = append(targets, testTarget{name: "quick" + strconv.Itoa(i), dsn: c.DSN(c.SuperUser, c.SuperPassword, db, "disable")})
	}
	for i := range 2 {
		db := pgtest.NewDatabase(t, c)
		holder := pgtest.Conn(t, c, db)
		if _, err := holder.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := holder.Exec(ctx, "LOCK TABLE pg_catalog.pg_publication IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = holder.Exec(context.Background(), "ROLLBACK") })
		locked = append(locked, db)
		targets = append(targets, testTarget{name: "locked" + strconv.Itoa(i), dsn: c.DSN(c.SuperUser, c.SuperPassword, db, "disable")})
	}
	targets = append(targets, testTarget{name: "never", dsn: c.DSN(c.SuperUser, c.SuperPassword, locked[0], "disable")})
	watch := pgtest.Conn(t, c, "postgres")
	jsonPath := filepath.Join(t.TempDir(), "fleet.json")
	cmd := cliCommand(t, "check", "--no-config", "--targets", writeTargets(t, targets), "--jobs", "2", "--per-server", "2",
		"--catalog-timeout", "60s", "-o", "table", "-o", "json="+jsonPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitingIn := func() int {
		n := 0
		for _, db := range locked {
			for _, s := range sessions(t, watch, db) {
				if strings.Contains(s, " active Lock ") {
					n++
					break
				}
			}
		}
		return n
	}
	for deadline := time.Now().Add(20 * time.Second); waitingIn() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the locked targets never both waited\nstderr: %s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	select {
	case err := <-exited:
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
			t.Errorf("exit: %v, want %d\nstderr: %s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 30 s after SIGINT\nstderr: %s", stderr.String())
	}
	for _, db := range locked {
		if left := sessions(t, watch, db); len(left) > 0 {
			time.Sleep(time.Second)
			if left = sessions(t, watch, db); len(left) > 0 {
				t.Errorf("sessions left in %s while its lock is still held: %v", db, left)
			}
		}
	}
	doc := decodeFleet(t, jsonPath)
	var names []string
	for _, rep := range doc.Targets {
		names = append(names, rep.Target.Name)
		if strings.HasPrefix(rep.Target.Name, "locked") && !strings.Contains(ruleVerdicts(rep)["publication-exists"], "interrupted") {
			t.Errorf("%s: publication-exists %q, want it interrupted", rep.Target.Name, ruleVerdicts(rep)["publication-exists"])
		}
	}
	if !doc.Interrupted || doc.Summary.Targets != 5 || doc.Summary.Checked != 4 || !slices.Equal(names, []string{"quick0", "quick1", "locked0", "locked1"}) {
		t.Errorf("interrupted %v, summary %+v, targets %v", doc.Interrupted, doc.Summary, names)
	}
	if !strings.Contains(stderr.String(), "cdcpreflight: interrupted") || !strings.Contains(stdout.String(), "interrupted: 1 not checked") {
		t.Errorf("stderr: %s\nstdout: %s", stderr.String(), stdout.String())
	}
	validateFleet(t, mustRead(t, jsonPath))
}

// TestFleetPerTargetTunnel: a target may reach its database through an SSH
// bastion of its own (its ssh_* keys) while the others connect directly,
// and a target whose bastion is wrong fails alone.
func TestFleetPerTargetTunnel(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{})
	c := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	db := pgtest.NewDatabase(t, c)
	dsn := verifyFull(c, "localhost", c.SuperUser, c.SuperPassword, db)
	ssh := fmt.Sprintf("ssh_host: %s\nssh_port: %d\nssh_user: %s\nssh_key: %s\nssh_known_hosts: %s",
		b.sshd.Host, b.sshd.Port, b.sshd.User, b.keyFile, b.knownHosts)
	targets := []testTarget{
		{name: "direct", dsn: dsn},
		{name: "tunneled", dsn: dsn, extra: ssh},
		{name: "tunneled too", dsn: dsn, extra: ssh + "\nslot: other"},
		{name: "wrong bastion", dsn: dsn, extra: strings.Replace(ssh, fmt.Sprintf("ssh_port: %d", b.sshd.Port), fmt.Sprintf("ssh_port: %d", closedPort(t)), 1)},
	}
	target := "localhost:" + strconv.Itoa(c.Port)
	before := b.channels(target)
	jsonPath := filepath.Join(t.TempDir(), "fleet.json")
	r := run(t, b.env(), "check", "--no-config", "--targets", writeTargets(t, targets), "-o", "table", "-o", "json="+jsonPath)
	if r.code != exitError {
		t.Errorf("exit %d, want 2 (the wrong bastion)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b.assertNoKeyMaterial(t, r, jsonPath)
	doc := decodeFleet(t, jsonPath)
	got := map[string]map[string]string{}
	for _, rep := range doc.Targets {
		got[rep.Target.Name] = ruleVerdicts(rep)
	}
	for name, want := range map[string]string{"direct": "skip", "tunneled": "pass", "tunneled too": "pass", "wrong bastion": "fail"} {
		if v := got[name]["ssh-tunnel"]; !strings.HasPrefix(v, want) {
			t.Errorf("%s: ssh-tunnel %q, want %s", name, v, want)
		}
	}
	if got["tunneled"]["wal-level"] != got["direct"]["wal-level"] || !strings.HasPrefix(got["direct"]["wal-level"], "fail") {
		t.Errorf("wal-level: direct %q, tunneled %q", got["direct"]["wal-level"], got["tunneled"]["wal-level"])
	}
	if !strings.HasPrefix(got["wrong bastion"]["wal-level"], "error") {
		t.Errorf("wrong bastion: wal-level %q", got["wrong bastion"]["wal-level"])
	}
	if n := b.channels(target) - before; n < 4 {
		t.Errorf("the bastion forwarded %d connections, want two per tunneled target", n)
	}
}

// TestFleetProgress: on a terminal, stderr shows how many targets are done
// of how many, and how many fail so far, and the line is erased at the
// end; the report never holds it.
func TestFleetProgress(t *testing.T) {
	c := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	var targets []testTarget
	for i := range 3 {
		db := pgtest.NewDatabase(t, c)
		targets = append(targets, testTarget{name: "db" + strconv.Itoa(i), dsn: c.DSN(c.SuperUser, c.SuperPassword, db, "require")})
	}
	code, screen, stdout := onTerminal(t, nil, "check", "--no-config", "--targets", writeTargets(t, targets), "--jobs", "1", "-o", "table")
	if code != exitFindings {
		t.Fatalf("exit %d: %q", code, screen)
	}
	for _, want := range []string{"targets 0/3 done, 0 failing so far, 1 running", "targets 1/3 done, 1 failing so far", "targets 3/3 done, 3 failing so far"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal never showed %q: %q", want, screen)
		}
	}
	if !strings.HasSuffix(screen, eraseLine) {
		t.Errorf("the progress line is not erased at the end: %q", screen)
	}
	if strings.ContainsAny(stdout, "\x1b\r") || strings.Contains(stdout, "failing so far") {
		t.Errorf("progress in the report: %q", stdout)
	}
}

// firstDifference shows where two texts part, line by line.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n  got:  %s\n  want: %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// TestFleetConnectorConfig: a target may name its connector's own
// configuration: its connection (the password from its password_env), its
// names and capture scope apply to it as to a check of it alone; another
// target's dsn_env overrides its file's connection; a configuration that
// cannot be read is refused before anything connects.
func TestFleetConnectorConfig(t *testing.T) {
	c, db, user := connectorDB(t)
	cfg := writeFile(t, "c.properties", fmt.Sprintf(`connector.class=io.debezium.connector.postgresql.PostgresConnector
database.hostname=%s
database.port=%d
database.user=%s
database.password=${file:/etc/kafka/secrets.properties:password}
database.dbname=%s
database.sslmode=require
topic.prefix=app
plugin.name=pgoutput
table.include.list=public\\.(orders|customers)
`, c.Host, c.Port, user, db))
	rest := filepath.Join(connectorExamples, "kafka-connect-rest.json")
	env := map[string]string{"DB_PW": secret, "REST_DSN": c.DSN(user, secret, db, "require")}
	targets := []testTarget{
		{name: "from its file", dsn: "", extra: "connector_config: " + cfg + "\npassword_env: DB_PW"},
		{name: "dsn over its file", dsn: "$REST_DSN", extra: "connector_config: " + rest},
	}
	var b strings.Builder
	for _, tt := range targets {
		fmt.Fprintf(&b, "- name: %q\n", tt.name)
		if tt.dsn != "" {
			fmt.Fprintf(&b, "  dsn_env: %s\n", tt.dsn[1:])
		}
		b.WriteString("  " + strings.ReplaceAll(tt.extra, "\n", "\n  ") + "\n")
	}
	jsonPath := filepath.Join(t.TempDir(), "fleet.json")
	r := run(t, env, "check", "--no-config", "--targets", writeFile(t, "targets.yml", b.String()), "-o", "table", "-o", "json="+jsonPath)
	assertNoSecret(t, r, jsonPath)
	doc := decodeFleet(t, jsonPath)
	alone := map[string][]string{
		"from its file":     {"--connector-config", cfg, "--password-env", "DB_PW"},
		"dsn over its file": {"--connector-config", rest, "--dsn", env["REST_DSN"]},
	}
	for _, rep := range doc.Targets {
		p := filepath.Join(t.TempDir(), "alone.json")
		one := run(t, env, append([]string{"check", "--no-config", "-o", "json=" + p}, alone[rep.Target.Name]...)...)
		want := decodeReport(t, mustRead(t, p))
		got, w := ruleVerdicts(rep), ruleVerdicts(want)
		for rule, v := range w {
			if got[rule] != v {
				t.Errorf("%s: %s: fleet %q, alone %q", rep.Target.Name, rule, got[rule], v)
			}
		}
		if code := report.TargetExitCode(rep.Run(doc.FailOn)); code != one.code || code == exitError {
			t.Errorf("%s: exit %d in the fleet, %d alone\n%s", rep.Target.Name, code, one.code, one.stderr)
		}
		if rep.CaptureScope == nil || want.CaptureScope == nil || strings.Join(rep.CaptureScope.Captured, ",") != strings.Join(want.CaptureScope.Captured, ",") {
			t.Errorf("%s: capture scope %+v, alone %+v", rep.Target.Name, rep.CaptureScope, want.CaptureScope)
		}
		if rep.Target.Host != c.Host || rep.Target.Database != db || rep.Target.User != user {
			t.Errorf("%s: target %+v", rep.Target.Name, rep.Target)
		}
	}
	if len(doc.Targets) != 2 || !strings.Contains(r.stdout, "Capture scope of "+cfg) {
		t.Errorf("%d targets; table:\n%s", len(doc.Targets), r.stdout)
	}
	validateFleet(t, mustRead(t, jsonPath))

	// A file that cannot be read: refused with the target's name, before
	// anything connects.
	bad := writeFile(t, "bad.yml", "- name: broken\n  dsn: host=x\n  connector_config: "+filepath.Join(connectorExamples, "nope.json")+"\n")
	if r := run(t, nil, "check", "--no-config", "--targets", bad); r.code != exitError || !strings.Contains(r.stderr, `target "broken" (line 1)`) {
		t.Errorf("an unreadable connector configuration: exit %d, %s", r.code, r.stderr)
	}
}
