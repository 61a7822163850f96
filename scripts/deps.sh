#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks: PostgreSQL server
# binaries, PgBouncer, xmllint, OpenSSH's sshd (the SSH tunnel tests' bastion) and a
# JDK (internal/javaregex's test runs java.util.regex). Only as root, only what is missing.
#
#   scripts/deps.sh         # what `make test` needs
#   scripts/deps.sh bench   # also what `make bench` needs (scripts/bench.sh):
#                           # PostgreSQL 15's server and psql, GNU time, jq, openssl
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || [ -n "${CDCPREFLIGHT_PG_BIN:-}" ] || missing+=(postgresql)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || [ -n "${CDCPREFLIGHT_SSHD:-}" ] || missing+=(openssh-server)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)

if [ "${1:-}" = bench ]; then
  # The benchmark's default server is /usr/lib/postgresql/15/bin (PG_BIN
  # picks another); psql runs the floor it is compared with.
  if [ -z "${PG_BIN:-}" ] && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then missing+=(postgresql-15); fi
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
fi

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
