package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

func TestJSONGolden(t *testing.T) {
	golden(t, "golden.json", render(t, FormatJSON, loadRun(t), TableOptions{}))
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func wantKeys(t *testing.T, where string, m any, want ...string) map[string]any {
	t.Helper()
	obj, ok := m.(map[string]any)
	if !ok {
		t.Fatalf("%s = %#v, want an object", where, m)
	}
	sort.Strings(want)
	if got := keys(obj); !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", where, got, want)
	}
	return obj
}

// TestJSONContract pins the documented shape: consumers script against these
// exact keys, so a rename must fail here and not in someone's pipeline.
func TestJSONContract(t *testing.T) {
	out := render(t, FormatJSON, loadRun(t), TableOptions{})
	var doc any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	top := wantKeys(t, "report", doc, "schema_version", "tool", "target", "config", "summary", "warnings", "results")
	if top["schema_version"] != float64(1) {
		t.Errorf("schema_version = %v, want 1", top["schema_version"])
	}
	wantKeys(t, "tool", top["tool"], "name", "version")
	wantKeys(t, "target", top["target"], "host", "port", "database", "user", "server_version", "platform")
	wantKeys(t, "summary", top["summary"], "pass", "warn", "fail", "skip", "error")
	results, ok := top["results"].([]any)
	if !ok || len(results) == 0 {
		t.Fatalf("results = %#v, want a non-empty array", top["results"])
	}
	for _, r := range results {
		res := wantKeys(t, "result", r, "rule", "title", "category", "severity", "status",
			"message", "objects", "remediation", "fix_sql", "ignored", "duration_ms")
		for _, k := range []string{"objects", "fix_sql", "ignored"} {
			if _, ok := res[k].([]any); !ok {
				t.Errorf("%v: %s = %#v, want an array", res["rule"], k, res[k])
			}
		}
		if _, ok := res["duration_ms"].(float64); !ok {
			t.Errorf("%v: duration_ms = %#v, want a number", res["rule"], res["duration_ms"])
		}
	}
	wantKeys(t, "config", top["config"], "path", "source")
	warnings, ok := top["warnings"].([]any)
	if !ok || len(warnings) != 2 {
		t.Fatalf("warnings = %#v, want the fixture's two", top["warnings"])
	}
	for _, w := range warnings {
		wantKeys(t, "warning", w, "kind", "message", "file", "line")
	}
	if !bytes.HasSuffix(out, []byte("}\n")) {
		t.Error("report does not end in a newline")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	run := loadRun(t)
	got, err := DecodeJSON(bytes.NewReader(render(t, FormatJSON, run, TableOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	if want := NewJSONReport(run); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded report differs:\n got %+v\nwant %+v", got, want)
	}
	if got.Summary.Fail != 2 || got.Summary.Warn != 2 || got.Summary.Error != 1 {
		t.Errorf("summary = %+v", got.Summary)
	}
	if d := got.Results[1].DurationMS; d != 0.457 {
		t.Errorf("duration_ms = %v, want 0.457 (rounded to microseconds)", d)
	}
}

// TestJSONLongListsAsWhole: a result whose objects and fix_sql are written
// an entry at a time reads exactly as the whole document encoded at once,
// with every kind of string encoding/json escapes.
func TestJSONLongListsAsWhole(t *testing.T) {
	run := loadRun(t)
	tricky := []string{`public."Order ""Items"""`, `a\b`, "tab\there", "new\nline", "bell\x07", "<b>&amp;</b>",
		"ünïcødé", "line\u2028sep", "bad\xffutf8", "", `"; DROP TABLE x; --`}
	var objects, sql []string
	for i := range streamAt + 10 {
		objects = append(objects, tricky[i%len(tricky)])
		sql = append(sql, "ALTER TABLE "+tricky[(i+3)%len(tricky)]+" REPLICA IDENTITY FULL;")
	}
	long := run.Results[0]
	long.Objects, long.FixSQL = objects, sql
	onlyObjects := run.Results[0]
	onlyObjects.Objects, onlyObjects.FixSQL = objects, nil
	run.Results = append([]rules.Result{long, onlyObjects}, run.Results...)
	got := render(t, FormatJSON, run, TableOptions{})
	var want bytes.Buffer
	if err := encodeIndented(&want, NewJSONReport(run), ""); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("streamed report differs from the whole one:\ngot  %.400q\nwant %.400q", got, want.Bytes())
	}
}
