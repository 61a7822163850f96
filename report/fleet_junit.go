package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// FleetJUnit writes the fleet as one JUnit document with a <testsuite> per
// target, named for it (and a "target" property), in the fleet's order:
// CI test reporters show each target as a suite of its rules.
func FleetJUnit(w io.Writer, f Fleet) error {
	name := defaultToolName
	if f.Tool.Name != "" {
		name = f.Tool.Name
	}
	doc := JUnitTestsuites{Name: xmlSafe(name)}
	var total time.Duration
	for _, run := range f.Targets {
		run = f.target(run)
		suite := junitSuite(run)
		doc.Suites = append(doc.Suites, suite)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Errors += suite.Errors
		total += run.Duration
	}
	// The targets ran side by side: the document's time is the fleet's
	// wall clock, not the sum of the suites'.
	doc.Time = seconds(f.Duration)
	if f.Duration == 0 {
		doc.Time = seconds(total)
	}
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
