package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// defaultJobs is how many targets a fleet checks at a time. A check spends
// most of its time waiting for its servers, not computing: 8 keeps a
// fleet of remote databases moving on a small CI runner without opening
// more than 16 sessions at once.
const defaultJobs = 8

// defaultPerServer is how many targets of one server a fleet checks at a
// time: one, so that a server never sees more than the two sessions one
// check opens (its catalog connection and its replication probe, which
// holds a WAL sender), and so that no check sees another's: a sibling's
// probe would count as a WAL sender in use, and a slot it peeks as active.
const defaultPerServer = 1

// fleetSpec is a fleet's targets, each with its options resolved.
type fleetSpec struct {
	path    string // the file listing them: a targets file or the config
	targets []fleetTarget
	// explicit are the options the command line or the config file set,
	// by flag name: a target's connector configuration does not override
	// them, nor the target's own keys (see fleetTarget.explicit).
	explicit map[string]bool
}

type fleetTarget struct {
	name   string
	dsnEnv string
	opt    *checkOptions
	// keys are the options the target's entry sets, by flag name.
	keys []string
}

func (f *fleetSpec) names() []string {
	names := make([]string, len(f.targets))
	for i, t := range f.targets {
		names[i] = t.name
	}
	return names
}

// resolveFleet reads the targets of --targets FILE, else those of the
// config file's targets: key, and resolves each target's options. An
// explicit DSN checks that database alone: the config's targets are then
// not used, but --targets and a DSN contradict each other.
func (c *checkFlags) resolveFleet(opt *checkOptions, ref *configRef, file *fileConfig, reg *rules.Registry) error {
	dsnGiven := c.fs.Changed("dsn") || len(c.fs.Args()) == 1
	var specs []targetSpec
	var path string
	switch {
	case opt.TargetsFile != "":
		if dsnGiven {
			return errors.New("--targets checks the targets of its file, each with its own connection: give no DSN argument or --dsn with it")
		}
		path = opt.TargetsFile
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read targets: %w", err)
		}
		if specs, err = parseTargets(data); err != nil {
			return fmt.Errorf("targets %s: %w", path, err)
		}
	case file != nil && file.Targets.Kind != 0 && !dsnGiven:
		path = ref.Path
		if _, ok := file.values["dsn"]; ok {
			return fmt.Errorf("config %s: dsn and targets: each target of a fleet has its own connection; remove dsn, or give it to a target", path)
		}
		var err error
		if specs, err = parseTargetsNode(&file.Targets); err != nil {
			return fmt.Errorf("config %s: targets: %w", path, err)
		}
	}
	if specs == nil {
		for _, f := range []string{"jobs", "per-server", "shard"} {
			if c.fs.Changed(f) {
				return fmt.Errorf("--%s goes with --targets (or a config file's targets:), which lists the databases to check", f)
			}
		}
		return nil
	}
	if opt.FactsIn != "" || opt.FactsOut != "" {
		return errors.New("--facts and --save-facts are about one database: they do not go with --targets")
	}
	fleet := &fleetSpec{path: path}
	for _, s := range specs {
		where := fmt.Sprintf("%s: target %q (line %d)", path, s.Name, s.Line)
		t, err := opt.forTarget(s, path, where, reg)
		if err != nil {
			return err
		}
		var keys []string
		for i := range checkOptionTable {
			if o := &checkOptionTable[i]; o.key != "" {
				if _, ok := s.values[o.key]; ok {
					keys = append(keys, o.flag)
				}
			}
		}
		if t.ConnectorConfig != "" {
			// A file that cannot be read is the config's mistake, found
			// before anything connects, whichever shard checks it.
			if _, err := connector.Load(t.ConnectorConfig, connector.Options{DebeziumVersion: t.DebeziumVersion}); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
		fleet.targets = append(fleet.targets, fleetTarget{name: s.Name, dsnEnv: s.DSNEnv, opt: t, keys: keys})
	}
	opt.fleet = fleet
	return nil
}

// A job is one target of the run, prepared for its turn.
type job struct {
	fleetTarget
	cfg    *pgx.ConnConfig
	server string // what the per-server bound counts by
	// failed, when set, is why the target cannot even be tried (its
	// dsn_env unset, its DSN unreadable, its SSH key unusable): it is
	// judged as a connection that failed, every rule in error.
	failed string
}

// runFleet checks every target of the fleet (or of --shard's part of it),
// --jobs at a time and --per-server at a time on one server, each under its
// own --timeout, and writes one report. Only each finished target's results
// are kept, never its facts. Ctrl-C cancels every target in flight, on the
// server too; the reports cover those judged, and the exit code is 130.
func runFleet(opt *checkOptions, env Env) int {
	reg, err := checks.Registry()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: internal error: %v\n", err)
		return exitError
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	started := time.Now()
	var members []fleetTarget
	for _, t := range opt.fleet.targets {
		if opt.Shard == nil || shardOf(t.name, opt.Shard.Count) == opt.Shard.Index {
			members = append(members, t)
		}
	}
	jobs, err := prepareJobs(ctx, members, opt, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		if interrupted(ctx) {
			return exitInterrupted
		}
		return exitError
	}
	prog := newProgress(env, opt.Quiet)
	runs := scheduleFleet(ctx, jobs, opt, reg, env, prog)
	prog.clear()
	stopped := interrupted(ctx)

	fleet := report.Fleet{
		Tool: report.Tool{Name: "cdcpreflight", Version: Version}, FailOn: opt.FailOn,
		Names: opt.fleet.names(), Shard: opt.Shard, Planned: len(jobs),
		Started: started, Duration: time.Since(started), Interrupted: stopped,
	}
	for _, r := range runs {
		if r != nil {
			fleet.Targets = append(fleet.Targets, *r)
		}
	}
	if !opt.Quiet {
		sayFleetProblems(env, fleet, jobs)
	}
	if stopped {
		fmt.Fprintf(env.Stderr, "cdcpreflight: interrupted: the targets in flight were cancelled on the server; "+
			"the reports cover the %d of %d targets judged before it\n", len(fleet.Targets), len(jobs))
	}
	if err := writeFleetOutputs(opt, fleet, env); err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
	}
	if stopped {
		return exitInterrupted
	}
	code := fleet.ExitCode()
	if code == exitFindings && opt.ExitZero {
		code = exitOK
	}
	return code
}

// sayFleetProblems says on stderr, after the run, which targets could not
// be reached and which config warnings they had.
func sayFleetProblems(env Env, fleet report.Fleet, jobs []*job) {
	failed := map[string]string{}
	for _, j := range jobs {
		if j.failed != "" {
			failed[j.name] = j.failed
		}
	}
	for _, run := range fleet.Targets {
		if msg, ok := failed[run.Target.Name]; ok {
			fmt.Fprintf(env.Stderr, "cdcpreflight: target %s: %s\n", run.Target.Name, msg)
		}
		for _, w := range run.Warnings {
			fmt.Fprintf(env.Stderr, "cdcpreflight: target %s: warning: %s\n", run.Target.Name, w.Message)
		}
	}
}

// prepareJobs reads each target's connection and finds the server it is
// on, without connecting. SSH dialers are made here, one at a time and
// one per bastion configuration, so that an encrypted key's passphrase is
// asked for once and never by two targets at once. Host names are
// resolved side by side, so that two names of one server share its bound.
func prepareJobs(ctx context.Context, members []fleetTarget, opt *checkOptions, env Env) ([]*job, error) {
	jobs := make([]*job, len(members))
	dialers := map[sshtunnel.Config]*sshtunnel.Dialer{}
	for i, t := range members {
		j := &job{fleetTarget: t}
		jobs[i] = j
		cfg, err := t.connConfig(opt.fleet.explicit, env)
		if err != nil {
			j.failed = err.Error()
			continue
		}
		j.cfg = cfg
		if t.opt.SSH.Enabled() {
			if d, ok := dialers[t.opt.SSH]; ok {
				t.opt.tunnel = d
			}
			d, err := t.opt.sshDialer(cfg, env)
			if err != nil {
				j.failed = err.Error()
				continue
			}
			dialers[t.opt.SSH] = d
			j.server = "ssh://" + d.Bastion() + "/" + net.JoinHostPort(strings.ToLower(cfg.Host), strconv.Itoa(int(cfg.Port)))
		}
	}
	// The DNS names to resolve, each once.
	addrs := map[string]string{}
	for _, j := range jobs {
		if j.cfg != nil && j.server == "" && !strings.HasPrefix(j.cfg.Host, "/") && net.ParseIP(j.cfg.Host) == nil {
			addrs[strings.ToLower(j.cfg.Host)] = ""
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, opt.Jobs)
	for host := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
			defer cancel()
			ips, err := net.DefaultResolver.LookupHost(rctx, host)
			if err != nil || len(ips) == 0 {
				return // the check will say why it cannot connect
			}
			slices.Sort(ips)
			mu.Lock()
			addrs[host] = ips[0]
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && interrupted(ctx) {
		return nil, errors.New("interrupted before any target was checked")
	}
	for _, j := range jobs {
		if j.cfg == nil || j.server != "" {
			continue
		}
		host := strings.ToLower(j.cfg.Host)
		if ip := addrs[host]; ip != "" {
			host = ip
		}
		j.server = net.JoinHostPort(host, strconv.Itoa(int(j.cfg.Port)))
	}
	return jobs, nil
}

// connConfig is how to connect to the target: its DSN, or the one its
// dsn_env names, read now, so that a shard needs only its own targets'
// variables; then its connector configuration, which names the
// expectations and completes the connection as for one database, and its
// password_env.
func (t fleetTarget) connConfig(explicit map[string]bool, env Env) (*pgx.ConnConfig, error) {
	if t.dsnEnv != "" {
		if t.opt.DSN = env.Getenv(t.dsnEnv); t.opt.DSN == "" {
			return nil, fmt.Errorf("dsn_env %s: the variable is not set or empty", t.dsnEnv)
		}
	}
	if t.opt.ConnectorConfig != "" {
		own := maps.Clone(explicit)
		for _, k := range t.keys {
			own[k] = true
		}
		if t.dsnEnv != "" {
			own["dsn"] = true
		}
		if err := applyConnector(t.opt, own, env); err != nil {
			return nil, err
		}
	}
	if t.opt.PasswordEnv != "" {
		if t.opt.password = env.Getenv(t.opt.PasswordEnv); t.opt.password == "" {
			return nil, fmt.Errorf("password_env %s: the variable is not set or empty", t.opt.PasswordEnv)
		}
	}
	return connConfig(t.opt, env)
}

// resolveTimeout bounds the DNS lookup of a target's host before the run;
// a name that does not resolve in time counts as a server of its own.
const resolveTimeout = 5 * time.Second

// scheduleFleet runs the jobs, at most opt.Jobs at a time and at most
// opt.PerServer of one server at a time, starting each as soon as both
// allow it, in the fleet's order otherwise. A slow or silent target holds
// one job and its server's turn until its own timeout, never another
// server's. A server that did not answer at all (no connection, no error
// from it: dead, silent, unreachable) has no load to spare: its other
// targets are no longer held to its bound, so that they wait for one
// timeout, not one each. It returns the runs by job; a job never started
// (interrupted) is nil.
func scheduleFleet(ctx context.Context, jobs []*job, opt *checkOptions, reg *rules.Registry, env Env, prog *progress) []*report.Run {
	runs := make([]*report.Run, len(jobs))
	type done struct {
		i          int
		run        *report.Run
		unanswered bool
	}
	finished := make(chan done)
	busy := map[string]int{}
	silent := map[string]bool{}
	pending := make([]int, len(jobs))
	for i := range jobs {
		pending[i] = i
	}
	running, checked, failing := 0, 0, 0
	show := func() {
		prog.set(fmt.Sprintf("targets %d/%d done, %d failing so far, %d running", checked, len(jobs), failing, running))
	}
	show()
	for len(pending) > 0 || running > 0 {
		for running < opt.Jobs && ctx.Err() == nil {
			k := slices.IndexFunc(pending, func(i int) bool {
				s := jobs[i].server
				return s == "" || silent[s] || busy[s] < opt.PerServer
			})
			if k < 0 {
				break
			}
			i := pending[k]
			pending = slices.Delete(pending, k, k+1)
			busy[jobs[i].server]++
			running++
			go func() {
				run, unanswered := checkTarget(ctx, jobs[i], reg, env)
				finished <- done{i, run, unanswered}
			}()
		}
		if running == 0 {
			break // interrupted: nothing more starts
		}
		show()
		d := <-finished
		running--
		checked++
		busy[jobs[d.i].server]--
		silent[jobs[d.i].server] = silent[jobs[d.i].server] || d.unanswered
		runs[d.i] = d.run
		if report.TargetExitCode(*d.run) != exitOK {
			failing++
		}
		show()
	}
	return runs
}

// checkTarget checks one target as check does one database, under the
// target's own timeout, and keeps only what the reports need: the facts
// go when it returns, and so do the results' fix steps (fix_sql stays).
// unanswered says its server never answered: the connection failed
// without a word from PostgreSQL.
func checkTarget(ctx context.Context, j *job, reg *rules.Registry, env Env) (run *report.Run, unanswered bool) {
	started := time.Now()
	opt := j.opt
	var f *facts.Facts
	if j.failed != "" {
		f = unreachable(j.cfg, opt.Expect, j.failed)
	} else {
		tctx, cancel := context.WithTimeout(ctx, opt.Timeout)
		f = gather.Gather(tctx, j.cfg, gather.Options{
			Expect: opt.Expect, Timeouts: timeoutsWithin(opt.Timeout, opt.CatalogTimeout), Tunnel: opt.tunnel,
		})
		cancel()
		if f.Connect.Err != nil && j.failed == "" && !interrupted(ctx) {
			j.failed = "could not connect to " + targetLabel(f.Target) + ": " + f.Connect.Err.Message
			unanswered = f.Connect.Err.SQLState == ""
		}
	}
	// Not SQLOnly, as check is: its fix SQL is built as a report reads it,
	// from steps that hold on to the facts, which a fleet must let go
	// once the target is judged. The steps are built once, their SQL kept,
	// and they go.
	results := rules.Evaluate(reg, f, opt.RuleConfig)
	results, warnings := rules.ApplyIgnores(results, opt.Ignores, now(env))
	for i := range results {
		results[i].Steps = nil
	}
	r := newRun(j.name, f, opt, started, results, warnings)
	return &r, unanswered
}

// unreachable is the facts of a target that could not even be tried: a
// connection that failed, for why, so that every rule that needs the
// database says so, as when the server does not answer.
func unreachable(cfg *pgx.ConnConfig, expect facts.Options, why string) *facts.Facts {
	f := &facts.Facts{SchemaVersion: facts.SchemaVersion, GatheredAt: time.Now().UTC(), Options: expect}
	if cfg != nil {
		f.Target = facts.Target{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.User}
		if f.Options.ConnectorUser == "" {
			f.Options.ConnectorUser = cfg.User
		}
	}
	f.Connect = facts.Probe{Attempted: true, Err: &facts.Error{Op: "connect", Message: why}}
	f.Platform = gather.DetectPlatform(gather.Signals{Host: f.Target.Host})
	return f
}
