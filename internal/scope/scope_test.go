package scope

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func TestParse(t *testing.T) {
	in := "\xef\xbb\xbfpublic,orders\r\n\r\n\"public\",\"Order Items\"\r\nsales\r\n  billing , invoices ,\r\n"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []facts.TableRef{
		{Schema: "public", Table: "orders"},
		{Schema: "public", Table: "Order Items"},
		{Schema: "sales"},
		{Schema: "billing", Table: "invoices"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"public,orders\na,b,c\n": "line 2: 3 fields",
		"public,orders\n,x\n":    "line 2: empty schema",
		"ok\n\na.b.c\n":          "line 3:",
		"ok\n\"unterminated,x\n": "line 2",
	} {
		_, err := Parse(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func TestParseFileNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tables.csv")
	if err := os.WriteFile(p, []byte("a,b,c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("error = %v", err)
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("public.orders, sales ,")
	if err != nil {
		t.Fatal(err)
	}
	want := []facts.TableRef{{Schema: "public", Table: "orders"}, {Schema: "sales"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
	if _, err := ParseList("public."); err == nil {
		t.Error("want error for empty table name")
	}
}
