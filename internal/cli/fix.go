package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/fix"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// passwordEnv holds the password of a role --create-user makes.
const passwordEnv = "CDCPREFLIGHT_CONNECTOR_PASSWORD" //nolint:gosec // the name of a variable, not a credential

const fixUsage = `Usage: cdcpreflight fix [DSN] [flags]

Runs the checks, then prints a SQL script that fixes what they found: the
remediation steps of every finding, ordered across rules (server settings,
roles, grants, schema and helper tables, replica identity, publication, and
the replication slot last), each with a comment naming the rule, why, the
privilege it needs and the lock it takes. What SQL cannot fix (wal_level,
platform toggles, restarts) is listed as numbered manual steps for the
detected platform. Printing the plan changes nothing in the database.

With --apply it shows the plan, asks for a typed 'yes' (or takes --yes),
runs each step in its own transaction under lock_timeout and
statement_timeout, stops at the first failure, reports what was applied,
what failed and what did not run, and then checks again.

fix never drops anything, never restarts the server, and runs ALTER SYSTEM
only with --allow-alter-system. Connect as a role allowed to make the
changes (a superuser, or the owner of the objects) and name the connector's
role with --connector-user.

Examples:
  cdcpreflight fix "postgres://admin@db.example.com/app" --connector-user streamkap_user
  cdcpreflight fix "$ADMIN_DSN" --connector-user streamkap_user --sql-out fix.sql
  CDCPREFLIGHT_CONNECTOR_PASSWORD=… cdcpreflight fix "$ADMIN_DSN" \
      --connector-user streamkap_user --create-user --apply --yes

Fix flags:
`

// fixFlags are fix's own flags, next to check's.
type fixFlags struct {
	apply, yes, createUser         bool
	identityFull, alterSys, logged bool
	sqlOut                         string
	lockTimeout, stmtTimeout       time.Duration
	noRecheck                      bool // the demo checks as the connector instead
}

// fixOptionTable declares fix's own options. None has a config key (a
// test keeps it so): the config file is check's, which fix reads too.
var fixOptionTable = options[fixFlags]{
	{flag: "apply",
		help:  "apply the plan after showing it (asks for a typed 'yes' on a terminal)",
		value: to(boolean, false, field(func(x *fixFlags) *bool { return &x.apply }))},
	{flag: "yes",
		help:  "with --apply: do not ask; for CI, after the plan was reviewed",
		value: to(boolean, false, field(func(x *fixFlags) *bool { return &x.yes }))},
	{flag: "sql-out",
		help:  "also write the plan's SQL script to this file",
		value: to(text, "", field(func(x *fixFlags) *string { return &x.sqlOut }))},
	{flag: "create-user",
		help:  "create the connector role (--connector-user) when it does not exist; password from " + passwordEnv + " or a prompt",
		value: to(boolean, false, field(func(x *fixFlags) *bool { return &x.createUser }))},
	{flag: "replica-identity-full",
		help:  "set REPLICA IDENTITY FULL on every captured table, not only those without a usable identity",
		value: to(boolean, false, field(func(x *fixFlags) *bool { return &x.identityFull }))},
	{flag: "allow-alter-system",
		help:  "run ALTER SYSTEM for server settings (a restart, which fix never does, may still be needed)",
		value: to(boolean, false, field(func(x *fixFlags) *bool { return &x.alterSys }))},
	{flag: "set-logged",
		help:  "make UNLOGGED captured tables logged (rewrites each table under an ACCESS EXCLUSIVE lock)",
		value: to(boolean, false, field(func(x *fixFlags) *bool { return &x.logged }))},
	{flag: "lock-timeout",
		help:  "how long a step may wait for a lock the application holds",
		value: to(duration, fix.DefaultTimeouts.Lock, field(func(x *fixFlags) *time.Duration { return &x.lockTimeout }))},
	{flag: "statement-timeout",
		help:  "how long a step may run (slot creation included)",
		value: to(duration, fix.DefaultTimeouts.Statement, field(func(x *fixFlags) *time.Duration { return &x.stmtTimeout }))},
}

func runFix(args []string, env Env) int {
	cf := newCheckFlags("fix", env.Stderr)
	checkOptionTable.hideFleet(cf.fs)
	own := pflag.NewFlagSet("fix", pflag.ContinueOnError)
	own.SortFlags = false
	fixOptionTable.define(own)
	cf.fs.AddFlagSet(own)
	cf.fs.Usage = func() {
		fmt.Fprint(env.Stdout, fixUsage)
		fmt.Fprint(env.Stdout, own.FlagUsages())
		fmt.Fprint(env.Stdout, "\nCheck flags (what to expect, and the report of the re-check after --apply):\n")
		var checkOnly pflag.FlagSet
		cf.fs.VisitAll(func(f *pflag.Flag) {
			if own.Lookup(f.Name) == nil {
				checkOnly.AddFlag(f)
			}
		})
		fmt.Fprint(env.Stdout, checkOnly.FlagUsages())
		fmt.Fprint(env.Stdout, `
Exit codes:
  0  nothing to do (or everything applied and the re-check is clean)
  1  fixes are pending (steps to apply, or manual steps left)
  2  an error: no connection, a rule could not be judged, the apply was
     refused or cancelled, or a step failed
  130  interrupted (Ctrl-C): the step in flight was cancelled on the server;
       the steps applied before it stay applied
`)
	}
	opt, err := cf.resolve(args, env)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err == nil && opt.fleet != nil {
		err = errors.New("fix changes one database: give its DSN (the targets of a fleet are checked with 'check --targets')")
	}
	var xf fixFlags
	if err == nil {
		xf, err = fixOptionTable.fromFlags(cf.fs)
	}
	if err == nil {
		err = xf.validate(opt)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight fix: %v\n", err)
		return exitError
	}
	return runFixWith(opt, xf, env)
}

func (x *fixFlags) validate(opt *checkOptions) error {
	switch {
	case x.yes && !x.apply:
		return errors.New("--yes only applies with --apply")
	case x.apply && opt.FactsIn != "":
		return errors.New("--apply needs a live database: --facts only plans")
	case x.lockTimeout <= 0 || x.stmtTimeout <= 0:
		return errors.New("--lock-timeout and --statement-timeout must be positive")
	case x.createUser && opt.Expect.ConnectorUser == "":
		return errors.New("--create-user needs --connector-user: the role to create")
	}
	return nil
}

func (x *fixFlags) options(opt *checkOptions) fix.Options {
	return fix.Options{
		CreateUser: x.createUser,
		OptIns: map[string]bool{
			// --soft-deletes already says every captured table needs FULL.
			rules.OptInReplicaIdentityFull: x.identityFull || opt.Expect.SoftDeletes,
			rules.OptInAlterSystem:         x.alterSys,
			rules.OptInSetLogged:           x.logged,
		},
	}
}

func runFixWith(opt *checkOptions, x fixFlags, env Env) int {
	reg, err := checks.Registry()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight fix: internal error: %v\n", err)
		return exitError
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	prog := newProgress(env, opt.Quiet)
	f, err := obtainFacts(ctx, opt, env, prog)
	prog.clear()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight fix: %v\n", err)
		return exitError
	}
	if interrupted(ctx) {
		fmt.Fprintln(env.Stderr, "cdcpreflight fix: interrupted before the plan was made; nothing was changed.")
		return exitInterrupted
	}
	if f.Connect.Err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight fix: could not connect to %s: %s\n", printable(targetLabel(f.Target)), printable(f.Connect.Err.Message))
		return exitError
	}
	fopt := x.options(opt)
	if x.createUser && f.Role.Err == nil && f.Role.Exists {
		fmt.Fprintf(env.Stderr, "cdcpreflight fix: role %s exists; --create-user has nothing to create (its password is left as it is).\n", roleLabel(f))
	}
	results := fix.Evaluate(reg, f, opt.RuleConfig, fopt)
	// An accepted finding is not fixed: fix plans nothing for a finding the
	// config ignores whole. The steps of a finding ignored only in part
	// still cover all its objects (steps do not say which they touch), so
	// the plan says so.
	results, _ = rules.ApplyIgnores(results, opt.Ignores, now(env))
	for _, r := range results {
		if len(r.Ignored) > 0 && r.Status != rules.StatusPass && len(r.Steps) > 0 {
			fmt.Fprintf(env.Stderr, "cdcpreflight fix: note: %s's steps may include objects the config ignores; review them in the plan.\n", r.Rule)
		}
	}
	plan := fix.Build(results, f, fopt, "")
	header := fixHeader(f, x)
	var script bytes.Buffer
	if err := fix.WriteScript(&script, plan, header); err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight fix: %v\n", err)
		return exitError
	}
	if _, err := env.Stdout.Write(forTerminal(env.Stdout, script.Bytes())); err != nil {
		return exitError
	}
	if x.sqlOut != "" {
		if err := os.WriteFile(x.sqlOut, script.Bytes(), 0o600); err != nil {
			fmt.Fprintf(env.Stderr, "cdcpreflight fix: write the plan: %v\n", err)
			return exitError
		}
	}
	if !x.apply {
		return planExit(plan)
	}
	password, ok := readyToApply(plan, f, x, header, env)
	if !ok {
		return exitError
	}
	if len(plan.Steps) == 0 {
		return planExit(plan)
	}
	// From here on every line written goes through the redactor: the
	// password must not leak through an error message or a notice.
	out := &redactor{w: env.Stdout, secret: password}
	errOut := &redactor{w: env.Stderr, secret: password}
	plan = fix.Build(results, f, fopt, password)
	code := applyPlan(ctx, opt, plan, fix.Timeouts{Lock: x.lockTimeout, Statement: x.stmtTimeout}, env, out, errOut)
	if code == exitError || code == exitInterrupted || x.noRecheck {
		return code
	}
	fmt.Fprintln(out, "\nChecking again…")
	recheck := check(opt, Env{Stdin: env.Stdin, Stdout: out, Stderr: errOut, Getenv: env.Getenv, Dir: env.Dir, Now: env.Now})
	if recheck == exitOK && len(plan.Manual) > 0 {
		return exitFindings
	}
	return recheck
}

// readyToApply refuses what must not be applied, asks for confirmation
// unless --yes, and gets the new role's password when the plan makes one.
// ok is false when nothing may be applied.
func readyToApply(plan fix.Plan, f *facts.Facts, x fixFlags, header fix.Header, env Env) (password string, ok bool) {
	if f.Server.InRecovery {
		fmt.Fprintln(env.Stderr, "\ncdcpreflight fix: not applying: this server is a standby (in recovery) and read-only; "+
			"run fix against the primary. Nothing was changed.")
		return "", false
	}
	if len(plan.Incomplete) > 0 {
		fmt.Fprintf(env.Stderr, "\ncdcpreflight fix: not applying: %d rules could not be judged, so the plan may be incomplete; "+
			"fix what stops them first. Nothing was changed.\n", len(plan.Incomplete))
		return "", false
	}
	if len(plan.Steps) == 0 {
		fmt.Fprintln(env.Stderr, "\ncdcpreflight fix: no SQL step to apply.")
		return "", true
	}
	needPassword := plan.NeedsPassword()
	if needPassword {
		password = env.Getenv(passwordEnv)
	}
	switch {
	case !x.yes && env.Terminal == nil:
		fmt.Fprintln(env.Stderr, "\ncdcpreflight fix: not applying: standard input is not a terminal, so nobody can confirm. "+
			"Review the plan above, then re-run with --yes. Nothing was changed.")
		return "", false
	case needPassword && password == "" && env.Terminal == nil:
		fmt.Fprintf(env.Stderr, "\ncdcpreflight fix: not applying: --create-user needs the new role's password in %s "+
			"(standard input is not a terminal to ask for it). Nothing was changed.\n", passwordEnv)
		return "", false
	}
	if !x.yes {
		fmt.Fprintf(env.Stderr, "\nApply %s to %s? Only 'yes' is accepted: ", plural(len(plan.Steps), "step", "steps"), header.Target)
		answer, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(env.Stderr, "cdcpreflight fix: cancelled. Nothing was changed.")
			return "", false
		}
	}
	if needPassword && password == "" {
		var err error
		if password, err = askPassword(env, roleLabel(f)); err != nil {
			fmt.Fprintf(env.Stderr, "cdcpreflight fix: %v. Nothing was changed.\n", err)
			return "", false
		}
	}
	return password, true
}

// planExit is the exit code of a plan that is printed, not applied.
func planExit(p fix.Plan) int {
	switch {
	case len(p.Incomplete) > 0:
		return exitError
	case p.Pending():
		return exitFindings
	}
	return exitOK
}

// applyPlan applies plan. On a terminal stderr shows which step of how
// many is under way. Ctrl-C cancels the step in flight on the server and
// exits 130; the steps before it stay applied.
func applyPlan(ctx context.Context, opt *checkOptions, plan fix.Plan, t fix.Timeouts, env Env, out, errOut io.Writer) int {
	cfg, err := connConfig(opt, env)
	if err != nil {
		fmt.Fprintf(errOut, "cdcpreflight fix: %v\n", err)
		return exitError
	}
	// Through the SSH tunnel, when there is one, as the check went.
	conn, done, err := opt.connect(ctx, cfg, env)
	if err != nil {
		fmt.Fprintf(errOut, "cdcpreflight fix: connect to apply: %s. Nothing was changed.\n", gather.Redact(err.Error(), cfg.Password))
		return exitError
	}
	defer done()
	n := len(plan.Steps)
	fmt.Fprintf(out, "\nApplying %s (lock_timeout %s, statement_timeout %s):\n", plural(n, "step", "steps"), t.Lock, t.Statement)
	prog := newProgress(env, opt.Quiet)
	defer prog.clear()
	out = prog.around(out)
	prog.set(fmt.Sprintf("applying step 1 of %d", n))
	res := fix.Apply(ctx, conn, plan, t, func(i int, s fix.Step, err error) {
		mark := "applied"
		if err != nil {
			mark = "FAILED "
		}
		fmt.Fprintf(out, "  %s  %*d/%d  %s\n", mark, len(strconv.Itoa(n)), i+1, n, oneLine(s.SQL))
		if i+1 < n {
			prog.set(fmt.Sprintf("applying step %d of %d", i+2, n))
		}
	})
	prog.clear()
	if res.Lost != nil {
		// Interrupted or not: without an answer from the server, what
		// it had may have committed, and the report says so.
		fmt.Fprintf(out, "\n%d applied, %d with the server when the connection was lost (outcome unknown), %d not run.\n",
			len(res.Done), len(res.Unknown), len(res.NotRun))
		slotWarning(out, res.Done, opt.Expect.Slot)
		lostReport(errOut, res, interrupted(ctx), opt.Expect.Slot, cfg.Password)
		if interrupted(ctx) {
			return exitInterrupted
		}
		return exitError
	}
	if interrupted(ctx) {
		fmt.Fprintf(out, "\n%d applied, %d not run.\n", len(res.Done), len(res.NotRun)+btoi(res.Failed != nil))
		fmt.Fprintln(errOut, "\ncdcpreflight fix: interrupted: the step in flight was cancelled on the server; "+
			"the steps applied before it stay applied (each committed on its own), the others did not run.")
		return exitInterrupted
	}
	fmt.Fprintf(out, "\n%d applied, %d failed, %d not run.\n", len(res.Done), btoi(res.Failed != nil), len(res.NotRun))
	slotWarning(out, res.Done, opt.Expect.Slot)
	if res.Failed != nil {
		fmt.Fprintf(errOut, "\ncdcpreflight fix: step %q failed: %s\n", oneLine(res.Failed.Step.SQL), gather.Redact(res.Failed.Err.Error(), cfg.Password))
		if len(res.Done) > 0 {
			fmt.Fprintln(errOut, "The steps applied before it stay applied (each committed on its own).")
		}
		if len(res.NotRun) > 0 {
			fmt.Fprintln(errOut, "Not run:")
			for _, s := range res.NotRun {
				fmt.Fprintf(errOut, "  %s\n", oneLine(s.SQL))
			}
		}
		return exitError
	}
	return exitOK
}

// slotWarning says that a slot the apply created retains WAL.
func slotWarning(out io.Writer, done []fix.Step, slot string) {
	for _, s := range done {
		if s.Phase == rules.PhaseSlot {
			fmt.Fprintf(out, "The replication slot now exists and retains WAL from this moment until a connector consumes it: "+
				"start the connector soon. If it will not run for a while, drop the slot yourself "+
				"(SELECT pg_drop_replication_slot(%s);) rather than let WAL pile up.\n", sqlident.Literal(slot))
		}
	}
}

// lostReport says what is known after the connection was lost mid-apply:
// what the server confirmed, what it had and may have committed, and what
// it never got, and how to find out.
func lostReport(errOut io.Writer, res fix.Applied, interrupted bool, slot, password string) {
	if interrupted {
		fmt.Fprintf(errOut, "\ncdcpreflight fix: interrupted, and the server did not answer the cancel in time: %s.\n", gather.Redact(res.Lost.Error(), password))
	} else {
		fmt.Fprintf(errOut, "\ncdcpreflight fix: the connection was lost: %s.\n", gather.Redact(res.Lost.Error(), password))
	}
	if len(res.Done) > 0 {
		fmt.Fprintf(errOut, "The %s confirmed above stay applied (each committed on its own).\n", plural(len(res.Done), "step", "steps"))
	}
	if len(res.Unknown) > 0 {
		fmt.Fprintf(errOut, "Outcome unknown: the server had these when the connection was lost and may have committed some of them, "+
			"in order (if one committed, so did every one before it); each is its own transaction, so none is half done:\n")
		for _, s := range res.Unknown {
			fmt.Fprintf(errOut, "  %s\n", oneLine(s.SQL))
			if s.Phase == rules.PhaseSlot {
				fmt.Fprintf(errOut, "  (if the slot was created it retains WAL until a connector consumes it: "+
					"look in pg_replication_slots, and drop it with SELECT pg_drop_replication_slot(%s); if no connector will start soon)\n",
					sqlident.Literal(slot))
			}
		}
	}
	if len(res.NotRun) > 0 {
		fmt.Fprintln(errOut, "Not run (never sent):")
		for _, s := range res.NotRun {
			fmt.Fprintf(errOut, "  %s\n", oneLine(s.SQL))
		}
	}
	fmt.Fprintln(errOut, "Run the same cdcpreflight fix again when the server is reachable: it plans only what is still missing.")
}

func fixHeader(f *facts.Facts, x fixFlags) fix.Header {
	return fix.Header{
		Tool:          "cdcpreflight " + Version,
		Target:        targetLabel(f.Target),
		Server:        f.Server.Version,
		Platform:      f.Platform.Name,
		ConnectorRole: roleLabel(f),
		LockTimeout:   x.lockTimeout,
		StmtTimeout:   x.stmtTimeout,
	}
}

func roleLabel(f *facts.Facts) string { return sqlident.Quote(f.ConnectorRole()) }

// askPassword reads the new role's password twice without echo.
func askPassword(env Env, role string) (string, error) {
	fmt.Fprintf(env.Stderr, "Password for the new role %s: ", role)
	first, err := env.Terminal.ReadSecret()
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	fmt.Fprint(env.Stderr, "Again: ")
	second, err := env.Terminal.ReadSecret()
	fmt.Fprintln(env.Stderr)
	switch {
	case err != nil:
		return "", fmt.Errorf("read the password: %w", err)
	case first == "":
		return "", errors.New("the password is empty")
	case first != second:
		return "", errors.New("the passwords differ")
	}
	return first, nil
}

// redactor masks a secret in everything written through it. Writes are
// whole lines or messages in this package, so a secret is never split
// across two writes.
type redactor struct {
	w      io.Writer
	secret string
}

func (r *redactor) Write(p []byte) (int, error) {
	if r.secret == "" {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, gather.Redact(string(p), r.secret)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
