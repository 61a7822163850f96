package gather

import "testing"

// TestVersionNum: the server_version a server reports at startup reads as
// server_version_num would say it, so the first batch's SQL branches right.
func TestVersionNum(t *testing.T) {
	for in, want := range map[string]int{
		"15.18 (Debian 15.18-0+deb12u1)": 150018,
		"10.23":                          100023,
		"18beta1":                        180000,
		"17devel":                        170000,
		"9.6.24":                         90624,
		"":                               0,
		"PgBouncer":                      0,
	} {
		if got := versionNum(in); got != want {
			t.Errorf("versionNum(%q) = %d, want %d", in, got, want)
		}
	}
}
