package gather

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
)

// DSN forms FuzzParseDSN builds around a password.
const (
	formURLUserinfo = iota // postgres://user:PASSWORD@host/db
	formURLQuery           // postgres://host/db?password=PASSWORD&…
	formKVBare             // … password=PASSWORD …
	formKVQuoted           // … password='PASSWORD' …
	formCount
)

// FuzzParseDSN: nothing a person sees of a connection string depends on
// its password: not the error when it does not parse, not the target
// (user@host:port/db, TLS mode) when it does. The target builds the DSN
// twice around a password, the second time with the password's letters
// rotated (a→b, …), which leaves the structure of the string the same for
// any parser; the two must give the same error, or the same target. A
// password in an error, whole or in part ("missing = after cret" for an
// unquoted "se cret"), makes them differ. sslpassword, the client key's
// passphrase, is held to the same.
func FuzzParseDSN(f *testing.F) {
	type seed struct {
		form          uint8
		pre, pw, post string
	}
	seeds := []seed{
		{formURLUserinfo, "app", "s3cret", "db.example.com:5432/app?sslmode=require"},
		{formURLUserinfo, "app", "pa%zzword", "db/app"},
		{formURLUserinfo, "app", "ab/cd", "db/app"},
		{formURLUserinfo, "app", "12/cd", "db/app"},
		{formURLUserinfo, "app", "p@ss:word", "db/app"},
		{formURLUserinfo, "app", "secret", "db:notaport/app"},
		{formURLUserinfo, "app", "sec ret", "db/app"},
		{formURLUserinfo, "app", "secret", "[::1/app"},
		{formURLQuery, "db/app", "s3cret", "sslmode=bogus"},
		{formURLQuery, "db/app", "ab%gg", "x=1"},
		{formURLQuery, "db/app", "se cret", "port=abc"},
		{formKVBare, "host=db user=app", "se cret", "dbname=app"},
		{formKVBare, "host=db user=app", "secret", "sslmode=bogus"},
		{formKVBare, "host=db user=app", "sec'ret", "x"},
		{formKVBare, "host=db", "trailing\\", ""},
		{formKVQuoted, "host=db user=app", "it's secret", "dbname=app"},
		{formKVQuoted, "host=db user=app", "secret", "port=notaport"},
		{formKVQuoted, "host=db user=app", "unterminated", "'"},
		{formKVQuoted | 8, "host=db", "passphrase", "sslkey=/nonexistent"},
		{formKVBare | 8, "host=db", "pass phrase", "a b"},
	}
	for _, s := range seeds {
		f.Add(s.form, s.pre, s.pw, s.post)
	}
	for _, n := range fuzzcheck.HostileNames {
		f.Add(uint8(formKVBare), "host=db", n, "dbname=app")
		f.Add(uint8(formURLUserinfo), "app", n, "db/app")
	}
	f.Fuzz(func(t *testing.T, form uint8, pre, pw, post string) {
		key := "password"
		if form&8 != 0 {
			key = "sslpassword"
		}
		form %= formCount
		var skip func(int) bool
		if form == formURLUserinfo || form == formURLQuery {
			skip = percentEscape(pw) // %XX stays an escape, or stays not one
		}
		if form == formKVBare || form == formKVQuoted {
			// What comes before must be whole settings for "password" to be
			// a keyword, to libpq as to pgx: not "host=" (its value would be
			// "password=…"), not "host=\" (the backslash takes the space),
			// not an unclosed quote.
			trimmed := strings.TrimRight(pre, " \t\n\r\v\f")
			if _, err := pgconn.ParseConfig(pre); err != nil || strings.HasSuffix(trimmed, "=") || strings.HasSuffix(pre, `\`) {
				return
			}
		}
		if strings.Contains(pre+post, pw) {
			return // the password is also elsewhere: it may be shown as that
		}
		rot := fuzzcheck.RotateSecret(pw, skip)
		if rot == pw || !sameStructure(pw, rot) {
			return
		}
		build := func(pw string) string {
			switch form {
			case formURLUserinfo:
				return "postgres://" + pre + ":" + pw + "@" + post
			case formURLQuery:
				return "postgres://" + pre + "?" + key + "=" + pw + "&" + post
			case formKVBare:
				return pre + " " + key + "=" + pw + " " + post
			}
			return pre + " " + key + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' " + post
		}
		dsn, rotated := build(pw), build(rot)
		cfg, err := ParseDSN(dsn)
		rcfg, rerr := ParseDSN(rotated)
		switch {
		case (err == nil) != (rerr == nil):
			t.Fatalf("%q: %v\n%q: %v", dsn, err, rotated, rerr)
		case err != nil && err.Error() != rerr.Error():
			t.Fatalf("the error depends on the password:\n%q: %v\n%q: %v", dsn, err, rotated, rerr)
		case err == nil:
			a, b := shownTarget(cfg), shownTarget(rcfg)
			if a != b {
				t.Fatalf("the target shown depends on the password:\n%q: %s\n%q: %s", dsn, a, rotated, b)
			}
		}
		if err != nil {
			// A second belt: the whole password is not in the error either.
			if e := fuzzcheck.NoSecret(err.Error(), 4, pw); e != nil && !strings.Contains(rerr.Error(), pw) {
				t.Fatal(e)
			}
		}
	})
}

// percentEscape marks the two hex digits after each % in s.
func percentEscape(s string) func(int) bool {
	return func(i int) bool {
		return (i >= 1 && s[i-1] == '%') || (i >= 2 && s[i-2] == '%')
	}
}

// sameStructure rules out the one way rotating letters changes what a
// parser does with them: a word of an unquoted password that is a
// connection keyword ("se host=x" sets the host; its rotation "tf ipt=y"
// only a server parameter). Such a word is the next setting, not a part
// of the password, to every parser.
func sameStructure(pw, rot string) bool {
	for _, s := range []string{pw, rot} {
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \t\n\r\v\f=&?#/'\\", r) }) {
			if dsnKeywords[strings.ToLower(w)] {
				return false
			}
		}
	}
	return true
}

// dsnKeywords are the connection keywords pgx gives a meaning.
var dsnKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`host hostaddr port dbname database user password passfile connect_timeout
		sslmode sslkey sslcert sslrootcert sslpassword sslsni sslnegotiation sslcertmode service servicefile
		target_session_attrs min_protocol_version max_protocol_version channel_binding require_auth
		application_name fallback_application_name options client_encoding krbsrvname krbspn gssencmode
		ssl replication`) {
		m[k] = true
	}
	return m
}()

// shownTarget is everything of a parsed DSN that reports and messages
// show: facts.Target's fields.
func shownTarget(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s %s", cfg.User, cfg.Host, cfg.Port, cfg.Database, sslMode(cfg))
}
