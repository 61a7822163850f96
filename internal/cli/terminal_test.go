package cli

import (
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
)

func TestTerminalText(t *testing.T) {
	plain := []byte("-- plan\nALTER TABLE public.\"Order\titems\" REPLICA IDENTITY FULL;\n")
	if got := terminalText(plain); string(got) != string(plain) {
		t.Errorf("a script without control characters changed:\n%s", got)
	}
	hostile := []byte("ALTER TABLE public.\"x\x1b[2J\x1b]0;t\x07\u202e\u009b\" REPLICA IDENTITY FULL;\n")
	got := string(terminalText(hostile))
	if err := fuzzcheck.TerminalSafe(got, false); err != nil {
		t.Errorf("%v: %q", err, got)
	}
	if !strings.Contains(got, `"x\u001b[2J\u001b]0;t\u0007\u202e\u009b"`) || !strings.Contains(got, "--sql-out writes the script exactly") {
		t.Errorf("got %q", got)
	}
}
