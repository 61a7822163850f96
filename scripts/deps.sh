#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks: PostgreSQL server
# binaries, PgBouncer and xmllint. Only as root, only what is missing.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || [ -n "${CDCPREFLIGHT_PG_BIN:-}" ] || missing+=(postgresql)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${missing[*]} — install them (e.g. sudo apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
