package checks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// platformSnapshot is a testdata/platforms file: a platform's documented
// signals, the facts that differ from a healthy server there, and what the
// rules must advise.
type platformSnapshot struct {
	About   string `json:"about"`
	Signals struct {
		Host          string            `json:"host"`
		Settings      map[string]string `json:"settings"`
		Roles         []string          `json:"roles"`
		AuroraVersion bool              `json:"aurora_version"`
	} `json:"signals"`
	Facts json.RawMessage `json:"facts"`
	Want  struct {
		Platform    string            `json:"platform"`
		Remediation map[string]string `json:"remediation"` // rule → text its remediation must hold
	} `json:"want"`
}

// TestPlatformSnapshots: each platform is detected from its signals, and
// findings there are remedied that platform's way.
func TestPlatformSnapshots(t *testing.T) {
	files, err := filepath.Glob("../testdata/platforms/*.json")
	if err != nil || len(files) < 7 {
		t.Fatalf("platform snapshots: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var snap platformSnapshot
			if err := json.Unmarshal(data, &snap); err != nil {
				t.Fatal(err)
			}
			p := gather.DetectPlatform(gather.Signals{Host: snap.Signals.Host, Settings: snap.Signals.Settings,
				Roles: snap.Signals.Roles, AuroraVersion: snap.Signals.AuroraVersion})
			if p.Name != snap.Want.Platform {
				t.Fatalf("detected %s (%v), want %s", p.Name, p.Evidence, snap.Want.Platform)
			}
			// The snapshot's facts overlay a healthy server's.
			f := healthy()
			f.Settings.Values = nil
			if err := json.Unmarshal(snap.Facts, f); err != nil {
				t.Fatal(err)
			}
			f.Platform = p
			reg, err := Registry()
			if err != nil {
				t.Fatal(err)
			}
			results := map[string]rules.Result{}
			for _, r := range rules.Evaluate(reg, f, nil) {
				results[r.Rule] = r
			}
			for rule, want := range snap.Want.Remediation {
				r, ok := results[rule]
				if !ok {
					t.Errorf("no rule %s", rule)
					continue
				}
				if r.Status != rules.StatusFail && r.Status != rules.StatusWarn {
					t.Errorf("%s = %s, want a finding: %s", rule, r.Status, r.Message)
					continue
				}
				text := r.Remediation + "\n" + strings.Join(r.FixSQL, "\n")
				if !strings.Contains(text, want) {
					t.Errorf("%s remediation lacks %q:\n%s", rule, want, text)
				}
			}
			if f.Platform.Name != facts.PlatformSelfHosted {
				for _, r := range results {
					for _, sql := range r.FixSQL {
						if strings.HasPrefix(sql, "ALTER SYSTEM") {
							t.Errorf("%s advises ALTER SYSTEM on %s", r.Rule, f.Platform.Name)
						}
					}
				}
			}
		})
	}
}

// TestPlatformAdviceIsComplete: every platform facts names has an entry in
// platforms, and every entry (unknownPlatform too) sets every field, so a
// platform added or a field added without advice fails here rather than
// falling through to another platform's advice. Each piece of advice is
// also asked for on every supported major: none may come back empty, and
// no managed platform may be told to run ALTER SYSTEM.
func TestPlatformAdviceIsComplete(t *testing.T) {
	entries := map[string]platformAdvice{"heroku": unknownPlatform} // a name platforms lacks
	for _, name := range facts.PlatformNames {
		if _, titled := platformTitles[name]; !titled && name != facts.PlatformSelfHosted {
			t.Errorf("platformTitles has no title for %s, so advice would say %q", name, name)
		}
		p, ok := platforms[name]
		if !ok {
			t.Errorf("platforms has no entry for %s", name)
			continue
		}
		entries[name] = p
	}
	for name := range platforms {
		if !slices.Contains(facts.PlatformNames, name) {
			t.Errorf("platforms has an entry for %q, which is not in facts.PlatformNames", name)
		}
	}
	if _, ok := platforms["heroku"]; ok {
		t.Fatal("heroku must be a name platforms lacks")
	}

	fields := adviceFields(reflect.TypeOf(platformAdvice{}), "")
	for name, p := range entries {
		v, complete := reflect.ValueOf(p), true
		for _, field := range fields {
			if v.FieldByIndex(field.Index).IsZero() {
				t.Errorf("%s: %s is not set", name, field.Name)
				complete = false
			}
		}
		if !complete {
			continue // calling a func that is not set would only panic
		}
		for _, major := range []int{0, 10, 13, 14, 15, 16, 17, 18} {
			samples := sampleAdvice(p, name, major)
			for _, field := range fields {
				s, ok := samples[field.Name]
				if !ok {
					t.Errorf("sampleAdvice does not ask for %s", field.Name)
					continue
				}
				if !s.set {
					t.Errorf("%s, PostgreSQL %d: %s says nothing", name, major, field.Name)
				}
				for _, step := range s.steps {
					if strings.HasPrefix(step.SQL, "ALTER SYSTEM") && name != facts.PlatformSelfHosted && name != "heroku" {
						t.Errorf("%s, PostgreSQL %d: %s advises %s on a managed platform", name, major, field.Name, step.SQL)
					}
				}
			}
		}
	}
}

// adviceField is a field of platformAdvice, or of a struct in it, that
// holds one piece of advice: a note counts as one.
type adviceField struct {
	Name  string // "capWAL", "slotRemoval.risk"
	Index []int
}

func adviceFields(typ reflect.Type, prefix string) []adviceField {
	var out []adviceField
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(note{}) {
			for _, sub := range adviceFields(f.Type, prefix+f.Name+".") {
				out = append(out, adviceField{sub.Name, append([]int{i}, sub.Index...)})
			}
			continue
		}
		out = append(out, adviceField{prefix + f.Name, []int{i}})
	}
	return out
}

// adviceSample is what one field says: set when it says something (for a
// note: when it is says or nothing).
type adviceSample struct {
	set   bool
	steps []rules.Step
}

// sampleAdvice asks every field of p for its advice; reflection cannot
// call a func in an unexported field, so the fields are listed here, and
// the test fails when one is missing.
func sampleAdvice(p platformAdvice, name string, major int) map[string]adviceSample {
	text := func(s string, steps []rules.Step) adviceSample { return adviceSample{set: s != "", steps: steps} }
	is := func(n note) adviceSample { return adviceSample{set: n.set} }
	out := map[string]adviceSample{}
	out["enableLogical"] = text(p.enableLogical())
	out["raiseLimit"] = text(p.raiseLimit("max_replication_slots", 11))
	out["grantReplication"] = text(p.grantReplication(major, "streamkap_user"))
	out["replicationMissing"] = text(p.replicationMissing, nil)
	out["grantBypassRLS"] = text(p.grantBypassRLS(major, "streamkap_user", "If BYPASSRLS cannot be granted, add a policy."))
	out["hbaNote"] = text(p.hbaNote(name), nil)
	out["standbyFeedback"] = text(p.standbyFeedback())
	out["capWAL"] = text(p.capWAL())
	out["idleSlotTimeout"] = text(p.idleSlotTimeout())
	out["publishAll"] = text(p.publishAll, nil)
	out["publicationOwner"] = is(p.publicationOwner)
	out["slotCreatorNeeds"] = text(p.slotCreatorNeeds, nil)
	out["slotCreator"] = text(p.slotCreator, nil)
	out["slotRemoval.onCreate"] = is(p.slotRemoval.onCreate)
	out["slotRemoval.risk"] = is(p.slotRemoval.risk(1))
	out["slotRemoval.advice"] = is(p.slotRemoval.advice)
	out["failover.survives"] = is(p.failover.survives)
	out["failover.before17"] = is(p.failover.before17)
	out["failover.before17Severity"] = adviceSample{set: p.failover.before17Severity != 0}
	out["failover.unseen"] = is(p.failover.unseen)
	out["failover.sync17"] = text(p.failover.sync17, nil)
	out["setReloadable"] = text(p.setReloadable("synchronized_standby_slots", "'standby1'"))
	out["raiseConnections"] = text(p.raiseConnections(120))
	out["directHost"] = text(p.directHost, nil)
	return out
}
