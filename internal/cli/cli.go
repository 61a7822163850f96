// Package cli is cdcpreflight's command line: Run parses arguments, runs a
// command and returns the exit code, so that main stays one line and every
// path is testable without a process.
package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"
)

// Version is the tool's version, reported by `version` and in every report.
const Version = "0.1.0"

// Exit codes: the contract CI gates depend on.
const (
	exitOK       = 0 // nothing at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitError    = 2 // the assessment could not be completed
)

// Env is what a command may touch besides its arguments; tests fake it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Terminal is non-nil when a person types on Stdin: fix asks them to
	// confirm, and for a password.
	Terminal Terminal
	// Dir is where config discovery starts; "" is the working directory.
	Dir string
	// Now is the clock ignores expire by; nil is time.Now.
	Now func() time.Time
}

// Terminal is an interactive standard input.
type Terminal interface {
	// ReadSecret reads a line without echoing it.
	ReadSecret() (string, error)
}

// Run runs cdcpreflight with args (without the program name).
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		env.Terminal = ttyInput{fd: int(f.Fd())}
	}
	return RunEnv(args, env)
}

type ttyInput struct{ fd int }

func (t ttyInput) ReadSecret() (string, error) {
	b, err := term.ReadPassword(t.fd)
	return string(b), err
}

// RunEnv is Run with an explicit environment.
func RunEnv(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	cmd, rest := "check", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if _, known := commands[args[0]]; known {
			cmd, rest = args[0], args[1:]
		} else if args[0] == "help" {
			if len(args) > 1 {
				return RunEnv([]string{args[1], "--help"}, env)
			}
			fmt.Fprint(env.Stdout, usage)
			return exitOK
		}
	} else if len(args) > 0 {
		switch args[0] {
		case "-h", "--help":
			fmt.Fprint(env.Stdout, usage)
			return exitOK
		case "--version":
			cmd, rest = "version", nil
		}
	}
	return commands[cmd](rest, env)
}

var commands = map[string]func([]string, Env) int{
	"check":   runCheck,
	"rules":   runRules,
	"explain": runExplain,
	"version": runVersion,
	"demo":    runDemo,
	"fix":     runFix,
	"merge":   runMerge,
}

const usage = `cdcpreflight checks that a PostgreSQL database is ready to be the source of a
Change Data Capture connector (Streamkap, Debezium, …) and safe to replicate from.

Usage:
  cdcpreflight [check] [DSN] [flags]   run the checks (the default command)
  cdcpreflight fix [DSN] [flags]       print the SQL that fixes the findings; --apply runs it
  cdcpreflight check --targets FILE    check a fleet of databases, one report (--shard K/N)
  cdcpreflight merge REPORT.json...    join the JSON reports of a fleet's shards
  cdcpreflight rules [--format F]      list the rules
  cdcpreflight explain RULE            show a rule's documentation
  cdcpreflight demo                    run check against a throwaway local PostgreSQL
  cdcpreflight version                 print the version
  cdcpreflight help COMMAND            show a command's flags

Exit codes:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on
  2  the assessment could not be completed (usage, config or input error,
     no connection, or a rule that could not be judged)
  130  interrupted (Ctrl-C): what was in flight was cancelled on the server;
       the reports cover what was judged before it

Configuration: --config FILE, else $CDCPREFLIGHT_CONFIG, else .cdcpreflight.yml
(or .yaml) in this directory or a parent up to the repository root;
--no-config for none. In GitHub Actions the table also prints annotations and
the Markdown report goes to the job summary (CDCPREFLIGHT_NO_ANNOTATIONS=1: no).

Run 'cdcpreflight check --help' for the check flags, 'cdcpreflight fix --help' for fix.
`

func runVersion(args []string, env Env) int {
	if len(args) > 0 {
		fmt.Fprintf(env.Stderr, "cdcpreflight version: unexpected argument %q\n", args[0])
		return exitError
	}
	fmt.Fprintf(env.Stdout, "cdcpreflight %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
