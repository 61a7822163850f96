package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// loadFleet is a fleet of three: the shared run with findings (prod), a
// clean one (dev) and one that could not connect, with a hostile name.
func loadFleet(t *testing.T) Fleet {
	t.Helper()
	prod := loadRun(t)
	prod.Target.Name = "prod"
	dev := loadRun(t)
	dev.Target.Name = "dev"
	dev.Target.Database = "app_dev"
	dev.Warnings = nil
	dev.Results = nil
	for _, r := range loadRun(t).Results {
		r.Status, r.Objects, r.FixSQL, r.Remediation, r.Ignored = rules.StatusPass, nil, nil, "", nil
		dev.Results = append(dev.Results, r)
	}
	dead := loadRun(t)
	dead.Target = Target{Name: `tenant "a"|<b>`, Host: "10.0.0.9", Port: 5432, Database: "t1", User: "streamkap_user"}
	dead.Warnings = nil
	dead.Config = nil
	dead.Results = nil
	for _, r := range loadRun(t).Results {
		r.Status, r.Objects, r.FixSQL, r.Remediation, r.Ignored = rules.StatusError, nil, nil, "", nil
		r.Message = "connect: timed out: dial tcp 10.0.0.9:5432: i/o timeout"
		dead.Results = append(dead.Results, r)
	}
	return Fleet{
		Tool: Tool{Name: "cdcpreflight", Version: "0.1.0-test"}, FailOn: rules.Error,
		Names: []string{"dev", "prod", `tenant "a"|<b>`, "staging"}, Shard: &Shard{Index: 1, Count: 2}, Planned: 3,
		Started: time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC), Duration: 2500 * time.Millisecond,
		Targets: []Run{dev, prod, dead},
	}
}

func renderFleet(t *testing.T, format Format, f Fleet, opt TableOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFleet(&buf, format, f, opt); err != nil {
		t.Fatalf("WriteFleet(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestFleetGoldens(t *testing.T) {
	f := loadFleet(t)
	golden(t, "fleet.golden.table.txt", renderFleet(t, FormatTable, f, TableOptions{}))
	golden(t, "fleet.golden.json", renderFleet(t, FormatJSON, f, TableOptions{}))
	golden(t, "fleet.golden.junit.xml", renderFleet(t, FormatJUnit, f, TableOptions{}))
	golden(t, "fleet.golden.md", renderFleet(t, FormatMarkdown, f, TableOptions{}))
	var ann bytes.Buffer
	if err := FleetAnnotations(&ann, f, AnnotationOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "fleet.golden.annotations.txt", ann.Bytes())
}

func TestFleetExitCodeIsTheWorst(t *testing.T) {
	f := loadFleet(t)
	s := f.Summarize()
	if s.ExitCode != 2 || s.Clean != 1 || s.Findings != 0 || s.Incomplete != 2 || s.Checked != 3 || s.Targets != 3 {
		t.Errorf("summary %+v", s)
	}
	// prod without its rule in error: findings, exit 1.
	prod := f.Targets[1]
	prod.Results = slices.DeleteFunc(slices.Clone(prod.Results), func(r rules.Result) bool { return r.Status == rules.StatusError })
	f.Targets = []Run{f.Targets[0], prod}
	if s := f.Summarize(); s.ExitCode != 1 || s.Findings != 1 || s.Clean != 1 {
		t.Errorf("without the dead target and prod's error: %+v, want exit 1", s)
	}
	f.Targets = f.Targets[:1]
	if got := f.ExitCode(); got != 0 {
		t.Errorf("dev alone: exit %d, want 0", got)
	}
	if got := (Fleet{}).ExitCode(); got != 0 {
		t.Errorf("no targets: exit %d", got)
	}
}

func compileFleetSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for name, data := range map[string][]byte{
		"https://github.com/cdcpreflight/cdcpreflight/report/schema.json":       JSONSchema,
		"https://github.com/cdcpreflight/cdcpreflight/report/fleet-schema.json": FleetJSONSchema,
	} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(name, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://github.com/cdcpreflight/cdcpreflight/report/fleet-schema.json")
	if err != nil {
		t.Fatalf("compile fleet-schema.json: %v", err)
	}
	return s
}

// TestFleetSchema holds the golden fleet document, an empty one and an
// interrupted one to fleet-schema.json, and checks that it is closed.
func TestFleetSchema(t *testing.T) {
	s := compileFleetSchema(t)
	f := loadFleet(t)
	good := renderFleet(t, FormatJSON, f, TableOptions{})
	if err := validate(t, s, good); err != nil {
		t.Errorf("golden: %v", err)
	}
	if err := validate(t, s, renderFleet(t, FormatJSON, Fleet{}, TableOptions{})); err != nil {
		t.Errorf("empty fleet: %v", err)
	}
	f.Interrupted, f.Shard = true, nil
	if err := validate(t, s, renderFleet(t, FormatJSON, f, TableOptions{})); err != nil {
		t.Errorf("interrupted: %v", err)
	}
	for name, edit := range map[string]func(map[string]any){
		"extra field": func(m map[string]any) { m["extra"] = 1 },
		"target without name": func(m map[string]any) {
			delete(m["targets"].([]any)[0].(map[string]any)["target"].(map[string]any), "name")
		},
		"a password": func(m map[string]any) {
			m["targets"].([]any)[0].(map[string]any)["target"].(map[string]any)["password"] = "x"
		},
		"shard 0":     func(m map[string]any) { m["shard"].(map[string]any)["index"] = 0 },
		"exit code 3": func(m map[string]any) { m["summary"].(map[string]any)["exit_code"] = 3 },
		"not a fleet": func(m map[string]any) { m["kind"] = "report" },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		bad, _ := json.Marshal(m)
		if validate(t, s, bad) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
	// The single report's schema still takes a report without a name.
	if err := validate(t, compileSchema(t), render(t, FormatJSON, loadRun(t), TableOptions{})); err != nil {
		t.Errorf("single report: %v", err)
	}
}

var durations = regexp.MustCompile(`"duration_ms": [0-9.e+-]+|time="[0-9.]+"| timestamp="[0-9T:-]+"`)

// TestFleetJSONRoundTrips: a fleet document read back renders every format
// as the fleet did, timings aside: what merge relies on.
func TestFleetJSONRoundTrips(t *testing.T) {
	f := loadFleet(t)
	doc, err := DecodeFleetJSON(bytes.NewReader(renderFleet(t, FormatJSON, f, TableOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	back := doc.Fleet()
	back.Started, back.Duration = f.Started, f.Duration
	for _, format := range Formats() {
		want := durations.ReplaceAll(renderFleet(t, format, f, TableOptions{}), nil)
		got := durations.ReplaceAll(renderFleet(t, format, back, TableOptions{}), nil)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs after a round trip\n--- got ---\n%s\n--- want ---\n%s", format, got, want)
		}
	}
	if _, err := DecodeFleetJSON(bytes.NewReader(render(t, FormatJSON, loadRun(t), TableOptions{}))); err == nil ||
		!strings.Contains(err.Error(), "one database") {
		t.Errorf("a single report: %v", err)
	}
}

func TestFleetJUnitSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found; CI must install libxml2-utils")
		}
		t.Skip("xmllint not found (apt-get install libxml2-utils)")
	}
	f := loadFleet(t)
	warning := loadFleet(t)
	warning.FailOn = rules.Warning
	for name, fl := range map[string]Fleet{"fleet": f, "fail-on-warning": warning, "empty": {}} {
		path := filepath.Join(t.TempDir(), name+".xml")
		if err := os.WriteFile(path, renderFleet(t, FormatJUnit, fl, TableOptions{}), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), path).CombinedOutput(); err != nil {
			t.Errorf("%s: xmllint: %v\n%s", name, err, out)
		}
	}
	var doc JUnitTestsuites
	if err := xml.Unmarshal(renderFleet(t, FormatJUnit, f, TableOptions{}), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 3 || !strings.Contains(doc.Suites[2].Name, `tenant "a"|<b>`) || doc.Suites[2].Errors != len(f.Targets[2].Results) {
		t.Errorf("suites: %d, last %q with %d errors", len(doc.Suites), doc.Suites[len(doc.Suites)-1].Name, doc.Suites[len(doc.Suites)-1].Errors)
	}
}

// TestFleetMarkdownStaysUnderGitHubsLimit: 400 failing targets whose
// findings list many objects still make a job summary GitHub accepts.
func TestFleetMarkdownStaysUnderGitHubsLimit(t *testing.T) {
	f := loadFleet(t)
	prod := f.Targets[1]
	f.Targets = nil
	for i := range 400 {
		run := prod
		run.Target.Name = "tenant-" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
		f.Targets = append(f.Targets, run)
	}
	out := renderFleet(t, FormatMarkdown, f, TableOptions{})
	if len(out) >= 1<<20 {
		t.Errorf("%d bytes: over GitHub's 1 MiB", len(out))
	}
	if !bytes.Contains(out, []byte("more targets with findings")) {
		t.Error("does not say targets were left out")
	}
}
