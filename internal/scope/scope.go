// Package scope reads the capture scope: --tables lists and Streamkap's
// bulk-upload CSV (no header; "schema,table" rows, or "schema.table", or a
// bare "schema" meaning all its tables).
package scope

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// ParseList reads comma-separated entries such as "public.orders,sales".
func ParseList(s string) ([]facts.TableRef, error) {
	var refs []facts.TableRef
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ref, err := parseDotted(item)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// ParseFile reads a bulk-upload CSV. A malformed line is an error naming
// the file and line, so nothing in the list is silently dropped.
func ParseFile(path string) ([]facts.TableRef, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tables file: %w", err)
	}
	refs, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("tables file %s: %w", path, err)
	}
	return refs, nil
}

// Parse reads bulk-upload CSV from r.
func Parse(r io.Reader) ([]facts.TableRef, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheet exports start with a BOM
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var refs []facts.TableRef
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return refs, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: %w", pe.Line, pe.Err)
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		for len(rec) > 0 && rec[len(rec)-1] == "" { // trailing separators
			rec = rec[:len(rec)-1]
		}
		var ref facts.TableRef
		switch len(rec) {
		case 0:
			continue
		case 1:
			ref, err = parseDotted(rec[0])
		case 2:
			ref = facts.TableRef{Schema: rec[0], Table: rec[1]}
			if ref.Schema == "" {
				err = fmt.Errorf("empty schema name")
			}
		default:
			err = fmt.Errorf("%d fields; want schema,table or schema.table or schema", len(rec))
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		refs = append(refs, ref)
	}
}

// parseDotted reads "schema.table" or "schema". Names holding a dot must
// use the two-column CSV form. Blanks around the dot go, as they do around
// a CSV field: "public . orders" is public.orders in both forms.
func parseDotted(s string) (facts.TableRef, error) {
	schema, table, dotted := strings.Cut(s, ".")
	schema, table = strings.TrimSpace(schema), strings.TrimSpace(table)
	switch {
	case schema == "":
		return facts.TableRef{}, fmt.Errorf("%q: empty schema name", s)
	case dotted && table == "":
		return facts.TableRef{}, fmt.Errorf("%q: empty table name", s)
	case strings.Contains(table, "."):
		return facts.TableRef{}, fmt.Errorf("%q: more than one dot; use the two-column form schema,table", s)
	}
	return facts.TableRef{Schema: schema, Table: table}, nil
}
