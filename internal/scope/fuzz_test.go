package scope

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
)

// FuzzParse: a bulk-upload CSV never panics the parser; what it accepts
// has a schema in every entry and names without surrounding blanks; a BOM
// in front and CRLF line ends change nothing; and writing the entries back
// as CSV and reading them again gives the same entries, so nothing in the
// file was dropped or merged on the way.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"public,orders\n",
		"\xef\xbb\xbfpublic,orders\r\n\r\n\"public\",\"Order Items\"\r\nsales\r\n  billing , invoices ,\r\n",
		"public.orders\nsales\n",
		"a,b,c\n",
		",x\n",
		"a.b.c\n",
		"\"unterminated,x\n",
		"\"a\"\"b\",\"c,d\"\n",
		"\"multi\nline\",t\n",
		"x,\"cr\rinside\"\n",
		"\xef\xbb\xbf\xef\xbb\xbfx,y\n",
		"\"\xef\xbb\xbfx\",y\n",
		"bad\xffutf8,t\n",
		" ,\n\t,\t\n",
		"a,\"\"\n",
		"s,t\rs2,t2\r",
	} {
		f.Add([]byte(s))
	}
	for _, n := range fuzzcheck.HostileNames {
		f.Add([]byte(csvRecord(n, n)))
		f.Add([]byte(n + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		refs, err := Parse(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not name the line", err)
			}
		}
		for _, r := range refs {
			if r.Schema == "" {
				t.Fatalf("entry %+v has no schema", r)
			}
			if strings.TrimSpace(r.Schema) != r.Schema || strings.TrimSpace(r.Table) != r.Table {
				t.Fatalf("entry %+v keeps surrounding blanks", r)
			}
		}
		if !bytes.HasPrefix(data, []byte(bom)) {
			same(t, "with a BOM", data, refs, err, []byte(bom+string(data)))
		}
		if !bytes.ContainsRune(data, '\r') {
			same(t, "with CRLF", data, refs, err, bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
		}
		if err != nil {
			return
		}
		for _, r := range refs {
			if strings.ContainsRune(r.Schema+r.Table, '\r') {
				// encoding/csv reads a quoted \r\n as \n, so a name with a
				// carriage return in it cannot be written back as it was.
				return
			}
		}
		var out strings.Builder
		for _, r := range refs {
			if r.Table == "" {
				out.WriteString(csvField(r.Schema) + "\n")
			} else {
				out.WriteString(csvRecord(r.Schema, r.Table))
			}
		}
		back, err := Parse(strings.NewReader(out.String()))
		if err != nil {
			t.Fatalf("entries %q written back as %q do not parse: %v", refs, out.String(), err)
		}
		if !reflect.DeepEqual(back, refs) {
			t.Fatalf("entries %q written back as %q read as %q", refs, out.String(), back)
		}
	})
}

const bom = "\xef\xbb\xbf"

// same checks that Parse reads variant as it read data.
func same(t *testing.T, what string, data []byte, refs []facts.TableRef, err error, variant []byte) {
	t.Helper()
	vrefs, verr := Parse(bytes.NewReader(variant))
	if fmt.Sprint(err) != fmt.Sprint(verr) || !reflect.DeepEqual(refs, vrefs) {
		t.Fatalf("%q %s reads differently:\n  %q, %v\n  %q, %v", data, what, refs, err, vrefs, verr)
	}
}

// csvField quotes a field the way a spreadsheet does when it must.
func csvField(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func csvRecord(schema, table string) string { return csvField(schema) + "," + csvField(table) + "\n" }

// FuzzParseList: a --tables list never panics the parser; what it accepts
// has a schema in every entry, no comma in any name and no dot in a table
// name; joining the entries back gives the same entries; and it reads the
// same as the tables file holding one entry a line, so the flag and the
// file never disagree about a name.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"public.orders, sales ,",
		"public.",
		".orders",
		"a.b.c",
		"public.Order Items,sales",
		",,, ,",
		"\tpublic . orders ",
	} {
		f.Add(s)
	}
	for _, n := range fuzzcheck.HostileNames {
		f.Add(n)
		f.Add("public." + n)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refs, err := ParseList(s)
		for _, r := range refs {
			if r.Schema == "" || strings.ContainsAny(r.Schema+r.Table, ",") || strings.Contains(r.Table, ".") {
				t.Fatalf("ParseList(%q): entry %+v", s, r)
			}
			if strings.TrimSpace(r.Schema) != r.Schema || strings.TrimSpace(r.Table) != r.Table {
				t.Fatalf("ParseList(%q): entry %+v keeps surrounding blanks", s, r)
			}
		}
		if err == nil {
			var items []string
			for _, r := range refs {
				item := r.Schema
				if r.Table != "" {
					item += "." + r.Table
				}
				items = append(items, item)
			}
			back, err := ParseList(strings.Join(items, ","))
			if err != nil || !reflect.DeepEqual(back, refs) {
				t.Fatalf("ParseList(%q) = %q; joined back: %q, %v", s, refs, back, err)
			}
		}
		// The same entries as a tables file, one a line. CSV gives quotes
		// and line breaks a meaning a --tables list does not have.
		if strings.ContainsAny(s, "\"\r\n") || strings.HasPrefix(s, bom) {
			return // a file's leading BOM is its encoding, not a name
		}
		frefs, ferr := Parse(strings.NewReader(strings.ReplaceAll(s, ",", "\n")))
		if (err == nil) != (ferr == nil) || (err == nil && !reflect.DeepEqual(refs, frefs)) {
			t.Fatalf("--tables %q reads %q, %v; as a file %q, %v", s, refs, err, frefs, ferr)
		}
	})
}

// TestDottedBlanks: blanks around the dot are not part of the names, in
// the --tables list as in the file (found by FuzzParse: the file trimmed
// its fields, the dotted form did not).
func TestDottedBlanks(t *testing.T) {
	want := []facts.TableRef{{Schema: "public", Table: "orders"}}
	for _, in := range []string{"public . orders", "\tpublic .orders "} {
		got, err := ParseList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseList(%q) = %q, %v", in, got, err)
		}
		got, err = Parse(strings.NewReader(in + "\n"))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseList("public . "); err == nil {
		t.Error(`"public . " has no table name: want an error`)
	}
}
