package report

import _ "embed" // the JSON report's schema

// JSONSchema is the JSON Schema (2020-12) of the JSON report, schema_version
// 1: report/schema.json, published with the README. A test holds every
// golden report and a real one to it.
//
//go:embed schema.json
var JSONSchema []byte
