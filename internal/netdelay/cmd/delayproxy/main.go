// Command delayproxy forwards TCP connections to a target with a fixed
// delay added each way, and counts the round trips of every connection
// (see package netdelay). On SIGINT or SIGTERM it stops accepting, lets
// open connections finish for up to -grace, and writes the statistics.
//
//	delayproxy -listen 127.0.0.1:0 -target 127.0.0.1:5432 -delay 25ms \
//		-addr-file /tmp/proxy.addr -stats /tmp/proxy.stats
//
// A delay of 25 ms each way makes every round trip 50 ms, like a database
// in another region. scripts/bench.sh uses it for the distance case.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("delayproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	target := fs.String("target", "", "host:port to forward to (required)")
	delay := fs.Duration("delay", 25*time.Millisecond, "delay added in each direction (the round trip costs twice this)")
	addrFile := fs.String("addr-file", "", "write the address listened on to this file once ready")
	statsFile := fs.String("stats", "", "write the statistics here on exit (default: stderr)")
	grace := fs.Duration("grace", 2*time.Second, "on SIGTERM, how long open connections may take to finish")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *target == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: delayproxy -target host:port [-listen addr] [-delay 25ms] [-addr-file F] [-stats F]")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := netdelay.Listen(ctx, *listen, *target, *delay)
	if err != nil {
		fmt.Fprintln(stderr, "delayproxy:", err)
		return 1
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve() }()
	addr := p.Addr().String()
	if *addrFile != "" {
		if err := writeAtomic(*addrFile, addr+"\n"); err != nil {
			fmt.Fprintln(stderr, "delayproxy:", err)
			p.Close()
			return 1
		}
	}
	fmt.Fprintf(stderr, "delayproxy: %s → %s, %v each way\n", addr, *target, *delay)

	code := 0
	select {
	case <-ctx.Done():
	case err := <-served:
		if err != nil {
			fmt.Fprintln(stderr, "delayproxy:", err)
			code = 1
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	if err := p.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(stderr, "delayproxy: shutdown:", err)
	}
	cancel()

	out := stderr
	var f *os.File
	if *statsFile != "" {
		if f, err = os.Create(*statsFile); err != nil {
			fmt.Fprintln(stderr, "delayproxy:", err)
			return 1
		}
		out = f
	}
	err = p.Stats().WriteText(out)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "delayproxy: write statistics:", err)
		return 1
	}
	return code
}

// writeAtomic writes through a temporary file and a rename, so that a
// script polling for path never reads it half written.
func writeAtomic(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".delayproxy-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(text); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
