package connector

import (
	"regexp"
	"strings"
)

// heartbeatTarget finds the table a heartbeat.action.query writes: the
// relation after INSERT INTO, UPDATE [ONLY], DELETE FROM or MERGE INTO at
// the start of the statement, a name or schema.name, each part bare or
// double-quoted. Anything else (SELECT pg_logical_emit_message(…), a WITH
// query) names no table cdcpreflight can find.
var heartbeatTarget = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM|MERGE\s+INTO)\s+((?:"(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*))?)`)

// HeartbeatTable returns the statement's verb (INSERT, UPDATE, DELETE,
// MERGE) and its target as written (to be resolved by the server, with
// to_regclass, in the connector's search_path), or ok false.
func HeartbeatTable(query string) (verb, name string, ok bool) {
	m := heartbeatTarget.FindStringSubmatch(query)
	if m == nil {
		return "", "", false
	}
	verb = strings.ToUpper(strings.Fields(m[1])[0])
	name = regexp.MustCompile(`\s*\.\s*`).ReplaceAllString(m[2], ".")
	return verb, name, true
}
