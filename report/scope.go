package report

import (
	"bytes"
	"fmt"
	"strings"
)

// Scope is the capture scope a connector configuration's filters select:
// the JSON report carries it whole, the table its summary (and, verbose,
// the tables).
type Scope struct {
	// ConnectorConfig is the file the filters come from.
	ConnectorConfig string `json:"connector_config"`
	// Candidates is the number of tables the filters were applied to.
	Candidates  int            `json:"candidates"`
	Captured    []string       `json:"captured"`
	NotCaptured []string       `json:"not_captured"`
	Patterns    []ScopePattern `json:"patterns"`
	// Error says why the scope could not be computed ("" when it was).
	Error string `json:"error,omitempty"`
}

// ScopePattern is one filter pattern and whether it matched a table.
type ScopePattern struct {
	List    string `json:"list"`
	Pattern string `json:"pattern"`
	Matched bool   `json:"matched"`
}

// scopeListMax caps the tables the table report lists without --verbose.
const scopeListMax = 20

// writeScope summarises the capture scope under the table.
func writeScope(w *bytes.Buffer, s *Scope, verbose bool) {
	if s == nil {
		return
	}
	fmt.Fprintf(w, "\nCapture scope of %s:", printable(s.ConnectorConfig))
	if s.Error != "" {
		w.WriteString(" not computed: " + printable(s.Error) + "\n")
		return
	}
	fmt.Fprintf(w, " %d of %d tables captured\n", len(s.Captured), s.Candidates)
	var unused []string
	for _, p := range s.Patterns {
		if !p.Matched {
			unused = append(unused, p.List+" "+p.Pattern)
		}
	}
	if len(unused) > 0 {
		w.WriteString("  Patterns matching no table: " + printable(strings.Join(unused, ", ")) + "\n")
	}
	list := func(label string, names []string) {
		w.WriteString("  " + label + ":")
		for _, n := range names {
			w.WriteString("\n    " + printable(n))
		}
		w.WriteString("\n")
	}
	switch {
	case verbose || len(s.Captured) <= scopeListMax:
		list("Captured", s.Captured)
	default:
		fmt.Fprintf(w, "  Captured: %s and %d more (--verbose lists them all; the JSON report too)\n",
			printable(strings.Join(s.Captured[:scopeListMax], ", ")), len(s.Captured)-scopeListMax)
	}
	if verbose && len(s.NotCaptured) > 0 {
		list("Not captured", s.NotCaptured)
	} else if len(s.NotCaptured) > 0 {
		fmt.Fprintf(w, "  Not captured: %d tables (--verbose lists them; the JSON report too)\n", len(s.NotCaptured))
	}
}
