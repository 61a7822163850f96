package report

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// unescapeData is what the Actions runner does to a command's message.
func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func unescapeProperty(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

func TestAnnotationEscaping(t *testing.T) {
	for _, tc := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100% done", "100%25 done", "100%25 done"},
		{"a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"},
		{"x::error::y", "x::error::y", "x%3A%3Aerror%3A%3Ay"},
		{"a,b:c", "a,b:c", "a%2Cb%3Ac"},
		{"%0A", "%250A", "%250A"},
		{"esc \x1b[31m", `esc \u001b[31m`, `esc \u001b[31m`},
	} {
		if got := escapeData(tc.in); got != tc.data {
			t.Errorf("escapeData(%q) = %q, want %q", tc.in, got, tc.data)
		}
		if got := escapeProperty(tc.in); got != tc.prop {
			t.Errorf("escapeProperty(%q) = %q, want %q", tc.in, got, tc.prop)
		}
		if !strings.ContainsRune(tc.in, '\x1b') {
			if got := unescapeData(escapeData(tc.in)); got != tc.in {
				t.Errorf("data round trip of %q = %q", tc.in, got)
			}
			if got := unescapeProperty(escapeProperty(tc.in)); got != tc.in {
				t.Errorf("property round trip of %q = %q", tc.in, got)
			}
		}
	}
}

// TestAnnotationsHostile: a finding whose rule, message, objects and
// remediation try to end the command or start another stays one command,
// and the runner gets the text back.
func TestAnnotationsHostile(t *testing.T) {
	msg := "bad\n::error title=forged::owned\r\n100%0A,title=x:y"
	run := Run{FailOn: rules.Error, Results: []rules.Result{
		{Rule: "evil,title=forged:x", Category: "tables", Severity: rules.Error, Status: rules.StatusFail,
			Message: msg, Objects: []string{"public.\"a\nb\""}, Remediation: "fix %s\n::warning::x"},
		{Rule: "meh", Category: "server", Severity: rules.Warning, Status: rules.StatusWarn, Message: "a warning"},
		{Rule: "broken", Category: "slot", Severity: rules.Error, Status: rules.StatusError, Message: "permission denied"},
		{Rule: "fine", Category: "server", Severity: rules.Error, Status: rules.StatusPass, Message: "ok"},
		{Rule: "na", Category: "server", Severity: rules.Error, Status: rules.StatusSkip, Message: "n/a"},
	}, Warnings: []rules.ConfigWarning{{Kind: rules.WarningIgnoreUnused, Message: "entry 1\nunused", File: "/ws/dir, x/.cdcpreflight.yml", Line: 7}}}
	var b bytes.Buffer
	if err := GitHubAnnotations(&b, run, AnnotationOptions{Workspace: "/ws"}); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4 (fail, error, warn, config warning):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	// Errors first (in report order: slot before tables), then warnings.
	for i, prefix := range []string{"::error title=broken::", "::error title=evil%2Ctitle=forged%3Ax::", "::warning title=meh::",
		"::warning file=dir%2C x/.cdcpreflight.yml,line=7,title=cdcpreflight config::"} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], prefix)
		}
	}
	_, body, _ := strings.Cut(strings.TrimPrefix(lines[1], "::error "), "::")
	got := unescapeData(body)
	for _, want := range []string{msg, "Objects: public.\"a\nb\"", "Fix: fix %s\n::warning::x", "Run 'cdcpreflight explain evil,title=forged:x'"} {
		if !strings.Contains(got, want) {
			t.Errorf("annotation body %q lacks %q", got, want)
		}
	}
	if !strings.Contains(lines[0], "could not be judged: permission denied") {
		t.Errorf("error annotation: %q", lines[0])
	}

	// At fail-on warning, a warning fails the run: an error annotation.
	run.FailOn = rules.Warning
	b.Reset()
	if err := GitHubAnnotations(&b, run, AnnotationOptions{NameTarget: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "::error title=meh (%3A0/)::a warning") {
		t.Errorf("fail-on warning:\n%s", b.String())
	}
}
