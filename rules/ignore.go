package rules

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Ignore is a finding the team accepted, written down with its reason: a
// rule, and optionally the objects of its findings it covers (exact names
// or path.Match globs: "public.audit_*"). It holds through the day of
// Expires (UTC) and not after, so that an accepted risk is looked at again.
type Ignore struct {
	Rule    string
	Objects []string // empty: the whole finding, whatever its objects
	Reason  string
	Expires time.Time // zero: it does not expire
	// Where is where the entry is declared, for messages:
	// "ignore entry 2 (.cdcpreflight.yml, line 14)".
	Where string
	File  string // the config file, for annotations; "" when unknown
	Line  int
}

// Ignored is what one ignore entry took out of a finding. It stays in the
// result, so that reports always say what was not counted, and why.
type Ignored struct {
	// Objects are the finding's objects the entry covered; when the entry
	// names no objects, all the finding had (possibly none).
	Objects []string `json:"objects"`
	Reason  string   `json:"reason"`
	// Expires is the entry's last day, YYYY-MM-DD, or "".
	Expires string `json:"expires"`
}

// ConfigWarning is a finding about the configuration rather than the database:
// an ignore that expired or matched nothing. Warnings are reported with
// the results but are not results: they are not counted in the summary
// and do not change the exit code (an expired ignore's finding counts
// again by its own severity, which is how it fails a run).
type ConfigWarning struct {
	Kind    string `json:"kind"` // WarningIgnoreExpired or WarningIgnoreUnused
	Message string `json:"message"`
	File    string `json:"file"`
	Line    int    `json:"line"`
}

// Warning kinds.
const (
	WarningIgnoreExpired = "ignore-expired"
	WarningIgnoreUnused  = "ignore-unused"
)

// ExpiresDate formats an expiry as configs write it.
func (ig Ignore) ExpiresDate() string {
	if ig.Expires.IsZero() {
		return ""
	}
	return ig.Expires.Format(time.DateOnly)
}

// Expired reports whether the entry no longer holds at now: it holds
// through its Expires day, in UTC.
func (ig Ignore) Expired(now time.Time) bool {
	if ig.Expires.IsZero() {
		return false
	}
	y, m, d := ig.Expires.Date()
	return !now.UTC().Before(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC))
}

// ValidObjectPattern reports whether p is a pattern ApplyIgnores can use.
func ValidObjectPattern(p string) error {
	if strings.TrimSpace(p) == "" {
		return fmt.Errorf("an empty object name")
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("object pattern %q: %w", p, err)
	}
	return nil
}

// ApplyIgnores takes what ignores cover out of the findings of results
// (fail and warn; an error is never ignored: the assessment would be
// incomplete without anyone noticing) and returns the results with what
// was taken recorded in Ignored, and warnings about the ignores
// themselves. A finding all of whose objects are ignored, or that an entry
// without objects covers, passes; its fix steps go with it, so fix plans
// nothing for it. A finding only some of whose objects are ignored keeps
// its status with the other objects.
//
// An expired entry covers nothing and is a warning. An entry, or an object
// pattern of one, that covers nothing is a warning too, unless its rule
// could not be judged (then nobody can tell).
func ApplyIgnores(results []Result, ignores []Ignore, now time.Time) ([]Result, []ConfigWarning) {
	if len(ignores) == 0 {
		return results, nil
	}
	out := slices.Clone(results)
	var warnings []ConfigWarning
	active := make([]bool, len(ignores))
	for i, ig := range ignores {
		if ig.Expired(now) {
			warnings = append(warnings, ConfigWarning{Kind: WarningIgnoreExpired, File: ig.File, Line: ig.Line,
				Message: fmt.Sprintf("%s for rule %s%s expired on %s and no longer applies: its finding counts again (its reason: %s)",
					ig.Where, ig.Rule, objectsNote(ig.Objects), ig.ExpiresDate(), ig.Reason)})
			continue
		}
		active[i] = true
	}
	// used[i][j]: pattern j of entry i covered an object; for an entry
	// without objects, used[i][0] says it covered a finding.
	used := make([][]bool, len(ignores))
	for i, ig := range ignores {
		used[i] = make([]bool, max(1, len(ig.Objects)))
	}
	judged := map[string]bool{}
	for k := range out {
		r := &out[k]
		judged[r.Rule] = r.Status != StatusError
		if r.Status != StatusFail && r.Status != StatusWarn {
			continue
		}
		applyToResult(r, ignores, active, used)
	}
	for i, ig := range ignores {
		if !active[i] || !judged[ig.Rule] {
			continue
		}
		if len(ig.Objects) == 0 {
			if !used[i][0] {
				warnings = append(warnings, ConfigWarning{Kind: WarningIgnoreUnused, File: ig.File, Line: ig.Line,
					Message: fmt.Sprintf("%s for rule %s matched no finding: remove it", ig.Where, ig.Rule)})
			}
			continue
		}
		var unused []string
		for j, p := range ig.Objects {
			if !used[i][j] {
				unused = append(unused, p)
			}
		}
		if len(unused) > 0 {
			warnings = append(warnings, ConfigWarning{Kind: WarningIgnoreUnused, File: ig.File, Line: ig.Line,
				Message: fmt.Sprintf("%s for rule %s: %s matched no object of its findings: remove %s, or correct the %s",
					ig.Where, ig.Rule, quoteList(unused), plural(len(unused), "it", "them"), plural(len(unused), "name", "names"))})
		}
	}
	return out, warnings
}

// applyToResult takes the objects the active entries cover out of r.
func applyToResult(r *Result, ignores []Ignore, active []bool, used [][]bool) {
	remaining := r.Objects
	var taken []Ignored
	whole := false
	for i, ig := range ignores {
		if !active[i] || ig.Rule != r.Rule || whole {
			continue
		}
		if len(ig.Objects) == 0 {
			taken = append(taken, Ignored{Objects: nonNilStrings(remaining), Reason: ig.Reason, Expires: ig.ExpiresDate()})
			remaining, whole, used[i][0] = nil, true, true
			continue
		}
		var covered, kept []string
		for _, obj := range remaining {
			hit := false
			for j, p := range ig.Objects {
				if ok, _ := path.Match(p, obj); ok || p == obj {
					used[i][j], hit = true, true
				}
			}
			if hit {
				covered = append(covered, obj)
			} else {
				kept = append(kept, obj)
			}
		}
		if len(covered) > 0 {
			taken = append(taken, Ignored{Objects: covered, Reason: ig.Reason, Expires: ig.ExpiresDate()})
			remaining = kept
		}
	}
	if len(taken) == 0 {
		return
	}
	r.Ignored = append(r.Ignored, taken...)
	r.Objects = remaining
	if whole || len(remaining) == 0 {
		r.Status = StatusPass
		r.Remediation, r.FixSQL, r.Steps, r.fixLines = "", nil, nil, nil
	}
}

// IgnoredObjects counts the objects taken out of r, and whether it passes
// only because of ignores.
func (r Result) IgnoredObjects() (n int, wholly bool) {
	for _, ig := range r.Ignored {
		n += len(ig.Objects)
	}
	return n, len(r.Ignored) > 0 && r.Status == StatusPass
}

func objectsNote(objs []string) string {
	if len(objs) == 0 {
		return ""
	}
	return ", objects " + quoteList(objs)
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}
