package connector

import (
	"fmt"
	"regexp"
	"strconv"
)

// Version is a Debezium release, major.minor: the behaviour that changed
// between releases is keyed on it.
type Version struct{ Major, Minor int }

// DefaultVersion is the current 3.x release whose behaviour is assumed
// unless --debezium-version says otherwise.
var DefaultVersion = Version{3, 6}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Before reports whether v is older than major.minor.
func (v Version) Before(major, minor int) bool {
	return v.Major < major || (v.Major == major && v.Minor < minor)
}

var versionPattern = regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.\d+)?(?:[.-]?(?:Final|Alpha\d*|Beta\d*|CR\d*|SNAPSHOT))?$`)

// ParseVersion reads 3, 3.6, 3.6.1, 3.6.1.Final, v2.7.4.Final. Only 2.0 and
// later are known: 1.x configurations differ (database.server.name,
// whitelists) and are past their end of life.
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return DefaultVersion, nil
	}
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("--debezium-version %q: want a Debezium version such as 3.6 or 2.7.4.Final", s)
	}
	v := Version{}
	v.Major, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		v.Minor, _ = strconv.Atoi(m[2])
	} else if v.Major == DefaultVersion.Major {
		v.Minor = DefaultVersion.Minor
	}
	switch {
	case v.Major < 2:
		return Version{}, fmt.Errorf("--debezium-version %q: Debezium 1.x is not supported (its configuration differs and it is past its end of life); 2.0 or later", s)
	case v.Major > 3:
		return Version{}, fmt.Errorf("--debezium-version %q: cdcpreflight knows Debezium 2.0 to 3.x", s)
	}
	return v, nil
}
