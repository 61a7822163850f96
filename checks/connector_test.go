package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// withDebezium makes the healthy snapshot one judged with a Debezium
// configuration that matches it: pgoutput, the publication and slot as
// they are (autocreate disabled), the signal table configured, filters
// that capture both tables.
func withDebezium(f *facts.Facts) {
	f.Options.Connector = &facts.Connector{
		File: "connector.json", Format: "kafka-connect", Flavour: facts.FlavourDebezium, Version: "3.6",
		Plugin: "pgoutput", AutocreateMode: "disabled", SnapshotMode: "initial",
		Filters:          facts.ConnectorFilters{TableInclude: `public\.(customers|orders)`},
		SignalCollection: "streamkap.streamkap_signal", SignalChannels: []string{"source"}, Watermarking: "insert_insert",
		TopicPrefix: "app", TopicDelimiter: ".",
	}
	f.Options.SnapshotMode = facts.SnapshotSignalTable
	f.Scope = facts.CaptureScope{Resolved: true, Candidates: 3, Captured: 2,
		Patterns: []facts.ScopePattern{{List: "table.include.list", Pattern: `public\.(customers|orders)`, Matched: true}}}
	f.ConnectorDB = facts.ConnectorDatabase{DatabaseCreate: true, Plugin: facts.OutputPlugin{Name: "pgoutput", Builtin: true}}
	f.Tables.Listed = true
}

func debezium(mut func(f *facts.Facts, c *facts.Connector)) func(f *facts.Facts) {
	return func(f *facts.Facts) {
		withDebezium(f)
		if mut != nil {
			mut(f, f.Options.Connector)
		}
	}
}

func failed(s facts.Section) func(f *facts.Facts, c *facts.Connector) {
	return func(f *facts.Facts, _ *facts.Connector) { failSection(f, s) }
}

var connectorCases = []ruleCase{
	// connector-config
	{name: "no config", rule: "connector-config", want: rules.StatusSkip},
	{name: "valid", rule: "connector-config", mutate: debezium(nil), want: rules.StatusPass, contains: "passes Debezium 3.6's validation"},
	{name: "rejected", rule: "connector-config", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Problems = []facts.ConnectorProblem{{Property: "slot.name", Line: 7, Message: "Valid replication slot name must contain only digits", Rejected: true}}
	}), want: rules.StatusFail, objects: []string{"property slot.name"}, contains: "slot.name (line 7): Valid replication slot name"},
	{name: "unknown version in a saved snapshot", rule: "connector-config", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Version = "9.1"
	}), want: rules.StatusError},
	{name: "ignored setting", rule: "connector-config", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Problems = []facts.ConnectorProblem{{Property: "table.whitelist", Message: "a Debezium 1.x setting"}}
	}), want: rules.StatusWarn},

	// capture-scope
	{name: "all patterns match", rule: "capture-scope", mutate: debezium(nil), want: rules.StatusPass, contains: "2 tables captured of 3"},
	{name: "a pattern matches nothing", rule: "capture-scope", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.Scope.Patterns = append(f.Scope.Patterns, facts.ScopePattern{List: "table.include.list", Pattern: `public."Orders"`})
	}), want: rules.StatusWarn, contains: "without quotes"},
	{name: "nothing captured", rule: "capture-scope", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		f.Scope.Captured = 0
		c.AutocreateMode = "filtered"
	}), want: rules.StatusFail, contains: "No table filters found"},
	{name: "a pattern Go cannot evaluate", rule: "capture-scope", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.Scope.Err = &facts.Error{Op: "compute the capture scope", Message: "look-ahead groups have no RE2 equivalent"}
	}), want: rules.StatusError},

	// output-plugin
	{name: "pgoutput", rule: "output-plugin", mutate: debezium(nil), want: rules.StatusPass, contains: "built into PostgreSQL"},
	{name: "decoderbufs defaulted, not shown", rule: "output-plugin", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.Plugin, c.PluginDefaulted = "decoderbufs", true
		f.ConnectorDB.Plugin = facts.OutputPlugin{Name: "decoderbufs"}
	}), want: rules.StatusFail, contains: "no decoderbufs.control extension file"},
	{name: "decoderbufs, superuser looked", rule: "output-plugin", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.Plugin = "decoderbufs"
		f.ConnectorDB.Plugin = facts.OutputPlugin{Name: "decoderbufs", LibraryChecked: true}
	}), want: rules.StatusFail, contains: "not in its library path"},
	{name: "decoderbufs explicit, not shown", rule: "output-plugin", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.Plugin = "decoderbufs"
		f.ConnectorDB.Plugin = facts.OutputPlugin{Name: "decoderbufs"}
	}), want: rules.StatusWarn},
	{name: "decoderbufs installed", rule: "output-plugin", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.Plugin = "decoderbufs"
		f.ConnectorDB.Plugin = facts.OutputPlugin{Name: "decoderbufs", Extension: true}
	}), want: rules.StatusPass, contains: "control file is installed"},
	{name: "connector facts missing", rule: "output-plugin", mutate: debezium(failed(facts.SectionConnectorDB)), want: rules.StatusError},
	{name: "slots missing", rule: "output-plugin", mutate: debezium(failed(facts.SectionSlots)), want: rules.StatusError},

	// publication-autocreate
	{name: "disabled, exists", rule: "publication-autocreate", mutate: debezium(nil), want: rules.StatusPass},
	{name: "disabled, missing", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.Publication = facts.Publication{Name: "streamkap_pub"}
	}), want: rules.StatusFail, contains: "Publication autocreation is disabled"},
	{name: "all_tables, missing, not superuser", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "all_tables"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
	}), want: rules.StatusFail, contains: "must be superuser to create FOR ALL TABLES publication"},
	{name: "all_tables, missing, superuser", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "all_tables"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
		f.Role.Super = true
	}), want: rules.StatusPass},
	{name: "filtered, missing, owner", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
		for i := range f.Tables.Tables {
			f.Tables.Tables[i].OwnedByConnector = true
		}
	}), want: rules.StatusPass, contains: "FOR TABLE"},
	{name: "filtered, missing, not owner", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
	}), want: rules.StatusFail, objects: []string{"publication streamkap_pub", "public.customers", "public.orders"}},
	{name: "filtered, no CREATE on the database", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
		f.ConnectorDB.DatabaseCreate = false
		for i := range f.Tables.Tables {
			f.Tables.Tables[i].OwnedByConnector = true
		}
	}), want: rules.StatusFail, contains: "lacks CREATE on database"},
	{name: "filtered, FOR ALL TABLES exists", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		f.Publication.AllTables = true
	}), want: rules.StatusFail, contains: "can not be altered"},
	{name: "filtered, exists, same tables, 3.3+", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
	}), want: rules.StatusPass, contains: "leaves it as it is"},
	{name: "filtered, exists, 3.2 alters every start", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode, c.Version = "filtered", "3.2"
	}), want: rules.StatusFail, contains: "does not own the publication"},
	{name: "filtered, SET TABLE drops a table", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		f.Role.Super = true
		t := healthyTable("audit")
		t.Captured = false
		f.Tables.Tables = append(f.Tables.Tables, t)
	}), want: rules.StatusWarn, objects: []string{"public.audit"}},
	{name: "no_tables, missing", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "no_tables"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
	}), want: rules.StatusFail, contains: "with no tables"},
	{name: "streamkap", rule: "publication-autocreate", mutate: func(f *facts.Facts) {
		withDebezium(f)
		f.Options.Connector.Flavour, f.Options.Connector.AutocreateMode = facts.FlavourStreamkap, ""
	}, want: rules.StatusSkip},
	{name: "publication unread", rule: "publication-autocreate", mutate: debezium(failed(facts.SectionPublication)), want: rules.StatusError},
	{name: "role unread", rule: "publication-autocreate", mutate: debezium(failed(facts.SectionRole)), want: rules.StatusError},
	{name: "server unread", rule: "publication-autocreate", mutate: debezium(failed(facts.SectionServer)), want: rules.StatusError},
	{name: "tables unread", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		failSection(f, facts.SectionTables)
	}), want: rules.StatusError},
	{name: "connector facts unread", rule: "publication-autocreate", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		failSection(f, facts.SectionConnectorDB)
	}), want: rules.StatusError},
	{name: "initial_only never streams", rule: "publication-autocreate", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.SnapshotMode = "initial_only"
	}), want: rules.StatusSkip},

	// slot-in-use
	{name: "inactive", rule: "slot-in-use", mutate: debezium(nil), want: rules.StatusPass},
	{name: "active", rule: "slot-in-use", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.Slots.Slots[0].Active, f.Slots.Slots[0].ActivePID = true, 4242
	}), want: rules.StatusWarn, contains: "is active for PID 4242"},
	{name: "slots unread", rule: "slot-in-use", mutate: debezium(failed(facts.SectionSlots)), want: rules.StatusError},

	// signal-collection
	{name: "as Debezium matches it", rule: "signal-collection", mutate: debezium(nil), want: rules.StatusPass},
	{name: "three parts", rule: "signal-collection", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.SignalCollection = "app.streamkap.streamkap_signal"
	}), want: rules.StatusFail, contains: "three parts"},
	{name: "wrong case", rule: "signal-collection", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.SignalCollection = "streamkap.Streamkap_Signal"
		f.SignalTable.Exists = false
		f.ConnectorDB.SignalCaseVariants = []string{"streamkap.streamkap_signal"}
	}), want: rules.StatusFail, contains: "differs only in letter case"},
	{name: "column filter drops data", rule: "signal-collection", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Filters.ColumnInclude = `streamkap\.streamkap_signal\.(id|type),public\..*`
	}), want: rules.StatusFail, contains: "drop data"},
	{name: "no source channel", rule: "signal-collection", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.SignalChannels = []string{"kafka"}
	}), want: rules.StatusFail, contains: "lacks source"},
	{name: "unresolved", rule: "signal-collection", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Unresolved = []string{"signal.data.collection"}
	}), want: rules.StatusError},
	{name: "connector facts unread", rule: "signal-collection", mutate: debezium(failed(facts.SectionConnectorDB)), want: rules.StatusError},
	{name: "signal table unread", rule: "signal-collection", mutate: debezium(failed(facts.SectionSignalTable)), want: rules.StatusError},

	// heartbeat-query
	{name: "not set", rule: "heartbeat-query", mutate: debezium(nil), want: rules.StatusSkip},
	{name: "writable and published", rule: "heartbeat-query", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.HeartbeatQuery, c.HeartbeatIntervalMS = "INSERT INTO public.hb VALUES (now())", 10000
		f.ConnectorDB.Heartbeat = facts.HeartbeatTarget{Name: "public.hb", Verb: "INSERT", Exists: true, Quoted: "public.hb", Kind: "r",
			Insert: true, SchemaUsage: true, Published: true}
	}), want: rules.StatusPass},
	{name: "interval 0", rule: "heartbeat-query", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.HeartbeatQuery = "INSERT INTO public.hb VALUES (now())"
	}), want: rules.StatusWarn, contains: "never runs"},
	{name: "missing table", rule: "heartbeat-query", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.HeartbeatQuery, c.HeartbeatIntervalMS = "INSERT INTO public.hb VALUES (now())", 10000
		f.ConnectorDB.Heartbeat = facts.HeartbeatTarget{Name: "public.hb", Verb: "INSERT"}
	}), want: rules.StatusFail, contains: "42P01"},
	{name: "not writable", rule: "heartbeat-query", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.HeartbeatQuery, c.HeartbeatIntervalMS = "UPDATE public.hb SET ts = now()", 10000
		f.ConnectorDB.Heartbeat = facts.HeartbeatTarget{Name: "public.hb", Verb: "UPDATE", Exists: true, Quoted: "public.hb", Insert: true, SchemaUsage: true}
	}), want: rules.StatusWarn, contains: "may not UPDATE"},
	{name: "connector facts unread", rule: "heartbeat-query", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.HeartbeatQuery, c.HeartbeatIntervalMS = "INSERT INTO public.hb VALUES (now())", 10000
		failSection(f, facts.SectionConnectorDB)
	}), want: rules.StatusError},

	// replica-identity-autoset
	{name: "not set", rule: "replica-identity-autoset", mutate: debezium(nil), want: rules.StatusSkip},
	{name: "owner", rule: "replica-identity-autoset", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.ReplicaIdentityAutoset = `public.orders:FULL`
		f.Tables.Tables[1].OwnedByConnector = true
	}), want: rules.StatusPass, contains: "public.orders → FULL"},
	{name: "not owner", rule: "replica-identity-autoset", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.ReplicaIdentityAutoset = `public.orders:FULL`
	}), want: rules.StatusFail, objects: []string{"public.orders"}, contains: "must be owner"},
	{name: "two entries match", rule: "replica-identity-autoset", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.ReplicaIdentityAutoset = `public.orders:FULL,public\..*:FULL`
		f.Role.Super = true
	}), want: rules.StatusFail, contains: "More than one Regular expressions matched table"},
	{name: "lower-case identity", rule: "replica-identity-autoset", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.ReplicaIdentityAutoset = `public.orders:full`
		f.Role.Super = true
	}), want: rules.StatusFail, contains: "lower case"},
	{name: "tables unread", rule: "replica-identity-autoset", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.ReplicaIdentityAutoset = `public.orders:FULL`
		failSection(f, facts.SectionTables)
	}), want: rules.StatusError},
	{name: "role unread", rule: "replica-identity-autoset", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.ReplicaIdentityAutoset = `public.orders:FULL`
		failSection(f, facts.SectionRole)
	}), want: rules.StatusError},

	// topic-names
	{name: "distinct", rule: "topic-names", mutate: debezium(nil), want: rules.StatusPass, contains: "2 distinct topics under app"},
	{name: "collision", rule: "topic-names", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		a, b := healthyTable("my table"), healthyTable("my$table")
		a.Quoted, b.Quoted = `public."my table"`, `public."my$table"`
		f.Tables.Tables = append(f.Tables.Tables, a, b)
	}), want: rules.StatusFail, objects: []string{`public."my table"`, `public."my$table"`}, contains: "app.public.my_table"},
	{name: "renamed", rule: "topic-names", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		a := healthyTable("Café")
		a.Quoted = `public."Café"`
		f.Tables.Tables = append(f.Tables.Tables, a)
	}), want: rules.StatusWarn, contains: "app.public.Caf_"},
	{name: "merged on purpose", rule: "topic-names", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.MergedTopics = true
		a, b := healthyTable("a b"), healthyTable("a_b")
		a.Quoted = `public."a b"`
		f.Tables.Tables = append(f.Tables.Tables, a, b)
	}), want: rules.StatusWarn},
	{name: "tables unread", rule: "topic-names", mutate: debezium(failed(facts.SectionTables)), want: rules.StatusError},

	// The rules of the publication as it is defer to publication-autocreate
	// when Debezium creates or alters it at start.
	{name: "Debezium creates it", rule: "publication-exists", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "all_tables"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
	}), want: rules.StatusSkip, contains: "see publication-autocreate"},
	{name: "Debezium sets the tables", rule: "publication-coverage", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.AutocreateMode = "filtered"
		f.Tables.Tables[0].Published = false
	}), want: rules.StatusSkip},
	// A Debezium slot is created at start.
	{name: "Debezium creates it", rule: "slot-exists", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.Slots.Slots = nil
	}), want: rules.StatusPass, contains: "Debezium creates it at start"},
	{name: "Debezium looks up by plugin", rule: "slot-config", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Plugin = "decoderbufs"
	}), want: rules.StatusFail, contains: "Creation of replication slot failed"},
	// The signal table as Debezium uses it.
	{name: "Debezium's shape", rule: "signal-table", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.SignalTable.Columns[0].Type = "character varying(42)"
	}), want: rules.StatusPass, contains: "Debezium writes"},
	{name: "too narrow for Debezium's watermarks", rule: "signal-table", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.SignalTable.Columns[0].Type = "character varying(36)"
	}), want: rules.StatusFail, contains: "need 42 characters"},
	{name: "no signal collection", rule: "signal-table", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.SignalCollection = ""
	}), want: rules.StatusSkip},
	{name: "Debezium only inserts", rule: "signal-table-privileges", mutate: debezium(func(f *facts.Facts, _ *facts.Connector) {
		f.SignalTable.Select, f.SignalTable.Update = false, false
	}), want: rules.StatusPass, contains: "watermarks"},
	{name: "insert_delete needs DELETE", rule: "signal-table-privileges", mutate: debezium(func(_ *facts.Facts, c *facts.Connector) {
		c.Watermarking = "insert_delete"
	}), want: rules.StatusFail, contains: "GRANT DELETE"},
	{name: "decoderbufs reads no publication", rule: "publication-exists", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.Plugin = "decoderbufs"
		f.Publication = facts.Publication{Name: "streamkap_pub"}
	}), want: rules.StatusSkip, contains: "pgoutput's"},
	{name: "no signal table in the CREATE without a signal collection", rule: "publication-exists", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.SignalCollection = ""
		f.Publication = facts.Publication{Name: "streamkap_pub"}
		f.SignalTable.Exists = false
	}), want: rules.StatusFail, contains: "FOR TABLE public.customers, public.orders;"},
	// snapshot.mode decides which rules apply.
	{name: "initial_only never streams", rule: "wal-level", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.SnapshotMode = "initial_only"
		f.Settings.Values["wal_level"] = "replica"
	}), want: rules.StatusSkip, contains: "never streams"},
	{name: "no_data takes no snapshot", rule: "table-select", mutate: debezium(func(f *facts.Facts, c *facts.Connector) {
		c.SnapshotMode, c.SignalCollection = "no_data", ""
		f.Tables.Tables[0].Select = false
	}), want: rules.StatusWarn, contains: "takes no initial snapshot"},
}
