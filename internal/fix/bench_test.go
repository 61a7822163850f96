package fix

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
)

// BenchmarkPlan20kTables plans the demo database grown to 20,000 captured
// tables that are keyless, unreadable and unpublished: the worst case for
// plan size (a replica-identity step per table). It measures judging the
// facts, building the plan and writing the script.
func BenchmarkPlan20kTables(b *testing.B) {
	data, err := os.ReadFile("../../testdata/facts/demo-pg15.json")
	if err != nil {
		b.Fatal(err)
	}
	var f facts.Facts
	if err := json.Unmarshal(data, &f); err != nil {
		b.Fatal(err)
	}
	for i := range 20000 {
		name := fmt.Sprintf("t%05d", i)
		f.Tables.Tables = append(f.Tables.Tables, facts.Table{Schema: "public", Name: name, Quoted: "public." + name,
			Kind: 'r', Persistence: 'p', ReplicaIdentity: 'd', Owner: "postgres", Captured: true, SchemaUsage: true})
	}
	reg, err := checks.Registry()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	steps := 0
	for b.Loop() {
		p := Build(Evaluate(reg, &f, nil, Options{}), &f, Options{}, "")
		if err := WriteScript(io.Discard, p, Header{LockTimeout: 5 * time.Second, StmtTimeout: time.Minute}); err != nil {
			b.Fatal(err)
		}
		steps = len(p.Steps)
	}
	b.ReportMetric(float64(steps), "steps")
}
