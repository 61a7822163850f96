package fix

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

var update = flag.Bool("update", false, "regenerate testdata/script-template.json from a real server")

// The script template is a facts snapshot gathered from a real server (the
// database testdata/script-template.sql builds) in which every name is a
// placeholder, @@N0@@ to @@N23@@: the database, schemas, tables, columns,
// an index, roles, the publication, the slot, the signal and heartbeat
// schemas, a string in a row filter. FuzzScript puts hostile names in
// their place, each in the form the server would have written it: as it
// is, quoted by quote_ident ("@@N1@@" becomes Quote(name)), or as a
// string literal in a deparsed filter ('@@N22@@' becomes Literal(name)).
const (
	templateFile = "testdata/script-template.json"
	placeholders = 24
)

var placeholder = regexp.MustCompile(`@@N(\d+)@@`)

// TestScriptTemplate regenerates the template under -update; otherwise it
// checks that the template still decodes and still plans steps of every
// phase, so FuzzScript keeps exercising all of them.
func TestScriptTemplate(t *testing.T) {
	if *update {
		writeTemplate(t)
	}
	f := fillTemplate(t, readTemplate(t), func(k int) string { return fmt.Sprintf("n%d", k) })
	plan := planFor(t, f, 0xff)
	phases := map[rules.Phase]int{}
	for _, s := range plan.Steps {
		phases[s.Phase]++
	}
	for p := rules.PhaseSystem; p <= rules.PhaseSlot; p++ {
		if phases[p] == 0 {
			t.Errorf("the template plans no step of phase %s: regenerate it (-update) or extend testdata/script-template.sql", p)
		}
	}
	if len(plan.Manual)+len(plan.Declined) == 0 {
		t.Error("the template plans no manual step")
	}
	t.Logf("%d steps by phase %v, %d manual", len(plan.Steps), phases, len(plan.Manual))
}

func writeTemplate(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	sql, err := os.ReadFile("testdata/script-template.sql")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, c, db, strings.ReplaceAll(string(sql), "{db}", sqlident.Quote(db)))
	t.Cleanup(func() {
		_ = c.Exec(context.Background(), db, `DROP OWNED BY "@@N8@@"`)
		_ = c.Exec(context.Background(), "postgres", `DROP ROLE IF EXISTS "@@N8@@"`)
	})
	cfg, err := gather.ParseDSN(c.DSN(c.SuperUser, c.SuperPassword, db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Expect: facts.Options{
		Slot: "@@N15@@", Publication: "@@N10@@", SignalSchema: "@@N13@@", HeartbeatSchema: "@@N14@@",
		SnapshotMode: facts.SnapshotAuto, ConnectorUser: "@@N9@@",
		Tables: []facts.TableRef{{Schema: "@@N1@@"}, {Schema: "public", Table: "@@N23@@"}},
	}})
	if f.Connect.Err != nil {
		t.Fatal(f.Connect.Err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte(db), []byte("@@N0@@"))
	if err := os.WriteFile(templateFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTemplate(t testing.TB) string {
	data, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// fillTemplate puts name(k) in place of each @@Nk@@ of the template, in
// the form its context needs, and decodes the facts. A quoted identifier
// of the template ("@@N16@@_pkey", an index named after its table) is
// filled and quoted again as a whole, a string literal likewise.
func fillTemplate(t testing.TB, tmpl string, name func(k int) string) *facts.Facts {
	inner := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	expand := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(p string) string {
			k, _ := strconv.Atoi(placeholder.FindStringSubmatch(p)[1])
			return name(k)
		})
	}
	filled := quotedInTemplate.ReplaceAllStringFunc(tmpl, func(q string) string {
		body := q[2 : len(q)-2]
		if !placeholder.MatchString(body) {
			return q
		}
		return inner(sqlident.Quote(expand(body)))
	})
	filled = literalInTemplate.ReplaceAllStringFunc(filled, func(q string) string {
		return inner(sqlident.Literal(expand(q[1 : len(q)-1])))
	})
	filled = placeholder.ReplaceAllStringFunc(filled, func(p string) string { return inner(expand(p)) })
	var f facts.Facts
	if err := json.Unmarshal([]byte(filled), &f); err != nil {
		t.Fatalf("the filled template does not decode: %v", err)
	}
	return &f
}

// A quoted identifier and a string literal holding a placeholder, in the
// template's JSON text (where a double quote is \").
var (
	quotedInTemplate  = regexp.MustCompile(`\\"[^"\\]*\\"`)
	literalInTemplate = regexp.MustCompile(`'[^'"\\]*@@N\d+@@[^'"\\]*'`)
)

func planFor(t testing.TB, f *facts.Facts, opts uint8) Plan {
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{CreateUser: opts&1 != 0, OptIns: map[string]bool{
		rules.OptInAlterSystem:         opts&2 != 0,
		rules.OptInReplicaIdentityFull: opts&4 != 0,
		rules.OptInSetLogged:           opts&8 != 0,
	}}
	return Build(Evaluate(reg, f, nil, o), f, o, "")
}

// FuzzScript: whatever the names in the database, the fix script keeps
// them where they can do no harm. The template's facts are filled once
// with hostile names and once with plain ones (n0, n1, … with the same
// equalities), and the two plans compared:
//   - with its comment lines removed, the script is exactly the two SET
//     lines and the steps' statements: no database text on a comment line
//     (a name with a line break, say) became SQL;
//   - each statement has the same tokens as its plain twin but for the
//     names, each one identifier (bare or quoted) or one string literal:
//     no name closed its quotes, added a statement, a comment, a psql
//     meta-command (\! …) or anything else.
func FuzzScript(f *testing.F) {
	tmpl := readTemplate(f)
	for i, n := range fuzzcheck.HostileNames {
		f.Add(n, "Sales Ops", `x"; DROP TABLE y; --`, "new\nline\\! id", uint8(i))
		f.Add("db", n, "c", "d", uint8(i))
	}
	f.Add("", "", "", "", uint8(0xff))
	f.Add("-- c", "/*", "'", `\`, uint8(0x0f))
	f.Fuzz(func(t *testing.T, a, b, c, d string, opts uint8) {
		args := []string{a, b, c, d}
		hostile := make([]string, placeholders)
		for k := range hostile {
			// The first four are the fuzzed names themselves; the rest
			// are kept apart by a suffix.
			// As a facts file holds it: invalid UTF-8 reads back as U+FFFD.
			hostile[k] = fuzzcheck.JSONText(args[k%4] + strings.Repeat("_", k/4))
		}
		// A slot name is letters, digits and underscores, or there is
		// no slot to create (slot-exists then plans a manual step): the
		// plans would not be comparable. The slot name is a literal,
		// which FuzzLiteral covers.
		hostile[15] = "cdc_slot"
		plain := make([]string, placeholders)
		for k := range plain {
			first := k
			for j := range k {
				if hostile[j] == hostile[k] {
					first = j
					break
				}
			}
			plain[k] = "zzplain" + strconv.Itoa(first)
		}
		hf := fillTemplate(t, tmpl, func(k int) string { return hostile[k] })
		pf := fillTemplate(t, tmpl, func(k int) string { return plain[k] })
		hp, pp := planFor(t, hf, opts), planFor(t, pf, opts)
		if len(hp.Steps) != len(pp.Steps) {
			// A name equal to one the rules know (public, pgoutput, a
			// system schema) can change what is planned: not comparable.
			return
		}
		h := Header{Tool: "cdcpreflight test", Target: "u@h:5432/" + hostile[0], Server: "15", Platform: "self-hosted",
			ConnectorRole: sqlident.Quote(hostile[9]), LockTimeout: 5 * time.Second, StmtTimeout: time.Minute}
		var script bytes.Buffer
		if err := WriteScript(&script, hp, h); err != nil {
			t.Fatal(err)
		}
		got, err := fuzzcheck.LexSQL(script.String())
		if err != nil {
			t.Fatalf("the script does not lex: %v\n%s", err, script.String())
		}
		var want []fuzzcheck.Token
		if len(hp.Steps) > 0 {
			want, _ = fuzzcheck.LexSQL("SET lock_timeout = '5s';\nSET statement_timeout = '60s';")
		}
		for i, s := range hp.Steps {
			toks, err := fuzzcheck.LexSQL(s.SQL)
			if err != nil {
				t.Fatalf("step %d does not lex: %v\n%s", i+1, err, s.SQL)
			}
			ptoks, err := fuzzcheck.LexSQL(pp.Steps[i].SQL)
			if err != nil {
				t.Fatal(err)
			}
			isPlain := func(tok fuzzcheck.Token) bool { return strings.Contains(tok.Text, "zzplain") }
			if err := fuzzcheck.SameShape(toks, ptoks, isPlain); err != nil {
				t.Fatalf("step %d with hostile names differs from its plain twin: %v\n%s\n%s", i+1, err, s.SQL, pp.Steps[i].SQL)
			}
			want = append(want, toks...)
		}
		if err := fuzzcheck.SameTokens(got, want); err != nil {
			t.Fatalf("outside its comment lines the script is not exactly its steps: %v\n%s", err, script.String())
		}
		for _, l := range strings.Split(script.String(), "\n") {
			if strings.HasPrefix(l, "--") {
				if err := fuzzcheck.TerminalSafe(l, false); err != nil {
					t.Fatalf("a comment line would reach a terminal with %v: %q", err, l)
				}
			}
		}
	})
}

// TestScriptCommentsAreLines: every line of a script with hostile names is
// blank, a comment, or part of a step's statement, in order.
func TestScriptCommentsAreLines(t *testing.T) {
	tmpl := readTemplate(t)
	names := func(k int) string {
		return fuzzcheck.HostileNames[(k*7)%len(fuzzcheck.HostileNames)] + strings.Repeat("_", k)
	}
	p := planFor(t, fillTemplate(t, tmpl, names), 0xff)
	var script bytes.Buffer
	if err := WriteScript(&script, p, Header{Target: "u@h/" + names(0), ConnectorRole: names(9), LockTimeout: time.Second, StmtTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	var statements strings.Builder
	for _, l := range strings.Split(script.String(), "\n") {
		if l == "" || strings.HasPrefix(l, "--") {
			continue
		}
		statements.WriteString(l + "\n")
	}
	var want strings.Builder
	want.WriteString("SET lock_timeout = '1s';\nSET statement_timeout = '1s';\n")
	for _, s := range p.Steps {
		want.WriteString(s.SQL + "\n")
	}
	if statements.String() != want.String() {
		t.Errorf("the script's statement lines are not its steps:\n%s\nwant:\n%s", statements.String(), want.String())
	}
	if filepath.Base(templateFile) == "" {
		t.Fatal("no template")
	}
}

// TestHostileScriptRunsInPsql is FuzzScript's property held against the
// real programs: the template's database built with hostile names (a psql
// meta-command, line breaks, quotes, comment markers, a keyword, a
// terminal escape) in every place, its fix script run by psql as it is,
// with ON_ERROR_STOP. The script must run clean, execute no meta-command
// (the \! touch names would leave files), and leave nothing to plan.
func TestHostileScriptRunsInPsql(t *testing.T) {
	c := pgtest.Cluster(t)
	if c.VersionNum < 150000 {
		// What psql does with a script does not depend on the server.
		t.Skipf("the template's database needs PostgreSQL 15 (row filters, column lists); this is %s", c.Version)
	}
	db := pgtest.NewDatabase(t, c)
	owner, connector := `Owner "q" `+pgtest.UniqueName(t, "o"), "new\nuser\\gexec "+pgtest.UniqueName(t, "c")
	names := map[int]string{
		0: db, 1: `Sales "Ops"; DROP TABLE x; --`, 2: "new\nline\\! touch pwned", 3: `x'; DROP TABLE y; --`,
		4: "MixedCase k", 5: "café ☕\ttab", 6: "*/ /* x", 7: "cr\rreturn", 8: owner, 9: connector,
		10: "pub'; --", 13: "Signal\\! touch pwned2", 14: ":var", 15: pgtest.UniqueName(t, "slot"),
		16: "select", 17: "user", 18: "$$x$$", 19: "--comment", 20: "日本語テーブル", 21: "\x1b[2Jesc",
		22: `\' OR 1=1 --`, 23: "missing",
	}
	name := func(k int) string {
		if n, ok := names[k]; ok {
			return n
		}
		return fmt.Sprintf("unused %d", k)
	}
	sql, err := os.ReadFile("testdata/script-template.sql")
	if err != nil {
		t.Fatal(err)
	}
	build := quotedInSQL.ReplaceAllStringFunc(strings.ReplaceAll(string(sql), "{db}", sqlident.Quote(db)), func(q string) string {
		return sqlident.Quote(expandNames(q[1:len(q)-1], name))
	})
	build = literalInSQL.ReplaceAllStringFunc(build, func(q string) string { return sqlident.Literal(expandNames(q[1:len(q)-1], name)) })
	t.Cleanup(func() {
		ctx := context.Background()
		for _, role := range []string{connector, owner} {
			_ = c.Exec(ctx, db, "DROP OWNED BY "+sqlident.Quote(role))
			_ = c.Exec(ctx, "postgres", "DROP OWNED BY "+sqlident.Quote(role)+"; DROP ROLE IF EXISTS "+sqlident.Quote(role))
		}
	})
	pgtest.Exec(t, c, db, build)

	dsn := c.DSN(c.SuperUser, c.SuperPassword, db, "require")
	expect := facts.Options{Slot: name(15), Publication: name(10), SignalSchema: name(13), HeartbeatSchema: name(14),
		SnapshotMode: facts.SnapshotAuto, ConnectorUser: connector,
		Tables: []facts.TableRef{{Schema: name(1)}, {Schema: "public", Table: name(23)}}}
	gatherPlan := func() Plan {
		cfg, err := gather.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		f := gather.Gather(ctx, cfg, gather.Options{Expect: expect})
		if f.Connect.Err != nil {
			t.Fatal(f.Connect.Err)
		}
		// Create the role and SET LOGGED; no ALTER SYSTEM on a shared
		// cluster, and no --replica-identity-full: with it, a table whose
		// column list the plan strips gets FULL only from a second run.
		return planFor(t, f, 1|8)
	}
	plan := gatherPlan()
	if len(plan.Steps) < 20 {
		t.Fatalf("only %d steps planned", len(plan.Steps))
	}
	dir := t.TempDir()
	var script bytes.Buffer
	if err := WriteScript(&script, plan, Header{Tool: "cdcpreflight test", Target: "postgres@" + db, ConnectorRole: sqlident.Quote(connector),
		LockTimeout: 5 * time.Second, StmtTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fix.sql")
	if err := os.WriteFile(path, script.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	psql := c.ClientCommand(t.Context(), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", path, dsn)
	psql.Dir = dir
	if out, err := psql.CombinedOutput(); err != nil {
		t.Fatalf("psql -f fix.sql: %v\n%s\n--- the script ---\n%s", err, out, script.String())
	}
	for _, canary := range []string{"pwned", "pwned2"} {
		if _, err := os.Stat(filepath.Join(dir, canary)); err == nil {
			t.Errorf("psql ran a meta-command from a name: %s exists", canary)
		}
	}
	if left := gatherPlan(); len(left.Steps) != 0 {
		var sqls []string
		for _, s := range left.Steps {
			sqls = append(sqls, s.SQL)
		}
		t.Errorf("after running the script, still planned:\n%s", strings.Join(sqls, "\n"))
	}
}

// A quoted identifier and a string literal holding a placeholder, in SQL.
var (
	quotedInSQL  = regexp.MustCompile(`"[^"]*@@N\d+@@[^"]*"`)
	literalInSQL = regexp.MustCompile(`'[^']*@@N\d+@@[^']*'`)
)

func expandNames(s string, name func(int) string) string {
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		k, _ := strconv.Atoi(placeholder.FindStringSubmatch(p)[1])
		return name(k)
	})
}
