// Package rules is the engine: rule metadata and its documentation pages,
// statuses and severities, the registry, and the runner that judges
// gathered facts. The rules themselves live in package checks.
package rules

import (
	"fmt"
	"iter"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// Severity is how much a finding of a rule matters.
type Severity int

// Severities, in increasing order.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText makes a severity appear by name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the names String returns.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Status is the verdict of one rule.
type Status string

// Statuses. A finding is fail when its severity is error and warn otherwise.
const (
	StatusPass  Status = "pass"
	StatusWarn  Status = "warn"
	StatusFail  Status = "fail"
	StatusSkip  Status = "skip"
	StatusError Status = "error"
)

// Categories group rules in reports and name JUnit classnames.
const (
	CategoryServer      = "server"
	CategoryConnection  = "connection"
	CategoryPrivileges  = "privileges"
	CategorySnapshot    = "snapshot"
	CategoryPublication = "publication"
	CategorySlot        = "slot"
	CategoryTables      = "tables"
	// CategoryConnector: what the connector's own configuration
	// (--connector-config) makes it do.
	CategoryConnector = "connector"
)

// Categories lists the categories in report order.
var Categories = []string{
	CategoryServer, CategoryConnection, CategoryPrivileges, CategorySnapshot,
	CategoryPublication, CategorySlot, CategoryTables, CategoryConnector,
}

// Rule is one check: stable metadata and documentation, plus Eval, a pure
// function of the facts. Rules never talk to the database.
type Rule struct {
	ID       string // stable, kebab-case: tests, configs and users depend on it
	Title    string // one line, no trailing period
	Category string
	Severity Severity // default; config may override
	Since    string   // tool version that introduced it
	// Why says what breaks, for whom, and when: the explain page's body.
	Why string
	// Fix says how to remedy it in general, with SQL; Eval's outcome may
	// carry a more specific, platform-aware remediation.
	Fix string
	// Needs lists the fact sections Eval cannot judge without. The runner
	// checks them before Eval (with Need), so Eval never sees one missing:
	// when the catalog connection failed or one of them could not be
	// gathered, the rule is error with that cause (the connection's first,
	// then the first missing section in this order). Every rule lists at
	// least one: facts.SectionConnect when it reads only what was probed
	// over the connection, facts.SectionTarget when it is judged whether
	// or not the connection succeeded.
	Needs []facts.Section
	// MayNeed lists the sections Eval needs only on some branches (a
	// snapshot mode, a server version), where it guards them itself with
	// Need: the runner cannot know the branch. Any other section Eval
	// reads may be missing, and Eval judges without it.
	MayNeed []facts.Section

	Eval func(f *facts.Facts) Outcome
}

// Need returns an error outcome, and ok false, when one of sections is
// missing from f: the catalog connection's failure first, then the first
// section in the order given that could not be gathered. The runner
// applies it with a rule's Needs before Eval.
func Need(f *facts.Facts, sections ...facts.Section) (o Outcome, ok bool) {
	for _, s := range sections {
		if err := f.Missing(s); err != nil {
			return Errored(err), false
		}
	}
	return Outcome{}, true
}

// Outcome is what Eval returns. Use the constructors: Pass, Finding, Skip, Errored.
type Outcome struct {
	Status Status
	// Severity, when set, overrides the rule's default for this outcome
	// (server-version warns past end of life but fails below 10).
	Severity    Severity
	Message     string
	Objects     []string
	Remediation string
	// Steps fix the finding; reports show their SQL as fix_sql.
	Steps []Step
	// stepSeq yields more steps, after Steps, when they are wanted: a rule
	// with a step per table leaves them to be built one at a time, so that
	// a check, which shows only their SQL, never holds them all.
	stepSeq iter.Seq[Step]
}

// Pass is a rule satisfied.
func Pass(format string, a ...any) Outcome {
	return Outcome{Status: StatusPass, Message: fmt.Sprintf(format, a...)}
}

// Finding is a rule violated; the runner turns it into fail or warn by severity.
func Finding(format string, a ...any) Outcome {
	return Outcome{Status: StatusFail, Message: fmt.Sprintf(format, a...)}
}

// Skip is a rule that does not apply, with the reason.
func Skip(format string, a ...any) Outcome {
	return Outcome{Status: StatusSkip, Message: fmt.Sprintf(format, a...)}
}

// Errored is a rule that could not be judged because a fact is missing.
func Errored(err *facts.Error) Outcome {
	msg := "facts could not be gathered"
	if err != nil {
		msg = err.Error()
	}
	return Outcome{Status: StatusError, Message: msg}
}

// WithObjects names the objects a finding is about.
func (o Outcome) WithObjects(objs ...string) Outcome {
	o.Objects = append(o.Objects, objs...)
	return o
}

// WithRemediation attaches what to do when no SQL does it (WithSteps when SQL can).
func (o Outcome) WithRemediation(text string) Outcome {
	o.Remediation = text
	return o
}

// WithSeverity sets the severity of this outcome.
func (o Outcome) WithSeverity(s Severity) Outcome {
	o.Severity = s
	return o
}
