// Command cdcpreflight checks that a PostgreSQL database is ready to be the
// source of a Change Data Capture connector. See internal/cli.
package main

import (
	"os"

	"github.com/cdcpreflight/cdcpreflight/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
