package connector

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
)

// FuzzParse: any file, in any of the formats, is read in bounded time
// without a panic, and so are its defaults applied; a value the file marks
// secret is in nothing Resolve makes of it (the facts, the connection, the
// notes).
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(examples, "*"))
	malformed, _ := filepath.Glob(filepath.Join(examples, "malformed", "*"))
	for _, p := range append(paths, malformed...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "{", "{}", "[]", "null", `{"config": null}`, `{"name": 1, "config": {"connector.class": ["x"]}}`,
		"connector.class=PostgresConnector\ndatabase.password=se\\\ncret\n",
		"connector.class=PostgresConnector\ndatabase.password=${file:/x:pw}\nslot.name=${env:SLOT}\n",
		"kind: KafkaConnector\nspec: &s {config: *s}\n",
		"kind: KafkaConnector\nspec:\n  class: PostgresConnector\n  config: {database.password: [a]}\n",
		"resource \"streamkap_source_postgresql\" \"x\" {\n  database_password = \"${var.pw}\"\n  slot_name = upper(\"s\")\n}\n",
		"resource \"streamkap_source_postgresql\" \"x\" {\n  database_password = \"se\n",
		"\xef\xbb\xbf\xff\xfe" + "connector.class=Postgres\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		c, err := Parse("c", data)
		if err == nil {
			l := Resolve(c, DefaultVersion)
			out := resolved(t, l)
			for _, v := range c.Props {
				// Checked when the file has it once: as part of another
				// value it may rightly be shown.
				if v.Secret && strings.Count(string(data), v.Text) == 1 {
					if e := fuzzcheck.NoSecret(out, 6, v.Text); e != nil {
						t.Fatalf("%s: %v", v.Key, e)
					}
				}
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%d bytes took %s", len(data), took)
		}
	})
}

// resolved is everything Resolve makes of a configuration but the
// configuration itself, as text.
func resolved(t *testing.T, l *Loaded) string {
	t.Helper()
	cfg := l.Config
	l.Config = nil
	out, err := json.Marshal(l)
	l.Config = cfg
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n" + strings.Join(cfg.Notes, "\n")
}

// Formats FuzzSecret writes a configuration in.
var secretFormats = []string{FormatProperties, FormatJSON, FormatStrimzi, FormatTerraform}

// FuzzSecret: whatever the password in a configuration (each format,
// written with that format's escapes) and whatever the file has after it,
// nothing cdcpreflight says of the file depends on the password: the
// configuration written again with the password's letters rotated gives
// the same error, or the same reading in everything but the password.
// When the file is only that, the password and the slot name are read
// back exactly as written, the password marked secret: a slot name read
// wrong would have the check judge another slot.
func FuzzSecret(f *testing.F) {
	for i := range secretFormats {
		f.Add(uint8(i), "s3cret-Passw0rd", "streamkap_pgoutput_slot", "")
		f.Add(uint8(i), `q"u'o\te\n\r`+"\x00\x1b", "slot", "")
		f.Add(uint8(i), "${file:/etc/pw:password} %{x} $${y}", "${env:SLOT}", "")
		f.Add(uint8(i), "pässwörd 日本 🐘", "slöt", "garbage { [ \"")
		for _, n := range fuzzcheck.HostileNames {
			f.Add(uint8(i), n+" password", n, "")
		}
	}
	f.Fuzz(func(t *testing.T, format uint8, secret, slot, extra string) {
		form := secretFormats[int(format)%len(secretFormats)]
		// A file holds text: what is not UTF-8 cannot be written in it.
		secret, slot, extra = strings.ToValidUTF8(secret, "\uFFFD"), strings.ToValidUTF8(slot, "\uFFFD"), strings.ToValidUTF8(extra, "\uFFFD")
		rot := fuzzcheck.RotateSecret(secret, nil)
		plain := configText(form, "", slot, extra)
		if rot == secret || len(secret) < 6 || strings.Contains(plain, secret) || strings.Contains(plain, rot) {
			return // nothing to rotate, or the password is also elsewhere
		}
		c, err := Parse("c", []byte(configText(form, secret, slot, extra)))
		rc, rerr := Parse("c", []byte(configText(form, rot, slot, extra)))
		switch {
		case (err == nil) != (rerr == nil):
			t.Fatalf("%s: %v / rotated: %v", form, err, rerr)
		case err != nil:
			if err.Error() != rerr.Error() {
				t.Fatalf("%s: the error depends on the password:\n%v\n%v", form, err, rerr)
			}
			if extra == "" {
				t.Fatalf("%s: a file written with its own escapes does not parse: %v\n%s", form, err, configText(form, secret, slot, extra))
			}
			return
		}
		l, rl := Resolve(c, DefaultVersion), Resolve(rc, DefaultVersion)
		if a, b := resolved(t, l), resolved(t, rl); a != b {
			t.Fatalf("%s: what is made of the file depends on the password:\n%s\n%s", form, a, b)
		}
		if extra != "" {
			return
		}
		pw := c.Props["database.password"]
		if pw.Text != secret || !pw.Secret {
			t.Fatalf("%s: the password reads back as %q (secret %v), want %q\n%s", form, pw.Text, pw.Secret, secret, configText(form, secret, slot, extra))
		}
		if !strings.Contains(slot, "${") && slot != "" && l.Slot.Text != slot {
			t.Fatalf("%s: slot.name reads back as %q, want %q\n%s", form, l.Slot.Text, slot, configText(form, secret, slot, extra))
		}
	})
}

const postgresClass = "io.debezium.connector.postgresql.PostgresConnector"

// configText writes a configuration in form with a password (none when
// empty) and a slot name, then extra as it is.
func configText(form, secret, slot, extra string) string {
	var b strings.Builder
	switch form {
	case FormatProperties:
		b.WriteString("connector.class=" + postgresClass + "\ndatabase.hostname=db\n")
		if secret != "" {
			b.WriteString("database.password=" + propValue(secret) + "\n")
		}
		b.WriteString("slot.name=" + propValue(slot) + "\n")
	case FormatJSON:
		q := func(s string) string { j, _ := json.Marshal(s); return string(j) }
		b.WriteString(`{"name": "x", "config": {"connector.class": "` + postgresClass + `", "database.hostname": "db"`)
		if secret != "" {
			b.WriteString(`, "database.password": ` + q(secret))
		}
		b.WriteString(`, "slot.name": ` + q(slot) + "}}\n")
	case FormatStrimzi:
		b.WriteString("apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: x\nspec:\n  class: " + postgresClass +
			"\n  config:\n    database.hostname: db\n")
		if secret != "" {
			b.WriteString("    database.password: " + yamlQuoted(secret) + "\n")
		}
		b.WriteString("    slot.name: " + yamlQuoted(slot) + "\n")
	case FormatTerraform:
		b.WriteString("resource \"streamkap_source_postgresql\" \"x\" {\n  database_hostname = \"db\"\n")
		if secret != "" {
			b.WriteString("  database_password = " + hclQuoted(secret) + "\n")
		}
		b.WriteString("  slot_name = " + hclQuoted(slot) + "\n}\n")
	}
	if extra != "" {
		b.WriteString(extra + "\n")
	}
	return b.String()
}

// propValue escapes a .properties value as java.util.Properties.store
// does, everything beyond ASCII as \uXXXX (Kafka reads the file as
// ISO-8859-1).
func propValue(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == ' ' && i == 0:
			b.WriteString(`\ `)
		case r == '=' || r == ':' || r == '#' || r == '!':
			b.WriteString(`\` + string(r))
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16Units(r) {
				fmt.Fprintf(&b, `\u%04X`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func utf16Units(r rune) []rune {
	if r < 0x10000 {
		return []rune{r}
	}
	r -= 0x10000
	return []rune{0xD800 + (r >> 10), 0xDC00 + (r & 0x3FF)}
}

// yamlQuoted is a YAML double-quoted scalar, everything but printable
// ASCII escaped.
func yamlQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	return b.String() + `"`
}

// hclQuoted is an HCL quoted string: escapes, and ${ and %{ doubled so
// that they are not templates.
func hclQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	return b.String() + `"`
}
