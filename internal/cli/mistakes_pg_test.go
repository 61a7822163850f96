package cli

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// TestTypicalMistakesAtOnce runs check against the demo's shop database,
// which holds the usual first-try mistakes: each is caught by its rule and
// named in objects.
func TestTypicalMistakesAtOnce(t *testing.T) {
	c := pgtest.ClusterWith(t, "shop", pglocal.Options{TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := setUpShop(ctx, c, secret); err != nil {
		t.Fatal(err)
	}
	outArgs, files := allOutputs(t)
	r := run(t, nil, append([]string{"check", c.DSN("streamkap_user", secret, "shop", "require")}, outArgs...)...)
	if r.code != 1 {
		t.Errorf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	assertNoSecret(t, r, files...)
	rep := decodeReport(t, mustRead(t, files[0]))
	results := map[string]struct {
		status  string
		objects []string
	}{}
	for _, res := range rep.Results {
		results[res.Rule] = struct {
			status  string
			objects []string
		}{string(res.Status), res.Objects}
	}
	orderItems := sqlident.Qualified("public", "Order Items")
	for _, want := range []struct {
		rule, status string
		objects      []string // each must be among the result's objects
	}{
		{"replication-privilege", "fail", []string{"role streamkap_user"}},
		{"replica-identity", "fail", []string{orderItems, "public.audit_log"}},
		{"table-select", "fail", []string{"public.audit_log", "public.cart_sessions", "public.invoices"}},
		{"signal-table", "fail", nil},
		{"publication-coverage", "fail", []string{orderItems, "public.audit_log", "public.invoices"}},
		{"publication-signal-table", "fail", nil},
		{"slot-exists", "fail", nil},
		{"unlogged-tables", "warn", []string{"public.cart_sessions"}},
		{"row-level-security", "fail", []string{"public.invoices"}},
		{"wal-level", "pass", nil},
		{"ssl", "pass", nil},
	} {
		got, ok := results[want.rule]
		if !ok {
			t.Errorf("%s: no result", want.rule)
			continue
		}
		if got.status != want.status {
			t.Errorf("%s = %s, want %s", want.rule, got.status, want.status)
		}
		for _, o := range want.objects {
			if !slices.Contains(got.objects, o) {
				t.Errorf("%s: objects %q lack %s", want.rule, got.objects, o)
			}
		}
	}
}
