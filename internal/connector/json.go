package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// parseJSON reads a Kafka Connect REST body ({"name": …, "config": {…}},
// what POST /connectors takes and GET /connectors/NAME returns), a bare
// config map (PUT /connectors/NAME/config, GET …/config), or a Streamkap
// source as its API holds it ({"name", "connector": "postgresql",
// "config": {backend keys}}). Values may be strings, numbers or booleans;
// null leaves a property unset, as Kafka Connect does.
func parseJSON(path string, data []byte) (*Config, error) {
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	obj, err := readObject(dec, lines, 0)
	if err != nil {
		return nil, jsonErr(path, lines, dec, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fileErr(path, lines.line(dec.InputOffset()), "unexpected content after the JSON object")
	}
	c := &Config{Format: FormatJSON, Flavour: "debezium", Line: 1}
	cfg := obj
	if inner, ok := obj.get("config"); ok {
		m, isObj := inner.v.(*jsonObject)
		if !isObj {
			return nil, fileErr(path, inner.line, `"config" must be an object of properties`)
		}
		cfg = m
		c.Format = FormatConnectREST
		c.Line = inner.line
		if n, ok := obj.get("name"); ok {
			if s, isStr := n.v.(string); isStr {
				c.Name = s
			}
		}
		if conn, ok := obj.get("connector"); ok {
			// Streamkap's API: the connector kind is a sibling of config.
			if s, _ := conn.v.(string); isStreamkapKind(s) {
				c.Format, c.Flavour = FormatStreamkapAPI, "streamkap"
			} else {
				return nil, fileErr(path, conn.line, "connector %q is not a Streamkap PostgreSQL source (postgresql, alloydb or supabase)", s)
			}
		}
	}
	props := map[string]Value{}
	for _, k := range cfg.order {
		f := cfg.fields[k]
		switch v := f.v.(type) {
		case nil:
			continue
		case string:
			props[k] = Value{Key: k, Text: v, Line: f.line}
		case json.Number:
			props[k] = Value{Key: k, Text: v.String(), Line: f.line}
		case bool:
			props[k] = Value{Key: k, Text: fmt.Sprint(v), Line: f.line}
		default:
			return nil, fileErr(path, f.line, "property %q must be a string, number or boolean", k)
		}
	}
	if c.Format != FormatStreamkapAPI && looksStreamkap(props) {
		c.Format, c.Flavour = FormatStreamkapAPI, "streamkap"
	}
	if c.Flavour == "streamkap" {
		return c, c.fromStreamkap(props, backendKeys)
	}
	for _, k := range sortedKeys(props) {
		c.put(k, props[k])
	}
	return c, nil
}

func sortedKeys(m map[string]Value) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// looksStreamkap: a config map in Streamkap's backend keys, which mark the
// settings a user defines (database.hostname.user.defined, …).
func looksStreamkap(props map[string]Value) bool {
	for k := range props {
		if strings.HasSuffix(k, ".user.defined") {
			return true
		}
	}
	return false
}

type jsonField struct {
	v    any // string, json.Number, bool, nil, *jsonObject, []any
	line int
}

type jsonObject struct {
	fields map[string]jsonField
	order  []string
}

func (o *jsonObject) get(k string) (jsonField, bool) {
	f, ok := o.fields[k]
	return f, ok
}

// readObject reads one JSON object with the line of each key. A key given
// twice keeps its last value, as Jackson (Kafka Connect's parser) does.
func readObject(dec *json.Decoder, lines lineIndex, depth int) (*jsonObject, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("expected a JSON object")
	}
	return readObjectBody(dec, lines, depth)
}

// readObjectBody reads an object's members after its '{'.
func readObjectBody(dec *json.Decoder, lines lineIndex, depth int) (*jsonObject, error) {
	if depth > 32 {
		return nil, errors.New("nested too deeply")
	}
	obj := &jsonObject{fields: map[string]jsonField{}}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		line := lines.line(dec.InputOffset())
		v, err := readValue(dec, lines, depth)
		if err != nil {
			return nil, err
		}
		if _, dup := obj.fields[key]; !dup {
			obj.order = append(obj.order, key)
		}
		obj.fields[key] = jsonField{v: v, line: line}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	return obj, nil
}

// readValue reads a member's value: a scalar, an object (with lines), or
// an array, which is skipped (no connector property is one).
func readValue(dec *json.Decoder, lines lineIndex, depth int) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, isDelim := t.(json.Delim)
	switch {
	case !isDelim:
		return t, nil
	case d == '{':
		return readObjectBody(dec, lines, depth+1)
	case d == '[':
		for dec.More() {
			if _, err := readValue(dec, lines, depth+1); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return []any{}, nil
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// jsonErr words a decoding error with its line; it never repeats content
// from the file, which may hold a secret.
func jsonErr(path string, lines lineIndex, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fileErr(path, lines.line(se.Offset), "invalid JSON: %s", se.Error())
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fileErr(path, lines.line(dec.InputOffset()), "invalid JSON: unexpected end of the file")
	}
	return fileErr(path, lines.line(dec.InputOffset()), "invalid JSON: %s", err.Error())
}

// lineIndex turns byte offsets into 1-based line numbers.
type lineIndex []int64

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, int64(i+1))
		}
	}
	return idx
}

func (l lineIndex) line(off int64) int {
	if len(l) == 0 {
		return 0
	}
	return sort.Search(len(l), func(i int) bool { return l[i] > off })
}
