package checks

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/rules from the rules")

// docMajors are the PostgreSQL majors a page says the rule judges or skips.
var docMajors = []int{10, 11, 12, 13, 14, 15, 16, 17, 18}

// docsDir is docs/rules from this package.
var docsDir = filepath.Join("..", filepath.FromSlash(rules.DocsDir))

// TestRuleDocs keeps docs/rules/<id>.md, one page per rule, and its index in
// step with the rules: their metadata, and what their fact-snapshot cases
// show them doing on each major and each platform. A new rule gets its page
// from its metadata and cases alone. Regenerate with
//
//	go test ./checks -run TestRuleDocs -update
func TestRuleDocs(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"README.md": rules.PageIndex(reg.All())}
	for _, r := range reg.All() {
		want[r.ID+".md"] = rules.Page(r, observe(t, reg, r))
	}
	if *updateDocs {
		if err := os.MkdirAll(docsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(docsDir, "*.md"))
		for _, p := range old {
			if _, keep := want[filepath.Base(p)]; !keep {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(docsDir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join(docsDir, name))
		switch {
		case err != nil:
			t.Errorf("%s/%s: %v (run go test ./checks -run TestRuleDocs -update)", rules.DocsDir, name, err)
		case !bytes.Equal(got, []byte(text)):
			t.Errorf("%s/%s is out of step with the rule (run go test ./checks -run TestRuleDocs -update)\n%s",
				rules.DocsDir, name, firstDifference(string(got), text))
		}
	}
	pages, _ := filepath.Glob(filepath.Join(docsDir, "*.md"))
	for _, p := range pages {
		if _, ok := want[filepath.Base(p)]; !ok {
			t.Errorf("%s: no rule has this page (run go test ./checks -run TestRuleDocs -update)", p)
		}
	}
}

// observe judges the rule's cases again on every major and platform.
func observe(t *testing.T, reg *rules.Registry, r rules.Rule) rules.Observed {
	t.Helper()
	var cases []ruleCase
	for _, family := range caseFamilies {
		for _, tc := range family {
			if tc.rule == r.ID {
				cases = append(cases, tc)
			}
		}
	}
	o := rules.Observed{Majors: docMajors, Skipped: map[int]string{}}
	judge := func(f *facts.Facts) rules.Result {
		for _, res := range rules.Evaluate(reg, f, nil) {
			if res.Rule == r.ID {
				return res
			}
		}
		t.Fatalf("rule %s not in the registry", r.ID)
		return rules.Result{}
	}
	snapshot := func(tc ruleCase) *facts.Facts {
		f := healthy()
		if tc.mutate != nil {
			tc.mutate(f)
		}
		return f
	}

	// Versions: a major is judged when some case (or the healthy
	// snapshot) passes or finds something on it, and skipped when none
	// does and some case says skip. The cases of missing facts error
	// whatever the version and say nothing about it.
	for _, major := range docMajors {
		skip := ""
		judged := false
		for _, tc := range append([]ruleCase{{}}, cases...) {
			f := snapshot(tc)
			f.Server.VersionNum = major*10000 + 1
			f.Server.Version = fmt.Sprintf("%d.1", major)
			switch res := judge(f); res.Status {
			case rules.StatusPass, rules.StatusFail, rules.StatusWarn:
				judged = true
			case rules.StatusSkip:
				if skip == "" {
					skip = res.Message
				}
			}
			if judged {
				break
			}
		}
		if !judged && skip != "" {
			o.Skipped[major] = skip
		}
	}

	// Platforms: each finding case on each platform. A case that sets the
	// platform itself speaks for that platform alone.
	base := healthy().Platform.Name
	shown := map[string]bool{} // platform + advice already on the page
	for _, tc := range cases {
		if tc.want != rules.StatusFail && tc.want != rules.StatusWarn {
			continue
		}
		var fx rules.ObservedFix
		platforms := facts.PlatformNames
		if p := snapshot(tc).Platform.Name; p != base {
			platforms = []string{p}
		}
		for _, p := range platforms {
			f := healthy()
			f.Platform.Name = p
			if tc.mutate != nil {
				tc.mutate(f)
			}
			res := judge(f)
			if res.Status != rules.StatusFail && res.Status != rules.StatusWarn {
				continue
			}
			if fx.Finding == "" {
				fx.Finding = res.Message
			}
			i := slices.IndexFunc(fx.ByPlatform, func(a rules.PlatformAdvice) bool {
				return a.Remediation == res.Remediation && slices.Equal(a.SQL, res.FixSQL)
			})
			if i < 0 {
				fx.ByPlatform = append(fx.ByPlatform, rules.PlatformAdvice{Remediation: res.Remediation, SQL: res.FixSQL})
				i = len(fx.ByPlatform) - 1
			}
			fx.ByPlatform[i].Platforms = append(fx.ByPlatform[i].Platforms, p)
		}
		// Advice a platform already got for another case says nothing new.
		var fresh []rules.PlatformAdvice
		for _, a := range fx.ByPlatform {
			var ps []string
			for _, p := range a.Platforms {
				key := fmt.Sprintf("%s %q %q", p, a.Remediation, a.SQL)
				if !shown[key] {
					shown[key] = true
					ps = append(ps, p)
				}
			}
			if len(ps) > 0 {
				a.Platforms = ps
				fresh = append(fresh, a)
			}
		}
		if len(fresh) > 0 {
			fx.ByPlatform = fresh
			o.Fixes = append(o.Fixes, fx)
		}
	}
	return o
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  file: %q\n  rule: %q", i+1, gl, wl)
		}
	}
	return ""
}
