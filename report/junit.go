package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// The JUnit shape follows Jenkins' junit-10.xsd, the strictest schema that
// real consumers (Jenkins, GitLab, dorny/test-reporter, mikepenz) all accept:
// no skipped attribute on <testsuites>, no file/line on <testcase>.

// JUnitTestsuites is the document root. The JUnit types are exported so
// tests elsewhere can decode reports with encoding/xml.
type JUnitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []JUnitTestsuite `xml:"testsuite"`
}

// JUnitTestsuite holds one target's results.
type JUnitTestsuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property"`
	Testcases  []JUnitTestcase `xml:"testcase"`
	// SystemOut carries the warnings about the configuration.
	SystemOut *JUnitText `xml:"system-out"`
}

// JUnitProperty is a name/value pair describing the target.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitTestcase is one rule.
type JUnitTestcase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitMessage `xml:"failure"`
	Error     *JUnitMessage `xml:"error"`
	Skipped   *JUnitMessage `xml:"skipped"`
	SystemOut *JUnitText    `xml:"system-out"`
}

// JUnitMessage is a failure, error or skipped element. The body goes out as
// escaped character data, never CDATA: CDATA cannot carry every string.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnitText is an element holding only text.
type JUnitText struct {
	Body string `xml:",chardata"`
}

// MarshalXML writes the body with literal newlines: a ",chardata" field
// would be written with every newline as &#xA;, one unreadable line per
// finding for anyone opening the file.
func (m JUnitMessage) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "message"}, Value: m.Message})
	if m.Type != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: m.Type})
	}
	return encodeText(e, start, m.Body)
}

// MarshalXML writes the body with literal newlines, like JUnitMessage.
func (t JUnitText) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return encodeText(e, start, t.Body)
}

// encodeText writes an element holding text. CharData tokens are escaped
// like ",chardata" fields (no CDATA) except that newlines stay newlines.
func encodeText(e *xml.Encoder, start xml.StartElement, body string) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if body != "" {
		if err := e.EncodeToken(xml.CharData(body)); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// junitTimestamp is ISO 8601 without a zone, which both common JUnit XSDs
// accept; times are in UTC so the report does not depend on the machine.
const junitTimestamp = "2006-01-02T15:04:05"

// JUnit writes run as a JUnit XML document, one testcase per result in run
// order. Every string is stripped of characters XML 1.0 cannot carry: a
// server error message with an ANSI escape must not make the file unreadable.
func JUnit(w io.Writer, run Run) error {
	return writeJUnit(w, newJUnit(run))
}

// writeJUnit writes doc, a single run's or a fleet's, as an indented XML
// document ending with a newline.
func writeJUnit(w io.Writer, doc any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

func newJUnit(run Run) JUnitTestsuites {
	suite := junitSuite(run)
	return JUnitTestsuites{
		Name:     xmlSafe(toolName(run)),
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Errors:   suite.Errors,
		Time:     suite.Time,
		Suites:   []JUnitTestsuite{suite},
	}
}

// junitSuite is one target's testsuite; a fleet's document holds one per
// target, named for it.
func junitSuite(run Run) JUnitTestsuite {
	name := xmlSafe(toolName(run))
	label := targetLabel(run.Target)
	if run.Target.Name != "" {
		label = targetName(run)
	}
	suite := JUnitTestsuite{
		Name:       name + " " + xmlSafe(label),
		Time:       seconds(run.Duration),
		Hostname:   xmlSafe(run.Target.Host),
		Properties: junitProperties(run),
	}
	if !run.Started.IsZero() {
		suite.Timestamp = run.Started.UTC().Format(junitTimestamp)
	}
	if len(run.Warnings) > 0 {
		var b strings.Builder
		for _, w := range run.Warnings {
			b.WriteString("CONFIG WARNING: " + w.Message + "\n")
		}
		suite.SystemOut = &JUnitText{Body: xmlSafe(b.String())}
	}
	for _, r := range run.Results {
		tc := junitTestcase(run, r)
		suite.Testcases = append(suite.Testcases, tc)
		suite.Tests++
		if tc.Failure != nil {
			suite.Failures++
		}
		if tc.Error != nil {
			suite.Errors++
		}
		if tc.Skipped != nil {
			suite.Skipped++
		}
	}
	return suite
}

// junitProperties describes the target. Target has no password field, and
// nothing here may ever add one: these files become CI artifacts.
func junitProperties(run Run) []JUnitProperty {
	var props []JUnitProperty
	if run.Target.Name != "" {
		props = append(props, JUnitProperty{"target", run.Target.Name})
	}
	props = append(props, []JUnitProperty{
		{"host", run.Target.Host},
		{"port", strconv.Itoa(int(run.Target.Port))},
		{"database", run.Target.Database},
		{"user", run.Target.User},
		{"server_version", run.Target.ServerVersion},
		{"platform", run.Target.Platform},
		{"tool_version", run.Tool.Version},
		{"fail_on", failOn(run).String()},
	}...)
	for i := range props {
		props[i].Value = xmlSafe(props[i].Value)
	}
	return props
}

func junitTestcase(run Run, r rules.Result) JUnitTestcase {
	tc := JUnitTestcase{
		Classname: xmlSafe(defaultToolName + "." + r.Category),
		Name:      xmlSafe(r.Rule),
		Time:      seconds(r.Duration),
	}
	oneLine := xmlSafe(strings.Join(strings.Fields(r.Message), " "))
	body := xmlSafe(junitBody(run, r))
	switch {
	case r.Status == rules.StatusError:
		tc.Error = &JUnitMessage{Message: oneLine, Type: "CheckError", Body: body}
	case r.Status == rules.StatusSkip:
		tc.Skipped = &JUnitMessage{Message: oneLine}
	case rules.Failing(r, failOn(run)):
		tc.Failure = &JUnitMessage{Message: oneLine, Type: xmlSafe(r.Severity.String()), Body: body}
	case r.Status == rules.StatusWarn:
		// Below --fail-on a warning passes, keeping JUnit's verdict equal to
		// the exit code, but GitLab still shows testcase system-out.
		tc.SystemOut = &JUnitText{Body: "WARNING: " + body}
	}
	if len(r.Ignored) > 0 {
		text := xmlSafe(junitIgnored(r))
		if tc.SystemOut != nil {
			tc.SystemOut.Body += "\n" + text
		} else {
			tc.SystemOut = &JUnitText{Body: text}
		}
	}
	return tc
}

// junitIgnored says what the config's ignores took out of r, with their
// reasons: a passing testcase must not hide an accepted finding.
func junitIgnored(r rules.Result) string {
	var b strings.Builder
	if whollyIgnored(r) {
		fmt.Fprintf(&b, "IGNORED by the config: %s: %s (severity: %s)\n%s\n", r.Rule, r.Title, r.Severity, r.Message)
	} else {
		b.WriteString("Partly IGNORED by the config:\n")
	}
	for _, ig := range r.Ignored {
		b.WriteString("\nObjects:")
		if len(ig.Objects) == 0 {
			b.WriteString(" (the whole finding)")
		}
		b.WriteString("\n")
		for _, o := range ig.Objects {
			b.WriteString("  " + o + "\n")
		}
		b.WriteString("Reason: " + ig.Reason + "\n")
		if ig.Expires != "" {
			b.WriteString("Expires: " + ig.Expires + "\n")
		}
	}
	return b.String()
}

// junitBody is the full text of a finding. GitLab shows only element
// bodies, never the message attribute, so everything goes here.
func junitBody(run Run, r rules.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (severity: %s)\n", r.Rule, r.Title, r.Severity)
	b.WriteString(r.Message + "\n")
	if len(r.Objects) > 0 {
		b.WriteString("\nObjects:\n")
		for _, o := range r.Objects {
			b.WriteString("  " + o + "\n")
		}
	}
	if r.Remediation != "" {
		b.WriteString("\nRemediation: " + r.Remediation + "\n")
	}
	if r.HasFix() {
		b.WriteString("\nFix SQL:\n")
		for s := range r.FixLines() {
			b.WriteString(indent(s, "  ") + "\n")
		}
	}
	fmt.Fprintf(&b, "\nRun '%s explain %s' for details.\n", toolName(run), r.Rule)
	return b.String()
}

// seconds formats a duration as JUnit consumers parse it: seconds with a
// decimal point and millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// indent prefixes every line of s, so multi-line SQL stays readable.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// xmlSafe drops the characters XML 1.0 forbids (most C0 controls, lone
// surrogates, U+FFFE/U+FFFF). encoding/xml would write U+FFFD for some of
// them; dropping keeps attribute values and bodies plain text that any
// parser reads.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if xmlAllowed(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func xmlAllowed(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}
