package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// shardDocs are the JSON documents of a fleet of names split into n
// shards, each target with one result of the given status.
func shardDocs(t *testing.T, names []string, n int, status rules.Status) []namedDoc {
	t.Helper()
	var docs []namedDoc
	for k := 1; k <= n; k++ {
		f := report.Fleet{Tool: report.Tool{Name: "cdcpreflight", Version: Version}, FailOn: rules.Error, Names: names, Shard: &report.Shard{Index: k, Count: n}}
		for _, name := range names {
			if shardOf(name, n) != k {
				continue
			}
			f.Targets = append(f.Targets, report.Run{Target: report.Target{Name: name, Host: "db", Port: 5432, Database: name},
				Results: []rules.Result{{Rule: "wal-level", Category: "server", Severity: rules.Error, Status: status, Message: "m"}}})
		}
		f.Planned = len(f.Targets)
		var b bytes.Buffer
		if err := report.FleetJSON(&b, f); err != nil {
			t.Fatal(err)
		}
		doc, err := report.DecodeFleetJSON(&b)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, namedDoc{fmt.Sprintf("shard-%d.json", k), doc})
	}
	return docs
}

func TestMergeRefusesWhatIsNotOneFleet(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	good := shardDocs(t, names, 3, rules.StatusPass)
	merged, err := mergeFleet(good)
	if err != nil || len(merged.Targets) != len(names) || merged.Shard != nil || merged.ExitCode() != 0 {
		t.Fatalf("merge: %v, %d targets", err, len(merged.Targets))
	}
	for i, run := range merged.Targets {
		if run.Target.Name != names[i] {
			t.Errorf("target %d is %s, want the fleet's order", i, run.Target.Name)
		}
	}
	edit := func(i int, f func(*report.JSONFleet)) []namedDoc {
		docs := shardDocs(t, names, 3, rules.StatusPass)
		f(&docs[i].doc)
		return docs
	}
	for name, tc := range map[string]struct {
		docs []namedDoc
		want string
	}{
		"interrupted":    {edit(1, func(d *report.JSONFleet) { d.Interrupted = true }), "shard-2.json was interrupted"},
		"other fleet":    {edit(2, func(d *report.JSONFleet) { d.Names = append(d.Names, "h") }), "are of different fleets"},
		"other fail-on":  {edit(1, func(d *report.JSONFleet) { d.FailOn = rules.Warning }), "shard-2.json with warning"},
		"other version":  {edit(1, func(d *report.JSONFleet) { d.Tool.Version = "0.0.1" }), "run every shard with one version"},
		"other count":    {edit(1, func(d *report.JSONFleet) { d.Shard = &report.Shard{Index: 2, Count: 4} }), "run every shard with one N"},
		"a target lost":  {edit(0, func(d *report.JSONFleet) { d.Targets = d.Targets[1:] }), "it is incomplete"},
		"foreign target": {edit(0, func(d *report.JSONFleet) { d.Targets[0].Target.Name = "zz" }), "which its fleet does not list"},
		"wrong shard": {edit(0, func(d *report.JSONFleet) {
			d.Targets[0].Target.Name = good[1].doc.Targets[0].Target.Name
		}), "which belongs to shard 2/3"},
	} {
		if _, err := mergeFleet(tc.docs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// The exit code is the worst over every shard's targets.
	failing := shardDocs(t, names, 3, rules.StatusFail)
	mixed := []namedDoc{good[0], failing[1], good[2]}
	if merged, err := mergeFleet(mixed); err != nil || merged.ExitCode() != exitFindings {
		t.Errorf("one failing shard: %v, exit %d", err, merged.ExitCode())
	}
	if merged, err := mergeFleet([]namedDoc{good[0], good[1], shardDocs(t, names, 3, rules.StatusError)[2]}); err != nil || merged.ExitCode() != exitError {
		t.Errorf("one incomplete shard: %v, exit %d", err, merged.ExitCode())
	}
}
