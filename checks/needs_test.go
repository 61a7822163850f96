package checks

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// TestRulesNeedOnlyWhatTheyDeclare: a rule's outcome does not turn into
// error when a section it does not declare (in Needs or MayNeed) could not
// be gathered. Each rule is judged on every one of its cases that is not
// an error, with every undeclared section failed, and without the catalog
// connection when it declares no section read over it; the data stays, so
// only a guard on an undeclared section can make the rule error. And a
// section a rule needs only on some branches is needed on one of its cases.
func TestRulesNeedOnlyWhatTheyDeclare(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reg.All() {
		one, err := rules.NewRegistry(r)
		if err != nil {
			t.Fatal(err)
		}
		judge := func(tc ruleCase, fail func(f *facts.Facts)) rules.Result {
			f := healthy()
			if tc.mutate != nil {
				tc.mutate(f)
			}
			fail(f)
			return rules.Evaluate(one, f, nil)[0]
		}
		declared := slices.Concat(r.Needs, r.MayNeed)
		var undeclared []string
		failUndeclared := func(f *facts.Facts) {
			undeclared = nil
			for _, s := range facts.Sections {
				if !slices.Contains(declared, s) && failSection(f, s) {
					undeclared = append(undeclared, string(s))
				}
			}
			if !slices.ContainsFunc(declared, func(s facts.Section) bool { return s != facts.SectionTarget }) {
				f.Connect.Err = &facts.Error{Op: "connect", Message: "undeclared connection"}
				undeclared = append(undeclared, string(facts.SectionConnect))
				// The tunnel comes before the connection: a rule that
				// needs neither is judged behind a broken one too.
				f.SSHTunnel.Configured = true
				f.SSHTunnel.Err = &facts.Error{Op: "open the SSH tunnel", Message: "undeclared tunnel"}
				undeclared = append(undeclared, string(facts.SectionSSHTunnel))
			}
		}
		branchNeeded := map[facts.Section]bool{}
		for _, family := range caseFamilies {
			for _, tc := range family {
				if tc.rule != r.ID || tc.want == rules.StatusError {
					continue
				}
				if res := judge(tc, failUndeclared); res.Status == rules.StatusError {
					t.Errorf("%s/%s: error with %s failed, none of them declared: %s", r.ID, tc.name, strings.Join(undeclared, ", "), res.Message)
				}
				for _, s := range r.MayNeed {
					if judge(tc, func(f *facts.Facts) { failBranch(f, s) }).Status == rules.StatusError {
						branchNeeded[s] = true
					}
				}
			}
		}
		for _, s := range r.MayNeed {
			if !branchNeeded[s] {
				t.Errorf("%s: MayNeed lists %s, but no case of it errors without it", r.ID, s)
			}
		}
	}
}

// failSection sets the Err of the part of f that section s names (by its
// JSON key), reporting whether there is one.
func failSection(f *facts.Facts, s facts.Section) bool {
	v := reflect.ValueOf(f).Elem()
	for i := range v.NumField() {
		if strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0] != string(s) || s == facts.SectionConnect || s == facts.SectionSSHTunnel {
			continue
		}
		errField := v.Field(i).FieldByName("Err")
		if !errField.IsValid() {
			return false
		}
		errField.Set(reflect.ValueOf(&facts.Error{Op: "read " + string(s), Message: "undeclared section failed"}))
		return true
	}
	return false
}

// failBranch fails section s for a rule that needs it on some branches:
// the connection itself too (ssh-tunnel needs it only without a tunnel).
func failBranch(f *facts.Facts, s facts.Section) {
	if s == facts.SectionConnect {
		f.Connect.Err = &facts.Error{Op: "connect", Message: "branch failed"}
		return
	}
	failSection(f, s)
}
