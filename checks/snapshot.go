package checks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// signalColumn is one column of the guide's signal table. Debezium reads a
// signal row's three columns by position and as strings, and drops a
// signal whose row has any other number of columns ("should have 3 fields");
// Streamkap inserts by column name.
type signalColumn struct {
	name    string
	length  int // character varying(length)
	notNull bool
}

var signalShape = []signalColumn{{"id", 255, true}, {"type", 32, true}, {"data", 2000, false}}

// helperName is the helper table's quoted name, from the server when it
// answered, else from the options.
func helperName(h facts.HelperTable, schema, table string) string {
	if h.Quoted != "" {
		return h.Quoted
	}
	return sqlident.Qualified(schema, table)
}

func signalName(f *facts.Facts) string {
	return helperName(f.SignalTable, f.Options.SignalSchema, f.Options.SignalTableName())
}

// signalTableUnused says why the connector writes no signal table: a
// Debezium configuration without signal.data.collection.
func signalTableUnused(f *facts.Facts) (string, bool) {
	if c := f.Options.Connector; isDebezium(c) && c.SignalCollection == "" && !c.IsUnresolved("signal.data.collection") {
		return "the connector configuration sets no signal.data.collection: the connector uses no signal table", true
	}
	return "", false
}

// createSignalSteps is the guide's script with quoted names, granting to
// the connector role rather than streamkap_role.
func createSignalSteps(f *facts.Facts) []rules.Step {
	schema, role := sqlident.Quote(f.Options.SignalSchema), sqlident.Quote(f.Options.ConnectorUser)
	name := signalName(f) // the name publication-exists lists
	return []rules.Step{
		helperStep(fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s;", schema), needsCreateDB),
		helperStep(fmt.Sprintf("CREATE TABLE %s (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);", name),
			"a role with CREATE on schema "+schema+" (or a superuser)"),
		helperStep(fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", schema, role), ownerOf("schema "+schema)),
		helperStep(fmt.Sprintf("GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %s;", name, role),
			"the table's owner, the role that created it (or a superuser)"),
	}
}

// varcharLength reads a format_type string: the length of a character
// varying column, 0 for unbounded text, ok false for non-string types
// (character(n) pads values, which would change signal ids).
func varcharLength(typ string) (n int, ok bool) {
	switch {
	case typ == "text" || typ == "character varying":
		return 0, true
	case strings.HasPrefix(typ, "character varying(") && strings.HasSuffix(typ, ")"):
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(typ, "character varying("), ")"))
		return n, err == nil
	}
	return 0, false
}

// signalShapeCheck compares the signal table with the guide's. It returns
// what differs, ALTER statements that fix what ALTER can, those a person
// must run (fix never runs a statement that drops anything, not even a NOT
// NULL), and notes on harmless differences.
func signalShapeCheck(h facts.HelperTable, name string) (problems []string, steps []rules.Step, byHand, notes []string) {
	if !h.IsTable() {
		kind := nonTableKinds[h.Kind]
		if kind == "" {
			kind = "relation of kind " + strconv.Quote(h.Kind)
		}
		return []string{fmt.Sprintf("%s is a %s, not a table", name, kind)}, nil, nil, nil
	}
	alter := func(format string, a ...any) {
		steps = append(steps, alterTable(rules.PhaseHelpers, name, fmt.Sprintf(format, a...)))
	}
	for i, want := range signalShape {
		col := sqlident.Quote(want.name)
		if i >= len(h.Columns) {
			problems = append(problems, fmt.Sprintf("column %s is missing (expected %s)", want.name, wantType(want)))
			notNull := ""
			if want.notNull {
				notNull = " NOT NULL"
			}
			alter("ADD COLUMN %s varchar(%d)%s", col, want.length, notNull)
			continue
		}
		c := h.Columns[i]
		if c.Name != want.name {
			problems = append(problems, fmt.Sprintf("column %d is %s, expected %s", i+1, sqlident.Quote(c.Name), want.name))
			if !slices.ContainsFunc(h.Columns, func(x facts.Column) bool { return x.Name == want.name }) {
				alter("RENAME COLUMN %s TO %s", sqlident.Quote(c.Name), col)
			}
		}
		switch n, ok := varcharLength(c.Type); {
		case !ok || (n > 0 && n < want.length):
			problems = append(problems, fmt.Sprintf("column %s is %s, expected character varying(%d)", want.name, c.Type, want.length))
			alter("ALTER COLUMN %s TYPE varchar(%d)", col, want.length)
		case n != want.length:
			notes = append(notes, fmt.Sprintf("%s is %s, wider than the guide's character varying(%d), which works", want.name, c.Type, want.length))
		}
		switch {
		case want.notNull && !c.NotNull && i > 0: // id: the primary key makes it NOT NULL
			problems = append(problems, fmt.Sprintf("column %s allows NULL, expected NOT NULL", want.name))
			alter("ALTER COLUMN %s SET NOT NULL", col)
		case !want.notNull && c.NotNull:
			problems = append(problems, fmt.Sprintf("column %s is NOT NULL, expected NULL allowed", want.name))
			byHand = append(byHand, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;", name, col))
		}
	}
	for _, c := range h.Columns[min(len(h.Columns), len(signalShape)):] {
		problems = append(problems, fmt.Sprintf("unexpected column %s (Debezium ignores signals from a table that has more than three columns)",
			sqlident.Quote(c.Name)))
	}
	switch {
	case len(h.PrimaryKey) == 0:
		problems = append(problems, "no primary key, expected PRIMARY KEY (id)")
		alter("ADD PRIMARY KEY (id)")
	case !slices.Equal(h.PrimaryKey, []string{"id"}):
		quoted := make([]string, len(h.PrimaryKey))
		for i, k := range h.PrimaryKey {
			quoted[i] = sqlident.Quote(k)
		}
		problems = append(problems, fmt.Sprintf("primary key is (%s), expected (id)", strings.Join(quoted, ", ")))
	}
	return problems, steps, byHand, notes
}

func wantType(c signalColumn) string {
	s := fmt.Sprintf("character varying(%d)", c.length)
	if c.notNull {
		s += " NOT NULL"
	}
	return s
}

func signalTable() rules.Rule {
	return rules.Rule{
		ID: "signal-table", Title: "The snapshot signal table exists with the expected shape",
		Category: rules.CategorySnapshot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionServer}, MayNeed: []facts.Section{facts.SectionSignalTable},
		Why: `Streamkap snapshots (backfills) run one of two ways. With Read only = Yes the connector needs nothing in
the database, but read-only incremental snapshots need PostgreSQL 13 or later. Otherwise it needs the
signal table <signal schema>.streamkap_signal (Streamkap ignores any other name) with the guide's shape:
id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL. The connector inserts
its snapshot watermarks there and Streamkap inserts the snapshot requests; Debezium reads a signal's
three columns by position and ignores signals from a table with any other number of columns, so a
wrong shape makes snapshots hang or fail with no error in the database. A missing table makes a
requested snapshot fail. --snapshot-mode read-only skips this rule (and fails below 13), signal-table
requires the table, auto (the default) checks it when it exists and otherwise warns.`,
		Fix: `Create it as in Streamkap's guide (run as a role that may create schemas):
CREATE SCHEMA IF NOT EXISTS streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA streamkap TO streamkap_user;
GRANT SELECT, INSERT, UPDATE ON TABLE streamkap.streamkap_signal TO streamkap_user;
If the publication lists its tables, add the signal table to it. Fix a wrong shape with ALTER TABLE
(ALTER COLUMN type TYPE varchar(32), SET NOT NULL, ADD PRIMARY KEY (id)) or, while the connector is
stopped, drop and re-create the table: it holds only transient signals. On PostgreSQL 13+ you can set
Read only = Yes in the connector instead and not use the table.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if why, unused := signalTableUnused(f); unused {
				return rules.Skip("%s", why)
			}
			mode, major := f.Options.SnapshotModeInForce(), f.Server.Major()
			name := signalName(f)
			if mode == facts.SnapshotReadOnly {
				if major < 13 {
					// The table is of use only once the connector stops taking
					// read-only snapshots: a person decides that, not fix.
					steps := createSignalSteps(f)
					for i := range steps {
						steps[i].Manual = true
						steps[i].Note = "only after setting Read only = No in the connector (and --snapshot-mode auto or signal-table)"
					}
					return rules.Finding("read-only snapshots need PostgreSQL 13 or later; this server runs %d", major).
						WithObjects("server "+f.Server.Version).
						WithSteps(fmt.Sprintf("Set Read only = No in the connector and create the signal table %s, or upgrade to PostgreSQL 13 or later.", name),
							steps...)
				}
				return rules.Skip("read-only snapshots do not use the signal table")
			}
			if o, ok := rules.Need(f, facts.SectionSignalTable); !ok {
				return o
			}
			h := f.SignalTable
			if !h.Exists {
				return missingSignalTable(f, mode, major, name)
			}
			if isDebezium(f.Options.Connector) {
				return debeziumSignalShape(h, name)
			}
			problems, steps, byHand, notes := signalShapeCheck(h, name)
			if len(problems) > 0 {
				text := "Bring the signal table to the guide's shape (SET lock_timeout first: ALTER TABLE waits for an ACCESS EXCLUSIVE lock), " +
					"or, with the connector stopped, drop and re-create it: it holds only transient signals."
				if len(byHand) > 0 {
					text += " cdcpreflight fix never runs a DROP, so run this yourself: " + strings.Join(byHand, " ")
				}
				return rules.Finding("signal table %s differs from the expected shape: %s", name, strings.Join(problems, "; ")).
					WithObjects(name).WithSteps(text, steps...)
			}
			msg := fmt.Sprintf("signal table %s has the expected shape", name)
			if len(notes) > 0 {
				msg += " (" + strings.Join(notes, "; ") + ")"
			}
			return rules.Pass("%s", msg)
		},
	}
}

func missingSignalTable(f *facts.Facts, mode string, major int, name string) rules.Outcome {
	text := fmt.Sprintf("Create the signal table %s as in Streamkap's guide", name)
	steps := createSignalSteps(f)
	// publication-signal-table says nothing about a table that auto mode
	// may do without, so the table created here is published here: else
	// it would exist unpublished and fail that rule on the next check.
	if publicationListsTables(f, f.Options.SignalSchema) {
		text += fmt.Sprintf(", and add it to publication %s (see publication-signal-table)", sqlident.Quote(f.Publication.Name))
		steps = append(steps, addSignalToPublication(f))
	}
	text += "."
	switch {
	case mode == facts.SnapshotSignalTable:
		return rules.Finding("signal table %s does not exist; snapshots in signal-table mode need it", name).
			WithObjects(name).WithSteps(text, steps...)
	case major < 13:
		return rules.Finding("signal table %s does not exist, and PostgreSQL %d cannot do read-only snapshots (13+): the connector cannot snapshot",
			name, major).WithObjects(name).WithSteps(text, steps...)
	}
	return rules.Finding("signal table %s does not exist: snapshots need Read only = Yes in the connector (PostgreSQL 13+) or this table", name).
		WithSeverity(rules.Warning).WithObjects(name).
		WithSteps("Set Read only = Yes in the connector's settings, or "+strings.ToLower(text[:1])+text[1:], steps...)
}

func signalTablePrivileges() rules.Rule {
	return rules.Rule{
		ID: "signal-table-privileges", Title: "The connector may read and write the signal table",
		Category: rules.CategorySnapshot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionSignalTable, facts.SectionRoleSettings},
		Why: `Outside read-only mode the connector inserts snapshot watermarks into the signal table, and Streamkap
writes snapshot requests there as the connector's role; the guide grants SELECT, INSERT and UPDATE on
the table and USAGE on its schema. Without them a requested snapshot fails with "permission denied for
table streamkap_signal" ("for relation" on PostgreSQL 10) or "permission denied for schema", SQLSTATE
42501. Privileges granted to a role the connector is a member of count (the guide grants to
streamkap_role). Privileges are not enough when the connector's sessions are read-only: ALTER ROLE …
SET default_transaction_read_only = on (a common way to make "the CDC user read-only"), the same IN
DATABASE, ALTER DATABASE … SET, ALTER ROLE ALL SET, or the server's own setting make every INSERT fail
with "cannot execute INSERT in a read-only transaction" (SQLSTATE 25006). The most specific setting
wins, as in PostgreSQL: role in database, role, database, all roles, server. Streaming and snapshot
reads still work, so only snapshots break, when first requested.`,
		Fix: `As the table's owner:
GRANT USAGE ON SCHEMA streamkap TO streamkap_user;
GRANT SELECT, INSERT, UPDATE ON TABLE streamkap.streamkap_signal TO streamkap_user;
(or to a role the connector is a member of, such as streamkap_role). For read-only sessions: ALTER
ROLE <role> [IN DATABASE <database>] RESET default_transaction_read_only; where it is set on the role,
or ALTER ROLE <role> SET default_transaction_read_only = off; where it comes from the database, ALTER
ROLE ALL or the server (run it from a session that is not read-only itself, e.g. after SET
default_transaction_read_only = off;). If the role must stay read-only, set Read only = Yes in the
connector instead (PostgreSQL 13+) and check with --snapshot-mode read-only.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if f.Options.SnapshotModeInForce() == facts.SnapshotReadOnly {
				return rules.Skip("read-only snapshots do not use the signal table")
			}
			if why, unused := signalTableUnused(f); unused {
				return rules.Skip("%s", why)
			}
			if o, ok := rules.Need(f, facts.SectionSignalTable, facts.SectionRoleSettings); !ok {
				return o
			}
			h := f.SignalTable
			name := signalName(f)
			if !h.Exists {
				return rules.Skip("signal table %s does not exist (see signal-table)", name)
			}
			role := sqlident.Quote(f.Options.ConnectorUser)
			schema := sqlident.Quote(h.Schema)
			if h.Schema == "" {
				schema = sqlident.Quote(f.Options.SignalSchema)
			}
			lacks, objects, steps := helperGrants(h, name, schema, role, false)
			if c := f.Options.Connector; isDebezium(c) {
				// Debezium itself only inserts watermarks (and deletes
				// them with insert_delete); it reads signals from the stream.
				lacks, objects, steps = debeziumSignalGrants(f, h, name, schema, role)
			}
			where, entries, readOnly := privReadOnly(f)
			if len(lacks) == 0 && !readOnly {
				if isDebezium(f.Options.Connector) {
					return rules.Pass("role %s may write Debezium's watermarks to %s", role, name)
				}
				return rules.Pass("role %s may SELECT, INSERT and UPDATE %s", role, name)
			}
			var problems []string
			if len(lacks) > 0 {
				problems = append(problems, fmt.Sprintf("role %s lacks %s", role, strings.Join(lacks, " and ")))
			}
			text := "As the signal table's owner, grant the connector role what it needs (or grant it to a role the connector is a member of)."
			if readOnly {
				problems = append(problems, readOnlyProblem(role, where, "its signal and watermark INSERTs into "+name, "INSERT"))
				objects = append(objects, where)
				steps = append(steps, privReadOnlyFix(f, entries)...)
				text = readOnlyRemedy(len(lacks) > 0, true, f.Server.Major())
			}
			return rules.Finding("%s", strings.Join(problems, "; ")).WithObjects(objects...).WithSteps(text, steps...)
		},
	}
}

// readOnlyProblem says that the connector's writes fail in its read-only
// sessions, with the server's words.
func readOnlyProblem(role, where, writes, verb string) string {
	return fmt.Sprintf("the sessions of role %s are read-only (%s): %s fail with "+
		"\"cannot execute %s in a read-only transaction\" (SQLSTATE 25006)", role, where, writes, verb)
}

// readOnlyRemedy says how to run the grants (when some are missing) and
// the statements that let the connector's sessions write; for the signal
// table, read-only snapshots (PostgreSQL 13+) are the way out where the
// role must stay read-only.
func readOnlyRemedy(grants, signal bool, major int) string {
	text := "Let the connector's sessions write: " + privReadOnlyText
	if grants {
		text = "As the table's owner, grant the connector role what it needs (or grant it to a role the connector is a member of). " +
			"Then let the connector's sessions write: " + privReadOnlyText
	}
	if signal && major >= 13 {
		text += " If the role must stay read-only, set Read only = Yes in the connector instead (read-only incremental snapshots " +
			"write nothing) and check with --snapshot-mode read-only."
	}
	return text
}

// helperGrants lists what the connector lacks on a helper table and the
// GRANTs that give it; writeOnly leaves SELECT out (the heartbeat is
// only written).
func helperGrants(h facts.HelperTable, name, schema, role string, writeOnly bool) (lacks, objects []string, steps []rules.Step) {
	if !h.SchemaUsage {
		lacks = append(lacks, "USAGE on schema "+schema)
		objects = append(objects, "schema "+schema)
		steps = append(steps, helperStep(fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", schema, role), ownerOf("schema "+schema)))
	}
	var privs []string
	if !h.Select && !writeOnly {
		privs = append(privs, "SELECT")
	}
	if !h.Insert {
		privs = append(privs, "INSERT")
	}
	if !h.Update {
		privs = append(privs, "UPDATE")
	}
	if len(privs) > 0 {
		lacks = append(lacks, strings.Join(privs, ", ")+" on "+name)
		objects = append(objects, name)
		steps = append(steps, helperStep(fmt.Sprintf("GRANT %s ON TABLE %s TO %s;", strings.Join(privs, ", "), name, role), ownerOf("table "+name)))
	}
	return lacks, objects, steps
}

func heartbeatTable() rules.Rule {
	return rules.Rule{
		ID: "heartbeat-table", Title: "The heartbeat table exists, is writable and is published",
		Category: rules.CategorySnapshot, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionHeartbeat, facts.SectionRoleSettings},
		Why: `On a quiet database, or one sharing its server with busy ones, the connector's slot only moves forward
when a change of a published table reaches it; until then the server keeps every WAL segment since,
and the disk fills. Streamkap's source heartbeat writes to <heartbeat schema>.streamkap_heartbeat (that
name only) at intervals so that a change always flows. It needs the table, INSERT and UPDATE on it
(and USAGE on its schema) for the connector's role, and the table in the publication: a write to an
unpublished table never reaches the connector. Heartbeats are written in the connector's own sessions,
so where they are read-only (default_transaction_read_only = on for the role, the database, all roles
or the server; see signal-table-privileges) every heartbeat fails with "cannot execute INSERT in a
read-only transaction" (SQLSTATE 25006), whatever the snapshot mode. Checked only when a heartbeat
schema is configured (--heartbeat-schema).`,
		Fix: `Streamkap's heartbeat setup, as a role that may create schemas:
CREATE SCHEMA IF NOT EXISTS streamkap;
CREATE TABLE IF NOT EXISTS streamkap.streamkap_heartbeat (id SERIAL PRIMARY KEY, text TEXT, last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
GRANT USAGE ON SCHEMA streamkap TO streamkap_user;
GRANT SELECT, INSERT, UPDATE ON TABLE streamkap.streamkap_heartbeat TO streamkap_user;
INSERT INTO streamkap.streamkap_heartbeat (text) VALUES ('test_heartbeat');
and, if the publication lists its tables:
ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_heartbeat;. Where the connector's
sessions are read-only: ALTER ROLE <role> RESET default_transaction_read_only; (or SET … = off where
the database, ALTER ROLE ALL or the server sets it).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			o := f.Options
			if o.HeartbeatSchema == "" {
				return rules.Skip("no heartbeat schema configured (--heartbeat-schema)")
			}
			if out, ok := rules.Need(f, facts.SectionHeartbeat, facts.SectionRoleSettings); !ok {
				return out
			}
			where, entries, readOnly := privReadOnly(f)
			h := f.Heartbeat
			name := helperName(h, o.HeartbeatSchema, facts.HeartbeatTableName)
			schema, role := sqlident.Quote(o.HeartbeatSchema), sqlident.Quote(o.ConnectorUser)
			addToPub := addToPublication(sqlident.Quote(o.Publication), name)
			// A missing publication is created by publication-exists with
			// this table listed: adding it here would fail before that.
			pubListsTables := publicationListsTables(f, o.HeartbeatSchema)
			if !h.Exists {
				owner := "the table's owner, the role that created it (or a superuser)"
				steps := []rules.Step{
					helperStep(fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s;", schema), needsCreateDB),
					helperStep(fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id SERIAL PRIMARY KEY, text TEXT, last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP);", name),
						"a role with CREATE on schema "+schema+" (or a superuser)"),
					helperStep(fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", schema, role), ownerOf("schema "+schema)),
					helperStep(fmt.Sprintf("GRANT SELECT, INSERT, UPDATE ON TABLE %s TO %s;", name, role), owner),
					// Beyond Streamkap's script: an INSERT by the connector also draws from the id sequence.
					helperStep(fmt.Sprintf("GRANT USAGE ON SEQUENCE %s TO %s;", sqlident.Qualified(o.HeartbeatSchema, facts.HeartbeatTableName+"_id_seq"), role), owner),
					helperStep(fmt.Sprintf("INSERT INTO %s (text) VALUES ('test_heartbeat');", name), owner),
				}
				if pubListsTables {
					steps = append(steps, addToPub)
				}
				msg := fmt.Sprintf("heartbeat table %s does not exist", name)
				objects := []string{name}
				text := "Create the heartbeat table as in Streamkap's heartbeat setup " +
					"(plus USAGE on its id sequence, which an INSERT by the connector needs)."
				if readOnly {
					msg += "; and " + readOnlyProblem(role, where, "its heartbeat INSERTs and UPDATEs", "INSERT")
					objects = append(objects, where)
					steps = append(steps, privReadOnlyFix(f, entries)...)
					text += " Then let the connector's sessions write: " + privReadOnlyText
				}
				return rules.Finding("%s", msg).WithObjects(objects...).WithSteps(text, steps...)
			}
			lacks, objects, steps := helperGrants(h, name, schema, role, true)
			var problems []string
			if len(lacks) > 0 {
				problems = append(problems, fmt.Sprintf("role %s lacks %s", role, strings.Join(lacks, " and ")))
			}
			if !h.Published {
				switch {
				case f.Publication.Err == nil && !f.Publication.Exists:
					problems = append(problems, fmt.Sprintf("%s is not published: publication %s does not exist", name, sqlident.Quote(o.Publication)))
				default:
					problems = append(problems, fmt.Sprintf("%s is not in publication %s", name, sqlident.Quote(o.Publication)))
					if pubListsTables {
						steps = append(steps, addToPub)
					}
				}
				if !slices.Contains(objects, name) {
					objects = append(objects, name)
				}
			}
			var text string
			if len(problems) > 0 {
				text = "Grant the connector role what it needs on the heartbeat table and publish it (as the table's and publication's owner). "
			}
			if readOnly {
				problems = append(problems, readOnlyProblem(role, where, "its heartbeat INSERTs and UPDATEs", "INSERT"))
				objects = append(objects, where)
				steps = append(steps, privReadOnlyFix(f, entries)...)
				text += "Let the connector's sessions write: " + privReadOnlyText
			}
			if len(problems) == 0 {
				return rules.Pass("heartbeat table %s is writable by %s and published", name, role)
			}
			return rules.Finding("heartbeat table %s will not carry heartbeats: %s", name, strings.Join(problems, "; ")).
				WithObjects(objects...).WithSteps(strings.TrimSpace(text), steps...)
		},
	}
}

// snapshotRules judge the signal and heartbeat tables and the snapshot mode.
func snapshotRules() []rules.Rule {
	return []rules.Rule{signalTable(), signalTablePrivileges(), heartbeatTable()}
}
