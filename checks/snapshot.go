package checks

import "github.com/cdcpreflight/cdcpreflight/rules"

// snapshotRules judge the signal and heartbeat tables and the snapshot mode.
func snapshotRules() []rules.Rule {
	return []rules.Rule{}
}
