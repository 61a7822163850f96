package checks

import "github.com/cdcpreflight/cdcpreflight/rules"

// publicationRules judge the connector's publication.
func publicationRules() []rules.Rule {
	return []rules.Rule{}
}
