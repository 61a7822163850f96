package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema))
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("compile schema.json: %v", err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(inst)
}

// TestSchemaValidatesGoldens holds every JSON golden, and the report of an
// empty run, to report/schema.json.
func TestSchemaValidatesGoldens(t *testing.T) {
	s := compileSchema(t)
	goldens, err := filepath.Glob(filepath.Join("testdata", "golden*.json"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no JSON goldens: %v", err)
	}
	for _, g := range goldens {
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, s, data); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	if err := validate(t, s, render(t, FormatJSON, Run{}, TableOptions{})); err != nil {
		t.Errorf("empty run: %v", err)
	}
}

// TestSchemaIsClosed: the schema describes the report exactly. A field the
// writer does not write, or one it writes that the schema lacks, fails.
func TestSchemaIsClosed(t *testing.T) {
	s := compileSchema(t)
	good := render(t, FormatJSON, loadRun(t), TableOptions{})
	for name, edit := range map[string]func(map[string]any){
		"extra top-level field": func(m map[string]any) { m["extra"] = 1 },
		"extra target field":    func(m map[string]any) { m["target"].(map[string]any)["password"] = "x" },
		"missing ignored":       func(m map[string]any) { delete(m["results"].([]any)[0].(map[string]any), "ignored") },
		"unknown status":        func(m map[string]any) { m["results"].([]any)[0].(map[string]any)["status"] = "ok" },
		"schema_version 2":      func(m map[string]any) { m["schema_version"] = 2 },
		"ignore without reason": func(m map[string]any) {
			r := m["results"].([]any)[1].(map[string]any)
			r["ignored"].([]any)[0].(map[string]any)["reason"] = ""
		},
		"bad expiry": func(m map[string]any) {
			r := m["results"].([]any)[1].(map[string]any)
			r["ignored"].([]any)[0].(map[string]any)["expires"] = "next week"
		},
		"unknown config source": func(m map[string]any) { m["config"].(map[string]any)["source"] = "guess" },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		bad, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if validate(t, s, bad) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

// TestSchemaEnumsFollowTheCode: the schema's closed lists are the code's.
func TestSchemaEnumsFollowTheCode(t *testing.T) {
	var doc struct {
		Defs struct {
			Result struct {
				Properties struct {
					Category struct {
						Enum []string `json:"enum"`
					} `json:"category"`
				} `json:"properties"`
			} `json:"result"`
			Warning struct {
				Properties struct {
					Kind struct {
						Enum []string `json:"enum"`
					} `json:"kind"`
				} `json:"properties"`
			} `json:"warning"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(JSONSchema, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Defs.Result.Properties.Category.Enum; !slices.Equal(got, rules.Categories) {
		t.Errorf("schema categories %v, rules.Categories %v", got, rules.Categories)
	}
	if got := doc.Defs.Warning.Properties.Kind.Enum; !slices.Equal(got, []string{rules.WarningIgnoreExpired, rules.WarningIgnoreUnused}) {
		t.Errorf("schema warning kinds %v", got)
	}
	if !strings.Contains(string(JSONSchema), `"https://json-schema.org/draft/2020-12/schema"`) {
		t.Error("schema is not draft 2020-12")
	}
}
