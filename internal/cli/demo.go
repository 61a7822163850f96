package cli

import (
	"context"
	"crypto/rand"
	_ "embed" // the demo's sample database
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

//go:embed demo/shop.sql
var demoSQL string

const demoUsage = `Usage: cdcpreflight demo [flags]

Starts a throwaway local PostgreSQL (the server binaries found on this
machine, or CDCPREFLIGHT_PG_BIN; as the postgres user when run as root),
creates a sample shop database set up for Streamkap with typical mistakes,
and then shows the tool's whole job against it:
  1. check, as the connector user over TLS: the report of what is wrong;
  2. fix --apply --yes, as the superuser: the reviewed SQL plan, then the
     apply, step by step (UNLOGGED tables and anything else fix leaves to
     a person stay listed as manual steps);
  3. check again, as the connector user: every error-severity rule passes.
Then it removes the cluster. Exits 0 when the demo ran, whatever it found.

Flags (as for check, without a DSN):
`

func runDemo(args []string, env Env) int {
	cf := newCheckFlags("demo", env.Stderr)
	checkOptionTable.hideFleet(cf.fs)
	cf.noDiscovery = true
	cf.fs.Usage = func() {
		fmt.Fprint(env.Stdout, demoUsage)
		fmt.Fprint(env.Stdout, cf.fs.FlagUsages())
	}
	opt, err := cf.resolve(args, env)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err == nil && opt.fleet != nil {
		err = errors.New("demo makes its own database: --targets is for 'check'")
	}
	if err == nil && opt.DSN != "" && (cf.fs.Changed("dsn") || len(cf.fs.Args()) > 0) {
		err = errors.New("demo makes its own database: give no DSN (use 'check' for yours)")
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight demo: %v\n", err)
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintln(env.Stderr, "cdcpreflight demo: starting a throwaway PostgreSQL cluster…")
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cluster, err := pglocal.Start(startCtx, pglocal.Options{TLS: true})
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight demo: %v\n", err)
		return exitError
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(env.Stderr, "cdcpreflight demo: removing the cluster: %v\n", err)
		}
	}()
	password, err := demoPassword()
	if err == nil {
		err = setUpShop(startCtx, cluster, password)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight demo: %v\n", err)
		return exitError
	}
	connector := cluster.DSN("streamkap_user", password, "shop", "require")
	admin := cluster.DSN(cluster.SuperUser, cluster.SuperPassword, "shop", "require")
	step := func(n int, what string) {
		fmt.Fprintf(env.Stderr, "\ncdcpreflight demo: %d/3 %s\n\n", n, what)
	}
	fmt.Fprintf(env.Stderr, "cdcpreflight demo: PostgreSQL %s on 127.0.0.1:%d, database shop\n", cluster.Version, cluster.Port)

	step(1, "check, as the connector user streamkap_user over TLS")
	opt.DSN = connector
	code := check(opt, env)
	fmt.Fprintf(env.Stderr, "\ncdcpreflight demo: 'check' exits %d (%s).\n", code, exitMeaning(code))
	if code == exitError {
		return exitError
	}

	step(2, "fix --apply --yes, as the superuser with --connector-user streamkap_user: the plan, then the apply")
	fixOpt := *opt
	fixOpt.DSN = admin
	fixOpt.Expect.ConnectorUser = "streamkap_user"
	xf, err := fixOptionTable.defaults()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight demo: %v\n", err)
		return exitError
	}
	xf.apply, xf.yes, xf.noRecheck = true, true, true
	if code := runFixWith(&fixOpt, xf, env); code == exitError {
		return exitError
	}

	step(3, "check again, as the connector user")
	code = check(opt, env)
	fmt.Fprintf(env.Stderr, "\ncdcpreflight demo: 'check' exits %d (%s); removing the cluster.\n", code, exitMeaning(code))
	if code == exitError {
		return exitError
	}
	return exitOK
}

func setUpShop(ctx context.Context, c *pglocal.Cluster, password string) error {
	if err := c.CreateDatabase(ctx, "shop"); err != nil {
		return err
	}
	user := fmt.Sprintf("CREATE USER streamkap_user PASSWORD %s;", sqlident.Literal(password))
	if err := c.Exec(ctx, "shop", user); err != nil {
		return fmt.Errorf("create the connector user: %w", err)
	}
	if err := c.Exec(ctx, "shop", demoSQL); err != nil {
		return fmt.Errorf("create the sample database: %w", err)
	}
	return nil
}

func demoPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func exitMeaning(code int) string {
	switch code {
	case exitOK:
		return "nothing at or above --fail-on"
	case exitFindings:
		return "findings at or above --fail-on"
	}
	return "the assessment could not be completed"
}
