package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

func TestTableGolden(t *testing.T) {
	run := loadRun(t)
	plain := render(t, FormatTable, run, TableOptions{})
	golden(t, "golden.table.txt", plain)
	if bytes.Contains(plain, []byte("\x1b")) {
		t.Error("plain table contains an ESC byte")
	}

	color := render(t, FormatTable, run, TableOptions{Color: true})
	golden(t, "golden.table.color.txt", color)
	for _, code := range []string{ansiGreen, ansiYellow, ansiRed, ansiMagenta, ansiDim} {
		if !bytes.Contains(color, []byte(code)) {
			t.Errorf("colour table lacks %q", code)
		}
	}
	// The message's own ESC bytes must still be neutralised in colour mode.
	if bytes.Contains(color, []byte("\x1b[31mred")) {
		t.Error("colour table passes the message's escape sequence through")
	}
}

func TestTableContent(t *testing.T) {
	out := string(render(t, FormatTable, loadRun(t), TableOptions{}))
	for _, want := range []string{
		"cdcpreflight 0.1.0-test — streamkap_user@ep-cool-meadow-123456.us-east-2.aws.neon.tech:5432/app (PostgreSQL 16.4, neon)",
		"\n    public.t5\n",
		"3 passed, 2 warned, 2 failed, 1 skipped, 1 error (fail-on: error); ignored by the config: 2 objects of 2 findings; 2 config warnings (not counted)\n",
		// What the config ignored is under the table, a line each, with the reason.
		"\n- ignored replica-identity-full: public.audit_log — append-only audit table: no deletes\n",
		"│ PASS   │ replica-identity-full  │ ignored: 1 captured table is not REPLICA IDENTITY FULL:",
		"\n! config: ignore entry 4 (/repo/.cdcpreflight.yml, line 19) for rule slot-health matched no finding: remove it\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Failures come before warnings under the table.
	if strings.Index(out, "✗ ssl") > strings.Index(out, "! wal-retention-limit") {
		t.Error("warnings listed before failures")
	}
	// Rows follow rules.Categories: server before connection before tables.
	server, conn, tables := strings.Index(out, "wal-level"), strings.Index(out, "ssl"), strings.Index(out, "replica-identity")
	if server > conn || conn > tables {
		t.Error("rows not grouped in category order")
	}
}

func TestByCategory(t *testing.T) {
	in := []rules.Result{
		{Rule: "a", Category: "tables"}, {Rule: "b", Category: "custom"},
		{Rule: "c", Category: "server"}, {Rule: "d", Category: "tables"},
	}
	var got []string
	for _, r := range byCategory(in) {
		got = append(got, r.Rule)
	}
	if strings.Join(got, "") != "cadb" {
		t.Errorf("order = %v, want [c a d b]", got)
	}
}
