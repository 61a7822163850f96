package checks

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// One test per contract that plans.go lists. Each shows its contract on
// an example, and most also hold it over planSnapshots.

// planSnapshots are stepSnapshots and a grid of publication, signal and
// heartbeat table states, snapshot modes and server versions: the states
// in which rules plan around each other's steps.
func planSnapshots(t *testing.T) map[string]*facts.Facts {
	t.Helper()
	out := stepSnapshots(t)
	pubs := map[string]func(*facts.Facts){
		"listing": func(*facts.Facts) {},
		"missing": func(f *facts.Facts) {
			f.Publication = facts.Publication{Name: f.Options.Publication}
			for i := range f.Tables.Tables {
				f.Tables.Tables[i].Published = false
			}
		},
		"all tables":   func(f *facts.Facts) { f.Publication.AllTables = true },
		"their schema": func(f *facts.Facts) { f.Publication.Schemas = []string{"streamkap"} },
		"unreadable":   func(f *facts.Facts) { f.Publication = facts.Publication{Err: readFailed} },
	}
	signals := map[string]func(*facts.Facts){
		"published":   func(*facts.Facts) {},
		"unpublished": func(f *facts.Facts) { f.SignalTable.Published = false },
		"missing":     snapNoSignal,
		"unreadable":  func(f *facts.Facts) { f.SignalTable = facts.HelperTable{Err: readFailed} },
	}
	heartbeats := map[string]func(*facts.Facts){
		"none": func(*facts.Facts) {},
		"missing": func(f *facts.Facts) {
			f.Options.HeartbeatSchema = "beat"
			f.Heartbeat = facts.HelperTable{Schema: "beat", Name: facts.HeartbeatTableName, Quoted: "beat.streamkap_heartbeat"}
		},
		"unpublished": func(f *facts.Facts) { snapHeartbeat(f); f.Heartbeat.Published = false },
		"unreadable": func(f *facts.Facts) {
			f.Options.HeartbeatSchema = "beat"
			f.Heartbeat = facts.HelperTable{Err: readFailed}
		},
	}
	others := map[string]func(*facts.Facts){
		"":                           func(*facts.Facts) {},
		"table not published":        func(f *facts.Facts) { f.Tables.Tables[1].Published = false },
		"filter on a captured table": tbFilter("streamkap_pub", "status"),
		"role settings unreadable":   func(f *facts.Facts) { f.RoleSettings.Err = readFailed },
		"pg 12":                      tbVersion(120022),
		"server unreadable":          func(f *facts.Facts) { f.Server = facts.Server{Err: readFailed} },
	}
	for pn, pub := range pubs {
		for sn, signal := range signals {
			for hn, heartbeat := range heartbeats {
				for on, other := range others {
					for _, mode := range []string{"auto", "signal-table", "read-only"} {
						f := healthy()
						f.Options.SnapshotMode = mode
						// The order matters: a filter is a member of the publication.
						other(f)
						pub(f)
						signal(f)
						heartbeat(f)
						publishedAsCatalogued(f)
						out[fmt.Sprintf("grid/publication %s, signal table %s, heartbeat %s, %s, %s", pn, sn, hn, on, mode)] = f
					}
				}
			}
		}
	}
	return out
}

// publishedAsCatalogued makes Published agree with the publication, as
// pg_publication_tables does: FOR ALL TABLES and TABLES IN SCHEMA publish
// every table there.
func publishedAsCatalogued(f *facts.Facts) {
	p := f.Publication
	in := func(schema string) bool { return p.AllTables || slices.Contains(p.Schemas, sqlident.Quote(schema)) }
	for i, t := range f.Tables.Tables {
		if in(t.Schema) && t.Publishable() {
			f.Tables.Tables[i].Published = true
		}
	}
	for _, h := range []*facts.HelperTable{&f.SignalTable, &f.Heartbeat} {
		if h.Exists && in(h.Schema) {
			h.Published = true
		}
	}
}

// planOf is a snapshot judged by every rule, by rule ID.
type planOf map[string]rules.Result

func judgeAll(t *testing.T, f *facts.Facts) planOf {
	t.Helper()
	p := planOf{}
	for _, r := range evalAll(t, f) {
		p[r.Rule] = r
	}
	return p
}

// judged reports whether none of the rules ids is error.
func (p planOf) judged(ids ...string) bool {
	return !slices.ContainsFunc(ids, func(id string) bool { return p[id].Status == rules.StatusError })
}

// steps are the steps of every rule whose SQL contains substr, by rule.
func (p planOf) steps(substr string) map[string][]rules.Step {
	out := map[string][]rules.Step{}
	for id, r := range p {
		for _, s := range r.Steps {
			if strings.Contains(s.SQL, substr) {
				out[id] = append(out[id], s)
			}
		}
	}
	return out
}

// creates reports whether rule id plans, to run itself, CREATE TABLE name.
func (p planOf) creates(id, name string) bool {
	return slices.ContainsFunc(p[id].Steps, func(s rules.Step) bool {
		sql := strings.TrimPrefix(strings.TrimPrefix(s.SQL, "CREATE TABLE "), "IF NOT EXISTS ")
		return !s.Manual && sql != s.SQL && strings.HasPrefix(sql, name+" ")
	})
}

// names reports whether the statement sql names table (as a whole name).
func names(sql, table string) bool {
	return slices.ContainsFunc([]string{",", ";", " "}, func(end string) bool { return strings.Contains(sql, " "+table+end) })
}

// addedTables are the tables that the ADD TABLE statement sql names, read
// with the names a plan may add (quoted names may hold ", ").
func addedTables(sql string, names []string) (added []string, ok bool) {
	_, list, found := strings.Cut(sql, " ADD TABLE ")
	if !found {
		return nil, false
	}
	list = strings.TrimSuffix(list, ";")
	for list != "" {
		i := slices.IndexFunc(names, func(n string) bool { return list == n || strings.HasPrefix(list, n+", ") })
		if i < 0 {
			return added, false
		}
		added = append(added, names[i])
		list = strings.TrimPrefix(strings.TrimPrefix(list, names[i]), ", ")
	}
	return added, true
}

func TestPlanCreatedHelperTablesArePublished(t *testing.T) {
	for _, mode := range []string{"auto", "signal-table"} {
		t.Run(mode, func(t *testing.T) {
			f := healthy()
			f.Options.SnapshotMode = mode
			f.Publication = facts.Publication{Name: f.Options.Publication}
			for i := range f.Tables.Tables {
				f.Tables.Tables[i].Published = false
			}
			snapNoSignal(f)
			f.Options.HeartbeatSchema = "beat"
			f.Heartbeat = facts.HelperTable{Schema: "beat", Name: facts.HeartbeatTableName, Quoted: "beat.streamkap_heartbeat"}
			results := evalAll(t, f)

			create := stepsOf(t, results, "publication-exists")
			want := "CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, streamkap.streamkap_signal, beat.streamkap_heartbeat;"
			if got := stepSQL(create); !slices.Equal(got, []string{want}) {
				t.Errorf("publication-exists steps = %q, want %q", got, want)
			}
			if create[0].Phase != rules.PhasePublication || create[0].Locks == "" {
				t.Errorf("CREATE PUBLICATION: phase %s, locks %q", create[0].Phase, create[0].Locks)
			}
			for _, id := range []string{"signal-table", "heartbeat-table"} {
				if got := stepsOf(t, results, id); len(sqlWith(got, "CREATE TABLE")) != 1 || got[0].Phase != rules.PhaseHelpers {
					t.Errorf("%s does not create its table in the helpers phase: %q", id, stepSQL(got))
				}
			}
		})
	}

	for name, f := range planSnapshots(t) {
		p := judgeAll(t, f)
		signal := signalName(f)
		heartbeat := helperName(f.Heartbeat, f.Options.HeartbeatSchema, facts.HeartbeatTableName)
		if got := p.creates("signal-table", signal); got != signalTableCreated(f) {
			t.Errorf("%s: signal-table creates the signal table: %v, signalTableCreated: %v", name, got, signalTableCreated(f))
		}
		// heartbeat-table is error without the role settings; fix applies
		// no plan while a rule is error.
		if p.judged("heartbeat-table") && p.creates("heartbeat-table", heartbeat) != heartbeatTableCreated(f) {
			t.Errorf("%s: heartbeat-table creates the heartbeat table: %v, heartbeatTableCreated: %v",
				name, p.creates("heartbeat-table", heartbeat), heartbeatTableCreated(f))
		}
		for _, s := range p.steps("CREATE PUBLICATION")["publication-exists"] {
			if !p.judged("signal-table", "heartbeat-table") {
				continue
			}
			for _, h := range []struct {
				name            string
				exists, created bool
			}{
				{signal, f.SignalTable.Exists, signalTableCreated(f)},
				{heartbeat, f.Heartbeat.Exists, heartbeatTableCreated(f)},
			} {
				listed := names(s.SQL, h.name)
				if h.created && !listed || listed && !h.exists && !h.created {
					t.Errorf("%s: CREATE PUBLICATION lists %s: %v; it exists: %v, is created first: %v: %s",
						name, h.name, listed, h.exists, h.created, s.SQL)
				}
			}
		}
		for _, s := range p.steps("ADD TABLE " + signal)["publication-signal-table"] {
			if waits := !f.SignalTable.Exists && !signalTableCreated(f); s.Manual != waits {
				t.Errorf("%s: publication-signal-table's ADD TABLE is manual: %v, want %v", name, s.Manual, waits)
			}
		}
	}
}

// TestPlanHelperTablesAddedOnlyWhereListed: no rule alters a publication
// that does not exist; a helper table is added by name exactly when the
// publication lists its tables and the table is created or not yet
// published.
func TestPlanHelperTablesAddedOnlyWhereListed(t *testing.T) {
	for name, f := range planSnapshots(t) {
		p := judgeAll(t, f)
		if !f.Publication.Exists || f.Publication.Err != nil {
			for id, alter := range p.steps("ALTER PUBLICATION") {
				t.Errorf("%s: %s alters a publication that does not exist: %q", name, id, stepSQL(alter))
			}
		}
		if !p.judged("signal-table", "publication-signal-table", "heartbeat-table") {
			continue
		}
		s, h := f.SignalTable, f.Heartbeat
		for _, helper := range []struct {
			name, schema string
			used, wanted bool
		}{
			{signalName(f), f.Options.SignalSchema, f.Options.SnapshotModeInForce() != facts.SnapshotReadOnly && s.Err == nil,
				signalTableCreated(f) || s.Exists && !s.Published && s.IsTable()},
			{helperName(h, f.Options.HeartbeatSchema, facts.HeartbeatTableName), f.Options.HeartbeatSchema, f.Options.HeartbeatSchema != "" && h.Err == nil,
				heartbeatTableCreated(f) || h.Exists && !h.Published},
		} {
			added := false
			for _, steps := range p.steps("ADD TABLE " + helper.name) {
				added = added || slices.ContainsFunc(steps, func(s rules.Step) bool { return !s.Manual })
			}
			if want := helper.used && helper.wanted && publicationListsTables(f, helper.schema); added != want {
				t.Errorf("%s: %s is added to the publication: %v, want %v", name, helper.name, added, want)
			}
		}
	}
}

// composedWithPublication: a publication that lists its tables, one of
// them filtered and one captured table missing, and a signal table that
// signal-table creates.
func composedWithPublication() *facts.Facts {
	f := healthy()
	f.Options.SnapshotMode = "signal-table"
	f.Server.VersionNum, f.Server.Version = 160004, "16.4"
	snapNoSignal(f)
	f.Tables.Tables[1].Published, f.Tables.Tables[1].RowFilter = true, true
	f.Tables.Tables = append(f.Tables.Tables, healthyTable("invoices"))
	f.Tables.Tables[2].Published = false
	f.Publication.Members = []facts.PublicationMember{{Table: "public.customers"}, {Table: "public.orders", Where: "(total > 0)"}}
	return f
}

// TestPlanSignalTableAddedOnce: signal-table and publication-signal-table
// add the signal table with the same step, so the plan runs it once.
func TestPlanSignalTableAddedOnce(t *testing.T) {
	results := evalAll(t, composedWithPublication())
	add := "ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_signal;"
	for _, id := range []string{"signal-table", "publication-signal-table"} {
		if got := sqlWith(stepsOf(t, results, id), "ALTER PUBLICATION"); !slices.Equal(got, []string{add}) {
			t.Errorf("%s: %q, want %q", id, got, add)
		}
	}

	for name, f := range planSnapshots(t) {
		adds := judgeAll(t, f).steps("ADD TABLE " + signalName(f))
		a, b := adds["signal-table"], adds["publication-signal-table"]
		if len(a) > 0 && len(b) > 0 && !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the signal table is added by two different steps:\n%+v\n%+v", name, a, b)
		}
	}
}

// TestPlanOneSetTable: publication-filters, replica-identity and
// publication-operations plan the same SET TABLE, so a plan runs it once
// and none puts back a filter another took out. It drops the filters of the
// captured tables and the one that breaks UPDATE on a table not captured,
// and keeps the harmless one of a table not captured.
func TestPlanOneSetTable(t *testing.T) {
	f := healthy()
	tbListed(f)
	tbFilter("streamkap_pub", "status")(f)
	for _, name := range []string{"audit", "archive"} {
		a := healthyTable(name)
		a.Captured, a.RowFilter, a.Rare().IdentityColumns = false, true, []string{"id"}
		col := "kind"
		if name == "archive" {
			col = "id"
		}
		a.Rare().Filters = []facts.PublicationFilter{{Publication: "streamkap_pub", Table: "public." + name, Update: true, Delete: true,
			Where: "(" + col + " <> 'x'::text)", WhereColumns: []string{col}}}
		f.Tables.Tables = append(f.Tables.Tables, a)
		f.Publication.Members = append(f.Publication.Members, facts.PublicationMember{Table: "public." + name, Where: "(" + col + " <> 'x'::text)"})
	}
	want := []string{"ALTER PUBLICATION streamkap_pub SET TABLE public.customers, public.orders, streamkap.streamkap_signal, " +
		"public.audit, public.archive WHERE ((id <> 'x'::text));"}
	results := evalAll(t, f)
	for _, id := range []string{"publication-filters", "replica-identity"} {
		if got := sqlWith(stepsOf(t, results, id), "SET TABLE"); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	f.Publication.Update, f.Publication.Delete = false, false
	for i := range f.Tables.Tables {
		for j := range f.Tables.Tables[i].Filters() {
			f.Tables.Tables[i].Rare().Filters[j].Update, f.Tables.Tables[i].Rare().Filters[j].Delete = false, false
		}
	}
	results = evalAll(t, f)
	if got := sqlWith(stepsOf(t, results, "publication-operations"), "SET TABLE"); !slices.Equal(got, want) {
		t.Errorf("publication-operations: %q, want %q", got, want)
	}
	if got := sqlWith(stepsOf(t, results, "publication-filters"), "SET TABLE"); !slices.Equal(got, want) {
		t.Errorf("publication-filters with inserts only: %q, want %q", got, want)
	}

	for name, f := range planSnapshots(t) {
		var first *rules.Step
		for id, steps := range judgeAll(t, f).steps(" SET TABLE ") {
			for _, s := range steps {
				if first == nil {
					first = &s
				}
				if !reflect.DeepEqual(s, *first) {
					t.Errorf("%s: %s plans another SET TABLE:\n%+v\n%+v", name, id, s, *first)
				}
			}
		}
	}
}

// TestPlanSetTableKeepsPlannedAdds: plannedAdds are exactly the tables the
// plan's ADD TABLE steps add, and the SET TABLE that runs after them
// re-lists every one.
func TestPlanSetTableKeepsPlannedAdds(t *testing.T) {
	set := sqlWith(stepsOf(t, evalAll(t, composedWithPublication()), "publication-filters"), "SET TABLE")
	want := "ALTER PUBLICATION streamkap_pub SET TABLE public.customers, public.orders, public.invoices, streamkap.streamkap_signal;"
	if !slices.Equal(set, []string{want}) {
		t.Errorf("publication-filters: %q, want %q", set, want)
	}

	adders := []string{"publication-coverage", "publication-partitions", "publication-signal-table", "signal-table", "heartbeat-table"}
	for name, f := range planSnapshots(t) {
		p := judgeAll(t, f)
		if !p.judged(adders...) {
			continue
		}
		planned := plannedAdds(f)
		var added []string
		for id, steps := range p.steps(" ADD TABLE ") {
			for _, s := range steps {
				names, ok := addedTables(s.SQL, planned)
				if !ok {
					t.Errorf("%s: %s adds a table plannedAdds %q does not name: %s", name, id, planned, s.SQL)
				}
				added = append(added, names...)
			}
		}
		for _, n := range planned {
			if !slices.Contains(added, n) {
				t.Errorf("%s: plannedAdds names %s, which no step adds", name, n)
			}
		}
		for id, steps := range p.steps(" SET TABLE ") {
			for _, s := range steps {
				for _, n := range planned {
					if !names(s.SQL, n) {
						t.Errorf("%s: %s's SET TABLE leaves out %s, which an earlier step adds: %s", name, id, n, s.SQL)
					}
				}
			}
		}
	}
}

// TestPlanIdentityBeforePublishingUpdates: turning on updates and
// deletes would make the keyless table refuse them; the same step that
// replica-identity would propose comes with it, first.
func TestPlanIdentityBeforePublishingUpdates(t *testing.T) {
	f := healthy()
	f.Publication.Update, f.Publication.Delete = false, false
	f.Tables.Tables = append(f.Tables.Tables, tbKeyless())
	results := evalAll(t, f)
	if got := stepsOf(t, results, "replica-identity"); len(got) != 0 {
		t.Fatalf("replica-identity has steps while nothing is published for updates: %q", stepSQL(got))
	}
	got := stepSQL(stepsOf(t, results, "publication-operations"))
	want := []string{`ALTER TABLE public."Order Items" REPLICA IDENTITY FULL;`,
		"ALTER PUBLICATION streamkap_pub SET (publish = 'insert, update, delete, truncate');"}
	if !slices.Equal(got, want) {
		t.Errorf("publication-operations steps = %q, want %q", got, want)
	}
	f.Publication.Update, f.Publication.Delete = true, true
	if after := stepSQL(stepsOf(t, evalAll(t, f), "replica-identity")); !slices.Equal(after, want[:1]) {
		t.Errorf("replica-identity once updates are published: %q, want %q", after, want[:1])
	}
}

// TestPlanCreatedPublicationPublishesGeneratedColumns: on 18 the CREATE
// PUBLICATION publishes the captured tables' stored generated columns, so
// generated-columns finds nothing once it has run.
func TestPlanCreatedPublicationPublishesGeneratedColumns(t *testing.T) {
	f := healthy()
	tbGenerated(f)
	tbVersion(180004)(f)
	f.Publication = facts.Publication{Name: f.Options.Publication}
	create := sqlWith(stepsOf(t, evalAll(t, f), "publication-exists"), "CREATE PUBLICATION")
	if len(create) != 1 || !strings.HasSuffix(create[0], " WITH (publish_generated_columns = stored);") {
		t.Fatalf("CREATE PUBLICATION on 18 with generated columns: %q", create)
	}
	f.Publication = healthy().Publication
	f.Publication.GeneratedColumns = "stored"
	if r := evalRule(t, "generated-columns", f); r.Status != rules.StatusPass || len(r.Steps) > 0 {
		t.Errorf("generated-columns after the CREATE: %s %q", r.Status, stepSQL(r.Steps))
	}
}

// TestPlanOneWALSenderLimit: replication-capacity and
// replication-connection propose the same max_wal_senders, so the plan
// raises it once.
func TestPlanOneWALSenderLimit(t *testing.T) {
	f := healthy()
	f.Replication.WalSendersUsed = f.Replication.MaxWalSenders
	f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", SQLState: "53300",
		Message: "number of requested standby connections exceeds max_wal_senders (currently 10)"}
	results := evalAll(t, f)
	capacity := sqlWith(stepsOf(t, results, "replication-capacity"), "max_wal_senders")
	connection := sqlWith(stepsOf(t, results, "replication-connection"), "max_wal_senders")
	if want := []string{"ALTER SYSTEM SET max_wal_senders = 11;"}; !slices.Equal(capacity, want) || !slices.Equal(connection, want) {
		t.Errorf("replication-capacity %q, replication-connection %q, want both %q", capacity, connection, want)
	}
}

// TestPlanSlotWaitsForWalLevel: creating the slot fails until wal_level is
// logical after a restart, which fix never does: a person runs it then.
func TestPlanSlotWaitsForWalLevel(t *testing.T) {
	f := healthy()
	f.Slots.Slots = nil
	f.Settings.Values["wal_level"] = "replica"
	slot := stepsOf(t, evalAll(t, f), "slot-exists")
	if len(slot) != 1 || !slot[0].Manual || !strings.Contains(slot[0].Note, "wal_level is logical") {
		t.Fatalf("slot step with wal_level replica: %+v", slot)
	}
	f.Settings.Values["wal_level"] = "logical"
	slot = stepsOf(t, evalAll(t, f), "slot-exists")
	if len(slot) != 1 || slot[0].Manual || slot[0].Phase != rules.PhaseSlot || !strings.Contains(slot[0].Note, "start the connector soon") {
		t.Fatalf("slot step with wal_level logical: %+v", slot)
	}
}

// TestPlanSlotWaitsForAFreeSlot: creating the slot fails while every slot
// max_replication_slots allows is taken, and on a server that allows none
// ("replication slots can only be used if max_replication_slots > 0"):
// a person runs it once replication-capacity passes.
func TestPlanSlotWaitsForAFreeSlot(t *testing.T) {
	for name, tc := range map[string]struct{ max, used int }{
		"every slot taken": {max: 2, used: 2},
		"none allowed":     {max: 0, used: 0},
	} {
		f := healthy()
		f.Slots.Slots = nil
		f.Replication.SlotExists = false
		f.Replication.MaxReplicationSlots, f.Replication.SlotsUsed = tc.max, tc.used
		results := evalAll(t, f)
		slot := stepsOf(t, results, "slot-exists")
		if len(slot) != 1 || !slot[0].Manual || !strings.Contains(slot[0].Note, "see replication-capacity") {
			t.Errorf("%s: slot step %+v, want it left to a person", name, slot)
		}
		if capacity := evalRule(t, "replication-capacity", f); capacity.Status != rules.StatusFail {
			t.Errorf("%s: replication-capacity %s, want fail", name, capacity.Status)
		}
	}
}
