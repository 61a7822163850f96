package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

func failOnWarning(run Run) Run {
	run.FailOn = rules.Warning
	return run
}

func TestJUnitGolden(t *testing.T) {
	run := loadRun(t)
	golden(t, "golden.junit.xml", render(t, FormatJUnit, run, TableOptions{}))
	golden(t, "golden.junit.failon-warning.xml", render(t, FormatJUnit, failOnWarning(run), TableOptions{}))
}

// TestJUnitCounts checks the counters consumers display against the children
// they describe, and the warn mapping on both sides of --fail-on.
func TestJUnitCounts(t *testing.T) {
	run := loadRun(t)
	for name, tc := range map[string]struct {
		run                                Run
		failures, errors, skipped, sysouts int
	}{
		// Two warnings and two results the config's ignores touched have
		// system-out; at fail-on warning the warnings fail instead.
		"fail-on error":   {run, 2, 1, 1, 4},
		"fail-on warning": {failOnWarning(run), 3, 1, 1, 3},
	} {
		t.Run(name, func(t *testing.T) {
			var doc JUnitTestsuites
			if err := xml.Unmarshal(render(t, FormatJUnit, tc.run, TableOptions{}), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("%d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			var failures, errs, skipped, sysouts int
			for _, c := range s.Testcases {
				failures += boolInt(c.Failure != nil)
				errs += boolInt(c.Error != nil)
				skipped += boolInt(c.Skipped != nil)
				sysouts += boolInt(c.SystemOut != nil)
			}
			if s.Tests != len(s.Testcases) || s.Failures != failures || s.Errors != errs || s.Skipped != skipped {
				t.Errorf("suite counts tests=%d failures=%d errors=%d skipped=%d; children %d/%d/%d/%d",
					s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Testcases), failures, errs, skipped)
			}
			if doc.Tests != s.Tests || doc.Failures != s.Failures || doc.Errors != s.Errors {
				t.Errorf("testsuites counts %d/%d/%d differ from the suite's", doc.Tests, doc.Failures, doc.Errors)
			}
			if failures != tc.failures || errs != tc.errors || skipped != tc.skipped || sysouts != tc.sysouts {
				t.Errorf("failures/errors/skipped/system-out = %d/%d/%d/%d, want %d/%d/%d/%d",
					failures, errs, skipped, sysouts, tc.failures, tc.errors, tc.skipped, tc.sysouts)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestJUnitText checks that hostile text cannot break the file: no byte XML
// forbids, no CDATA, and the text still arrives.
func TestJUnitText(t *testing.T) {
	run := loadRun(t)
	run.Results = append(run.Results, rules.Result{
		Rule: "nul\x00rule", Category: "tables\x1b", Status: rules.StatusError,
		Message: "bad \x00\x01\x1b\x7f bytes \xff\xfe",
	})
	out := render(t, FormatJUnit, run, TableOptions{})
	if !bytes.HasPrefix(out, []byte(xml.Header)) {
		t.Error("no XML header")
	}
	for _, bad := range []string{"\x1b", "\x00", "\x01", "<![CDATA["} {
		if bytes.Contains(out, []byte(bad)) {
			t.Errorf("output contains %q", bad)
		}
	}
	var doc JUnitTestsuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	body := doc.Suites[0].Testcases[1].Failure.Body
	for _, want := range []string{`<no key> & "quoted" ]]> café 日本`, `public."x""; DROP TABLE y; --"`, "Run 'cdcpreflight explain replica-identity' for details."} {
		if !strings.Contains(body, want) {
			t.Errorf("failure body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(string(out), "password") {
		t.Error("report mentions a password")
	}
}

func TestJUnitSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found; CI must install libxml2-utils")
		}
		t.Skip("xmllint not found (apt-get install libxml2-utils)")
	}
	xsd := filepath.Join("testdata", "junit-10.xsd")
	run := loadRun(t)
	for name, r := range map[string]Run{"fail-on-error": run, "fail-on-warning": failOnWarning(run), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.xml")
			if err := os.WriteFile(path, render(t, FormatJUnit, r, TableOptions{}), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint: %v\n%s", err, out)
			}
		})
	}
}

// TestVendoredXSD keeps testdata/junit-10.xsd byte-identical to the shared
// copy beside the repository, when that checkout is there to compare with.
func TestVendoredXSD(t *testing.T) {
	shared := findShared(t)
	if shared == "" {
		t.Skip("no shared/junit/junit-10.xsd beside the repository")
	}
	want, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("testdata", "junit-10.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("testdata/junit-10.xsd differs from %s", shared)
	}
}

// findShared looks for shared/junit/junit-10.xsd next to the module root or
// one of its parents, the layout of both the workspace and CI checkouts.
func findShared(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	for range 3 {
		dir = filepath.Dir(dir)
		candidate := filepath.Join(dir, "shared", "junit", "junit-10.xsd")
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
	}
	return ""
}

// TestJUnitIgnored: an ignored finding passes, but its testcase says what
// was ignored and why, and the config warnings are in the suite's output.
func TestJUnitIgnored(t *testing.T) {
	var doc JUnitTestsuites
	if err := xml.Unmarshal(render(t, FormatJUnit, loadRun(t), TableOptions{}), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	for _, c := range s.Testcases {
		switch c.Name {
		case "replica-identity-full":
			if c.Failure != nil || c.SystemOut == nil ||
				!strings.Contains(c.SystemOut.Body, "IGNORED by the config") ||
				!strings.Contains(c.SystemOut.Body, "public.audit_log") ||
				!strings.Contains(c.SystemOut.Body, "Reason: append-only audit table: no deletes") {
				t.Errorf("wholly ignored testcase: %+v", c)
			}
		case "replica-identity":
			if c.Failure == nil || c.SystemOut == nil || !strings.Contains(c.SystemOut.Body, `archive."Old|Orders"`) ||
				!strings.Contains(c.SystemOut.Body, "Expires: 2026-09-30") {
				t.Errorf("partly ignored testcase: %+v", c)
			}
		}
	}
	if s.SystemOut == nil || strings.Count(s.SystemOut.Body, "CONFIG WARNING: ") != 2 {
		t.Errorf("suite system-out = %+v, want the two config warnings", s.SystemOut)
	}
}
