package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// The writers' fuzz targets share one input: three strings that stand for
// everything database text and rule output can put in a report (names,
// server messages, versions, SQL), a byte choosing statuses and severities,
// and a flag. fuzzRun spreads them over every text field of a run, with a
// result of each status, so each target sees all its code paths.

var (
	fuzzStatuses   = []rules.Status{rules.StatusPass, rules.StatusWarn, rules.StatusFail, rules.StatusSkip, rules.StatusError}
	fuzzSeverities = []rules.Severity{rules.Info, rules.Warning, rules.Error}
)

func fuzzRun(a, b, c string, mix uint8, flag bool) Run {
	texts := []string{a, b, c}
	pick := func(i int) string { return texts[i%3] }
	run := Run{
		Tool:     Tool{Name: "cdcpreflight", Version: pick(int(mix))},
		Target:   Target{Host: a, Port: uint16(mix) * 257, Database: b, User: c, ServerVersion: pick(int(mix) + 1), Platform: pick(int(mix) + 2)},
		Started:  time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Duration: time.Duration(mix) * time.Millisecond,
		FailOn:   rules.Error,
	}
	if flag {
		run.FailOn = rules.Warning
		run.Tool.Name = c
	}
	for i, st := range fuzzStatuses {
		k := int(mix) + i
		run.Results = append(run.Results, rules.Result{
			Rule:        pick(k),
			Title:       pick(k + 1),
			Category:    []string{pick(k + 2), "server", "tables"}[k%3],
			Severity:    fuzzSeverities[k%3],
			Status:      st,
			Message:     pick(k) + " " + pick(k+1),
			Objects:     []string{a, b, c, pick(k) + "." + pick(k+1)},
			Remediation: pick(k + 2),
			FixSQL:      []string{"ALTER TABLE " + pick(k) + " REPLICA IDENTITY FULL;", pick(k+1) + "\n" + pick(k+2)},
			Duration:    time.Duration(k) * time.Microsecond,
		})
	}
	return run
}

// fuzzSeeds are the writers' seed inputs; TestJUnitCorpusXSD validates the
// JUnit written for each, and for the committed corpus, with xmllint.
func fuzzSeeds() [][3]string {
	seeds := [][3]string{
		{"", "", ""},
		{"wal-level", "wal_level is replica; logical decoding needs logical", `public."Order Items"`},
		{"<no key> & \"quoted\" ]]> café 日本", "'apos' <tag attr=\"x\">", "]]>]]><![CDATA[x]]>"},
		{"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x1f", "\x7f\u0080\u009f", "\ufffe\uffff\xed\xa0\x80"},
		{"bad utf8 \xff\xfe\xc3\x28", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 past U+10FFFF"},
		{"tab\tnew\nline\rcr\r\n", "  leading and trailing  ", "\u2028\u2029\u0085"},
		{"\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\x1b[2J\x1b[H\x1b[1A\x1b[2K"},
		{"rtl \u202e override \u2066isolate\u2069", "zero\u200bwidth\u200d", "\ufeffbom"},
		{strings.Repeat("long ", 200), strings.Repeat("é", 300), strings.Repeat("日本", 100)},
		{"&amp; &#x0; &#1; &lt;", "<?xml version=\"1.0\"?>", "<!DOCTYPE x [<!ENTITY a \"b\">]>&a;"},
		{"--", "*/", "%s %d %v %!"},
	}
	for _, n := range fuzzcheck.HostileNames {
		seeds = append(seeds, [3]string{n, "public." + n, "message about " + n})
	}
	return seeds
}

func addSeeds(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(s[0], s[1], s[2], uint8(i), i%2 == 1)
	}
}

// FuzzJUnit: for any text in a run, the JUnit report is one well-formed
// XML 1.0 document (decoded here with encoding/xml in strict mode) with a
// testcase per result, the suite's counts matching its elements, and every
// text as it went in, less the characters XML cannot carry.
func FuzzJUnit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c string, mix uint8, flag bool) {
		run := fuzzRun(a, b, c, mix, flag)
		var buf bytes.Buffer
		if err := JUnit(&buf, run); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if err := fuzzcheck.WellFormedXML(out); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var doc JUnitTestsuites
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Suites) != 1 || len(doc.Suites[0].Testcases) != len(run.Results) {
			t.Fatalf("%d suites; want 1 with %d testcases\n%s", len(doc.Suites), len(run.Results), out)
		}
		s := doc.Suites[0]
		var failures, errs, skipped int
		for i, tc := range s.Testcases {
			r := run.Results[i]
			if tc.Name != fuzzcheck.XMLText(r.Rule) {
				t.Fatalf("testcase name %q, want %q", tc.Name, fuzzcheck.XMLText(r.Rule))
			}
			for _, m := range []*JUnitMessage{tc.Failure, tc.Error, tc.Skipped} {
				if m == nil {
					continue
				}
				if want := fuzzcheck.XMLText(strings.Join(strings.Fields(r.Message), " ")); m.Message != want {
					t.Fatalf("message %q, want %q", m.Message, want)
				}
				if m != tc.Skipped {
					for _, part := range append([]string{r.Message, r.Remediation}, r.Objects...) {
						if !strings.Contains(m.Body, fuzzcheck.XMLText(part)) {
							t.Fatalf("body lacks %q:\n%s", fuzzcheck.XMLText(part), m.Body)
						}
					}
				}
			}
			failures += btoi(tc.Failure != nil)
			errs += btoi(tc.Error != nil)
			skipped += btoi(tc.Skipped != nil)
		}
		if s.Tests != len(s.Testcases) || s.Failures != failures || s.Errors != errs || s.Skipped != skipped ||
			doc.Tests != s.Tests || doc.Failures != failures || doc.Errors != errs {
			t.Fatalf("counts %+v / suite %d %d %d %d; elements %d %d %d", doc, s.Tests, s.Failures, s.Errors, s.Skipped, failures, errs, skipped)
		}
		if errs != 1 || skipped != 1 || failures < 1 {
			t.Fatalf("a result of each status: %d failures, %d errors, %d skipped", failures, errs, skipped)
		}
		props := map[string]string{}
		for _, p := range s.Properties {
			props[p.Name] = p.Value
		}
		for name, want := range map[string]string{"host": a, "database": b, "user": c} {
			if props[name] != fuzzcheck.XMLText(want) {
				t.Fatalf("property %s = %q, want %q", name, props[name], fuzzcheck.XMLText(want))
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestJUnitCorpusXSD validates the JUnit report of every seed and every
// committed corpus input of FuzzJUnit against Jenkins' junit-10.xsd with
// xmllint: the fuzz loop checks well-formedness, this checks the schema.
func TestJUnitCorpusXSD(t *testing.T) {
	inputs := fuzzSeeds()
	for _, vals := range fuzzcheck.CorpusStrings(t, filepath.Join("testdata", "fuzz", "FuzzJUnit")) {
		if len(vals) == 3 {
			inputs = append(inputs, [3]string{vals[0], vals[1], vals[2]})
		}
	}
	dir := t.TempDir()
	var files []string
	for i, in := range inputs {
		for _, flag := range []bool{false, true} {
			var buf bytes.Buffer
			if err := JUnit(&buf, fuzzRun(in[0], in[1], in[2], uint8(i), flag)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fmt.Sprintf("%03d-%v.xml", i, flag))
			if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
	}
	fuzzcheck.Xmllint(t, filepath.Join("testdata", "junit-10.xsd"), files...)
}

// FuzzJSON: for any text in a run, the JSON report is valid JSON that
// decodes back to the same results, every string as it went in (invalid
// UTF-8 bytes become U+FFFD, as encoding/json writes them), with arrays
// never null and the summary counting the statuses.
func FuzzJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c string, mix uint8, flag bool) {
		run := fuzzRun(a, b, c, mix, flag)
		var buf bytes.Buffer
		if err := JSON(&buf, run); err != nil {
			t.Fatal(err)
		}
		if err := fuzzcheck.ValidJSON(buf.Bytes()); err != nil {
			t.Fatalf("%v\n%s", err, buf.Bytes())
		}
		rep, err := DecodeJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		j := fuzzcheck.JSONText
		want := run.Target
		want.Host, want.Database, want.User, want.ServerVersion, want.Platform = j(want.Host), j(want.Database), j(want.User), j(want.ServerVersion), j(want.Platform)
		if rep.Target != want || rep.Tool.Version != j(run.Tool.Version) || rep.SchemaVersion != SchemaVersion {
			t.Fatalf("target %+v, tool %+v; want %+v", rep.Target, rep.Tool, want)
		}
		if rep.Summary != rules.Summarize(run.Results) || len(rep.Results) != len(run.Results) {
			t.Fatalf("summary %+v, %d results", rep.Summary, len(rep.Results))
		}
		for i, got := range rep.Results {
			r := run.Results[i]
			if got.Rule != j(r.Rule) || got.Title != j(r.Title) || got.Category != j(r.Category) ||
				got.Message != j(r.Message) || got.Remediation != j(r.Remediation) ||
				got.Status != r.Status || got.Severity != r.Severity {
				t.Fatalf("result %d: %+v\nwant %+v", i, got, r)
			}
			if got.Objects == nil || got.FixSQL == nil {
				t.Fatalf("result %d: an array is null", i)
			}
			if !slices.Equal(got.Objects, mapStrings(r.Objects, j)) || !slices.Equal(got.FixSQL, mapStrings(r.FixSQL, j)) {
				t.Fatalf("result %d: objects %q, fix %q", i, got.Objects, got.FixSQL)
			}
		}
	})
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// FuzzTable: for any text in a run, the table renders, and nothing in it
// is a control character or escape sequence a terminal would act on: text
// from the database could otherwise recolour, retitle or clear the
// terminal, move the cursor to overwrite a FAIL with a PASS, or plant a
// hyperlink. With colour on, the only escapes are the table's own colours;
// with colour off, there are none.
func FuzzTable(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c string, mix uint8, color bool) {
		run := fuzzRun(a, b, c, mix, false)
		var buf bytes.Buffer
		if err := Table(&buf, run, TableOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if err := fuzzcheck.TerminalSafe(out, color); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, summaryLine(run)) {
			t.Fatalf("no summary line:\n%s", out)
		}
	})
}

// fuzzRunWithWarnings is fuzzRun with config warnings naming a file and a
// line, as the annotations show them.
func fuzzRunWithWarnings(a, b, c string, mix uint8, flag bool) Run {
	run := fuzzRun(a, b, c, mix, flag)
	run.Warnings = []rules.ConfigWarning{
		{Kind: rules.WarningIgnoreUnused, Message: a + "\n" + b, File: "/ws/" + c, Line: int(mix)},
		{Kind: rules.WarningIgnoreExpired, Message: c},
	}
	return run
}

var annotationLine = regexp.MustCompile(`^::(error|warning) ([^:]*)::(.*)$`)

// FuzzAnnotations: for any text in a run, the GitHub annotations are one
// workflow command per finding and config warning, never more (a message
// from the database cannot end a command or start another); each
// property is a key=value with no bare ':' or ','; what the runner
// unescapes is the text itself (control characters shown as escapes);
// nothing in them would act on a terminal.
func FuzzAnnotations(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c string, mix uint8, flag bool) {
		run := fuzzRunWithWarnings(a, b, c, mix, flag)
		var buf bytes.Buffer
		if err := GitHubAnnotations(&buf, run, AnnotationOptions{NameTarget: flag, Workspace: "/ws"}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if err := fuzzcheck.TerminalSafe(out, false); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		want := len(run.Warnings)
		for _, r := range run.Results {
			if annotationLevel(run, r) != "" {
				want++
			}
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != want {
			t.Fatalf("%d lines, want %d commands:\n%s", len(lines), want, out)
		}
		var texts []string
		for _, r := range byCategory(run.Results) {
			if annotationLevel(run, r) == "error" {
				texts = append(texts, annotationText(run, r))
			}
		}
		for _, r := range byCategory(run.Results) {
			if annotationLevel(run, r) == "warning" {
				texts = append(texts, annotationText(run, r))
			}
		}
		for _, w := range run.Warnings {
			texts = append(texts, w.Message)
		}
		for i, l := range lines {
			m := annotationLine.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("line %d is not one workflow command: %q", i+1, l)
			}
			for _, prop := range strings.Split(m[2], ",") {
				k, v, ok := strings.Cut(prop, "=")
				if !ok || (k != "title" && k != "file" && k != "line") || strings.ContainsAny(v, ":,\r\n") {
					t.Fatalf("line %d: property %q", i+1, prop)
				}
			}
			// The runner unescapes %0D, %0A and %25; what is left is the
			// text, its other control characters made visible.
			if got, want := unescapeData(m[3]), printableBut(texts[i], "\r\n"); got != want {
				t.Fatalf("line %d: the runner reads %q, want %q", i+1, got, want)
			}
		}
	})
}

// printableBut is printable for everything but the characters in keep.
func printableBut(s, keep string) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(s, keep)
		if i < 0 {
			return b.String() + printable(s)
		}
		b.WriteString(printable(s[:i]) + s[i:i+1])
		s = s[i+1:]
	}
}

var allowedTag = regexp.MustCompile(`^</?(br|details|summary)>`)

// FuzzMarkdown: for any text in a run, the Markdown report renders no
// HTML but its own (<br>, <details>, <summary>), every table row has
// exactly its columns (a | in a name cannot add one), no code block is
// closed early by backticks in the SQL, and nothing in it would act on a
// terminal.
func FuzzMarkdown(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c string, mix uint8, flag bool) {
		run := fuzzRunWithWarnings(a, b, c, mix, flag)
		var buf bytes.Buffer
		if err := MarkdownSection(&buf, run, MarkdownOptions{Level: int(mix % 7)}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if err := fuzzcheck.TerminalSafe(out, false); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		fence := 0
		for n, l := range strings.Split(out, "\n") {
			if fence > 0 {
				if l == strings.Repeat("`", fence) {
					fence = 0
				} else if strings.Contains(l, strings.Repeat("`", fence)) {
					t.Fatalf("line %d closes its code block early: %q", n+1, l)
				}
				continue
			}
			if strings.HasPrefix(l, "```") {
				fence = len(l) - len(strings.TrimLeft(l, "`"))
				continue
			}
			for i := 0; i < len(l); i++ {
				switch {
				case l[i] == '\\':
					i++ // an escaped character
				case l[i] == '`':
					// A code span: literal text up to the same run of backticks.
					k := len(l[i:]) - len(strings.TrimLeft(l[i:], "`"))
					end := strings.Index(l[i+k:], strings.Repeat("`", k))
					if end < 0 {
						i += k - 1 // never closed: literal backticks (CommonMark)
						continue
					}
					i += k + end + k - 1
				case l[i] == '<' && !allowedTag.MatchString(l[i:]):
					t.Fatalf("line %d: raw HTML at %d: %q", n+1, i, l)
				}
			}
			if strings.HasPrefix(l, "|") {
				if cells := unescapedPipes(l); cells != 4 && cells != 5 {
					t.Fatalf("line %d: a table row with %d pipes: %q", n+1, cells, l)
				}
			}
		}
		if fence != 0 {
			t.Fatal("a code block is never closed")
		}
	})
}

func unescapedPipes(l string) int {
	n := 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}
