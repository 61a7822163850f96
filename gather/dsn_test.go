package gather

import (
	"strings"
	"testing"
)

// TestParseDSNErrorsHideThePassword: the cases FuzzParseDSN found, where
// pgx's error (the string it echoes with the password masked, or the part
// it quotes) or the target shown held part of a password, each with the
// hint that fixes it.
func TestParseDSNErrorsHideThePassword(t *testing.T) {
	for dsn, want := range map[string]string{
		// An unquoted password with a space: "cret" became a keyword.
		"host=db user=app password=se cret dbname=app": "missing",
		// A space in a URI's password: pgx quoted the rest of it.
		"postgres://app:se cret@db/app": "unexpected spaces",
		// A bad escape in a URI's password: pgx quoted it.
		"postgres://app:pa%zzcret@db/app": "percent-encoded",
		// A / in a URI's password: "cret@db/app" was the database.
		"postgres://app:12/cret@db/app": "percent-encode",
		// An @ in a URI's password: "cret@db" was the host.
		"postgres://app:se@cret@db/app": "percent-encode",
		// A # in a URI's password: the rest was a fragment.
		"postgres://app:12#cret@db/app": "percent-encode",
		"host=db password='se cret":     "unterminated",
	} {
		_, err := ParseDSN(dsn)
		if err == nil {
			t.Errorf("%s: no error", dsn)
			continue
		}
		if strings.Contains(err.Error(), "cret") {
			t.Errorf("%s: the error shows part of the password: %v", dsn, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: the error does not say %q: %v", dsn, want, err)
		}
	}
	// A URI whose only @ ends the user part, and an encoded one, still parse.
	for _, dsn := range []string{"postgres://app:p%40ss%2Fw@db/app?sslmode=require", "postgresql://db/app", "host=db password='se cret'"} {
		if _, err := ParseDSN(dsn); err != nil {
			t.Errorf("%s: %v", dsn, err)
		}
	}
}
