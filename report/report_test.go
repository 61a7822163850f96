package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

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
