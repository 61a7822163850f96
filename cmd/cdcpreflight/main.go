// Command cdcpreflight checks that a PostgreSQL database is ready to be the
// source of a Change Data Capture connector. See internal/cli.
package main

import (
	"os"
	"runtime/debug"

	"github.com/cdcpreflight/cdcpreflight/internal/cli"
)

// memoryLimit is the heap size the garbage collector works to stay under
// unless GOMEMLIMIT says otherwise. A check's live heap is its facts and
// results, tens of megabytes at 100,000 tables; by default Go lets the heap
// grow to twice the live size between collections, which doubles the
// footprint of a tool that often runs in a small CI container.
const memoryLimit = 64 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
