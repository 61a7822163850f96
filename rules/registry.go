package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Registry is the ordered, validated set of rules.
type Registry struct {
	rules []Rule
	byID  map[string]int
}

// NewRegistry validates rules and keeps them in the given order. It rejects
// duplicate IDs and rules without documentation, so a rule cannot ship
// undocumented.
func NewRegistry(rs ...Rule) (*Registry, error) {
	reg := &Registry{byID: make(map[string]int, len(rs))}
	var errs []error
	for i, r := range rs {
		if err := validate(r); err != nil {
			errs = append(errs, err)
		}
		if _, dup := reg.byID[r.ID]; dup {
			errs = append(errs, fmt.Errorf("rule %q: duplicate ID", r.ID))
		}
		reg.byID[r.ID] = i
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	reg.rules = slices.Clone(rs)
	return reg, nil
}

func validate(r Rule) error {
	var problems []string
	if !idPattern.MatchString(r.ID) {
		problems = append(problems, "ID must be kebab-case")
	}
	if r.Title == "" || strings.HasSuffix(r.Title, ".") {
		problems = append(problems, "title must be set and not end with a period")
	}
	if !slices.Contains(Categories, r.Category) {
		problems = append(problems, fmt.Sprintf("unknown category %q", r.Category))
	}
	if r.Severity < Info || r.Severity > Error {
		problems = append(problems, "severity not set")
	}
	if strings.TrimSpace(r.Why) == "" {
		problems = append(problems, "no documentation of why it matters")
	}
	if strings.TrimSpace(r.Fix) == "" {
		problems = append(problems, "no documentation of how to fix")
	}
	if r.Since == "" {
		problems = append(problems, "no since version")
	}
	if r.Eval == nil {
		problems = append(problems, "no Eval")
	}
	problems = append(problems, validateNeeds(r)...)
	if len(problems) > 0 {
		return fmt.Errorf("rule %q: %s", r.ID, strings.Join(problems, "; "))
	}
	return nil
}

// All returns the rules in registry order.
func (r *Registry) All() []Rule { return slices.Clone(r.rules) }

// Lookup finds a rule by ID.
func (r *Registry) Lookup(id string) (Rule, bool) {
	i, ok := r.byID[id]
	if !ok {
		return Rule{}, false
	}
	return r.rules[i], true
}

// IDs returns every rule ID in registry order.
func (r *Registry) IDs() []string {
	ids := make([]string, len(r.rules))
	for i, rule := range r.rules {
		ids[i] = rule.ID
	}
	return ids
}

// validateNeeds: every rule says what it needs, in known section names,
// each once; a section is needed always or on some branches, not both.
func validateNeeds(r Rule) []string {
	var problems []string
	if len(r.Needs) == 0 {
		problems = append(problems, "no Needs (facts.SectionTarget when it needs nothing gathered)")
	}
	seen := map[facts.Section]bool{}
	for _, s := range slices.Concat(r.Needs, r.MayNeed) {
		switch {
		case !slices.Contains(facts.Sections, s):
			problems = append(problems, fmt.Sprintf("unknown fact section %q", s))
		case seen[s]:
			problems = append(problems, fmt.Sprintf("fact section %q listed twice", s))
		}
		seen[s] = true
	}
	if len(r.Needs) > 1 && slices.ContainsFunc(r.Needs, func(s facts.Section) bool {
		return s == facts.SectionConnect || s == facts.SectionTarget
	}) {
		problems = append(problems, "facts.SectionConnect and facts.SectionTarget stand alone: every other section needs the connection")
	}
	return problems
}
