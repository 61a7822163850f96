package checks

import (
	"fmt"

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
	root.Kind = "p"
	leaf := healthyTable("events_2026")
	leaf.HasPrimaryKey, leaf.Captured, leaf.Published, leaf.PartitionOf = false, false, false, "public.events"
	f.Tables.Tables = append(f.Tables.Tables, root, leaf)
}

func tbGenerated(f *facts.Facts) {
	f.Tables.Tables[1].Generated = []string{"total_with_tax", "Search Vector"}
}

func tbVersion(num int) func(*facts.Facts) {
	return func(f *facts.Facts) {
		f.Server.VersionNum, f.Server.Version = num, fmt.Sprintf("%d.%d", num/10000, num%100)
	}
}

func tbNoConnect(f *facts.Facts) { f.Connect.Err = &facts.Error{Op: "connect", Message: "refused"} }

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
			v.Kind, r.Kind = "v", "f"
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
			t.IdentityCandidate = `"Order Items_sku_key"`
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
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[0].IdentityIndex = "i", false
		}},
	{name: "identity index", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[0].IdentityIndex, f.Tables.Tables[0].HasPrimaryKey = "i", true, false
		}},
	{name: "nothing", rule: "replica-identity", want: rules.StatusFail, contains: "REPLICA IDENTITY NOTHING",
		mutate: func(f *facts.Facts) { f.Tables.Tables[0].ReplicaIdentity = "n" }},
	{name: "full without key", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[0].HasPrimaryKey = "f", false
		}},
	{name: "keyless leaf of a published root", rule: "replica-identity", want: rules.StatusFail,
		objects: []string{"public.events_2026"}, contains: "Partitions need their own replica identity", mutate: tbPartitioned},
	{name: "keyless unlogged is not published", rule: "replica-identity", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			t := tbKeyless()
			t.Persistence = "u"
			tbAdd(t)(f)
		}},
	{name: "publication unreadable", rule: "replica-identity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Publication = facts.Publication{Err: readFailed} }},
	{name: "tables unreadable", rule: "replica-identity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
	{name: "no connection", rule: "replica-identity", want: rules.StatusError, mutate: tbNoConnect},

	{name: "all full", rule: "replica-identity-full", want: rules.StatusPass, contains: "all 2 captured tables are REPLICA IDENTITY FULL",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].ReplicaIdentity, f.Tables.Tables[1].ReplicaIdentity = "f", "f"
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
	{name: "unreadable", rule: "replica-identity-full", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},

	{name: "all logged", rule: "unlogged-tables", want: rules.StatusPass},
	{name: "unlogged", rule: "unlogged-tables", want: rules.StatusWarn, objects: []string{"public.orders"},
		contains: "ALTER TABLE public.orders SET LOGGED;", mutate: func(f *facts.Facts) { f.Tables.Tables[1].Persistence = "u" }},
	{name: "unlogged partition", rule: "unlogged-tables", want: rules.StatusWarn, objects: []string{"public.events_2026"},
		mutate: func(f *facts.Facts) { tbPartitioned(f); f.Tables.Tables[3].Persistence = "u" }},
	{name: "unreadable", rule: "unlogged-tables", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},

	{name: "none", rule: "generated-columns", want: rules.StatusPass, contains: "no captured table has generated columns"},
	{name: "pg 15", rule: "generated-columns", want: rules.StatusWarn, objects: []string{"public.orders"},
		contains: `PostgreSQL 15 does not replicate generated columns: change events of 1 captured table lack them: public.orders (total_with_tax, "Search Vector")`,
		mutate:   tbGenerated},
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
