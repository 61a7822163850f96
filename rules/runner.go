package rules

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// RuleConfig is the per-rule part of the configuration.
type RuleConfig struct {
	Disabled bool
	Severity Severity // 0: the rule's own
}

// Result is one rule's verdict as reports show it.
type Result struct {
	Rule        string   `json:"rule"`
	Title       string   `json:"title"`
	Category    string   `json:"category"`
	Severity    Severity `json:"severity"`
	Status      Status   `json:"status"`
	Message     string   `json:"message"`
	Objects     []string `json:"objects"`
	Remediation string   `json:"remediation"`
	// FixSQL is the SQL of Steps, as reports show it: read it with
	// FixLines, which also yields the lines a check left unbuilt.
	FixSQL   []string      `json:"fix_sql"`
	Steps    []Step        `json:"-"`
	Duration time.Duration `json:"-"`

	// fixLines, in a check's result (EvalOptions.SQLOnly) for a rule that
	// builds its steps on demand, yields FixSQL's lines one at a time,
	// FixSQL being nil: a line per table is not held.
	fixLines iter.Seq[string]

	// Ignored is what the config's ignores took out of the finding (see
	// ApplyIgnores); reports list it so that nothing is hidden silently.
	Ignored []Ignored `json:"ignored,omitempty"`
}

// FixLines yields the lines of the result's fix SQL, as FixSQL holds them
// or, in a check's result, as they are built.
func (r Result) FixLines() iter.Seq[string] {
	if r.fixLines != nil {
		return r.fixLines
	}
	return slices.Values(r.FixSQL)
}

// HasFix reports whether the result has fix SQL.
func (r Result) HasFix() bool { return len(r.FixSQL) > 0 || r.fixLines != nil }

// Evaluate judges the facts with every rule of reg, in registry order. A rule
// that panics becomes an error result and the others still run.
func Evaluate(reg *Registry, f *facts.Facts, cfg map[string]RuleConfig) []Result {
	return EvaluateWith(reg, f, cfg, EvalOptions{})
}

// EvalOptions say what results must hold beyond what reports show.
type EvalOptions struct {
	// SQLOnly leaves Result.Steps empty: FixLines yields their SQL, which
	// is all a report shows, building a rule's per-table steps only as it
	// is read (see Outcome.WithStepSeq). Fix plans from Steps, so only a
	// check may set it; at 100,000 tables it saves holding a step
	// (statement, owner, lock texts) per table.
	SQLOnly bool
}

// EvaluateWith is Evaluate with options.
func EvaluateWith(reg *Registry, f *facts.Facts, cfg map[string]RuleConfig, opt EvalOptions) []Result {
	results := make([]Result, 0, len(reg.rules))
	for _, r := range reg.rules {
		results = append(results, evalOne(r, f, cfg[r.ID], opt))
	}
	return results
}

func evalOne(r Rule, f *facts.Facts, rc RuleConfig, opt EvalOptions) (res Result) {
	res = Result{Rule: r.ID, Title: r.Title, Category: r.Category, Severity: r.Severity}
	if rc.Severity != 0 {
		res.Severity = rc.Severity
	}
	if rc.Disabled {
		res.Status = StatusSkip
		res.Message = "disabled in configuration"
		return res
	}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		if p := recover(); p != nil {
			res.Status = StatusError
			res.Message = fmt.Sprintf("rule crashed: %v (please report this)", p)
			res.Objects, res.Remediation, res.FixSQL, res.Steps, res.fixLines = nil, "", nil, nil, nil
		}
	}()
	out, ok := Need(f, r.Needs...)
	if ok {
		out = r.Eval(f)
	}
	res.Message = out.Message
	res.Objects = out.Objects
	res.Status = out.Status
	switch out.Status {
	case StatusFail, StatusWarn:
		if rc.Severity == 0 && out.Severity != 0 {
			res.Severity = out.Severity
		}
		res.Status = StatusWarn
		if res.Severity == Error {
			res.Status = StatusFail
		}
		res.Remediation = out.Remediation
		if res.Remediation == "" {
			res.Remediation = r.Fix
		}
		switch {
		case !opt.SQLOnly:
			res.Steps = slices.Collect(iter.Seq[Step](out.allSteps))
			res.FixSQL = stepsSQL(slices.Values(res.Steps))
		case out.stepSeq != nil:
			res.fixLines = lazySQL(out.allSteps)
		default:
			res.FixSQL = stepsSQL(slices.Values(out.Steps))
		}
	case StatusPass, StatusSkip, StatusError:
	default:
		res.Status = StatusError
		res.Message = fmt.Sprintf("rule returned unknown status %q (please report this)", out.Status)
	}
	return res
}

// Summary counts results by status.
type Summary struct {
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
}

// Summarize counts results by status.
func Summarize(results []Result) Summary {
	var s Summary
	for _, r := range results {
		switch r.Status {
		case StatusPass:
			s.Pass++
		case StatusWarn:
			s.Warn++
		case StatusFail:
			s.Fail++
		case StatusSkip:
			s.Skip++
		case StatusError:
			s.Error++
		}
	}
	return s
}

// ExitCode maps results to the contract: 2 when any rule errored (the
// assessment is incomplete), 1 when a finding is at or above failOn, else 0.
func ExitCode(results []Result, failOn Severity) int {
	code := 0
	for _, r := range results {
		if r.Status == StatusError {
			return 2
		}
		if Failing(r, failOn) {
			code = 1
		}
	}
	return code
}

// Failing reports whether a result counts as a failure at failOn: reports use
// it to decide JUnit failure vs passing-with-output.
func Failing(r Result, failOn Severity) bool {
	if failOn == 0 {
		failOn = Error
	}
	return r.Status == StatusFail || (r.Status == StatusWarn && r.Severity >= failOn)
}
