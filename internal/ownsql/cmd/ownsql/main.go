// Command ownsql runs a check's gathering against a database, recording the
// statements the catalog connection sends, and writes them as a psql
// script (see package ownsql). scripts/bench.sh runs the script with psql
// beside the check.
//
//	ownsql -o /tmp/own.sql "postgresql://streamkap_user@127.0.0.1/app"
//
// The options are check's defaults (slot, publication, signal schema of
// Streamkap's guide). The replication probe (IDENTIFY_SYSTEM on its own
// connection) is not SQL psql can send in the same session and is left out.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/ownsql"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ownsql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the script here (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ownsql [-o FILE] DSN")
		return 2
	}
	cfg, err := gather.ParseDSN(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "ownsql: %v\n", err)
		return 1
	}
	rec := &ownsql.Recorder{}
	cfg.Tracer = rec
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Expect: facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub",
		SignalSchema: "streamkap", SnapshotMode: facts.SnapshotAuto}})
	if f.Connect.Err != nil {
		fmt.Fprintf(stderr, "ownsql: %v\n", f.Connect.Err)
		return 1
	}
	script, err := ownsql.Script(rec.Statements(), "ROLLBACK")
	if err != nil {
		fmt.Fprintf(stderr, "ownsql: %v\n", err)
		return 1
	}
	if *out == "" {
		_, err = io.WriteString(os.Stdout, script)
	} else {
		err = os.WriteFile(*out, []byte(script), 0o600)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ownsql: %v\n", err)
		return 1
	}
	return 0
}
