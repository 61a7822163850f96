package report

import (
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
	return writeJUnit(w, doc)
}
