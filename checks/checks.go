// Package checks holds cdcpreflight's rules, a file per family. Each rule is
// metadata plus a pure function of the gathered facts; All lists them in
// report order. A rule is found by its ID with one grep.
package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// since is the tool version that introduced the foundation rules.
const since = "0.1.0"

// All returns every rule in report order: each family file lists its
// rules explicitly, so a reader sees a family's catalog in one place.
func All() []rules.Rule {
	var all []rules.Rule
	for _, family := range [][]rules.Rule{
		serverRules(), standbyRules(), walRetentionRules(), capacityRules(), connectionRules(), poolerRules(),
		privilegeRules(), connectionLimitRules(), snapshotRules(), publicationRules(), slotRules(),
		failoverRules(), horizonRules(), activityRules(), tableRules(), toastRules(),
		connectorRules(),
	} {
		all = append(all, family...)
	}
	return bySnapshotMode(all)
}

// Registry returns the validated registry of All.
func Registry() (*rules.Registry, error) {
	return rules.NewRegistry(All()...)
}

// plural picks a word form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// listMax caps the names a message spells out; Objects list them all, so
// messages stay readable with thousands of tables.
const listMax = 5

// listNames renders up to listMax names, then how many more there are.
func listNames(names []string) string {
	if len(names) <= listMax {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:listMax], ", "), len(names)-listMax)
}

// quotedNames are the tables' names as quote_ident renders them.
func quotedNames(ts []facts.Table) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Quoted
	}
	return out
}
