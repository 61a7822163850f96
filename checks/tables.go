package checks

import "github.com/cdcpreflight/cdcpreflight/rules"

// tableRules judge the captured and published tables.
func tableRules() []rules.Rule {
	return []rules.Rule{}
}
