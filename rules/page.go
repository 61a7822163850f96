package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// DocsDir is where the per-rule pages live in the repository, and DocsURL
// where they are read online: explain points to both.
const (
	DocsDir = "docs/rules"
	DocsURL = "https://github.com/cdcpreflight/cdcpreflight/blob/main/docs/rules"
)

// PagePath is a rule's page in the repository: docs/rules/<id>.md.
func PagePath(id string) string { return DocsDir + "/" + id + ".md" }

// PageURL is a rule's page online.
func PageURL(id string) string { return DocsURL + "/" + id + ".md" }

// Observed is what a rule was seen to do, for its page: the rule's
// fact-snapshot cases judged again with each PostgreSQL major and on each
// platform (package checks' docs test builds it), so that the page says
// what the code does rather than what someone remembered to write.
type Observed struct {
	// Majors are the PostgreSQL majors tried, in order.
	Majors []int
	// Skipped maps a major on which every case reported skip to the first
	// skip message; the other majors of Majors are judged.
	Skipped map[int]string
	// Fixes are the distinct remediations its findings gave, in case order.
	Fixes []ObservedFix
}

// ObservedFix is one finding of a rule and the remediation each platform
// got for it.
type ObservedFix struct {
	Finding string // the finding's message, on the first platform that had it
	// ByPlatform groups the platforms that got the same advice, in
	// facts.PlatformNames order of their first member.
	ByPlatform []PlatformAdvice
}

// PlatformAdvice is the advice a group of platforms got.
type PlatformAdvice struct {
	Platforms   []string
	Remediation string
	SQL         []string
}

// sectionDocs says in a few words what each fact section holds. A section
// missing here is shown by its name alone.
var sectionDocs = map[facts.Section]string{
	facts.SectionConnect:      "the catalog connection itself (it succeeded)",
	facts.SectionTarget:       "the connection parameters: host, port, database, user, sslmode",
	facts.SectionServer:       "server_version_num, server_version, pg_is_in_recovery()",
	facts.SectionSettings:     "pg_settings: wal_level, max_replication_slots, max_wal_senders, max_slot_wal_keep_size, platform settings …",
	facts.SectionSession:      "pg_stat_ssl for this session",
	facts.SectionRole:         "the connector role in pg_roles: attributes and memberships",
	facts.SectionReplication:  "replication slots and WAL senders in use",
	facts.SectionPrivileges:   "CONNECT, schema USAGE, table SELECT and default privileges of the connector role",
	facts.SectionRoleSettings: "pg_db_role_setting values that apply to the connector role",
	facts.SectionTables:       "the tables in scope: kind, persistence, replica identity, keys, RLS, partitions, generated columns, owner",
	facts.SectionPublication:  "the publication: options, tables, row filters and column lists",
	facts.SectionSlots:        "pg_replication_slots, and the peek of the connector's slot",
	facts.SectionSignalTable:  "the signal table: columns, key, privileges, publication",
	facts.SectionHeartbeat:    "the heartbeat table: columns, privileges, publication",
}

// Page is a rule's documentation page, Markdown: what it checks and why,
// how to fix it on each platform, the facts it reads and the PostgreSQL
// majors it judges. docs/rules/<id>.md is Page's output; a test keeps the
// files in step with the rules.
func Page(r Rule, o Observed) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n**%s**\n\n", r.ID, mdEscape(r.Title))
	fmt.Fprintf(&b, "| category | default severity | since | PostgreSQL |\n|---|---|---|---|\n| %s | %s | %s | %s |\n\n",
		r.Category, r.Severity, r.Since, judgedMajors(o))
	b.WriteString("<!-- Generated from the rule's metadata and fact-snapshot cases by `go test ./checks -run TestRuleDocs -update`; do not edit. -->\n\n")
	fmt.Fprintf(&b, "## Why it matters\n\n%s\n\n", mdEscape(unwrap(r.Why)))
	fmt.Fprintf(&b, "## How to fix\n\n%s\n", mdEscape(unwrap(r.Fix)))
	if len(o.Fixes) > 0 {
		b.WriteString("\n### On each platform\n\nWhat cdcpreflight tells each platform for findings of this rule " +
			"(examples from its test cases: the objects named are the cases'):\n")
		for _, fx := range o.Fixes {
			fmt.Fprintf(&b, "\n#### When: %s\n\n", mdEscape(unwrap(fx.Finding)))
			for _, pa := range fx.ByPlatform {
				who := platformList(pa.Platforms)
				fmt.Fprintf(&b, "- **%s**: %s\n", who, mdEscape(unwrap(pa.Remediation)))
				if len(pa.SQL) > 0 {
					b.WriteString("\n  ```sql\n")
					for _, s := range pa.SQL {
						b.WriteString("  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n")
					}
					b.WriteString("  ```\n")
				}
			}
		}
	}
	b.WriteString("\n## What it reads\n\n")
	for _, s := range r.Needs {
		fmt.Fprintf(&b, "- `%s`: %s\n", s, sectionDoc(s))
	}
	for _, s := range r.MayNeed {
		fmt.Fprintf(&b, "- `%s` (on some branches only): %s\n", s, sectionDoc(s))
	}
	b.WriteString("\nWhen a section it needs could not be gathered, the rule reports `error` with the cause, never a pass.\n")
	b.WriteString("\n## PostgreSQL versions\n\n")
	b.WriteString(versionText(o))
	fmt.Fprintf(&b, "\n## Configure\n\nIn `.cdcpreflight.yml`: re-grade or disable the rule, or accept a finding with its reason.\n\n"+
		"```yaml\nrules:\n  %s:\n    severity: warning   # or: disabled: true\nignore:\n  - rule: %s\n"+
		"    reason: why the finding is accepted   # required\n    expires: 2026-12-31                    # optional\n"+
		"    # objects: [...]   optional: only these objects of the finding, as reports name them (globs allowed)\n```\n", r.ID, r.ID)
	fmt.Fprintf(&b, "\n`cdcpreflight explain %s` prints why it matters and how to fix it in a terminal.\n", r.ID)
	return b.String()
}

func sectionDoc(s facts.Section) string {
	if d, ok := sectionDocs[s]; ok {
		return d
	}
	return string(s)
}

func platformList(ps []string) string {
	if len(ps) == len(facts.PlatformNames) {
		return "every platform"
	}
	return strings.Join(ps, ", ")
}

// judgedMajors is the majors the rule judges, as ranges: "10–18", "13–18".
func judgedMajors(o Observed) string {
	var judged []int
	for _, m := range o.Majors {
		if _, skipped := o.Skipped[m]; !skipped {
			judged = append(judged, m)
		}
	}
	if len(judged) == 0 {
		return "none"
	}
	return ranges(judged)
}

func versionText(o Observed) string {
	if len(o.Majors) == 0 {
		return "Not observed.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Judged on PostgreSQL %s.", judgedMajors(o))
	// Group the skipped majors by message, the major's own number aside
	// ("PostgreSQL 12 has no …"); the last major's message stands for all.
	var keys []string
	byKey := map[string][]int{}
	example := map[string]string{}
	for _, m := range o.Majors {
		if msg, ok := o.Skipped[m]; ok {
			key := strings.ReplaceAll(msg, strconv.Itoa(m), "#")
			if _, seen := byKey[key]; !seen {
				keys = append(keys, key)
			}
			byKey[key] = append(byKey[key], m)
			example[key] = msg
		}
	}
	for _, k := range keys {
		fmt.Fprintf(&b, " On %s it reports `skip`: %s.", ranges(byKey[k]), mdEscape(strings.TrimSuffix(unwrap(example[k]), ".")))
	}
	fmt.Fprintf(&b, "\n\n(Observed: the rule's fact-snapshot cases judged with the server version set to each of %s.)\n", ranges(o.Majors))
	return b.String()
}

// ranges writes sorted majors as runs: [10 11 12 15] is "10–12, 15".
func ranges(ms []int) string {
	ms = slices.Clone(ms)
	slices.Sort(ms)
	var parts []string
	for i := 0; i < len(ms); {
		j := i
		for j+1 < len(ms) && ms[j+1] == ms[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, strconv.Itoa(ms[i])+"–"+strconv.Itoa(ms[j]))
		} else {
			parts = append(parts, strconv.Itoa(ms[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// mdEscape keeps rule text from becoming Markdown syntax it did not mean:
// angle brackets (placeholders such as <user>) and pipes.
func mdEscape(s string) string {
	return strings.NewReplacer("<", "\\<", ">", "\\>", "|", "\\|").Replace(s)
}

// PageIndex is docs/rules/README.md: every rule with a link to its page.
func PageIndex(rs []Rule) string {
	var b strings.Builder
	b.WriteString("# Rules\n\n<!-- Generated by `go test ./checks -run TestRuleDocs -update`; do not edit. -->\n\n")
	b.WriteString("| ID | severity | category | checks that |\n|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| [`%s`](%s.md) | %s | %s | %s |\n", r.ID, r.ID, r.Severity, r.Category, mdEscape(r.Title))
	}
	return b.String()
}
