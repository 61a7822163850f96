package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// configEnv names a config file when --config does not.
const configEnv = "CDCPREFLIGHT_CONFIG"

// configNames are the file names discovery looks for, in each directory.
var configNames = []string{".cdcpreflight.yml", ".cdcpreflight.yaml"}

// How a config file was found; the JSON report and --verbose say which.
const (
	configFromFlag       = "flag"       // --config PATH
	configFromEnv        = "env"        // $CDCPREFLIGHT_CONFIG
	configFromDiscovered = "discovered" // .cdcpreflight.yml found from the working directory up
)

// configRef is the config file a run used.
type configRef struct {
	Path   string // as given, or absolute when discovered
	Source string // configFromFlag, configFromEnv or configFromDiscovered
}

// findConfig picks the config file as golangci-lint and squawk do, first
// hit wins: --config, then $CDCPREFLIGHT_CONFIG, then .cdcpreflight.yml or
// .cdcpreflight.yaml in the working directory and each parent up to the
// repository root (the first directory holding .git, checked itself) or
// the filesystem root. --no-config turns the last two off. A nil ref with
// a nil error is no config file; searched says where discovery looked, for
// --verbose.
func findConfig(flagPath string, noConfig bool, env Env) (ref *configRef, searched string, err error) {
	switch {
	case flagPath != "":
		return &configRef{Path: flagPath, Source: configFromFlag}, "", nil
	case noConfig:
		return nil, "", nil
	}
	if p := env.Getenv(configEnv); p != "" {
		return &configRef{Path: p, Source: configFromEnv}, "", nil
	}
	dir := env.Dir
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return nil, "", fmt.Errorf("find a config file: %w", err)
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, "", fmt.Errorf("find a config file: %w", err)
	}
	start := dir
	for {
		var found []string
		for _, name := range configNames {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				found = append(found, p)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("find a config file: %w", err)
			}
		}
		switch len(found) {
		case 1:
			return &configRef{Path: found[0], Source: configFromDiscovered}, "", nil
		case 2:
			// Neither wins silently: a change to the one that loses
			// would do nothing.
			return nil, "", fmt.Errorf("both %s and %s exist in %s: keep one", configNames[0], configNames[1], dir)
		}
		// A worktree's .git is a file, a clone's a directory.
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return nil, searchedRange(start, dir), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, searchedRange(start, dir), nil
		}
		dir = parent
	}
}

func searchedRange(from, to string) string {
	if from == to {
		return "in " + from
	}
	return fmt.Sprintf("from %s up to %s", from, to)
}
