package cli

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/report"
)

// passphrase protects the test's SSH key; no output may contain it.
const passphrase = "Ssh-Passphrase-Never-Print-Me"

// bastion is a real OpenSSH sshd on loopback that lets the test's key in.
type bastion struct {
	sshd                *pglocal.SSHD
	keyPEM              []byte // the encrypted private key, which no output may contain
	keyFile, knownHosts string
}

func newBastion(t *testing.T, opt pglocal.SSHDOptions) *bastion {
	t.Helper()
	key, err := pglocal.NewSSHKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	opt.AuthorizedKeys = append(opt.AuthorizedKeys, key.AuthorizedKey())
	// Debug logging names each forwarded channel: how the tests see
	// that a connection went through the bastion.
	opt.Config = append(opt.Config, "LogLevel DEBUG1")
	b := &bastion{sshd: pgtest.SSHD(t, opt)}
	if b.keyPEM, err = key.OpenSSH(passphrase); err != nil {
		t.Fatal(err)
	}
	b.keyFile = writeFile(t, "id_ed25519", string(b.keyPEM))
	b.knownHosts = writeFile(t, "known_hosts", b.sshd.KnownHosts())
	return b
}

// args are the flags that tunnel a check through the bastion.
func (b *bastion) args() []string {
	return []string{"--ssh-host", b.sshd.Host, "--ssh-port", strconv.Itoa(b.sshd.Port), "--ssh-user", b.sshd.User,
		"--ssh-key", b.keyFile, "--ssh-known-hosts", b.knownHosts}
}

// env is the environment with the key's passphrase.
func (b *bastion) env() map[string]string { return map[string]string{sshPassphraseEnv: passphrase} }

// channels counts the connections the bastion forwarded, to where.
func (b *bastion) channels(target string) int {
	host, port, _ := net.SplitHostPort(target)
	re := regexp.MustCompile(`server_request_direct_tcpip: originator \S+ port \d+, target ` + regexp.QuoteMeta(host) + ` port ` + port + `\r?\n`)
	return len(re.FindAllString(b.sshd.Log(), -1))
}

// assertNoKeyMaterial: no output holds the passphrase, the private key or
// the database password.
func (b *bastion) assertNoKeyMaterial(t *testing.T, r runResult, files ...string) {
	t.Helper()
	assertNoSecret(t, r, files...)
	texts := []string{r.stdout, r.stderr}
	for _, f := range files {
		texts = append(texts, mustRead(t, f))
	}
	var body []string
	for _, line := range strings.Split(string(b.keyPEM), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			body = append(body, line)
		}
	}
	for _, text := range texts {
		if strings.Contains(text, passphrase) {
			t.Errorf("the SSH key's passphrase appears in the output:\n%s", text)
		}
		for _, line := range body {
			if strings.Contains(text, line) {
				t.Errorf("the private key appears in the output:\n%s", text)
			}
		}
	}
}

// verifyFull is a DSN for c that verifies the server's certificate for
// host, which need not be the address the bastion dials.
func verifyFull(c *pglocal.Cluster, host, user, password, db string) string {
	dsn := c.DSN(user, password, db, "verify-full") + "&sslrootcert=" + c.CACertFile
	return strings.Replace(dsn, "@127.0.0.1:", "@"+host+":", 1)
}

// verdicts are a report's results by rule: status and objects.
func verdicts(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range decodeReport(t, mustRead(t, file)).Results {
		out[r.Rule] = string(r.Status) + " " + strings.Join(r.Objects, ", ")
	}
	return out
}

// TestCheckThroughTunnelMatchesDirect: a check through a real sshd gives
// the same verdict as the same check made directly, rule by rule, on a
// database set up with the usual mistakes and on one set up as Streamkap's
// guide says (slot included, so the peek and the replication connection
// go through the tunnel); TLS verifies the database's own name
// (sslmode=verify-full for localhost, which the bastion resolves), and
// the tunnel's outcome is in the saved facts, which judge offline to the
// same report.
func TestCheckThroughTunnelMatchesDirect(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{})
	shop := pgtest.ClusterWith(t, "tunnel-shop", pglocal.Options{TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := setUpShop(ctx, shop, secret); err != nil {
		t.Fatal(err)
	}
	// A cluster of its own: the guide's script creates streamkap_user, as
	// the shop does.
	guide := pgtest.ClusterWith(t, "tunnel-guide", pglocal.Options{TLS: true})
	t.Cleanup(func() { // after the database is dropped
		_ = guide.Exec(context.Background(), "postgres", "DROP OWNED BY streamkap_role; DROP ROLE streamkap_user; DROP ROLE streamkap_role;")
	})
	db := pgtest.NewDatabase(t, guide)
	pgtest.Exec(t, guide, db, scenario(t, "app-tables.sql", nil))
	pgtest.Exec(t, guide, db, scenario(t, "streamkap-guide.sql", map[string]string{"password": secret, "database": db, "schema": "public"}))
	pgtest.Exec(t, guide, db, scenario(t, "streamkap-guide-slot.sql", nil))

	for _, tc := range []struct {
		name     string
		c        *pglocal.Cluster
		db       string
		wantCode int
	}{{"usual mistakes", shop, "shop", 1}, {"streamkap guide", guide, db, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := verifyFull(tc.c, "localhost", "streamkap_user", secret, tc.db)
			outArgs, files := allOutputs(t)
			direct := run(t, nil, append([]string{"check", dsn}, outArgs...)...)
			if direct.code != tc.wantCode {
				t.Fatalf("direct: exit %d\n%s%s", direct.code, direct.stdout, direct.stderr)
			}
			want := verdicts(t, files[0])

			target := "localhost:" + strconv.Itoa(tc.c.Port)
			before := b.channels(target)
			tunOut, tunFiles := allOutputs(t)
			tunneled := run(t, b.env(), append(append([]string{"check", dsn}, b.args()...), tunOut...)...)
			if tunneled.code != direct.code {
				t.Errorf("through the tunnel: exit %d, directly %d\n%s%s", tunneled.code, direct.code, tunneled.stdout, tunneled.stderr)
			}
			got := verdicts(t, tunFiles[0])
			for rule, v := range want {
				if rule == "ssh-tunnel" {
					continue
				}
				if got[rule] != v {
					t.Errorf("%s: %q through the tunnel, %q directly", rule, got[rule], v)
				}
			}
			if !strings.HasPrefix(want["ssh-tunnel"], "skip") || !strings.HasPrefix(got["ssh-tunnel"], "pass") {
				t.Errorf("ssh-tunnel: %q directly, %q through the tunnel", want["ssh-tunnel"], got["ssh-tunnel"])
			}
			// The catalog connection and the replication probe went
			// through the bastion, to the name it resolved.
			if n := b.channels(target) - before; n < 2 {
				t.Errorf("the bastion forwarded %d connections to %s, want the catalog's and the probe's", n, target)
			}
			b.assertNoKeyMaterial(t, tunneled, tunFiles...)

			// The saved facts say what the tunnel did, and judge offline
			// to the same verdicts.
			offOut, offFiles := allOutputs(t)
			offline := run(t, nil, append([]string{"check", "--facts", tunFiles[2]}, offOut[:len(offOut)-2]...)...)
			if offline.code != tunneled.code {
				t.Errorf("offline: exit %d, live %d\n%s", offline.code, tunneled.code, offline.stderr)
			}
			if off := verdicts(t, offFiles[0]); !equalVerdicts(off, got) {
				t.Errorf("offline verdicts differ:\n%v\n%v", off, got)
			}
		})
	}
}

func equalVerdicts(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTunnelVerifiesTheDatabaseName: TLS through the tunnel verifies the
// DSN's host name, not the address dialled: 127.1, which the bastion
// resolves to the server but the certificate does not name, is refused
// with verify-full.
func TestTunnelVerifiesTheDatabaseName(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{})
	c := pgtest.Cluster(t)
	r := run(t, b.env(), append([]string{"check", verifyFull(c, "127.1", c.SuperUser, c.SuperPassword, "postgres"), "-o", "json"}, b.args()...)...)
	rep := decodeReport(t, r.stdout)
	if r.code != 2 || statusOf(rep, "ssh-tunnel") != "pass" || !strings.Contains(r.stderr, "127.1") ||
		!strings.Contains(r.stderr, "certificate") {
		t.Errorf("exit %d, ssh-tunnel %s\n%s", r.code, statusOf(rep, "ssh-tunnel"), r.stderr)
	}
}

// TestTunnelBrokenLinks: each broken link of a real tunnel fails ssh-tunnel
// with its own cause and remedy, every rule that needs the database is
// error saying the tunnel is why, the exit code is 2, and no output holds
// the key, its passphrase or the password.
func TestTunnelBrokenLinks(t *testing.T) {
	c := pgtest.Cluster(t)
	dsn := c.DSN(c.SuperUser, secret, "postgres", "require")
	ok := newBastion(t, pglocal.SSHDOptions{})
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		return port
	}
	with := func(args []string, flag, value string) []string {
		out := slices.Clone(args)
		i := slices.Index(out, flag)
		out[i+1] = value
		return out
	}
	for _, tc := range []struct {
		name    string
		dsn     string
		args    []string
		failure string // in the message
		remedy  string
	}{
		{"bastion unreachable", dsn, with(ok.args(), "--ssh-port", closed()), "cannot reach the SSH bastion", "that sshd runs there"},
		{"host key unknown", dsn, with(ok.args(), "--ssh-known-hosts", writeFile(t, "empty", "")), "is unknown",
			"--ssh-host-key-fingerprint SHA256:"},
		{"host key changed", dsn, with(ok.args(), "--ssh-known-hosts", writeFile(t, "other", otherKnownHosts(t, ok))), "has CHANGED",
			"Stop: do not connect"},
		{"authentication refused", dsn, with(ok.args(), "--ssh-user", "nobody"), `refused user "nobody"`, "authorized_keys mode 600"},
		{"forwarding refused", dsn, forbidding(t), "refused to forward to the database 127.0.0.1:" + strconv.Itoa(c.Port),
			"AllowTcpForwarding yes"},
		{"database unreachable from the bastion", c.DSN(c.SuperUser, secret, "postgres", "require") + "&port=" + closed(), ok.args(),
			"could not connect to the database", "nc -vz 127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outArgs, files := allOutputs(t)
			r := run(t, ok.env(), append(append([]string{"check", tc.dsn}, tc.args...), outArgs...)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			rep := decodeReport(t, mustRead(t, files[0]))
			var tunnel report.JSONResult
			for _, res := range rep.Results {
				switch {
				case res.Rule == "ssh-tunnel":
					tunnel = res
				case res.Rule == "pooler-hostname":
				case res.Rule == "connector-config" && res.Status == "skip": // no connector configuration to judge
				case res.Status != "error" || !strings.Contains(res.Message, "SSH tunnel"):
					t.Errorf("%s = %s %q, want error because of the tunnel", res.Rule, res.Status, res.Message)
				}
			}
			if tunnel.Status != "fail" || !strings.Contains(tunnel.Message, tc.failure) || !strings.Contains(tunnel.Remediation, tc.remedy) {
				t.Errorf("ssh-tunnel = %s %q\nremedy: %s\nwant %q and %q", tunnel.Status, tunnel.Message, tunnel.Remediation, tc.failure, tc.remedy)
			}
			if !strings.Contains(r.stderr, tc.failure) {
				t.Errorf("stderr does not say why: %s", r.stderr)
			}
			ok.assertNoKeyMaterial(t, r, files...)
		})
	}
}

// otherKnownHosts records another key for the bastion's address.
func otherKnownHosts(t *testing.T, b *bastion) string {
	t.Helper()
	k, err := pglocal.NewSSHKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	return "[" + b.sshd.Host + "]:" + strconv.Itoa(b.sshd.Port) + " " + k.AuthorizedKey() + "\n"
}

// forbidding is a bastion that lets the key in but forwards nowhere.
func forbidding(t *testing.T) []string {
	return newBastion(t, pglocal.SSHDOptions{Config: []string{"AllowTcpForwarding no"}}).args()
}

// TestTunnelTimeLimits: a bastion that accepts TCP and never speaks SSH,
// and a database behind a working bastion that accepts the connection and
// never answers, both end at the DSN's connect_timeout with a clear
// message, not when the bastion or the database decides. The second is
// what the local pipe is for: an SSH channel ignores the deadlines pgx
// sets when a context ends.
func TestTunnelTimeLimits(t *testing.T) {
	silent := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		var held []net.Conn
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					for _, c := range held {
						_ = c.Close()
					}
					return
				}
				held = append(held, c) // accepted, never answered
			}
		}()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		return port
	}
	b := newBastion(t, pglocal.SSHDOptions{})
	c := pgtest.Cluster(t)
	for _, tc := range []struct {
		name, dsn string
		args      []string
		want      string
	}{
		{"silent bastion", c.DSN(c.SuperUser, secret, "postgres", "require") + "&connect_timeout=2",
			[]string{"--ssh-host", "127.0.0.1", "--ssh-port", silent(), "--ssh-user", "x", "--ssh-key", b.keyFile, "--ssh-known-hosts", b.knownHosts},
			"no SSH session started before the time limit"},
		{"silent database", "postgres://u:" + secret + "@127.0.0.1:" + silent() + "/db?sslmode=require&connect_timeout=2", b.args(), "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := run(t, b.env(), append([]string{"check", tc.dsn, "--timeout", "30s", "-o", "json"}, tc.args...)...)
			took := time.Since(start)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want %q", r.code, r.stderr, tc.want)
			}
			// connect_timeout is 2 s; the overall --timeout, 30 s, must
			// not be what ended it.
			if took > 10*time.Second {
				t.Errorf("took %s, want about connect_timeout's 2s", took)
			}
			b.assertNoKeyMaterial(t, r)
		})
	}
}

// TestTunnelSSHKeyErrors: a key the tunnel cannot use is a usage error
// (exit 2) that says what to do, before anything connects.
func TestTunnelSSHKeyErrors(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{})
	dsn := "postgres://u:" + secret + "@db.invalid/app"
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no passphrase", nil, b.args(), sshPassphraseEnv},
		{"wrong passphrase", map[string]string{sshPassphraseEnv: "not-" + passphrase}, b.args(), "passphrase of the SSH key " + b.keyFile + " is wrong"},
		{"no key, no agent", b.env(), slices.Delete(b.args(), 6, 8), "SSH_AUTH_SOCK is not set"},
		{"no user", b.env(), slices.Delete(b.args(), 4, 6), "--ssh-host needs --ssh-user"},
		{"user without host", b.env(), []string{"--ssh-user", "streamkap"}, "--ssh-user given without --ssh-host"},
		{"known_hosts and fingerprint", b.env(), append(b.args(), "--ssh-host-key-fingerprint", "SHA256:"+strings.Repeat("A", 43)), "not both"},
		{"bad fingerprint", b.env(), []string{"--ssh-host", "h", "--ssh-user", "u", "--ssh-host-key-fingerprint", "MD5:aa"}, "not a SHA256 host key fingerprint"},
		{"unix socket", b.env(), b.args(), "Unix socket"},
		{"user@host", b.env(), []string{"--ssh-host", "streamkap@bastion", "--ssh-user", "u"}, "--ssh-user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dsn
			if tc.name == "unix socket" {
				d = "host=/var/run/postgresql user=u dbname=app"
			}
			r := run(t, tc.env, append([]string{"check", d}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want %q", r.code, r.stderr, tc.want)
			}
			b.assertNoKeyMaterial(t, r)
		})
	}
}

// TestFixApplyThroughTunnel: fix --apply goes through the tunnel too, and
// the key's passphrase, typed at the terminal, is asked for once for the
// check, the apply and the check after it.
func TestFixApplyThroughTunnel(t *testing.T) {
	e := newFixEnv(t)
	pgtest.Exec(t, e.c, e.db, "CREATE ROLE "+sqlident.Quote(e.user)+" LOGIN")
	b := newBastion(t, pglocal.SSHDOptions{})
	target := "127.0.0.1:" + strconv.Itoa(e.c.Port)
	args := append(append(append([]string{"fix", e.superDSN}, e.connectorUserArg...), b.args()...), "--apply", "--yes")
	term := &fakeTerminal{secrets: []string{passphrase}}
	var out, errOut bytes.Buffer
	code := RunEnv(args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }, Terminal: term})
	r := runResult{code, out.String(), errOut.String()}
	if r.code == 2 || !strings.Contains(r.stdout, "applied") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "Passphrase for the SSH key"); n != 1 {
		t.Errorf("asked for the passphrase %d times, want once", n)
	}
	// The check (catalog and probe), the apply and the check after it.
	if n := b.channels(target); n < 5 {
		t.Errorf("the bastion forwarded %d connections, want at least 5", n)
	}
	b.assertNoKeyMaterial(t, r)
	// What the apply did is there: a second fix through the tunnel plans
	// no SQL.
	again := run(t, b.env(), append(append([]string{"fix", e.superDSN}, e.connectorUserArg...), b.args()...)...)
	if strings.Contains(again.stdout, "GRANT ") || again.code == 2 {
		t.Errorf("a second fix still plans SQL: exit %d\n%s", again.code, again.stdout)
	}
}
