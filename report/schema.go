package report

import _ "embed" // the JSON report's schema

// JSONSchema is the JSON Schema (2020-12) of the JSON report, schema_version
// 1: report/schema.json, published with the README. A test holds every
// golden report and a real one to it.
//
//go:embed schema.json
var JSONSchema []byte

// FleetJSONSchema is the JSON Schema of the fleet document:
// report/fleet-schema.json, which refers to schema.json's $defs/report for
// each target's report.
//
//go:embed fleet-schema.json
var FleetJSONSchema []byte
