// Package fix turns the findings of a check into a reviewed remediation plan
// and applies it: the steps of every finding, ordered across rules by phase,
// each run in its own transaction under a lock timeout. It never drops
// anything, never restarts the server, and runs ALTER SYSTEM only when asked.
package fix

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// reload is the statement that loads ALTER SYSTEM changes that need no restart.
const reload = "SELECT pg_reload_conf();"

// Options are what the person asked fix to do beyond the default.
type Options struct {
	// OptIns are the enabled opt-in step kinds (rules.OptIn…).
	OptIns map[string]bool
	// CreateUser: create the connector role when it does not exist.
	CreateUser bool
}

// Step is a planned statement with the rules that asked for it.
type Step struct {
	rules.Step
	Rules []string // the rules whose findings it fixes, in registry order
	Why   string   // the first of those findings' messages
	// exec is the statement actually run when it differs from SQL, which
	// is what people see: a password never appears in a plan.
	exec string
	// password: the step sets a password and cannot run without one.
	password bool
}

// Exec is the statement to run.
func (s Step) Exec() string {
	if s.exec != "" {
		return s.exec
	}
	return s.SQL
}

// Manual is a finding fix cannot resolve by itself: a person has to act.
type Manual struct {
	Rule        string
	Message     string
	Remediation string
	SQL         []string // statements for the person to run, when any
	Reason      string   // why fix does not do it
}

// Plan is what fix would do, in order.
type Plan struct {
	Steps  []Step
	Manual []Manual
	// Declined are warnings fixed only by opt-in steps that were not
	// enabled: shown, but not pending.
	Declined []Manual
	// Incomplete lists rules that could not be judged: the plan may
	// miss what they would have found.
	Incomplete []rules.Result
}

// Pending reports whether anything is left to do.
func (p Plan) Pending() bool { return len(p.Steps) > 0 || len(p.Manual) > 0 }

// NeedsPassword reports whether the plan creates a role, whose password
// Build must be given before the plan is applied.
func (p Plan) NeedsPassword() bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.password })
}

// Evaluate judges f the way fix plans it: as the database will be when the
// plan's earlier steps have run, so that one plan does the whole job and a
// second one finds nothing.
//   - With CreateUser and the connector role missing, the rules see the
//     role as CREATE ROLE makes it (no attributes, no privileges beyond
//     PUBLIC's): the plan grants it everything it needs instead of
//     stopping at "role does not exist".
//   - With the set-logged opt-in, UNLOGGED captured tables are seen as
//     logged, so they also get their replica identity and publication
//     steps; the steps that make them logged come from judging them as
//     they are.
func Evaluate(reg *rules.Registry, f *facts.Facts, cfg map[string]rules.RuleConfig, opt Options) []rules.Result {
	if opt.CreateUser && needsRole(f) {
		planned := *f
		planned.Role = facts.Role{Name: f.ConnectorRole(), Exists: true, CanLogin: true}
		f = &planned
	}
	results := rules.Evaluate(reg, f, cfg)
	unlogged := f.Tables.UnloggedCaptured()
	if !opt.OptIns[rules.OptInSetLogged] || len(unlogged) == 0 {
		return results
	}
	// The tables unlogged-tables makes logged: partitions captured through
	// their partitioned table too.
	setLogged := map[string]bool{}
	for _, l := range unlogged {
		setLogged[l.Quoted] = true
	}
	logged := *f
	logged.Tables.Tables = slices.Clone(f.Tables.Tables)
	for i, t := range logged.Tables.Tables {
		if setLogged[t.Quoted] {
			logged.Tables.Tables[i].Persistence = 'p'
		}
	}
	after := rules.Evaluate(reg, &logged, cfg)
	for i, r := range results {
		if slices.ContainsFunc(r.Steps, func(s rules.Step) bool { return s.OptIn == rules.OptInSetLogged }) {
			after[i] = r
		}
	}
	return after
}

func needsRole(f *facts.Facts) bool {
	return f.Connect.OK() && f.Role.Err == nil && !f.Role.Exists && f.ConnectorRole() != ""
}

// Build plans the steps of every finding in results. f is the facts the
// results were judged from; password is the new role's, used only when the
// plan creates the role ("" while only planning: it is never shown anyway).
func Build(results []rules.Result, f *facts.Facts, opt Options, password string) Plan {
	var p Plan
	if opt.CreateUser && needsRole(f) {
		p.Steps = append(p.Steps, createRole(f.ConnectorRole(), password))
	}
	bySQL := map[string]int{}
	for _, r := range results {
		switch r.Status {
		case rules.StatusError:
			p.Incomplete = append(p.Incomplete, r)
			continue
		case rules.StatusFail, rules.StatusWarn:
		default:
			continue
		}
		var left []string
		reasons := map[string]bool{}
		for _, s := range r.Steps {
			switch {
			case s.Manual:
				left = append(left, s.SQL)
				reasons[strings.TrimSpace(s.Note)] = true
				continue
			case s.OptIn != "" && !opt.OptIns[s.OptIn]:
				left = append(left, s.SQL)
				reasons["fix runs this only with --"+s.OptIn] = true
				continue
			}
			if s.Restart {
				reasons["it takes effect only after a restart, which fix never does"] = true
			}
			if i, dup := bySQL[s.SQL]; dup {
				if !slices.Contains(p.Steps[i].Rules, r.Rule) {
					p.Steps[i].Rules = append(p.Steps[i].Rules, r.Rule)
				}
				if s.SQL == reload {
					// A reload loads every ALTER SYSTEM before it: it
					// must follow the last one, not the first.
					moved := p.Steps[i]
					p.Steps = slices.Delete(p.Steps, i, i+1)
					for sql, j := range bySQL {
						if j > i {
							bySQL[sql] = j - 1
						}
					}
					bySQL[s.SQL] = len(p.Steps)
					p.Steps = append(p.Steps, moved)
				}
				continue
			}
			bySQL[s.SQL] = len(p.Steps)
			p.Steps = append(p.Steps, Step{Step: s, Rules: []string{r.Rule}, Why: r.Message})
		}
		if len(r.Steps) == 0 {
			reasons["no SQL fixes this"] = true
		}
		if len(reasons) == 0 {
			continue
		}
		delete(reasons, "")
		m := Manual{Rule: r.Rule, Message: r.Message, Remediation: r.Remediation, SQL: left,
			Reason: strings.Join(sortedKeys(reasons), "; ")}
		if r.Status == rules.StatusWarn && declinedOnly(r.Steps, opt) {
			// A warning whose only fix is an opt-in the person did not
			// ask for is a choice they made, not pending work.
			p.Declined = append(p.Declined, m)
			continue
		}
		p.Manual = append(p.Manual, m)
	}
	// Stable: within a phase, steps keep the registry order of their rules.
	slices.SortStableFunc(p.Steps, func(a, b Step) int { return int(a.Phase) - int(b.Phase) })
	return p
}

// createRole makes the connector's login role. The plan shows the password
// masked; the statement run carries a SCRAM verifier, so the password
// itself never reaches the server or its logs.
func createRole(name, password string) Step {
	role := sqlident.Quote(name)
	s := Step{
		Step: rules.Step{
			Phase: rules.PhaseRoles,
			SQL:   fmt.Sprintf("CREATE ROLE %s WITH LOGIN PASSWORD '********';", role),
			Needs: "a superuser or a role with CREATEROLE",
			Note:  "the password comes from CDCPREFLIGHT_CONNECTOR_PASSWORD or a prompt; an ASCII password is sent as a SCRAM-SHA-256 verifier, never in clear",
		},
		Rules:    []string{"replication-privilege"},
		Why:      fmt.Sprintf("role %s does not exist (--create-user)", role),
		password: true,
	}
	if password != "" {
		s.exec = fmt.Sprintf("CREATE ROLE %s WITH LOGIN PASSWORD %s;", role, sqlident.Literal(passwordLiteral(password)))
	}
	return s
}

// declinedOnly reports whether every step is an opt-in left off.
func declinedOnly(steps []rules.Step, opt Options) bool {
	for _, s := range steps {
		if s.Manual || s.OptIn == "" || opt.OptIns[s.OptIn] {
			return false
		}
	}
	return len(steps) > 0
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
