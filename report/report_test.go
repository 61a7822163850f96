package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	// tablewriter measures ambiguous-width runes (é, box drawing) from the
	// locale; pin it so goldens do not depend on the developer's LANG.
	twwidth.SetEastAsian(false)
	os.Exit(m.Run())
}

// fixture is the on-disk form of the shared input: Run has no JSON tags for
// its own fields and Result does not marshal its duration.
type fixture struct {
	Tool       Tool                  `json:"tool"`
	Target     Target                `json:"target"`
	Started    time.Time             `json:"started"`
	DurationMS float64               `json:"duration_ms"`
	FailOn     rules.Severity        `json:"fail_on"`
	Config     *ConfigFile           `json:"config"`
	Warnings   []rules.ConfigWarning `json:"warnings"`
	Results    []struct {
		rules.Result
		DurationMS float64 `json:"duration_ms"`
	} `json:"results"`
}

func loadRun(t *testing.T) Run {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode testdata/run.json: %v", err)
	}
	run := Run{
		Tool:     f.Tool,
		Target:   f.Target,
		Started:  f.Started,
		Duration: ms(f.DurationMS),
		FailOn:   f.FailOn,
		Config:   f.Config,
		Warnings: f.Warnings,
	}
	for _, r := range f.Results {
		res := r.Result
		res.Duration = ms(r.DurationMS)
		run.Results = append(run.Results, res)
	}
	return run
}

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from output (run go test -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func render(t *testing.T, format Format, run Run, opt TableOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, run, opt); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "JSON", " junit "} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	_, err := ParseFormat("xml")
	if err == nil || !strings.Contains(err.Error(), "table, json, junit") {
		t.Errorf("ParseFormat(xml) error = %v, want one listing the valid formats", err)
	}
	if err := Write(&bytes.Buffer{}, Format("sarif"), Run{}, TableOptions{}); err == nil {
		t.Error("Write with an unknown format: no error")
	}
}

func TestEmptyRun(t *testing.T) {
	for _, f := range Formats() {
		if out := render(t, f, Run{}, TableOptions{}); len(out) == 0 {
			t.Errorf("%s: empty output for an empty run", f)
		}
	}
	var rep map[string]any
	if err := json.Unmarshal(render(t, FormatJSON, Run{}, TableOptions{}), &rep); err != nil {
		t.Fatal(err)
	}
	if _, ok := rep["results"].([]any); !ok {
		t.Errorf("results = %#v, want an empty array", rep["results"])
	}
}

// TestReportsAlikeWithStepsBuiltOnDemand: a check's results, which hold no
// steps and build a rule's per-table SQL only as a report writes it, render
// every format exactly as results holding every step do.
func TestReportsAlikeWithStepsBuiltOnDemand(t *testing.T) {
	step := func(i int) rules.Step {
		return rules.Step{Phase: rules.PhaseIdentity, SQL: fmt.Sprintf(`ALTER TABLE public."T %d" REPLICA IDENTITY FULL;`, i),
			Needs: "the owner", Locks: fmt.Sprintf(`ACCESS EXCLUSIVE on public."T %d"`, i)}
	}
	perTable := func(n int) func(*facts.Facts) rules.Outcome {
		return func(*facts.Facts) rules.Outcome {
			return rules.Finding("%d tables", n).WithStepSeq("Set FULL.", func(yield func(rules.Step) bool) {
				for i := range n {
					if !yield(step(i)) {
						return
					}
				}
			})
		}
	}
	rule := func(id string, eval func(*facts.Facts) rules.Outcome) rules.Rule {
		return rules.Rule{ID: id, Title: "A rule", Category: rules.CategoryTables, Severity: rules.Warning, Since: "0.1.0",
			Why: "It matters.", Fix: "Fix it.", Needs: []facts.Section{facts.SectionTarget}, Eval: eval}
	}
	reg, err := rules.NewRegistry(
		rule("many", perTable(streamAt+5)), rule("few", perTable(3)), rule("none", perTable(0)),
		rule("eager", func(*facts.Facts) rules.Outcome {
			return rules.Finding("one").WithSteps("Grant.", rules.Step{Phase: rules.PhaseGrants, SQL: "GRANT x;", Needs: "owner"})
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	f := &facts.Facts{}
	held := rules.Evaluate(reg, f, nil)
	built := rules.EvaluateWith(reg, f, nil, rules.EvalOptions{SQLOnly: true})
	for i := range held {
		held[i].Duration, built[i].Duration = 0, 0
		if len(built[i].Steps) > 0 {
			t.Errorf("%s: a check's result holds %d steps", built[i].Rule, len(built[i].Steps))
		}
	}
	if n := len(held[0].Steps); n != streamAt+5 {
		t.Fatalf("held %d steps", n)
	}
	for _, format := range Formats() {
		a := render(t, format, Run{Tool: Tool{Name: "cdcpreflight", Version: "test"}, Results: held}, TableOptions{})
		b := render(t, format, Run{Tool: Tool{Name: "cdcpreflight", Version: "test"}, Results: built}, TableOptions{})
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs:\nheld  %.300q\nbuilt %.300q", format, a, b)
		}
		if !bytes.Contains(a, []byte(`REPLICA IDENTITY FULL`)) || !bytes.Contains(a, []byte(`lock_timeout`)) {
			t.Errorf("%s lacks the steps' SQL", format)
		}
	}
}
