package checks

import "github.com/cdcpreflight/cdcpreflight/rules"

// slotRules judge the connector's replication slot and the others.
func slotRules() []rules.Rule {
	return []rules.Rule{}
}
