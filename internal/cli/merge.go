package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cdcpreflight/cdcpreflight/report"
)

const mergeUsage = `Usage: cdcpreflight merge [flags] REPORT.json...

Joins the JSON reports of a fleet's shards ('check --targets FILE --shard K/N
-o json=shard-K.json', run on N runners) into one report of the whole fleet,
in any format, and exits with the code one run of the whole fleet would
give. It refuses shards that overlap, leave targets out, disagree (another
targets file, shard count, --fail-on or cdcpreflight version) or were
interrupted. One unsharded fleet report is rendered again as it is.

Examples:
  cdcpreflight merge shard-*.json
  cdcpreflight merge -o table -o junit=fleet.xml -o json=fleet.json shard-1.json shard-2.json

Flags:
`

type mergeOptions struct {
	Outputs  []outputSpec
	ExitZero bool
	NoColor  bool
}

var mergeOptionTable = options[mergeOptions]{
	{flag: "output", short: "o", errs: namesFlag,
		help: "report FORMAT[=PATH]: " + oneOf(report.Formats()) + "; repeatable; no PATH writes to stdout (default " + string(report.FormatTable) + ")",
		value: to(repeated, nil, func(o *mergeOptions, v []string) (err error) {
			o.Outputs, err = parseOutputs(v)
			return err
		})},
	{flag: "exit-zero",
		help:  "exit 0 even when findings are at or above the shards' --fail-on (an incomplete assessment still exits 2)",
		value: to(boolean, false, field(func(o *mergeOptions) *bool { return &o.ExitZero }))},
	{flag: "no-color",
		help:  "never colour the table (NO_COLOR is honoured too)",
		value: to(boolean, false, field(func(o *mergeOptions) *bool { return &o.NoColor }))},
}

func runMerge(args []string, env Env) int {
	fs := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.SortFlags = false
	mergeOptionTable.define(fs)
	fs.Usage = func() {
		fmt.Fprint(env.Stdout, mergeUsage)
		fmt.Fprint(env.Stdout, fs.FlagUsages())
		fmt.Fprint(env.Stdout, "\nExit codes: as one run of the whole fleet: 0 clean, 1 findings at or above --fail-on, 2 could not complete (or the shards do not make a fleet).\n")
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "cdcpreflight merge: %v\n", err)
		return exitError
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return fail(err)
	}
	mo, err := mergeOptionTable.fromFlags(fs)
	if err != nil {
		return fail(err)
	}
	if fs.NArg() == 0 {
		return fail(errors.New("no reports: give the JSON reports of every shard (check --targets FILE --shard K/N -o json=FILE)"))
	}
	docs := make([]namedDoc, 0, fs.NArg())
	for _, path := range fs.Args() {
		data, err := os.Open(path)
		if err != nil {
			return fail(err)
		}
		doc, err := report.DecodeFleetJSON(data)
		_ = data.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", path, err))
		}
		docs = append(docs, namedDoc{path, doc})
	}
	fleet, err := mergeFleet(docs)
	if err != nil {
		return fail(err)
	}
	opt := &checkOptions{Outputs: mo.Outputs, NoColor: mo.NoColor || env.Getenv("NO_COLOR") != ""}
	if len(opt.Outputs) == 0 {
		opt.Outputs = []outputSpec{{Format: report.FormatTable}}
	}
	if err := writeFleetOutputs(opt, fleet, env); err != nil {
		return fail(err)
	}
	code := fleet.ExitCode()
	if code == exitFindings && mo.ExitZero {
		code = exitOK
	}
	return code
}

type namedDoc struct {
	path string
	doc  report.JSONFleet
}

// mergeFleet joins shards into the report of the whole fleet, refusing
// anything that would not be what one run of it reports: a target twice or
// missing, a target in a shard its name does not hash to, shards of other
// fleets, counts, thresholds or versions, or a shard interrupted.
func mergeFleet(docs []namedDoc) (report.Fleet, error) {
	first := docs[0]
	for _, d := range docs {
		switch {
		case d.doc.Interrupted:
			return report.Fleet{}, fmt.Errorf("%s was interrupted before it checked every target: run that shard again", d.path)
		case d.doc.Summary.Checked != len(d.doc.Targets) || d.doc.Summary.Targets != len(d.doc.Targets):
			return report.Fleet{}, fmt.Errorf("%s reports %d targets to check but holds %d: it is incomplete", d.path, d.doc.Summary.Targets, len(d.doc.Targets))
		case !slices.Equal(d.doc.Names, first.doc.Names):
			return report.Fleet{}, fmt.Errorf("%s and %s are of different fleets (their targets files list other targets): run every shard with one targets file", first.path, d.path)
		case d.doc.FailOn != first.doc.FailOn:
			return report.Fleet{}, fmt.Errorf("%s was judged with --fail-on %s, %s with %s: run every shard with one", first.path, first.doc.FailOn, d.path, d.doc.FailOn)
		case d.doc.Tool != first.doc.Tool:
			return report.Fleet{}, fmt.Errorf("%s was written by %s %s, %s by %s %s: run every shard with one version",
				first.path, first.doc.Tool.Name, first.doc.Tool.Version, d.path, d.doc.Tool.Name, d.doc.Tool.Version)
		case (d.doc.Shard == nil) != (first.doc.Shard == nil):
			return report.Fleet{}, fmt.Errorf("%s and %s: one is a shard, the other the whole fleet", first.path, d.path)
		}
	}
	if first.doc.Shard == nil {
		if len(docs) > 1 {
			return report.Fleet{}, fmt.Errorf("%s and %s both report the whole fleet: merge joins shards (--shard K/N)", docs[0].path, docs[1].path)
		}
		return first.doc.Fleet(), nil
	}
	n := first.doc.Shard.Count
	byIndex := map[int]string{}
	for _, d := range docs {
		s := d.doc.Shard
		switch {
		case s.Count != n:
			return report.Fleet{}, fmt.Errorf("%s is shard %s, %s shard %s: run every shard with one N", first.path, first.doc.Shard, d.path, s)
		case byIndex[s.Index] != "":
			return report.Fleet{}, fmt.Errorf("%s and %s are both shard %s: they overlap", byIndex[s.Index], d.path, s)
		}
		byIndex[s.Index] = d.path
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if byIndex[k] == "" {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	if len(missing) > 0 {
		return report.Fleet{}, fmt.Errorf("shard %s missing: a merged report without it would pass targets nobody checked", strings.Join(missing, ", "))
	}
	// Every target where its name says, once; then every target of the fleet.
	where := map[string]string{}
	runs := map[string]report.Run{}
	merged := report.Fleet{Tool: first.doc.Tool, FailOn: first.doc.FailOn, Names: first.doc.Names, Planned: len(first.doc.Names)}
	for _, d := range docs {
		f := d.doc.Fleet()
		for _, run := range f.Targets {
			name := run.Target.Name
			switch {
			case !slices.Contains(merged.Names, name):
				return report.Fleet{}, fmt.Errorf("%s holds target %q, which its fleet does not list", d.path, name)
			case where[name] != "":
				return report.Fleet{}, fmt.Errorf("target %q is in %s and in %s: the shards overlap", name, where[name], d.path)
			case shardOf(name, n) != d.doc.Shard.Index:
				return report.Fleet{}, fmt.Errorf("%s holds target %q, which belongs to shard %d/%d: was it made by another --shard?", d.path, name, shardOf(name, n), n)
			}
			where[name] = d.path
			runs[name] = run
		}
	}
	for _, name := range merged.Names {
		run, ok := runs[name]
		if !ok {
			return report.Fleet{}, fmt.Errorf("target %q of the fleet is in no shard's report", name)
		}
		merged.Targets = append(merged.Targets, run)
	}
	return merged, nil
}
