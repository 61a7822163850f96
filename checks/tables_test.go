package checks

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// tbListed turns healthy()'s default scope into a capture list naming its tables.
func tbListed(f *facts.Facts) {
	f.Tables.Listed = true
	f.Options.Tables = []facts.TableRef{{Schema: "public", Table: "customers"}, {Schema: "public", Table: "orders"}}
}

// tbKeyless is a table with no primary key and the default replica identity,
// named as users do: with a space and capitals.
func tbKeyless() facts.Table {
	t := healthyTable("Order Items")
	t.Quoted, t.HasPrimaryKey = `public."Order Items"`, false
	return t
}

func tbAdd(t facts.Table) func(*facts.Facts) {
	return func(f *facts.Facts) { f.Tables.Tables = append(f.Tables.Tables, t) }
}

// tbPartitioned adds a captured partitioned table published through its root
// and one keyless leaf partition.
func tbPartitioned(f *facts.Facts) {
	root := healthyTable("events")
	root.Kind = 'p'
	leaf := healthyTable("events_2026")
	leaf.HasPrimaryKey, leaf.Captured, leaf.Published, leaf.Rare().PartitionOf = false, false, false, "public.events"
	f.Tables.Tables = append(f.Tables.Tables, root, leaf)
}

func tbGenerated(f *facts.Facts) {
	f.Tables.Tables[1].Rare().Generated = []string{"total_with_tax", "Search Vector"}
}

func tbVersion(num int) func(*facts.Facts) {
	return func(f *facts.Facts) {
		f.Server.VersionNum, f.Server.Version = num, fmt.Sprintf("%d.%d", num/10000, num%100)
	}
}

func tbNoConnect(f *facts.Facts) { f.Connect.Err = &facts.Error{Op: "connect", Message: "refused"} }

// tbKeyed gives the healthy tables the key columns gather reads.
func tbKeyed(f *facts.Facts) {
	for i := range f.Tables.Tables {
		f.Tables.Tables[i].Rare().IdentityColumns = []string{"id"}
	}
}

// tbFilter puts a row filter reading cols on public.orders in publication
// pub (which publishes updates and deletes), with its member entry when it
// is the connector's.
func tbFilter(pub string, cols ...string) func(*facts.Facts) {
	return func(f *facts.Facts) {
		tbKeyed(f)
		o := pubTable(f, "public.orders")
		o.Rare().Filters = append(o.Rare().Filters, facts.PublicationFilter{Publication: pub, Table: "public.orders", Update: true, Delete: true,
			Where: "(status <> 'void'::text)", WhereColumns: cols})
		if pub == f.Options.Publication {
			o.RowFilter = true
			tbMembers(f, facts.PublicationMember{Table: "public.orders", Where: "(status <> 'void'::text)"})
		}
	}
}

// tbColumnList puts a column list on public.orders in publication pub.
func tbColumnList(pub string, cols ...string) func(*facts.Facts) {
	return func(f *facts.Facts) {
		tbKeyed(f)
		o := pubTable(f, "public.orders")
		o.Rare().Filters = append(o.Rare().Filters, facts.PublicationFilter{Publication: pub, Table: "public.orders", Update: true, Delete: true, Columns: cols})
		if pub == f.Options.Publication {
			o.ColumnList = true
			tbMembers(f, facts.PublicationMember{Table: "public.orders", Columns: cols})
		}
	}
}

// tbMembers lists the healthy publication's members, with m in place of its table's plain entry.
func tbMembers(f *facts.Facts, m facts.PublicationMember) {
	f.Publication.Members = []facts.PublicationMember{{Table: "public.customers"}, m, {Table: "streamkap.streamkap_signal"}}
}

// tbGenerated18 is PostgreSQL 18 with public.orders REPLICA IDENTITY FULL
// and a stored generated column, not published.
func tbGenerated18(f *facts.Facts) {
	tbVersion(180004)(f)
	tbKeyed(f)
	o := pubTable(f, "public.orders")
	o.ReplicaIdentity, o.Rare().IdentityColumns, o.Rare().Generated = 'f', nil, []string{"total_with_tax"}
	o.Rare().IdentityCandidate, o.Rare().IdentityCandidateColumns = "orders_pkey", []string{"id"}
	f.Publication.GeneratedColumns = "none"
}

var tablesCases = []ruleCase{
	{name: "default scope", rule: "tables-exist", want: rules.StatusPass, contains: "default scope: 2 tables"},
	{name: "listed tables exist", rule: "tables-exist", want: rules.StatusPass, contains: "the capture list resolves to 2 tables", mutate: tbListed},
	{name: "missing table with a case variant", rule: "tables-exist", want: rules.StatusFail,
		objects: []string{"public.orderitems"}, contains: `public.orderitems does not exist; did you mean public."OrderItems"?`,
		mutate: func(f *facts.Facts) {
			tbListed(f)
			ref := facts.TableRef{Schema: "public", Table: "orderitems"}
			f.Tables.Missing = []facts.TableRef{ref}
			f.Tables.CaseVariants = []facts.CaseVariant{{Listed: ref, Found: `public."OrderItems"`}}
		}},
	{name: "hostile missing names", rule: "tables-exist", want: rules.StatusFail,
		objects: []string{`"we""ird"."; DROP TABLE x; --"`, `schema "Sales"`},
		mutate: func(f *facts.Facts) {
			tbListed(f)
			f.Tables.Missing = []facts.TableRef{{Schema: `we"ird`, Table: `; DROP TABLE x; --`}, {Schema: "Sales"}}
		}},
	{name: "view and foreign table", rule: "tables-exist", want: rules.StatusFail,
		objects: []string{"public.v_orders", "public.remote"}, contains: "public.v_orders is a view; public.remote is a foreign table",
		mutate: func(f *facts.Facts) {
			tbListed(f)
			v, r := healthyTable("v_orders"), healthyTable("remote")
			v.Kind, r.Kind = 'v', 'f'
			f.Tables.Tables = append(f.Tables.Tables, v, r)
		}},
	{name: "unreadable", rule: "tables-exist", want: rules.StatusError, contains: "permission denied",
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
	{name: "no connection", rule: "tables-exist", want: rules.StatusError, contains: "could not connect", mutate: tbNoConnect},

	{name: "primary keys", rule: "replica-identity", want: rules.StatusPass, contains: "all 2 tables"},
	{name: "keyless published", rule: "replica-identity", want: rules.StatusFail,
		objects:  []string{`public."Order Items"`},
		contains: `ALTER TABLE public."Order Items" REPLICA IDENTITY FULL;`, mutate: tbAdd(tbKeyless())},
	{name: "keyless says which statements fail", rule: "replica-identity", want: rules.StatusFail,
		contains: `UPDATE and DELETE on 1 table in publication streamkap_pub fail on the source now (SQLSTATE 55000): public."Order Items" (no primary key)`,
		mutate:   tbAdd(tbKeyless())},
	{name: "only updates published", rule: "replica-identity", want: rules.StatusFail, contains: "UPDATE on 1 table",
		mutate: func(f *facts.Facts) { tbAdd(tbKeyless())(f); f.Publication.Delete = false }},
	{name: "neither updates nor deletes published", rule: "replica-identity", want: rules.StatusPass, contains: "publishes neither",
		mutate: func(f *facts.Facts) { tbAdd(tbKeyless())(f); f.Publication.Update, f.Publication.Delete = false, false }},
	{name: "unique index candidate", rule: "replica-identity", want: rules.StatusFail,
		contains: `ALTER TABLE public."Order Items" REPLICA IDENTITY USING INDEX "Order Items_sku_key";`,
		mutate: func(f *facts.Facts) {
			t := tbKeyless()
			t.Rare().IdentityCandidate = `"Order Items_sku_key"`
			tbAdd(t)(f)
		}},
	{name: "captured not yet published", rule: "replica-identity", want: rules.StatusFail, contains: "will fail once added to the publication",
		mutate: func(f *facts.Facts) {
			t := tbKeyless()
			t.Published = false
			tbAdd(t)(f)
		}},
	{name: "published not captured", rule: "replica-identity", want: rules.StatusFail, objects: []string{"public.audit_log"},
		mutate: func(f *facts.Facts) {
			t := healthyTable("audit_log")
			t.HasPrimaryKey, t.Captured = false, false
			tbAdd(t)(f)
		}},
	{name: "identity index dropped", rule: "replica-identity", want: rules.StatusFail, contains: "index was dropped",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[0].IdentityIndex = 'i', false
		}},
	{name: "identity index", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[0].IdentityIndex, f.Tables.Tables[0].HasPrimaryKey = 'i', true, false
		}},
	{name: "nothing", rule: "replica-identity", want: rules.StatusFail, contains: "REPLICA IDENTITY NOTHING",
		mutate: func(f *facts.Facts) { f.Tables.Tables[0].ReplicaIdentity = 'n' }},
	{name: "full without key", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[0].HasPrimaryKey = 'f', false
		}},
	{name: "keyless leaf of a published root", rule: "replica-identity", want: rules.StatusFail,
		objects: []string{"public.events_2026"}, contains: "Partitions need their own replica identity", mutate: tbPartitioned},
	{name: "keyless unlogged is not published", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			t := tbKeyless()
			t.Persistence = 'u'
			tbAdd(t)(f)
		}},
	{name: "deferrable primary key", rule: "replica-identity", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: "public.orders (its primary key is DEFERRABLE, and PostgreSQL uses only an immediate index as replica identity)",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].PrimaryKeyDeferrable = true }},
	{name: "deferrable primary key, remedy", rule: "replica-identity", want: rules.StatusFail,
		contains: "re-create the key NOT DEFERRABLE",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].PrimaryKeyDeferrable = true }},
	{name: "deferrable primary key, FULL", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER TABLE public.orders REPLICA IDENTITY FULL;",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].PrimaryKeyDeferrable = true }},
	{name: "deferrable primary key, immediate unique index", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER TABLE public.orders REPLICA IDENTITY USING INDEX orders_ref_key;",
		mutate: func(f *facts.Facts) {
			o := &f.Tables.Tables[1]
			o.PrimaryKeyDeferrable, o.Rare().IdentityCandidate, o.Rare().IdentityCandidateColumns = true, "orders_ref_key", []string{"ref"}
		}},
	{name: "deferrable primary key, FULL identity", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].PrimaryKeyDeferrable, f.Tables.Tables[1].ReplicaIdentity = true, 'f'
		}},
	{name: "row filter outside the key", rule: "replica-identity", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: `UPDATE and DELETE on 1 table fail on the source now (SQLSTATE 42P10): public.orders (the row filter of publication streamkap_pub reads status, ` +
			`not in the primary key (id): "Column used in the publication WHERE expression is not part of the replica identity")`,
		mutate: tbFilter("streamkap_pub", "status")},
	{name: "row filter outside the key, re-listed", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER PUBLICATION streamkap_pub SET TABLE public.customers, public.orders, streamkap.streamkap_signal;",
		mutate:   tbFilter("streamkap_pub", "status")},
	{name: "row filter on the key", rule: "replica-identity", want: rules.StatusPass, mutate: tbFilter("streamkap_pub", "id")},
	{name: "row filter under FULL", rule: "replica-identity", want: rules.StatusPass,
		mutate: pubAll(tbFilter("streamkap_pub", "status"), func(f *facts.Facts) { pubTable(f, "public.orders").ReplicaIdentity = 'f' })},
	{name: "row filter, inserts only", rule: "replica-identity", want: rules.StatusPass,
		mutate: pubAll(tbFilter("streamkap_pub", "status"), func(f *facts.Facts) {
			f.Publication.Update, f.Publication.Delete = false, false
			o := pubTable(f, "public.orders")
			o.Rare().Filters[0].Update, o.Rare().Filters[0].Delete = false, false
		})},
	{name: "row filter of another publication", rule: "replica-identity", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: `public.orders (the row filter of publication "Analytics Pub" reads status`,
		mutate:   tbFilter("Analytics Pub", "status")},
	{name: "row filter of another publication, FULL", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER TABLE public.orders REPLICA IDENTITY FULL;", mutate: tbFilter("Analytics Pub", "status")},
	{name: "row filter of a publication publishing deletes only", rule: "replica-identity", want: rules.StatusFail,
		contains: "DELETE on 1 table fail on the source now (SQLSTATE 42P10)",
		mutate:   pubAll(tbFilter("analytics", "status"), func(f *facts.Facts) { pubTable(f, "public.orders").Rare().Filters[0].Update = false })},
	{name: "column list without the key", rule: "replica-identity", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: `the column list of publication streamkap_pub leaves out id of the primary key (id): "Column list used by the publication does not cover the replica identity"`,
		mutate:   tbColumnList("streamkap_pub", "status", "total")},
	{name: "column list without the key, re-listed", rule: "replica-identity", want: rules.StatusFail,
		contains: "SET TABLE public.customers, public.orders, streamkap.streamkap_signal;", mutate: tbColumnList("streamkap_pub", "status", "total")},
	{name: "column list with the key", rule: "replica-identity", want: rules.StatusPass, mutate: tbColumnList("streamkap_pub", "id", "total")},
	{name: "column list under FULL", rule: "replica-identity", want: rules.StatusFail,
		contains: "publication streamkap_pub has a column list, which REPLICA IDENTITY FULL does not allow",
		mutate: pubAll(tbColumnList("streamkap_pub", "id", "status", "total"), func(f *facts.Facts) {
			pubTable(f, "public.orders").ReplicaIdentity, pubTable(f, "public.orders").Rare().IdentityColumns = 'f', nil
		})},
	{name: "another publication's column list under FULL, nothing to fix it with", rule: "replica-identity", want: rules.StatusFail,
		contains: "No step fixes public.orders: publication analytics has a column list",
		mutate: pubAll(tbColumnList("analytics", "id", "status"), func(f *facts.Facts) {
			pubTable(f, "public.orders").ReplicaIdentity, pubTable(f, "public.orders").Rare().IdentityColumns = 'f', nil
		})},
	{name: "another publication's column list under FULL, the key instead", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER TABLE public.orders REPLICA IDENTITY USING INDEX orders_pkey;",
		mutate: pubAll(tbColumnList("analytics", "id", "status"), func(f *facts.Facts) {
			o := pubTable(f, "public.orders")
			o.ReplicaIdentity, o.Rare().IdentityColumns, o.Rare().IdentityCandidate, o.Rare().IdentityCandidateColumns = 'f', nil, "orders_pkey", []string{"id"}
		})},
	{name: "keyless with another publication's column list", rule: "replica-identity", want: rules.StatusFail,
		contains: "No step fixes",
		mutate: pubAll(tbColumnList("analytics", "status"), func(f *facts.Facts) {
			pubTable(f, "public.orders").HasPrimaryKey, pubTable(f, "public.orders").Rare().IdentityColumns = false, nil
		})},
	{name: "partition, the root's row filter via the root", rule: "replica-identity", want: rules.StatusFail,
		objects:  []string{"public.events_2026"},
		contains: "the row filter of publication streamkap_pub (the filter of public.events, published via the partition root) reads payload",
		mutate: func(f *facts.Facts) {
			tbPartitioned(f)
			leaf := pubTable(f, "public.events_2026")
			leaf.HasPrimaryKey, leaf.Rare().IdentityColumns = true, []string{"id", "at"}
			leaf.Rare().Filters = []facts.PublicationFilter{{Publication: "streamkap_pub", Table: "public.events", Update: true, Delete: true,
				Where: "(payload <> ''::text)", WhereColumns: []string{"payload"}}}
			f.Publication.Members = []facts.PublicationMember{{Table: "public.events", Where: "(payload <> ''::text)"}}
		}},
	{name: "PG 18 FULL with an unpublished stored generated column", rule: "replica-identity", want: rules.StatusFail,
		objects:  []string{"public.orders"},
		contains: `REPLICA IDENTITY FULL holds generated columns total_with_tax that publication streamkap_pub does not publish (publish_generated_columns = none): "Replica identity must not contain unpublished generated columns"`,
		mutate:   tbGenerated18},
	{name: "PG 18 FULL with an unpublished stored generated column, publish them", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);", mutate: tbGenerated18},
	{name: "PG 18 FULL with a published stored generated column", rule: "replica-identity", want: rules.StatusPass,
		mutate: pubAll(tbGenerated18, func(f *facts.Facts) { f.Publication.GeneratedColumns = "stored" })},
	{name: "PG 18 FULL with a virtual generated column", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER TABLE public.orders REPLICA IDENTITY USING INDEX orders_pkey;",
		mutate: pubAll(tbGenerated18, func(f *facts.Facts) {
			f.Publication.GeneratedColumns = "stored"
			pubTable(f, "public.orders").Rare().VirtualGenerated = []string{"total_with_tax"}
		})},
	{name: "PG 17 FULL with a generated column", rule: "replica-identity", want: rules.StatusPass,
		mutate: pubAll(tbGenerated18, tbVersion(170006))},
	{name: "PG 18 keyless with a generated column: FULL and publish them", rule: "replica-identity", want: rules.StatusFail,
		contains: "ALTER TABLE public.orders REPLICA IDENTITY FULL;\nALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);",
		mutate: pubAll(tbGenerated18, func(f *facts.Facts) {
			o := pubTable(f, "public.orders")
			o.ReplicaIdentity, o.HasPrimaryKey, o.Rare().IdentityCandidate, o.Rare().IdentityCandidateColumns = 'd', false, "", nil
		})},
	{name: "publication unreadable", rule: "replica-identity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Publication = facts.Publication{Err: readFailed} }},
	{name: "tables unreadable", rule: "replica-identity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
	{name: "no connection", rule: "replica-identity", want: rules.StatusError, mutate: tbNoConnect},

	{name: "all full", rule: "replica-identity-full", want: rules.StatusPass, contains: "all 2 captured tables are REPLICA IDENTITY FULL",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[1].ReplicaIdentity = 'f', 'f'
		}},
	{name: "default identity", rule: "replica-identity-full", want: rules.StatusWarn,
		objects: []string{"public.customers", "public.orders"}, contains: "ALTER TABLE public.orders REPLICA IDENTITY FULL;"},
	{name: "soft deletes", rule: "replica-identity-full", want: rules.StatusFail, contains: "soft deletes",
		mutate: func(f *facts.Facts) { f.Options.SoftDeletes = true }},
	{name: "many tables", rule: "replica-identity-full", want: rules.StatusWarn, contains: "9 of 9 captured tables are not REPLICA IDENTITY FULL",
		mutate: func(f *facts.Facts) {
			for i := range 7 {
				f.Tables.Tables = append(f.Tables.Tables, healthyTable(fmt.Sprintf("t%d", i)))
			}
		}},
	{name: "leaf of a captured root", rule: "replica-identity-full", want: rules.StatusWarn,
		objects: []string{"public.customers", "public.orders", "public.events_2026"}, mutate: tbPartitioned},
	{name: "nothing captured", rule: "replica-identity-full", want: rules.StatusPass, contains: "no captured tables",
		mutate: func(f *facts.Facts) { f.Tables.Tables = nil }},
	{name: "no FULL where a column list forbids it", rule: "replica-identity-full", want: rules.StatusWarn,
		contains: "No step sets FULL where it would make UPDATE and DELETE fail (42P10): public.orders (publication analytics has a column list",
		mutate:   tbColumnList("analytics", "id", "status")},
	{name: "no FULL step where a column list forbids it", rule: "replica-identity-full", want: rules.StatusWarn,
		contains: "ALTER TABLE public.customers REPLICA IDENTITY FULL;", mutate: tbColumnList("analytics", "id", "status")},
	{name: "unreadable", rule: "replica-identity-full", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},

	{name: "all logged", rule: "unlogged-tables", want: rules.StatusPass},
	{name: "unlogged", rule: "unlogged-tables", want: rules.StatusWarn, objects: []string{"public.orders"},
		contains: "ALTER TABLE public.orders SET LOGGED;", mutate: func(f *facts.Facts) { f.Tables.Tables[1].Persistence = 'u' }},
	{name: "unlogged in the default scope says so", rule: "unlogged-tables", want: rules.StatusWarn,
		contains: "1 captured table is UNLOGGED (unlogged tables never produce change events): public.orders (in the default all-tables scope, not listed explicitly)",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].Persistence = 'u' }},
	{name: "unlogged and listed", rule: "unlogged-tables", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: "1 captured table is UNLOGGED (unlogged tables never produce change events): public.orders\n",
		mutate:   func(f *facts.Facts) { tbListed(f); f.Tables.Tables[1].Persistence = 'u' }},
	{name: "unlogged partition", rule: "unlogged-tables", want: rules.StatusWarn, objects: []string{"public.events_2026"},
		mutate: func(f *facts.Facts) { tbPartitioned(f); f.Tables.Tables[3].Persistence = 'u' }},
	{name: "unreadable", rule: "unlogged-tables", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},

	{name: "none", rule: "generated-columns", want: rules.StatusPass, contains: "no captured table has generated columns"},
	{name: "pg 15", rule: "generated-columns", want: rules.StatusWarn, objects: []string{"public.orders"},
		contains: `PostgreSQL 15 does not replicate generated columns: change events of 1 captured table lack them: public.orders (total_with_tax, "Search Vector") ` +
			`(in the default all-tables scope, not listed explicitly)`,
		mutate: tbGenerated},
	{name: "pg 15, listed", rule: "generated-columns", want: rules.StatusFail, objects: []string{"public.orders"},
		mutate: pubAll(tbGenerated, tbListed)},
	{name: "pg 18 listed, not published", rule: "generated-columns", want: rules.StatusFail,
		contains: "ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);",
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbListed(f)
			tbVersion(180004)(f)
			f.Publication.GeneratedColumns = "none"
		}},
	{name: "pg 18 virtual, stored published", rule: "generated-columns", want: rules.StatusFail, objects: []string{"public.orders"},
		contains: `PostgreSQL 18 never publishes virtual generated columns: change events of 1 captured table lack them: public.orders ("Search Vector")`,
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbListed(f)
			tbVersion(180004)(f)
			f.Publication.GeneratedColumns = "stored"
			f.Tables.Tables[1].Rare().VirtualGenerated = []string{"Search Vector"}
		}},
	{name: "pg 18 virtual, not published", rule: "generated-columns", want: rules.StatusWarn,
		contains: "the virtual ones of public.orders are never published",
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbVersion(180004)(f)
			f.Publication.GeneratedColumns = "none"
			f.Tables.Tables[1].Rare().VirtualGenerated = []string{"Search Vector"}
		}},
	{name: "pg 18 not published", rule: "generated-columns", want: rules.StatusWarn,
		contains: "ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);",
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbVersion(180004)(f)
			f.Publication.GeneratedColumns = "none"
		}},
	{name: "pg 18 hostile publication name", rule: "generated-columns", want: rules.StatusWarn,
		contains: `ALTER PUBLICATION "my ""pub""" SET (publish_generated_columns = stored);`,
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbVersion(180004)(f)
			f.Options.Publication, f.Publication.Name, f.Publication.GeneratedColumns = `my "pub"`, `my "pub"`, "none"
		}},
	{name: "pg 18 no publication yet", rule: "generated-columns", want: rules.StatusWarn, contains: "WITH (publish_generated_columns = stored)",
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbVersion(180004)(f)
			f.Publication = facts.Publication{Name: "streamkap_pub"}
		}},
	{name: "pg 18 stored", rule: "generated-columns", want: rules.StatusPass, contains: "publishes the stored generated columns",
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbVersion(180004)(f)
			f.Publication.GeneratedColumns = "stored"
		}},
	{name: "pg 11", rule: "generated-columns", want: rules.StatusSkip, contains: "PostgreSQL 11 has no generated columns",
		mutate: tbVersion(110022)},
	{name: "pg 18 publication unreadable", rule: "generated-columns", want: rules.StatusError,
		mutate: func(f *facts.Facts) {
			tbGenerated(f)
			tbVersion(180004)(f)
			f.Publication = facts.Publication{Err: readFailed}
		}},
	{name: "unreadable", rule: "generated-columns", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
}

// TestReplicaIdentityFullStepsAroundARefusedTable: the tables before and
// after one that FULL would break get their step, that one none, in order,
// alike whether the steps are held (fix) or built as a report reads them
// (check).
func TestReplicaIdentityFullStepsAroundARefusedTable(t *testing.T) {
	f := healthy()
	tbColumnList("analytics", "id", "status")(f)
	f.Tables.Tables = append(f.Tables.Tables, healthyTable("zeta"))
	want := []string{"SET lock_timeout = '5s';", "ALTER TABLE public.customers REPLICA IDENTITY FULL;", "ALTER TABLE public.zeta REPLICA IDENTITY FULL;"}
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	held := rules.Evaluate(reg, f, nil)
	built := rules.EvaluateWith(reg, f, nil, rules.EvalOptions{SQLOnly: true})
	for i, r := range held {
		if r.Rule != "replica-identity-full" {
			continue
		}
		if got := r.FixSQL; !slices.Equal(got, want) {
			t.Errorf("held: %q, want %q", got, want)
		}
		if got := slices.Collect(built[i].FixLines()); !slices.Equal(got, want) {
			t.Errorf("built: %q, want %q", got, want)
		}
	}
}
