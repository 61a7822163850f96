package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Fact-snapshot cases for the publication family. healthy() has a per-table
// publication holding customers, orders and the signal table.

func pubMissing(f *facts.Facts) {
	f.Publication = facts.Publication{Name: f.Options.Publication}
}

func pubNoConnect(f *facts.Facts) {
	f.Connect.Err = &facts.Error{Op: "connect", Message: "connection refused"}
}

var pubReadErr = &facts.Error{Op: "read the publication", Message: "permission denied for table pg_publication", SQLState: "42501"}

var pubTablesErr = &facts.Error{Op: "read tables", Message: "canceling statement due to statement timeout", SQLState: "57014"}

// pubHostileTables adds captured tables whose names need quoting.
func pubHostileTables(published bool) func(f *facts.Facts) {
	return func(f *facts.Facts) {
		for _, name := range []string{"Order Items", "Orders"} {
			t := healthyTable(name)
			t.Quoted = `public."` + name + `"`
			t.Published = published
			f.Tables.Tables = append(f.Tables.Tables, t)
		}
	}
}

// partitioned adds a captured partitioned table public.measurements with
// two leaf partitions, on the server version given, published as the
// view would list them with publish_via_partition_root = viaRoot.
func pubPartitioned(version int, viaRoot bool) func(f *facts.Facts) {
	return func(f *facts.Facts) {
		f.Server.VersionNum = version
		f.Publication.ViaRoot = &viaRoot
		if version < 130000 {
			f.Publication.ViaRoot = nil
		}
		root := healthyTable("measurements")
		root.Kind, root.HasPrimaryKey, root.Published = 'p', false, viaRoot && version >= 130000
		f.Tables.Tables = append(f.Tables.Tables, root)
		for _, leaf := range []string{"measurements_2025", "measurements_2026"} {
			t := healthyTable(leaf)
			t.Captured, t.Rare().PartitionOf, t.Published = false, "public.measurements", !viaRoot || version < 130000
			f.Tables.Tables = append(f.Tables.Tables, t)
		}
	}
}

// pubListed makes the scope a capture list of these public tables.
func pubListed(names ...string) func(*facts.Facts) {
	return func(f *facts.Facts) {
		f.Tables.Listed = true
		f.Options.Tables = nil
		for _, n := range names {
			f.Options.Tables = append(f.Options.Tables, facts.TableRef{Schema: "public", Table: n})
		}
	}
}

// table returns the table quoted q in f.
func pubTable(f *facts.Facts, q string) *facts.Table {
	for i := range f.Tables.Tables {
		if f.Tables.Tables[i].Quoted == q {
			return &f.Tables.Tables[i]
		}
	}
	panic("no table " + q)
}

func pubAll(ms ...func(*facts.Facts)) func(*facts.Facts) {
	return func(f *facts.Facts) {
		for _, m := range ms {
			m(f)
		}
	}
}

var publicationCases = []ruleCase{
	// publication-exists
	{name: "exists", rule: "publication-exists", want: rules.StatusPass, contains: "3 tables"},
	{name: "for all tables", rule: "publication-exists", want: rules.StatusPass, contains: "FOR ALL TABLES",
		mutate: func(f *facts.Facts) { f.Publication.AllTables = true }},
	{name: "missing", rule: "publication-exists", want: rules.StatusFail, mutate: pubMissing,
		objects:  []string{"publication streamkap_pub"},
		contains: "CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, streamkap.streamkap_signal;"},
	{name: "missing, hostile names", rule: "publication-exists", want: rules.StatusFail,
		mutate:  pubAll(pubMissing, pubHostileTables(false), func(f *facts.Facts) { f.Options.Publication = `cdc "pub"; DROP TABLE x` }),
		objects: []string{`publication "cdc ""pub""; DROP TABLE x"`},
		contains: `CREATE PUBLICATION "cdc ""pub""; DROP TABLE x" FOR TABLE public.customers, public.orders, ` +
			`public."Order Items", public."Orders", streamkap.streamkap_signal;`},
	{name: "missing, heartbeat configured", rule: "publication-exists", want: rules.StatusFail,
		mutate: pubAll(pubMissing, func(f *facts.Facts) {
			f.Options.HeartbeatSchema = "streamkap"
			f.Heartbeat = facts.HelperTable{Schema: "streamkap", Name: "streamkap_heartbeat", Quoted: "streamkap.streamkap_heartbeat", Exists: true}
		}),
		contains: "streamkap.streamkap_signal, streamkap.streamkap_heartbeat;"},
	{name: "missing, read-only snapshots leave the signal table out", rule: "publication-exists", want: rules.StatusFail,
		mutate:   pubAll(pubMissing, func(f *facts.Facts) { f.Options.SnapshotMode = "read-only" }),
		contains: "CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders;"},
	{name: "missing, partitioned on 15 publishes via root", rule: "publication-exists", want: rules.StatusFail,
		mutate: pubAll(pubPartitioned(150018, false), pubMissing),
		contains: "FOR TABLE public.customers, public.orders, public.measurements, streamkap.streamkap_signal " +
			"WITH (publish_via_partition_root = true);"},
	{name: "missing, partitioned on 12 lists the partitions", rule: "publication-exists", want: rules.StatusFail,
		mutate:   pubAll(pubPartitioned(120022, false), pubMissing),
		contains: "FOR TABLE public.customers, public.orders, public.measurements_2025, public.measurements_2026, streamkap.streamkap_signal;"},
	{name: "missing on Neon", rule: "publication-exists", want: rules.StatusFail,
		mutate:   pubAll(pubMissing, func(f *facts.Facts) { f.Platform.Name = facts.PlatformNeon }),
		contains: "On Neon there is no superuser"},
	{name: "missing, slot predates it", rule: "publication-exists", want: rules.StatusFail, mutate: pubMissing,
		contains: "predates the publication"},
	{name: "missing, tables unreadable", rule: "publication-exists", want: rules.StatusFail,
		mutate:   pubAll(pubMissing, func(f *facts.Facts) { f.Tables.Err = pubTablesErr }),
		contains: "they could not be read"},
	{name: "publication unreadable", rule: "publication-exists", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Publication.Err = pubReadErr }},
	{name: "no connection", rule: "publication-exists", want: rules.StatusError, mutate: pubNoConnect},

	// publication-coverage
	{name: "all covered", rule: "publication-coverage", want: rules.StatusPass, contains: "all 2 captured tables"},
	{name: "hostile names missing", rule: "publication-coverage", want: rules.StatusFail, mutate: pubHostileTables(false),
		objects:  []string{`public."Order Items"`, `public."Orders"`},
		contains: `ALTER PUBLICATION streamkap_pub ADD TABLE public."Order Items", public."Orders";`},
	{name: "one missing", rule: "publication-coverage", want: rules.StatusFail,
		mutate:   func(f *facts.Facts) { pubTable(f, "public.orders").Published = false },
		objects:  []string{"public.orders"},
		contains: "1 of 2 captured tables is not in publication streamkap_pub: public.orders"},
	{name: "hostile publication name", rule: "publication-coverage", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			f.Options.Publication = `Pub "X"`
			pubTable(f, "public.orders").Published = false
		},
		contains: `ALTER PUBLICATION "Pub ""X""" ADD TABLE public.orders;`},
	{name: "partitioned, all partitions published", rule: "publication-coverage", want: rules.StatusPass,
		mutate: pubPartitioned(150018, false), contains: "all 3 captured tables"},
	{name: "partitioned, via root", rule: "publication-coverage", want: rules.StatusPass, mutate: pubPartitioned(150018, true)},
	{name: "partitioned, a partition missing", rule: "publication-coverage", want: rules.StatusFail,
		mutate:  pubAll(pubPartitioned(150018, false), func(f *facts.Facts) { pubTable(f, "public.measurements_2026").Published = false }),
		objects: []string{"public.measurements"}, contains: "ADD TABLE public.measurements;"},
	{name: "partition captured alone, published via the root", rule: "publication-coverage", want: rules.StatusFail,
		mutate: pubAll(pubPartitioned(150018, true), pubListed("customers", "orders", "measurements_2026"), func(f *facts.Facts) {
			pubTable(f, "public.measurements").Captured = false
			pubTable(f, "public.measurements_2026").Captured = true
			pubTable(f, "public.measurements_2026").Published = false
		}),
		objects: []string{"public.measurements_2026"},
		contains: "1 partition of 3 captured tables is published only under its partitioned table's name (publication streamkap_pub has " +
			"publish_via_partition_root = true): a connector capturing a partition by name receives none of its changes: " +
			"public.measurements_2026 (as public.measurements)"},
	{name: "partition captured alone, published via the root: capture the root", rule: "publication-coverage", want: rules.StatusFail,
		mutate: pubAll(pubPartitioned(150018, true), pubListed("customers", "orders", "measurements_2026"), func(f *facts.Facts) {
			pubTable(f, "public.measurements").Captured = false
			pubTable(f, "public.measurements_2026").Captured = true
		}),
		contains: "Capture the partitioned table public.measurements instead of the partition"},
	{name: "partition captured alone, published via the root: or via the leaves", rule: "publication-coverage", want: rules.StatusFail,
		mutate: pubAll(pubPartitioned(150018, true), pubListed("customers", "orders", "measurements_2026"), func(f *facts.Facts) {
			pubTable(f, "public.measurements").Captured = false
			pubTable(f, "public.measurements_2026").Captured = true
		}),
		contains: "ALTER PUBLICATION streamkap_pub SET (publish_via_partition_root = false);"},
	{name: "partition captured alone, its root captured too", rule: "publication-coverage", want: rules.StatusFail,
		mutate: pubAll(pubPartitioned(150018, true), pubListed("customers", "orders", "measurements", "measurements_2026"), func(f *facts.Facts) {
			pubTable(f, "public.measurements_2026").Captured = true
		}),
		objects: []string{"public.measurements_2026"}, contains: "partitioned tables are captured by their own names"},
	{name: "partition captured alone, via the root off", rule: "publication-coverage", want: rules.StatusPass,
		mutate: pubAll(pubPartitioned(150018, false), pubListed("customers", "orders", "measurements_2026"), func(f *facts.Facts) {
			pubTable(f, "public.measurements").Captured = false
			pubTable(f, "public.measurements_2026").Captured = true
		})},
	{name: "partitioned on 12, a partition missing", rule: "publication-coverage", want: rules.StatusFail,
		mutate:  pubAll(pubPartitioned(120022, false), func(f *facts.Facts) { pubTable(f, "public.measurements_2026").Published = false }),
		objects: []string{"public.measurements"}, contains: "ADD TABLE public.measurements_2026;"},
	{name: "partitioned without partitions, a member", rule: "publication-coverage", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			root := healthyTable("events")
			root.Kind, root.Published = 'p', false
			f.Tables.Tables = append(f.Tables.Tables, root)
			f.Publication.Members = []facts.PublicationMember{{Table: "public.events"}}
		}},
	{name: "partitioned without partitions, not a member", rule: "publication-coverage", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			root := healthyTable("events")
			root.Kind, root.Published = 'p', false
			f.Tables.Tables = append(f.Tables.Tables, root)
		},
		objects: []string{"public.events"}},
	{name: "schema published", rule: "publication-coverage", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			root := healthyTable("events")
			root.Kind, root.Published = 'p', false
			f.Tables.Tables = append(f.Tables.Tables, root)
			f.Publication.Schemas = []string{"public"}
		}},
	{name: "unlogged not counted", rule: "publication-coverage", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			t := healthyTable("scratch")
			t.Persistence, t.Published = 'u', false
			f.Tables.Tables = append(f.Tables.Tables, t)
		},
		contains: "not counted, since no publication can hold them: public.scratch"},
	{name: "nothing captured", rule: "publication-coverage", want: rules.StatusPass, contains: "no tables are captured",
		mutate: func(f *facts.Facts) { f.Tables.Tables = nil }},
	{name: "no publication", rule: "publication-coverage", want: rules.StatusSkip, mutate: pubMissing},
	{name: "tables unreadable", rule: "publication-coverage", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables.Err = pubTablesErr }},
	{name: "publication unreadable", rule: "publication-coverage", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Publication.Err = pubReadErr }},
	{name: "no connection", rule: "publication-coverage", want: rules.StatusError, mutate: pubNoConnect},

	// publication-signal-table
	{name: "published", rule: "publication-signal-table", want: rules.StatusPass},
	{name: "not published", rule: "publication-signal-table", want: rules.StatusFail,
		mutate:  func(f *facts.Facts) { f.SignalTable.Published = false },
		objects: []string{"streamkap.streamkap_signal"}, contains: "ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_signal;"},
	{name: "hostile schema", rule: "publication-signal-table", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			f.Options.SignalSchema = `Sig "S"`
			f.SignalTable.Schema, f.SignalTable.Quoted, f.SignalTable.Published = `Sig "S"`, `"Sig ""S""".streamkap_signal`, false
		},
		objects: []string{`"Sig ""S""".streamkap_signal`}, contains: `ADD TABLE "Sig ""S""".streamkap_signal;`},
	{name: "read-only snapshots", rule: "publication-signal-table", want: rules.StatusSkip,
		mutate: func(f *facts.Facts) { f.Options.SnapshotMode, f.SignalTable.Published = "read-only", false }},
	{name: "no publication", rule: "publication-signal-table", want: rules.StatusSkip, mutate: pubMissing},
	{name: "missing table, auto", rule: "publication-signal-table", want: rules.StatusSkip, contains: "see signal-table",
		mutate: func(f *facts.Facts) { f.SignalTable.Exists, f.SignalTable.Published = false, false }},
	{name: "missing table, signal-table mode", rule: "publication-signal-table", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			f.Options.SnapshotMode = "signal-table"
			f.SignalTable.Exists, f.SignalTable.Published = false, false
		},
		contains: "Create the signal table first"},
	{name: "missing table, FOR ALL TABLES", rule: "publication-signal-table", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Options.SnapshotMode, f.Publication.AllTables = "signal-table", true
			f.SignalTable.Exists, f.SignalTable.Published = false, false
		}},
	{name: "missing table, schema published", rule: "publication-signal-table", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Options.SnapshotMode, f.Publication.Schemas = "signal-table", []string{"streamkap"}
			f.SignalTable.Exists, f.SignalTable.Published = false, false
		}},
	{name: "signal table unreadable", rule: "publication-signal-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.SignalTable.Err = pubTablesErr }},
	{name: "publication unreadable", rule: "publication-signal-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Publication.Err = pubReadErr }},
	{name: "no connection", rule: "publication-signal-table", want: rules.StatusError, mutate: pubNoConnect},

	// publication-operations
	{name: "all operations", rule: "publication-operations", want: rules.StatusPass},
	{name: "truncate off", rule: "publication-operations", want: rules.StatusPass, contains: "truncate is not published",
		mutate: func(f *facts.Facts) { f.Publication.Truncate = ptr(false) }},
	{name: "insert only", rule: "publication-operations", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			f.Publication.Update, f.Publication.Delete, f.Publication.Truncate = false, false, ptr(false)
		},
		objects:  []string{"publication streamkap_pub"},
		contains: "ALTER PUBLICATION streamkap_pub SET (publish = 'insert, update, delete, truncate');"},
	{name: "insert only, default scope too", rule: "publication-operations", want: rules.StatusFail,
		contains: "publication streamkap_pub does not publish update, delete: those changes never reach the connector",
		mutate:   func(f *facts.Facts) { f.Publication.Update, f.Publication.Delete = false, false }},
	{name: "insert only, a row filter outside the key re-listed first", rule: "publication-operations", want: rules.StatusFail,
		contains: "ALTER PUBLICATION streamkap_pub SET TABLE public.customers, public.orders, streamkap.streamkap_signal;\n" +
			"ALTER PUBLICATION streamkap_pub SET (publish = 'insert, update, delete, truncate');",
		mutate: pubAll(tbFilter("streamkap_pub", "status"), func(f *facts.Facts) {
			f.Publication.Update, f.Publication.Delete = false, false
			pubTable(f, "public.orders").Rare().Filters[0].Update, pubTable(f, "public.orders").Rare().Filters[0].Delete = false, false
		})},
	{name: "no deletes on PG 10", rule: "publication-operations", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			f.Server.VersionNum, f.Publication.Truncate, f.Publication.ViaRoot, f.Publication.Delete = 100023, nil, nil, false
		},
		contains: "SET (publish = 'insert, update, delete');"},
	{name: "no publication", rule: "publication-operations", want: rules.StatusSkip, mutate: pubMissing},
	{name: "publication unreadable", rule: "publication-operations", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Publication.Err = pubReadErr }},
	{name: "no connection", rule: "publication-operations", want: rules.StatusError, mutate: pubNoConnect},

	// publication-partitions
	{name: "no partitioned tables", rule: "publication-partitions", want: rules.StatusPass},
	{name: "via root on", rule: "publication-partitions", want: rules.StatusPass, mutate: pubPartitioned(150018, true)},
	{name: "via root off", rule: "publication-partitions", want: rules.StatusWarn, mutate: pubPartitioned(150018, false),
		objects:  []string{"public.measurements"},
		contains: "ALTER PUBLICATION streamkap_pub SET (publish_via_partition_root = true);"},
	{name: "via root off, default scope says so", rule: "publication-partitions", want: rules.StatusWarn, mutate: pubPartitioned(150018, false),
		contains: "(in the default all-tables scope, not listed explicitly): with no capture list the connector captures the partitions themselves"},
	{name: "via root off, listed", rule: "publication-partitions", want: rules.StatusFail,
		mutate:   pubAll(pubPartitioned(150018, false), pubListed("measurements")),
		objects:  []string{"public.measurements"},
		contains: "arrive under their partitions' names, which a capture list naming the partitioned table drops"},
	{name: "PG 12", rule: "publication-partitions", want: rules.StatusWarn, mutate: pubPartitioned(120022, false),
		objects: []string{"public.measurements"}, contains: "PostgreSQL 12 cannot publish partitioned tables"},
	{name: "PG 12, listed", rule: "publication-partitions", want: rules.StatusFail,
		mutate:  pubAll(pubPartitioned(120022, false), pubListed("measurements")),
		objects: []string{"public.measurements"}, contains: "PostgreSQL 12 cannot publish partitioned tables"},
	{name: "via root on, partitions added one by one", rule: "publication-partitions", want: rules.StatusWarn,
		mutate: pubAll(pubPartitioned(150018, true), func(f *facts.Facts) {
			pubTable(f, "public.measurements").Published = false
			pubTable(f, "public.measurements_2025").Published = true
			pubTable(f, "public.measurements_2026").Published = true
		}),
		objects: []string{"public.measurements"}, contains: "ADD TABLE public.measurements;"},
	{name: "no publication", rule: "publication-partitions", want: rules.StatusSkip, mutate: pubAll(pubPartitioned(150018, true), pubMissing)},
	{name: "server unreadable", rule: "publication-partitions", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Server.Err = pubReadErr }},
	{name: "tables unreadable", rule: "publication-partitions", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables.Err = pubTablesErr }},
	{name: "no connection", rule: "publication-partitions", want: rules.StatusError, mutate: pubNoConnect},

	// publication-filters
	{name: "no filters", rule: "publication-filters", want: rules.StatusPass},
	{name: "row filter and column list", rule: "publication-filters", want: rules.StatusWarn,
		mutate: func(f *facts.Facts) {
			pubTable(f, "public.orders").RowFilter = true
			pubTable(f, "public.customers").ColumnList = true
			f.Publication.Members = []facts.PublicationMember{
				{Table: "public.audit", Where: "(kind <> 'debug'::text)"},
				{Table: "public.customers", Columns: []string{"id", `"E-mail"`}},
				{Table: "public.orders", Where: "(total_cents > 0)"},
				{Table: "streamkap.streamkap_signal"},
			}
		},
		objects: []string{"public.customers", "public.orders"},
		contains: "ALTER PUBLICATION streamkap_pub SET TABLE public.audit WHERE ((kind <> 'debug'::text)), public.customers, " +
			"public.orders, streamkap.streamkap_signal;"},
	{name: "row filter, listed", rule: "publication-filters", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: "drop changes of captured tables: public.orders (row filter)\n",
		mutate:   pubAll(tbFilter("streamkap_pub", "id"), pubListed("customers", "orders"))},
	{name: "row filter, default scope says so", rule: "publication-filters", want: rules.StatusWarn,
		contains: "public.orders (row filter) (in the default all-tables scope, not listed explicitly)", mutate: tbFilter("streamkap_pub", "id")},
	{name: "one statement with replica-identity's", rule: "publication-filters", want: rules.StatusWarn,
		// audit is not captured, but its filter breaks its UPDATE: the SET
		// TABLE drops it too, as replica-identity's does.
		contains: "ALTER PUBLICATION streamkap_pub SET TABLE public.audit, public.customers, public.orders, streamkap.streamkap_signal;",
		mutate: pubAll(tbFilter("streamkap_pub", "id"), func(f *facts.Facts) {
			a := healthyTable("audit")
			a.Captured, a.RowFilter, a.Rare().IdentityColumns = false, true, []string{"id"}
			a.Rare().Filters = []facts.PublicationFilter{{Publication: "streamkap_pub", Table: "public.audit", Update: true, Delete: true,
				Where: "(kind <> 'debug'::text)", WhereColumns: []string{"kind"}}}
			f.Tables.Tables = append(f.Tables.Tables, a)
			f.Publication.Members = append([]facts.PublicationMember{{Table: "public.audit", Where: "(kind <> 'debug'::text)"}}, f.Publication.Members...)
		})},
	{name: "filter on a partition", rule: "publication-filters", want: rules.StatusWarn,
		mutate:  pubAll(pubPartitioned(150018, false), func(f *facts.Facts) { pubTable(f, "public.measurements_2026").RowFilter = true }),
		objects: []string{"public.measurements_2026"}, contains: "public.measurements_2026 (row filter)"},
	{name: "filter on a table not captured", rule: "publication-filters", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			t := healthyTable("audit")
			t.Captured, t.RowFilter = false, true
			f.Tables.Tables = append(f.Tables.Tables, t)
		}},
	{name: "PG 14", rule: "publication-filters", want: rules.StatusSkip, contains: "PostgreSQL 14 has no row filters",
		mutate: func(f *facts.Facts) { f.Server.VersionNum = 140013 }},
	{name: "no publication", rule: "publication-filters", want: rules.StatusSkip, mutate: pubMissing},
	{name: "tables unreadable", rule: "publication-filters", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables.Err = pubTablesErr }},
	{name: "no connection", rule: "publication-filters", want: rules.StatusError, mutate: pubNoConnect},
}
