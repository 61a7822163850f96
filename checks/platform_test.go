package checks

import (
	"encoding/json"
	"os"
	"path/filepath"
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
