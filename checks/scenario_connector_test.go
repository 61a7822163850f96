package checks_test

import (
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Connector scenarios: a source set up completely (connector-ready.sql,
// the publication, the slot) with one twist each, the way people set them
// up. Each states what the check must say; the differential test (build
// tag differential) plays each with a real pgoutput client and holds the
// exit code against what the client meets. The twists are the setups a
// real client showed to break while the check passed.

type connectorCase struct {
	name     string
	minMajor int    // the twist needs this major; older ones skip, saying why
	twist    string // SQL after connector-ready.sql, before the publication
	// publication is the CREATE PUBLICATION; "" lists the captured tables
	// and the signal table.
	publication string
	after       string // SQL after the slot exists
	slotPlugin  string // "": pgoutput
	slotFirst   bool   // the slot is created before the publication
	tables      []facts.TableRef
	want        map[string]rules.Status
	exit        int // the exit code the check must give
}

var (
	customers = facts.TableRef{Schema: "public", Table: "customers"}
	orders    = facts.TableRef{Schema: "public", Table: "orders"}
)

const measurements = `CREATE TABLE public."Measurements" (id int NOT NULL, at date NOT NULL, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE public."Measurements_2025" PARTITION OF public."Measurements" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO public."Measurements" VALUES (1, '2025-03-01', 7);`

var connectorCases = []connectorCase{
	{
		name: "ready", tables: []facts.TableRef{customers, orders},
		want: map[string]rules.Status{"replica-identity": rules.StatusPass, "publication-coverage": rules.StatusPass,
			"signal-table-privileges": rules.StatusPass, "slot-peek": rules.StatusPass},
	},
	{
		// PostgreSQL uses no deferrable index as replica identity: UPDATE
		// and DELETE fail with 55000 as on a keyless table.
		name:   "deferrable-primary-key",
		twist:  `CREATE TABLE public.ledger (id int PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, amount int NOT NULL); INSERT INTO public.ledger VALUES (1, 5);`,
		tables: []facts.TableRef{customers, orders, {Schema: "public", Table: "ledger"}},
		want:   map[string]rules.Status{"replica-identity": rules.StatusFail},
		exit:   1,
	},
	{
		// UPDATE fails with 42P10: the filter's column is not in the identity.
		name: "row-filter-outside-identity", minMajor: 15,
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders WHERE (total_cents > 0), streamkap.streamkap_signal;`,
		tables:      []facts.TableRef{customers, orders},
		want:        map[string]rules.Status{"replica-identity": rules.StatusFail},
		exit:        1,
	},
	{
		// UPDATE fails with 42P10: the column list leaves out the key.
		name: "column-list-without-identity", minMajor: 15,
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers (email), public.orders, streamkap.streamkap_signal;`,
		tables:      []facts.TableRef{customers, orders},
		want:        map[string]rules.Status{"replica-identity": rules.StatusFail, "publication-filters": rules.StatusFail},
		exit:        1,
	},
	{
		// "Read-only CDC user": the signal and watermark inserts fail with 25006.
		name: "read-only-role", after: `ALTER ROLE {user} SET default_transaction_read_only = on;`,
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"signal-table-privileges": rules.StatusFail},
		exit:   1,
	},
	{
		name:        "no-deletes-published",
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, streamkap.streamkap_signal WITH (publish = 'insert, update');`,
		tables:      []facts.TableRef{customers, orders},
		want:        map[string]rules.Status{"publication-operations": rules.StatusFail},
		exit:        1,
	},
	{
		name: "unlogged-captured",
		// An unlogged table cannot be added to a publication.
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, streamkap.streamkap_signal;`,
		twist:       `CREATE UNLOGGED TABLE public.sessions (id int PRIMARY KEY, token text); INSERT INTO public.sessions VALUES (1, 'x');`,
		tables:      []facts.TableRef{customers, orders, {Schema: "public", Table: "sessions"}},
		want:        map[string]rules.Status{"unlogged-tables": rules.StatusFail},
		exit:        1,
	},
	{
		// Merely in the default scope, the unlogged table warns, saying so.
		name:        "unlogged-default-scope",
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, streamkap.streamkap_signal;`,
		twist:       `CREATE UNLOGGED TABLE public.sessions (id int PRIMARY KEY, token text); INSERT INTO public.sessions VALUES (1, 'x');`,
		want:        map[string]rules.Status{"unlogged-tables": rules.StatusWarn},
	},
	{
		// Changes arrive under "Measurements_2025", which the list does not name.
		name: "partitioned-leaf-names", minMajor: 13, twist: measurements,
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, public."Measurements", streamkap.streamkap_signal;`,
		tables:      []facts.TableRef{customers, orders, {Schema: "public", Table: "Measurements"}},
		want:        map[string]rules.Status{"publication-partitions": rules.StatusFail},
		exit:        1,
	},
	{
		// No include list: the connector captures the partition itself.
		name: "partitioned-default-scope", minMajor: 13, twist: measurements,
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, public."Measurements", streamkap.streamkap_signal;`,
		want:        map[string]rules.Status{"publication-partitions": rules.StatusWarn, "publication-coverage": rules.StatusPass},
	},
	{
		// The partition's changes are published, under the root's name.
		name: "partition-captured-via-root", minMajor: 13, twist: measurements,
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, public."Measurements", streamkap.streamkap_signal
	WITH (publish_via_partition_root = true);`,
		tables: []facts.TableRef{customers, orders, {Schema: "public", Table: "Measurements_2025"}},
		want:   map[string]rules.Status{"publication-coverage": rules.StatusFail},
		exit:   1,
	},
	{
		// The filter keeps the identity valid but drops every change of orders.
		name: "row-filter-drops-changes", minMajor: 15,
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders WHERE (id > 100), streamkap.streamkap_signal;`,
		tables:      []facts.TableRef{customers, orders},
		want:        map[string]rules.Status{"publication-filters": rules.StatusFail, "replica-identity": rules.StatusPass},
		exit:        1,
	},
	{
		// Supabase's stock policy hides nothing.
		name: "rls-readable-by-everyone",
		twist: `ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Enable read access for all users" ON public.customers FOR SELECT USING (true);`,
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"row-level-security": rules.StatusPass},
	},
	{
		name:   "rls-hides-rows",
		twist:  `ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY; CREATE POLICY mine ON public.customers FOR SELECT USING (email = current_user);`,
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"row-level-security": rules.StatusFail},
		exit:   1,
	},
	{
		// FOR ALL TABLES takes in a keyless table nobody captures: the
		// application's UPDATE on it fails.
		name:        "all-tables-keyless-bystander",
		twist:       `CREATE TABLE public.audit (at timestamptz NOT NULL DEFAULT now(), what text); INSERT INTO public.audit (what) VALUES ('x');`,
		publication: `CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`,
		tables:      []facts.TableRef{customers, orders},
		want:        map[string]rules.Status{"replica-identity": rules.StatusFail, "publication-coverage": rules.StatusPass},
		exit:        1,
	},
	{
		name:        "signal-table-unpublished",
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders;`,
		tables:      []facts.TableRef{customers, orders},
		want:        map[string]rules.Status{"publication-signal-table": rules.StatusFail},
		exit:        1,
	},
	{
		name: "table-not-granted", twist: `REVOKE SELECT ON public.orders FROM {user};`,
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"table-select": rules.StatusFail},
		exit:   1,
	},
	{
		name: "replication-attribute-missing", after: `ALTER ROLE {user} NOREPLICATION;`,
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"replication-privilege": rules.StatusFail, "replication-connection": rules.StatusFail},
		exit:   1,
	},
	{
		name: "slot-wrong-plugin", slotPlugin: "test_decoding",
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"slot-config": rules.StatusFail},
		exit:   1,
	},
	{
		// The slot must decode a change made before the publication existed.
		name: "slot-before-publication", slotFirst: true,
		tables: []facts.TableRef{customers, orders},
		want:   map[string]rules.Status{"slot-peek": rules.StatusFail},
		exit:   1,
	},
	{
		name:        "capture-list-typo",
		publication: `CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, streamkap.streamkap_signal;`,
		tables:      []facts.TableRef{customers, orders, {Schema: "public", Table: "Orders"}},
		want:        map[string]rules.Status{"tables-exist": rules.StatusFail},
		exit:        1,
	},
	{
		// Change events lack the generated column the snapshot has.
		name: "generated-column", minMajor: 12,
		twist:  `CREATE TABLE public.invoices (id int PRIMARY KEY, net int NOT NULL, gross int GENERATED ALWAYS AS (net * 2) STORED); INSERT INTO public.invoices (id, net) VALUES (1, 10);`,
		tables: []facts.TableRef{customers, orders, {Schema: "public", Table: "invoices"}},
		want:   map[string]rules.Status{"generated-columns": rules.StatusFail},
		exit:   1,
	},
}

func TestScenarioConnector(t *testing.T) {
	for _, tc := range connectorCases {
		t.Run(tc.name, func(t *testing.T) {
			c := pgtest.Cluster(t)
			if c.VersionNum/10000 < tc.minMajor {
				t.Skipf("PostgreSQL %d: the twist needs %d or later", c.VersionNum/10000, tc.minMajor)
			}
			db := pgtest.NewDatabase(t, c)
			user := replicationUser(t, c, db)
			fill := map[string]string{"user": sqlident.Quote(user)}
			pgtest.Exec(t, c, db, fixture(t, "connector-ready.sql", fill))
			if tc.twist != "" {
				pgtest.Exec(t, c, db, strings.ReplaceAll(tc.twist, "{user}", sqlident.Quote(user)))
			}
			pub := tc.publication
			if pub == "" {
				var names []string
				for _, r := range tc.tables {
					names = append(names, sqlident.Qualified(r.Schema, r.Table))
				}
				if len(names) == 0 {
					names = []string{"public.customers", "public.orders"}
				}
				pub = "CREATE PUBLICATION streamkap_pub FOR TABLE " + strings.Join(names, ", ") + ", streamkap.streamkap_signal;"
			}
			slot, plugin := pgtest.UniqueName(t, "slot"), "pgoutput"
			if tc.slotPlugin != "" {
				plugin = tc.slotPlugin
			}
			createSlot := "SELECT pg_create_logical_replication_slot(" + sqlident.Literal(slot) + ", " + sqlident.Literal(plugin) + ")"
			if tc.slotFirst {
				pgtest.Exec(t, c, db, createSlot)
				// A change the slot must decode before the publication exists.
				// The test clusters commit asynchronously: the commit must be
				// flushed before the peek, which decodes only flushed WAL.
				pgtest.Exec(t, c, db, "SET synchronous_commit = on; UPDATE public.orders SET total_cents = total_cents WHERE id = 1")
			}
			pgtest.Exec(t, c, db, pub)
			if !tc.slotFirst {
				pgtest.Exec(t, c, db, createSlot)
			}
			if tc.after != "" {
				pgtest.Exec(t, c, db, strings.ReplaceAll(tc.after, "{user}", sqlident.Quote(user)))
			}
			got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{
				Slot: slot, Tables: tc.tables,
			}, allSupported)
			expectStatus(t, got, tc.want)
			results := make([]rules.Result, 0, len(got))
			for _, r := range got {
				results = append(results, r)
			}
			if exit := rules.ExitCode(results, rules.Error); exit != tc.exit {
				for _, r := range results {
					if r.Status == rules.StatusFail || r.Status == rules.StatusError {
						t.Logf("%s = %s: %s", r.Rule, r.Status, r.Message)
					}
				}
				t.Errorf("exit code %d, want %d", exit, tc.exit)
			}
		})
	}
}
