package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

func TestMarkdownGolden(t *testing.T) {
	golden(t, "golden.md", render(t, FormatMarkdown, loadRun(t), TableOptions{}))
}

// TestMarkdownEscapes: text from the database is shown, never rendered:
// no HTML tag, table cell break, code span, mention or math survives
// unescaped, and no control character reaches the page.
func TestMarkdownEscapes(t *testing.T) {
	run := loadRun(t)
	run.Results = append(run.Results, rules.Result{
		Rule: "hostile", Category: "tables", Severity: rules.Error, Status: rules.StatusFail,
		Message:     "<img src=x onerror=alert(1)> | cell | `code` @org/team $x$ **bold** [link](http://x) \x1b[31m\nsecond line",
		Objects:     []string{"public.\"a|b\"", "public.\"<script>\""},
		Remediation: "Run ``` to end a fence",
		FixSQL:      []string{"ALTER TABLE \"```\" REPLICA IDENTITY FULL;"},
	})
	out := string(render(t, FormatMarkdown, run, TableOptions{}))
	for _, bad := range []string{"| <img", "<script>", "| cell |", " `code`", " @org", " $x$", "**bold**", "[link]", "\x1b"} {
		if strings.Contains(out, bad) {
			t.Errorf("Markdown report contains %q unescaped", bad)
		}
	}
	for _, want := range []string{
		`\<img src=x onerror=alert(1)\> \| cell \| \` + "`code\\`" + ` \@org/team \$x\$ \*\*bold\*\* \[link\](http://x) \\u001b\[31m<br>second line`,
		"- public.\"a\\|b\"",
		// A fence longer than the longest run of backticks in the SQL.
		"````sql\nALTER TABLE \"```\" REPLICA IDENTITY FULL;\n````\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown report lacks %q\n%s", want, out)
		}
	}
	// Every table row has as many cells as its header.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") {
			cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
			if cells != 4 && cells != 5 {
				t.Errorf("row with %d separators: %q", cells, line)
			}
		}
	}
}

// TestMarkdownCapsLongLists: a finding over many tables stays within what
// GitHub accepts as a job summary.
func TestMarkdownCapsLongLists(t *testing.T) {
	var objs, sql []string
	for i := range 100000 {
		objs = append(objs, "public.table_with_a_long_name_"+strings.Repeat("x", 20)+string(rune('a'+i%26)))
		sql = append(sql, "ALTER TABLE public.t REPLICA IDENTITY FULL;")
	}
	run := Run{Results: []rules.Result{{Rule: "replica-identity", Category: "tables", Severity: rules.Error,
		Status: rules.StatusFail, Message: "many", Objects: objs, FixSQL: sql}}}
	out := render(t, FormatMarkdown, run, TableOptions{})
	if len(out) > 64<<10 {
		t.Errorf("Markdown report of 100,000 objects is %d bytes", len(out))
	}
	if !bytes.Contains(out, []byte("and 99980 more")) {
		t.Error("the cap is not said")
	}
}

func TestMarkdownSectionLevel(t *testing.T) {
	var b bytes.Buffer
	if err := MarkdownSection(&b, loadRun(t), MarkdownOptions{Level: 3}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "### ") || !strings.Contains(b.String(), "\n#### Findings\n") {
		t.Errorf("level 3 section:\n%s", b.String())
	}
}
