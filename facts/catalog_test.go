package facts_test

import (
	"slices"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func TestTableKindAndPersistence(t *testing.T) {
	for _, tc := range []struct {
		kind, persistence                                   facts.Code
		ordinary, partitioned, table, unlogged, publishable bool
	}{
		{'r', 'p', true, false, true, false, true},
		{'p', 'p', false, true, true, false, true},
		{'r', 'u', true, false, true, true, false},
		{'r', 't', true, false, true, false, false},
		{'v', 'p', false, false, false, false, false},
		{'m', 'p', false, false, false, false, false},
		{'f', 'p', false, false, false, false, false},
		// Only a hand-written snapshot leaves them out: neither is known.
		{0, 'p', false, false, false, false, false},
		{'r', 0, true, false, true, false, false},
	} {
		tb := facts.Table{Kind: tc.kind, Persistence: tc.persistence}
		for _, got := range []struct {
			method    string
			got, want bool
		}{
			{"IsOrdinary", tb.IsOrdinary(), tc.ordinary},
			{"IsPartitioned", tb.IsPartitioned(), tc.partitioned},
			{"IsTable", tb.IsTable(), tc.table},
			{"Unlogged", tb.Unlogged(), tc.unlogged},
			{"Publishable", tb.Publishable(), tc.publishable},
		} {
			if got.got != got.want {
				t.Errorf("kind %q, persistence %q: %s = %v, want %v", tc.kind, tc.persistence, got.method, got.got, got.want)
			}
		}
	}
}

func TestSlotTypeAndPlugin(t *testing.T) {
	for _, tc := range []struct {
		typ, plugin       string
		logical, pgoutput bool
	}{
		{"logical", "pgoutput", true, true},
		{"logical", "test_decoding", true, false},
		{"logical", "wal2json", true, false},
		{"physical", "", false, false},
		{"physical", "pgoutput", false, false}, // not a combination PostgreSQL makes
	} {
		s := facts.Slot{Type: tc.typ, Plugin: tc.plugin}
		if got := s.Logical(); got != tc.logical {
			t.Errorf("%s/%s: Logical = %v, want %v", tc.typ, tc.plugin, got, tc.logical)
		}
		if got := s.Pgoutput(); got != tc.pgoutput {
			t.Errorf("%s/%s: Pgoutput = %v, want %v", tc.typ, tc.plugin, got, tc.pgoutput)
		}
	}
}

func TestSlotInvalidated(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		s    facts.Slot
		want bool
	}{
		{"PostgreSQL 10-12: no column says it", facts.Slot{}, false},
		{"wal_status reserved", facts.Slot{WalStatus: "reserved"}, false},
		{"wal_status extended", facts.Slot{WalStatus: "extended"}, false},
		// unreserved is still readable: the WAL goes at the next checkpoint.
		{"wal_status unreserved", facts.Slot{WalStatus: "unreserved"}, false},
		{"wal_status lost (13+)", facts.Slot{WalStatus: "lost"}, true},
		{"conflicting false (16+)", facts.Slot{WalStatus: "reserved", Conflicting: &no}, false},
		{"conflicting true (16+)", facts.Slot{WalStatus: "reserved", Conflicting: &yes}, true},
		{"invalidation_reason wal_removed (17+)", facts.Slot{WalStatus: "lost", InvalidationReason: "wal_removed"}, true},
		{"invalidation_reason idle_timeout (18+)", facts.Slot{WalStatus: "reserved", InvalidationReason: "idle_timeout"}, true},
		{"invalidation_reason rows_removed", facts.Slot{InvalidationReason: "rows_removed", Conflicting: &no}, true},
	} {
		if got := tc.s.Invalidated(); got != tc.want {
			t.Errorf("%s: Invalidated = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHelperTableIsTable(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want bool
	}{
		{"r", true},
		{"p", true},
		{"", true}, // not there (or not known): judged as the table it will be
		{"v", false},
		{"m", false},
		{"f", false},
	} {
		if got := (facts.HelperTable{Kind: tc.kind}).IsTable(); got != tc.want {
			t.Errorf("kind %q: IsTable = %v, want %v", tc.kind, got, tc.want)
		}
	}
}

func TestTablesLeaves(t *testing.T) {
	tables := facts.Tables{Tables: []facts.Table{
		{Quoted: "public.orders", Kind: 'r', Persistence: 'p', Captured: true, Published: true},
		{Quoted: "public.events", Kind: 'p', Persistence: 'p', Captured: true},
		facts.Table{Quoted: "public.events_2025", Kind: 'r', Persistence: 'p'}.WithRare(facts.RareFacts{PartitionOf: "public.events"}),
		facts.Table{Quoted: "public.events_2026", Kind: 'r', Persistence: 'u'}.WithRare(facts.RareFacts{PartitionOf: "public.events"}),
		{Quoted: "public.logs", Kind: 'p', Persistence: 'p', Published: true},
		facts.Table{Quoted: "public.logs_1", Kind: 'r', Persistence: 'p'}.WithRare(facts.RareFacts{PartitionOf: "public.logs"}),
		{Quoted: "public.scratch", Kind: 'r', Persistence: 'u', Captured: true},
		{Quoted: "public.cache", Kind: 'r', Persistence: 'u'}, // in the list, in no scope
		{Quoted: "public.v", Kind: 'v', Persistence: 'p', Captured: true},
	}}
	want := []struct {
		quoted                   string
		inCapture, inPublication bool
	}{
		{"public.orders", true, true},
		{"public.events_2025", true, false}, // captured through public.events
		{"public.events_2026", true, false},
		{"public.logs_1", false, true}, // published through public.logs
		{"public.scratch", true, false},
		{"public.cache", false, false},
	}
	got := tables.Leaves()
	if len(got) != len(want) {
		t.Fatalf("%d leaves, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if l := got[i]; l.Quoted != w.quoted || l.InCapture != w.inCapture || l.InPublication != w.inPublication {
			t.Errorf("leaf %d = %s (captured %v, published %v), want %s (%v, %v)",
				i, l.Quoted, l.InCapture, l.InPublication, w.quoted, w.inCapture, w.inPublication)
		}
	}
	var unlogged []string
	for _, l := range tables.UnloggedCaptured() {
		unlogged = append(unlogged, l.Quoted)
	}
	if want := []string{"public.events_2026", "public.scratch"}; !slices.Equal(unlogged, want) {
		t.Errorf("UnloggedCaptured = %q, want %q", unlogged, want)
	}
}
