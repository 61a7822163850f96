#!/usr/bin/env bash
# Benchmarks `cdcpreflight check --targets` on fleets of 50 and 200 targets
# side by side with one target's check, and prints a Markdown table of
# medians: wall time, the ratio to one target's time, peak RSS (GNU time),
# and the exit code. It reports; it never fails on slowness, only on real
# errors (a cluster that does not start, a build that fails, a fleet whose
# report is not the fleet).
#
#   make bench-fleet                        # = scripts/bench-fleet.sh
#   SIZES="50" RUNS=3 scripts/bench-fleet.sh
#   CDCPREFLIGHT_BIN=/tmp/cdcpreflight scripts/bench-fleet.sh
#
# What it does:
#   1. starts CLUSTERS (default 4) throwaway PostgreSQL clusters (as the
#      postgres user when run as root; PG_BIN, default PostgreSQL 15),
#      wal_level logical, TLS on, SCRAM over TCP;
#   2. creates the largest size's databases spread over them, round robin:
#      of every ten, eight are ready for the connector (a table, the
#      publication FOR ALL TABLES, the signal table, a slot of their own
#      named in the targets file, the Streamkap role's grants) and two lack
#      the publication (exit 1); the fleet adds two targets whose port
#      refuses connections and one silent peer (a listener that accepts and
#      never answers) under a per-target `timeout: SILENT_TIMEOUT` (default
#      3s): exit 2;
#   3. after a warm-up, runs RUNS times (default 3), alternately: one
#      healthy target alone (`check DSN`), then each fleet of SIZES
#      (default "50 200") with --jobs 8, with the default --per-server 1
#      and with --per-server 2, and the smallest fleet without its silent
#      peer;
#   4. the distance case: every cluster behind internal/netdelay's proxy
#      (DELAY each way, default 25ms: a 50 ms round trip, like a database
#      in another region): one target alone, and the smallest fleet with
#      --jobs 8, with --per-server 2, and with --jobs 32 --per-server 8.
#
# Each row's ratio is to one target's time in the same conditions (near or
# far). The load average is printed: the machine may be shared.
#
# Environment: SIZES, RUNS, CLUSTERS, SILENT_TIMEOUT, DELAY, PG_BIN,
# CDCPREFLIGHT_BIN as above.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$PATH:/usr/local/go/bin"

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
sizes=${SIZES:-50 200}
runs=${RUNS:-3}
clusters=${CLUSTERS:-4}
silent_timeout=${SILENT_TIMEOUT:-3s}
delay=${DELAY:-25ms}
given_bin=${CDCPREFLIGHT_BIN:-}
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG' || true)
# A loopback-only throwaway cluster's password: not a secret.
readonly password=streamkap-bench

log() { printf '%s bench-fleet: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS=$runs is not a positive number"
[[ $clusters =~ ^[1-9][0-9]*$ ]] || die "CLUSTERS=$clusters is not a positive number"
read -r -a size_list <<<"$sizes"
[ ${#size_list[@]} -gt 0 ] || die "SIZES is empty"
for n in "${size_list[@]}"; do [[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -ge 4 ] || die "SIZES: $n is not a number ≥ 4"; done
mapfile -t size_list < <(printf '%s\n' "${size_list[@]}" | sort -n -u)
largest=${size_list[-1]}
for tool in initdb pg_ctl postgres; do [ -x "$pg_bin/$tool" ] || die "no $tool in $pg_bin: set PG_BIN"; done
if [ -x "$pg_bin/psql" ]; then psql=$pg_bin/psql; else psql=$(command -v psql) || die "no psql"; fi
[ -x /usr/bin/time ] || die "no /usr/bin/time (GNU time): run 'make deps'"
command -v jq >/dev/null || die "no jq: run 'make deps'"
command -v openssl >/dev/null || die "no openssl: run 'make deps'"
command -v python3 >/dev/null || die "no python3 (the silent peer)"

root=false
[ "$(id -u)" -eq 0 ] && root=true
work=$(mktemp -d /tmp/cdcpf-fleet.XXXXXX)
chmod 755 "$work"
if $root; then chown postgres: "$work"; fi
as_pg() { if $root; then (cd "$work" && runuser -u postgres -- "$@"); else (cd "$work" && "$@"); fi; }

started=() silent_pid="" proxy_pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "$silent_pid" ] && { kill "$silent_pid" 2>/dev/null || true; wait "$silent_pid" 2>/dev/null || true; }
  for d in "${started[@]}"; do as_pg "$pg_bin/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || log "could not stop $d"; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$given_bin" ]; then
  bin=$(cd "$(dirname "$given_bin")" && pwd)/$(basename "$given_bin")
else
  log "building cdcpreflight"
  go build -o "$work/cdcpreflight" ./cmd/cdcpreflight
  bin=$work/cdcpreflight
fi
go build -o "$work/delayproxy" ./internal/netdelay/cmd/delayproxy

as_pg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$work/server.key" -out "$work/server.crt" >"$work/openssl.log" 2>&1 || die "openssl: $(cat "$work/openssl.log")"
as_pg chmod 600 "$work/server.key"

free_port() {
  local p
  while :; do p=$((20000 + RANDOM % 30000)); ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }; done
}

per_cluster=$(( (largest * 9 / 10 + clusters - 1) / clusters + 1 ))
ports=()
for c in $(seq 1 "$clusters"); do
  d=$work/c$c
  as_pg "$pg_bin/initdb" -D "$d" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$work/initdb$c.log" 2>&1 || die "initdb: $(tail "$work/initdb$c.log")"
  port=$(free_port)
  as_pg tee "$d/pg_hba.conf" >/dev/null <<'EOF'
local   all          all                   trust
local   replication  all                   trust
host    all          all   127.0.0.1/32    scram-sha-256
host    replication  all   127.0.0.1/32    scram-sha-256
EOF
  as_pg tee -a "$d/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
wal_level = logical
max_replication_slots = $((per_cluster + 10))
max_wal_senders = 20
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$work/server.crt'
ssl_key_file = '$work/server.key'
shared_buffers = 32MB
fsync = off
EOF
  as_pg "$pg_bin/pg_ctl" -D "$d" -l "$work/c$c.log" -w start >/dev/null || die "cluster $c did not start: $(tail "$work/c$c.log")"
  started+=("$d")
  ports+=("$port")
  as_pg "$psql" -h "$work" -p "$port" -U postgres -qAt -v ON_ERROR_STOP=1 -c \
    "CREATE ROLE streamkap_role NOLOGIN; CREATE USER streamkap_user PASSWORD '$password' REPLICATION IN ROLE streamkap_role;" >/dev/null
done
log "$clusters clusters up on ports ${ports[*]}"

# Databases: target i (0-based) is database t<i> on cluster i % clusters.
healthy() { [ $(( $1 % 10 )) -lt 8 ]; }
log "creating $largest databases"
for i in $(seq 0 $((largest - 1))); do
  port=${ports[$((i % clusters))]}
  db=t$i
  as_pg "$psql" -h "$work" -p "$port" -U postgres -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
  setup="CREATE TABLE public.orders (id bigint PRIMARY KEY, note text);
GRANT CONNECT ON DATABASE $db TO streamkap_role;
GRANT USAGE ON SCHEMA public TO streamkap_role;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO streamkap_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO streamkap_role;
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA streamkap TO streamkap_role;
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO streamkap_role;"
  if healthy "$i"; then setup+="
CREATE PUBLICATION streamkap_pub FOR ALL TABLES;"; fi
  as_pg "$psql" -h "$work" -p "$port" -U postgres -d "$db" -qAt -v ON_ERROR_STOP=1 -c "$setup" >/dev/null
done
# The slots last: a slot made before the other databases would hold all
# the WAL their creation wrote, and its peek would decode it (a backlog no
# connector that keeps up has).
log "creating the slots"
for i in $(seq 0 $((largest - 1))); do
  if healthy "$i"; then
    as_pg "$psql" -h "$work" -p "${ports[$((i % clusters))]}" -U postgres -d "t$i" -qAt -v ON_ERROR_STOP=1 \
      -c "SELECT pg_create_logical_replication_slot('slot_t$i', 'pgoutput')" >/dev/null
  fi
done
for p in "${ports[@]}"; do as_pg "$psql" -h "$work" -p "$p" -U postgres -qAt -c CHECKPOINT >/dev/null; done

# The distance case: each cluster behind a proxy that delays each direction
# by DELAY, like databases in another region.
far_ports=()
for c in $(seq 1 "$clusters"); do
  "$work/delayproxy" -listen 127.0.0.1:0 -target "127.0.0.1:${ports[$((c - 1))]}" -delay "$delay" \
    -addr-file "$work/proxy$c.addr" -stats /dev/null 2>"$work/proxy$c.log" &
  proxy_pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/proxy$c.addr" ] && break; sleep 0.05; done
  [ -s "$work/proxy$c.addr" ] || die "delayproxy did not start: $(cat "$work/proxy$c.log")"
  far_ports+=("$(sed 's/.*://' "$work/proxy$c.addr")")
done

# The silent peer: accepts, never answers.
silent_port=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$silent_port" &
silent_pid=$!
dead_port=$(free_port)

dsn() { echo "postgres://streamkap_user:$password@localhost:${ports[$(( $1 % clusters ))]}/t$1?sslmode=require"; }
far_dsn() { echo "postgres://streamkap_user:$password@localhost:${far_ports[$(( $1 % clusters ))]}/t$1?sslmode=require"; }
# targets N SILENT [far]: a targets file of N targets: N-3 databases, two
# dead ports and the silent peer (or one more database instead of it);
# far: the databases through the delaying proxies.
targets() {
  local n=$1 silent=$2 far=${3:-} file=$work/targets-$1-$2-${3:-near}.yml dbs=$(( $1 - 3 )) var=BENCH_DSN
  [ "$silent" = yes ] || dbs=$(( $1 - 2 ))
  [ -z "$far" ] || var=BENCH_FAR_DSN
  : >"$file"
  for i in $(seq 0 $((dbs - 1))); do
    printf -- '- name: tenant-%03d\n  dsn_env: %s_%d\n  slot: slot_t%d\n' "$i" "$var" "$i" "$i" >>"$file"
  done
  printf -- '- name: dead-1\n  dsn: postgres://streamkap_user@127.0.0.1:%s/x?sslmode=disable\n' "$dead_port" >>"$file"
  printf -- '- name: dead-2\n  dsn: postgres://streamkap_user@127.0.0.1:%s/y?sslmode=disable\n' "$dead_port" >>"$file"
  if [ "$silent" = yes ]; then
    printf -- '- name: silent-peer\n  dsn: postgres://streamkap_user@127.0.0.1:%s/z?sslmode=disable\n  timeout: %s\n' "$silent_port" "$silent_timeout" >>"$file"
  fi
  echo "$file"
}
for i in $(seq 0 $((largest - 1))); do export "BENCH_DSN_$i=$(dsn "$i")" "BENCH_FAR_DSN_$i=$(far_dsn "$i")"; done
export PGPASSWORD=$password

# measure NAME ARGS…: one timed run; appends "NAME seconds kilobytes exit".
measure() {
  local name=$1; shift
  local code=0
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" "$@" --no-config -q -o "json=$work/out.json" >/dev/null 2>"$work/err" || code=$?
  # GNU time says "Command exited with non-zero status N" first.
  read -r secs kb < <(tail -n 1 "$work/time")
  echo "$name $secs $kb $code" >>"$work/results"
}

runs_of() { awk -v n="$1" '$1 == n' "$work/results"; }
median() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'; }

one=$(dsn 0)
cases=("one" )
for n in "${size_list[@]}"; do cases+=("fleet-$n" "fleet-$n-ps2"); done
cases+=("fleet-${size_list[0]}-nosilent" "far-one" "far-${size_list[0]}" "far-${size_list[0]}-ps2" "far-${size_list[0]}-j32")
run_case() {
  case $1 in
    one) measure one "$one" --slot slot_t0 ;;
    far-one) measure far-one "$(far_dsn 0)" --slot slot_t0 ;;
    far-*-ps2) n=${1#far-}; n=${n%-ps2}; measure "$1" check --targets "$(targets "$n" yes far)" --jobs 8 --per-server 2 ;;
    far-*-j32) n=${1#far-}; n=${n%-j32}; measure "$1" check --targets "$(targets "$n" yes far)" --jobs 32 --per-server 8 ;;
    far-*) n=${1#far-}; measure "$1" check --targets "$(targets "$n" yes far)" --jobs 8 ;;
    fleet-*-nosilent) n=${1#fleet-}; n=${n%-nosilent}; measure "$1" check --targets "$(targets "$n" no)" --jobs 8 ;;
    fleet-*-ps2) n=${1#fleet-}; n=${n%-ps2}; measure "$1" check --targets "$(targets "$n" yes)" --jobs 8 --per-server 2 ;;
    fleet-*) n=${1#fleet-}; measure "$1" check --targets "$(targets "$n" yes)" --jobs 8 ;;
  esac
}
log "warm-up"
for c in "${cases[@]}"; do run_case "$c"; done
: >"$work/results"
for r in $(seq 1 "$runs"); do
  log "run $r of $runs"
  for c in "${cases[@]}"; do
    run_case "$c"
    if [ "$c" != one ] && [ "$c" != far-one ]; then
      jq -e '.kind == "fleet" and .summary.checked == .summary.targets' "$work/out.json" >/dev/null || die "$c: the report is not the whole fleet"
    fi
  done
done
[ "$(runs_of one | awk '{print $4}' | sort -u)" = 0 ] || die "the healthy target alone did not exit 0: $(cat "$work/err")"

one_s=$(runs_of one | awk '{print $2}' | median)
far_s=$(runs_of far-one | awk '{print $2}' | median)
printf '\n| run | targets | wall (median of %d) | × one target | peak RSS | exit |\n|---|---:|---:|---:|---:|---:|\n' "$runs"
for c in "${cases[@]}"; do
  s=$(runs_of "$c" | awk '{print $2}' | median)
  kb=$(runs_of "$c" | awk '{print $3}' | sort -n | tail -1)
  code=$(runs_of "$c" | awk '{print $4}' | sort -u | tr '\n' ' ')
  base=$one_s
  case $c in
    far-*) base=$far_s ;;
  esac
  case $c in
    one) what="one healthy target (check DSN)"; n=1 ;;
    far-one) what="$((${delay%ms} * 2)) ms away: one healthy target"; n=1 ;;
    far-*-ps2) n=${c#far-}; n=${n%-ps2}; what="$((${delay%ms} * 2)) ms away: fleet, --jobs 8 --per-server 2" ;;
    far-*-j32) n=${c#far-}; n=${n%-j32}; what="$((${delay%ms} * 2)) ms away: fleet, --jobs 32 --per-server 8" ;;
    far-*) n=${c#far-}; what="$((${delay%ms} * 2)) ms away: fleet, --jobs 8 (--per-server 1)" ;;
    *-nosilent) n=${c#fleet-}; n=${n%-nosilent}; what="fleet, --jobs 8, without the silent peer" ;;
    *-ps2) n=${c#fleet-}; n=${n%-ps2}; what="fleet, --jobs 8 --per-server 2" ;;
    *) n=${c#fleet-}; what="fleet, --jobs 8 (--per-server 1)" ;;
  esac
  printf '| %s | %d | %.2f s | %.1f× | %d MB | %s|\n' "$what" "$n" "$s" "$(awk -v a="$s" -v b="$base" 'BEGIN { print a / b }')" $((kb / 1024)) "$code"
done
printf '\n%d clusters (PostgreSQL %s, TLS, SCRAM); in each fleet 8 of 10 databases ready and 2 without their publication, 2 refused ports, and a silent peer under timeout: %s. %s cores, load average at the end: %s.\n' \
  "$clusters" "$("$pg_bin/postgres" --version | awk '{print $3}')" "$silent_timeout" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
