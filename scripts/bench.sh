#!/usr/bin/env bash
# Benchmarks `cdcpreflight check` side by side with the floor: psql reading
# the same facts as three set-based reads (scripts/bench-floor.sql), on
# databases of many tables and across a slow link. It reports; it never
# fails on slowness, only on real errors (a cluster that does not start, a
# build or a floor read that fails).
#
#   make bench                                     # = scripts/bench.sh
#   SIZES="10000" RUNS=3 scripts/bench.sh          # one size, fewer runs
#   BENCH_DIR=/work/bench-data scripts/bench.sh    # keep the cluster and its databases
#   CDCPREFLIGHT_BIN=/tmp/old/cdcpreflight scripts/bench.sh   # a given binary
#
# What it does:
#   1. starts a throwaway cluster (as the postgres user when run as root):
#      PostgreSQL from PG_BIN (default /usr/lib/postgresql/15/bin), wal_level
#      logical, TLS on with a self-signed certificate, so checks run over
#      TLS on loopback like production;
#   2. builds a database per size in SIZES (default "10000 50000 100000"),
#      schema-per-tenant (100 tables per schema), 1 table in 10 without a
#      key, 1 in 50 with row-level security, a FOR ALL TABLES publication
#      streamkap_pub, and the Streamkap guide's grants for streamkap_user
#      (through streamkap_role: CONNECT, USAGE and CREATE on every schema,
#      SELECT on every table, default privileges, REPLICATION, the
#      streamkap.streamkap_signal table); each database is built from a copy
#      of the next smaller one, and the guide's own 2-table database too;
#   3. for each size, after one warm-up of each, runs RUNS times (default 5)
#      alternately the check (as streamkap_user, default options, a JSON
#      report checked for rules in `error`), psql's floor, and psql sending
#      the check's own statements (recorded once by internal/ownsql, a
#      round trip each: what the check's SQL costs, apart from the tool),
#      and prints the medians, the ratios, the check's peak RSS (GNU time)
#      and exit codes;
#   4. the distance case: the guide's database through internal/netdelay's
#      delay proxy (DELAY each way, default 25ms: a 50 ms round trip), the
#      check against psql's connect + three reads, with the round trips the
#      proxy counted.
#
# The slot streamkap_pgoutput_slot is cluster-wide: before each database is
# measured it is dropped and created afresh there.
#
# Environment:
#   SIZES, RUNS, DELAY   as above
#   PG_BIN               PostgreSQL bin directory (initdb, pg_ctl, postgres; psql
#                        from there or PATH); the floor needs 13+
#   BENCH_DIR            keep the cluster there and reuse the databases already
#                        built (a database is rebuilt only when missing or
#                        incomplete); default: a temp dir removed at exit
#   CDCPREFLIGHT_BIN     benchmark this binary instead of building ./cmd/cdcpreflight
#   JOBS                 parallel psql sessions while building (default nproc)
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$PATH:/usr/local/go/bin"

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
sizes=${SIZES:-10000 50000 100000}
runs=${RUNS:-5}
delay=${DELAY:-25ms}
bench_dir=${BENCH_DIR:-}
given_bin=${CDCPREFLIGHT_BIN:-}
jobs=${JOBS:-$(nproc)}
# Nothing may steer psql or the check elsewhere.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG' || true)

readonly per_schema=100 batch=1000 layout=1
readonly connector=streamkap_user publication=streamkap_pub slot=streamkap_pgoutput_slot
# A loopback-only throwaway cluster; the password is not a secret.
readonly password=streamkap-bench

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS=$runs is not a positive number"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS=$jobs is not a positive number"
read -r -a size_list <<<"$sizes"
[ ${#size_list[@]} -gt 0 ] || die "SIZES is empty"
for n in "${size_list[@]}"; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "SIZES: $n is not a positive number"; done
mapfile -t size_list < <(printf '%s\n' "${size_list[@]}" | sort -n -u)

for tool in initdb pg_ctl postgres; do
  [ -x "$pg_bin/$tool" ] || die "no $tool in $pg_bin: run 'make deps' (PostgreSQL 15) or set PG_BIN"
done
if [ -x "$pg_bin/psql" ]; then psql=$pg_bin/psql; else psql=$(command -v psql) || die "no psql: run 'make deps'"; fi
[ -x /usr/bin/time ] || die "no /usr/bin/time (GNU time): run 'make deps'"
command -v jq >/dev/null || die "no jq: run 'make deps'"
command -v openssl >/dev/null || die "no openssl: run 'make deps'"

root=false
[ "$(id -u)" -eq 0 ] && root=true
if $root; then id postgres >/dev/null 2>&1 || die "running as root, PostgreSQL runs as the postgres user, which does not exist"; fi

# Scratch (binaries, reports, the socket, the proxy's files); short, under
# /tmp, so that the socket path stays within its limit.
work=$(mktemp -d /tmp/cdcpf-bench.XXXXXX)
chmod 755 "$work"
if [ -n "$bench_dir" ]; then
  mkdir -p "$bench_dir"
  dir=$(cd "$bench_dir" && pwd)
else
  dir=$work/cluster
  mkdir "$dir"
fi
data=$dir/data
# The socket lives with a kept cluster, so that it can be started by hand,
# unless that path is too long for a socket (107 bytes).
sock=$dir
if [ ${#dir} -gt 80 ] || [ -z "$bench_dir" ]; then
  sock=$work/sock
  mkdir "$sock"
fi
if $root; then chown postgres: "$sock" "$dir"; fi

# as_pg runs a server tool as the postgres user when we are root, from a
# directory it can enter.
as_pg() {
  if $root; then (cd "$dir" && runuser -u postgres -- "$@"); else (cd "$dir" && "$@"); fi
}
as_pg test -w "$dir" || die "the postgres user cannot write $dir (is a parent directory closed to it?)"

server_up=false proxy_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  if $server_up; then as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || log "could not stop the server in $data"; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
thousands() { printf '%s' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }

# ---------------------------------------------------------------- binaries
if [ -n "$given_bin" ]; then
  bin=$(cd "$(dirname "$given_bin")" && pwd)/$(basename "$given_bin")
  [ -x "$bin" ] || die "CDCPREFLIGHT_BIN=$given_bin is not executable"
  log "benchmarking $bin"
else
  log "building cdcpreflight from $repo"
  go build -o "$work/cdcpreflight" ./cmd/cdcpreflight
  bin=$work/cdcpreflight
fi
go build -o "$work/delayproxy" ./internal/netdelay/cmd/delayproxy
# The statements this checkout's check sends, as a psql script (see run_own).
go build -o "$work/ownsql" ./internal/ownsql/cmd/ownsql

# ----------------------------------------------------------------- cluster
pg_major=$("$pg_bin/postgres" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
if [ -f "$data/PG_VERSION" ]; then
  have=$(cat "$data/PG_VERSION")
  [ "$have" = "$pg_major" ] || die "$data holds a PostgreSQL $have cluster and $pg_bin is $pg_major: remove it or choose another BENCH_DIR"
  log "reusing the cluster in $data"
else
  rm -rf "$data"
  log "initdb in $data (PostgreSQL $pg_major)"
  as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 20 "$work/initdb.log")"
fi
if [ ! -s "$dir/server.key" ] || [ ! -s "$dir/server.crt" ]; then
  as_pg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$dir/server.key" -out "$dir/server.crt" >"$work/openssl.log" 2>&1 ||
    die "openssl failed: $(cat "$work/openssl.log")"
  as_pg chmod 600 "$dir/server.key"
fi
# Trust over the private socket (our superuser sessions), SCRAM over TCP.
as_pg tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# generated by scripts/bench.sh
local   all          all                   trust
local   replication  all                   trust
host    all          all   127.0.0.1/32    scram-sha-256
host    replication  all   127.0.0.1/32    scram-sha-256
EOF
grep -q "^include 'bench.conf'" "$data/postgresql.conf" ||
  printf "\n# added by scripts/bench.sh\ninclude 'bench.conf'\n" | as_pg tee -a "$data/postgresql.conf" >/dev/null

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A crashed earlier run may have left its server running.
if as_pg "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  log "stopping a server left running in $data"
  as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  port_free "$port" || continue
  # The throwaway cluster's settings; a production-like default otherwise.
  as_pg tee "$data/bench.conf" >/dev/null <<EOF
# generated by scripts/bench.sh; rewritten on every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
# Building: a thousand tables per transaction.
max_locks_per_transaction = 1024
# Throwaway data: durability only costs time.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  log_start=$( (stat -c %s "$dir/postgres.log" 2>/dev/null) || echo 0)
  if as_pg "$pg_bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 600 start >"$work/pg_ctl.log" 2>&1; then
    server_up=true
    break
  fi
  tail -c +"$((log_start + 1))" "$dir/postgres.log" | grep -q 'Address already in use' ||
    die "the server did not start: $(tail -n 20 "$dir/postgres.log")"
  log "port $port is taken (attempt $attempt), trying another"
done
$server_up || die "no free port found for the server"

psql_super() {
  local db=$1
  shift
  PGOPTIONS='-c client_min_messages=warning' "$psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d "$db" "$@"
}
server_version=$(psql_super postgres -Atc 'SHOW server_version')
version_num=$(psql_super postgres -Atc 'SHOW server_version_num')
[ "$version_num" -ge 130000 ] || die "the floor (scripts/bench-floor.sql) needs PostgreSQL 13 or later, not $server_version"
schema_pubs=off
[ "$version_num" -ge 150000 ] && schema_pubs=on
log "PostgreSQL $server_version on port $port, data in $data"

# The connector's roles, as the guide makes them (cluster-wide: once).
psql_super postgres <<EOF
DO \$\$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamkap_role') THEN CREATE ROLE streamkap_role NOLOGIN; END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$connector') THEN CREATE USER $connector; END IF;
END \$\$;
ALTER USER $connector WITH REPLICATION PASSWORD '$password';
GRANT streamkap_role TO $connector;
EOF

# ------------------------------------------------------------------ builds
db_comment() {
  psql_super postgres -Atc "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$1'"
}
drop_db() {
  psql_super postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$1'" >/dev/null
  psql_super postgres -c "DROP DATABASE IF EXISTS $1" >/dev/null
}
# Statistics and visibility maps, as autovacuum keeps them on a server in use.
tidy_catalogs() {
  psql_super "$1" >/dev/null <<'EOF'
SELECT format('VACUUM (ANALYZE) pg_catalog.%I', c.relname) FROM pg_class c
WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' ORDER BY 1 \gexec
EOF
}

# batch_sql FROM TO: tables FROM..TO (global numbers), then the guide's
# grants for each schema. The guide's GRANT SELECT ON ALL TABLES IN SCHEMA
# is written as a GRANT per table, which leaves the same ACLs: the former
# scans all of pg_class for each schema, so building 1,000 schemas with it
# grows with the square of the tables (5 ms a table at 100,000, 1 ms at
# none); the latter stays at about 1 ms.
batch_sql() {
  cat <<EOF
DO \$bench\$
DECLARE
	s text;
	t text;
BEGIN
	FOR i IN $1..$2 LOOP
		s := format('tenant_%s', lpad(((i - 1) / $per_schema + 1)::text, 5, '0'));
		IF i = $1 OR (i - 1) % $per_schema = 0 THEN
			EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);
		END IF;
		t := format('%I.%I', s, 't' || lpad(((i - 1) % $per_schema + 1)::text, 3, '0'));
		IF i % 10 = 0 THEN
			EXECUTE format('CREATE TABLE %s (id bigint NOT NULL, name text, created_at timestamptz NOT NULL DEFAULT now())', t);
		ELSE
			EXECUTE format('CREATE TABLE %s (id bigint PRIMARY KEY, name text, created_at timestamptz NOT NULL DEFAULT now())', t);
		END IF;
		IF i % 50 = 25 THEN
			EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
		END IF;
		EXECUTE format('GRANT SELECT ON %s TO streamkap_role', t);
		IF i = $2 OR i % $per_schema = 0 THEN
			EXECUTE format('GRANT CREATE, USAGE ON SCHEMA %I TO streamkap_role', s);
			EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO streamkap_role', s);
		END IF;
	END LOOP;
END
\$bench\$;
EOF
}

build_notes=()
build_size() {
  local n=$1 name=bench_$1 marker="cdcpreflight bench layout=$layout tables=$1"
  if [ "$(db_comment "$name")" = "$marker" ]; then
    log "reusing $name"
    build_notes+=("$(thousands "$n") tables: reused")
    return
  fi
  local t0=$EPOCHREALTIME from=0 template=template0 strategy=""
  # The largest complete smaller database saves building its tables again.
  local row
  row=$(psql_super postgres -AtF ' ' -c "SELECT d.datname, b.n
    FROM pg_database d JOIN pg_shdescription s ON s.objoid = d.oid AND s.classoid = 'pg_database'::regclass
      CROSS JOIN LATERAL (SELECT substring(s.description FROM 'tables=([0-9]+)\$')::int AS n) AS b
    WHERE d.datname ~ '^bench_[0-9]+\$' AND s.description ~ '^cdcpreflight bench layout=$layout tables=[0-9]+\$'
      AND b.n < $n
    ORDER BY b.n DESC LIMIT 1")
  if [ -n "$row" ]; then
    template=${row% *}
    from=${row#* }
  fi
  [ "$version_num" -ge 150000 ] && strategy="STRATEGY FILE_COPY"
  drop_db "$name"
  if [ "$from" -gt 0 ]; then
    log "building $name: a copy of $template, then tables $((from + 1))..$n"
  else
    log "building $name: $n tables"
  fi
  psql_super postgres -c "CREATE DATABASE $name TEMPLATE $template $strategy" >/dev/null
  if [ "$from" -eq 0 ]; then
    psql_super "$name" >/dev/null <<EOF
CREATE PUBLICATION $publication FOR ALL TABLES;
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id VARCHAR(255) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2000) NULL);
GRANT CREATE, USAGE ON SCHEMA streamkap TO streamkap_role;
GRANT SELECT ON ALL TABLES IN SCHEMA streamkap TO streamkap_role;
GRANT SELECT, UPDATE, INSERT ON TABLE streamkap.streamkap_signal TO streamkap_role;
EOF
  fi
  # Batches end on multiples of $batch (whole schemas), so parallel
  # sessions never touch the same schema.
  local lo hi running=0 blog=$work/build-$name.log
  for ((lo = from + 1; lo <= n; lo = hi + 1)); do
    hi=$(((lo - 1) / batch * batch + batch))
    ((hi > n)) && hi=$n
    batch_sql "$lo" "$hi" | psql_super "$name" -f - >>"$blog" 2>&1 &
    running=$((running + 1))
    if ((running >= jobs)); then
      wait -n || die "building $name failed: $(tail -n 20 "$blog")"
      running=$((running - 1))
    fi
  done
  while ((running > 0)); do
    wait -n || die "building $name failed: $(tail -n 20 "$blog")"
    running=$((running - 1))
  done
  psql_super postgres -c "GRANT CONNECT ON DATABASE $name TO streamkap_role" >/dev/null
  tidy_catalogs "$name"
  psql_super postgres -c "COMMENT ON DATABASE $name IS '$marker'" >/dev/null
  local took
  took=$(secs "$t0" "$EPOCHREALTIME")
  log "built $name in $(printf '%.0f' "$took") s"
  if [ "$from" -gt 0 ]; then
    build_notes+=("$(thousands "$n") tables: $(printf '%.0f' "$took") s (a copy of $template + $(thousands $((n - from))) tables)")
  else
    build_notes+=("$(thousands "$n") tables: $(printf '%.0f' "$took") s")
  fi
}

# The guide's database: its two application tables and the guide's SQL to
# the letter, bar the roles made above (and the slot, made per measurement).
build_guide() {
  local marker="cdcpreflight bench layout=$layout guide"
  if [ "$(db_comment bench_guide)" = "$marker" ]; then
    log "reusing bench_guide"
    return
  fi
  drop_db bench_guide
  psql_super postgres -c "CREATE DATABASE bench_guide TEMPLATE template0" >/dev/null
  psql_super bench_guide -f testdata/scenarios/app-tables.sql >/dev/null
  sed -e '/^CREATE USER streamkap_user /d' -e '/^CREATE ROLE streamkap_role /d' \
    -e "s/{password}/$password/g" -e 's/{database}/bench_guide/g' -e 's/{schema}/public/g' \
    testdata/scenarios/streamkap-guide.sql | psql_super bench_guide -f - >/dev/null
  tidy_catalogs bench_guide
  psql_super postgres -c "COMMENT ON DATABASE bench_guide IS '$marker'" >/dev/null
}

build_guide
for n in "${size_list[@]}"; do build_size "$n"; done

# ---------------------------------------------------------------- measures
# fresh_slot DB: the connector's slot, created afresh in DB (slots are
# cluster-wide; a fresh one has no backlog for the peek to decode).
fresh_slot() {
  psql_super postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
  psql_super "$1" -c "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
}

dsn_for() { printf 'postgresql://%s:%s@127.0.0.1:%s/%s?sslmode=require' "$connector" "$password" "$2" "$1"; }

# CPU time, which a busy machine disturbs far less than wall-clock time:
# the client's (user + system, from GNU time) and the server's, read from
# the postmaster's accounting of the backends it has reaped (cutime +
# cstime: every backend, walsender and parallel worker of the command,
# once they exited), at the clock tick's 10 ms resolution.
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' "/proc/$(head -n 1 "$data/postmaster.pid")/stat"; }
client_cpu() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$1"; }
# cpu_start, cpu_end TIMEFILE: sets cpu, the command's client + server CPU
# seconds. A backend exits just after its client: the pauses let the
# postmaster reap it before the count is read.
cpu_start() { sleep 0.2; cpu0=$(server_cpu); }
cpu_end() {
  sleep 0.2
  cpu=$(awk -v a="$cpu0" -v b="$(server_cpu)" -v c="$(client_cpu "$1")" 'BEGIN { printf "%.2f", b - a + c }')
}

# run_check DSN: sets took, cpu, rss_kb, rc and errors (the rules in `error`).
run_check() {
  local report=$work/report.json t0 t1
  rm -f "$report"
  rc=0
  cpu_start
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$work/time-check.txt" "$bin" check "$1" --no-color --output "json=$report" >"$work/check.out" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  cpu_end "$work/time-check.txt"
  took=$(secs "$t0" "$t1")
  rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/time-check.txt")
  if [ -s "$report" ]; then
    errors=$(jq -r '.results[] | select(.status == "error") | "\(.rule): \(.message | gsub("\\s+"; " "))"' "$report")
  else
    errors="(no report) $(head -c 400 "$work/check.out")"
  fi
}

# run_floor DSN: sets took and cpu; a failing floor is a real error.
run_floor() {
  local t0 t1 frc=0
  cpu_start
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$work/time-floor.txt" "$psql" -X -q -v ON_ERROR_STOP=1 \
    -v connector="$connector" -v publication="$publication" -v schema_pubs="$schema_pubs" \
    -f scripts/bench-floor.sql -o /dev/null "$1" >"$work/floor.out" 2>&1 || frc=$?
  t1=$EPOCHREALTIME
  cpu_end "$work/time-floor.txt"
  [ "$frc" -eq 0 ] || die "the psql floor failed (exit $frc): $(head -c 2000 "$work/floor.out")"
  took=$(secs "$t0" "$t1")
}

# own_script DB DSN: records the statements a check of DB sends (this
# checkout's, with the slot as measured) as a psql script, $work/own-DB.sql.
own_script() {
  "$work/ownsql" -o "$work/own-$1.sql" "$2" 2>"$work/ownsql.log" ||
    die "recording the check's statements failed: $(head -c 2000 "$work/ownsql.log")"
}

# run_own DB DSN: sets took and cpu; psql sends the check's own
# statements, one round trip each, in its one read-only transaction: what
# the check's SQL costs the server, apart from the tool around it.
run_own() {
  local t0 t1 orc=0
  cpu_start
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$work/time-own.txt" "$psql" -X -q -v ON_ERROR_STOP=1 -f "$work/own-$1.sql" -o /dev/null "$2" >"$work/own.out" 2>&1 || orc=$?
  t1=$EPOCHREALTIME
  cpu_end "$work/time-own.txt"
  [ "$orc" -eq 0 ] || die "psql running the check's statements failed (exit $orc): $(head -c 2000 "$work/own.out")"
  took=$(secs "$t0" "$t1")
}

proxy_start() {
  rm -f "$work/proxy.addr" "$work/proxy.stats"
  "$work/delayproxy" -listen 127.0.0.1:0 -target "127.0.0.1:$port" -delay "$delay" \
    -addr-file "$work/proxy.addr" -stats "$work/proxy.stats" 2>>"$work/proxy.log" &
  proxy_pid=$!
  local i
  for ((i = 0; i < 400; i++)); do
    [ -s "$work/proxy.addr" ] && break
    kill -0 "$proxy_pid" 2>/dev/null || die "delayproxy exited: $(tail -n 5 "$work/proxy.log")"
    sleep 0.05
  done
  [ -s "$work/proxy.addr" ] || die "delayproxy did not start"
  proxy_port=$(sed 's/.*://' "$work/proxy.addr")
}

# proxy_stop: sets trips (round trips, all connections) and trips_detail.
proxy_stop() {
  kill -TERM "$proxy_pid"
  wait "$proxy_pid" || die "delayproxy failed: $(tail -n 5 "$work/proxy.log")"
  proxy_pid=""
  trips=$(sed -n 's/^total .*round_trips=\([0-9]*\).*/\1/p' "$work/proxy.stats")
  trips_detail="$(sed -n 's/^total connections=\([0-9]*\).*/\1/p' "$work/proxy.stats") connections: $(sed -n 's/^conn .*round_trips=\([0-9]*\).*/\1/p' "$work/proxy.stats" | paste -sd+ -)"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt_s() { awk -v s="$1" 'BEGIN { printf "%.2f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "—" }'; }
uniq_join() { printf '%s\n' "$@" | sort -n -u | paste -sd, -; }

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
rows=() cpu_rows=() error_notes=()
for n in "${size_list[@]}"; do
  db=bench_$n
  fresh_slot "$db"
  dsn=$(dsn_for "$db" "$port")
  own_script "$db" "$dsn"
  log "measuring $db: a warm-up, then $runs × (check, floor, the check's SQL in psql)"
  run_check "$dsn"
  run_floor "$dsn"
  run_own "$db" "$dsn"
  checks=() floors=() owns=() check_cpus=() floor_cpus=() own_cpus=() rsss=() rcs=() errs=""
  for ((r = 1; r <= runs; r++)); do
    run_check "$dsn"
    checks+=("$took") check_cpus+=("$cpu") rsss+=("$rss_kb") rcs+=("$rc")
    [ -z "$errors" ] || errs+="$errors"$'\n'
    run_floor "$dsn"
    floors+=("$took") floor_cpus+=("$cpu")
    run_own "$db" "$dsn"
    owns+=("$took") own_cpus+=("$cpu")
    log "  run $r: check $(fmt_s "${checks[-1]}") (cpu $(fmt_s "${check_cpus[-1]}"), exit $rc), floor $(fmt_s "${floors[-1]}") (cpu $(fmt_s "${floor_cpus[-1]}")), the check's SQL in psql $(fmt_s "$took") (cpu $(fmt_s "$cpu"))"
  done
  c=$(median "${checks[@]}") f=$(median "${floors[@]}") o=$(median "${owns[@]}")
  cc=$(median "${check_cpus[@]}") fc=$(median "${floor_cpus[@]}") oc=$(median "${own_cpus[@]}")
  cpu_rows+=("| $(thousands "$n") | $(fmt_s "$cc") | $(fmt_s "$fc") | $(ratio "$cc" "$fc") | $(fmt_s "$oc") | $(ratio "$cc" "$oc") |")
  nerr=$(printf '%s' "$errs" | sed -n 's/^\([a-z0-9-]*\): .*/\1/p' | sort -u | grep -c . || true)
  rows+=("| $(thousands "$n") | $(fmt_s "$c") | $(fmt_s "$f") | $(ratio "$c" "$f") | $(fmt_s "$o") | $(ratio "$c" "$o") | $(awk -v k="$(median "${rsss[@]}")" 'BEGIN { printf "%.0f MB", k / 1024 }') | $(uniq_join "${rcs[@]}") | $nerr |")
  if [ -n "$errs" ]; then
    error_notes+=("$(thousands "$n") tables:")
    while IFS= read -r line; do error_notes+=("  $line"); done < <(printf '%s' "$errs" | cut -c1-240 | sort | uniq -c | sed 's/^ *\([0-9]*\) /\1× /')
  fi
done

# The distance case: a fresh proxy per run, so each run's round trips are
# its own.
fresh_slot bench_guide
rtt=$(awk -v d="$delay" 'BEGIN { v = d + 0; u = d; sub(/^[0-9.]+/, "", u); printf "%g %s", 2 * v, u }')
log "measuring bench_guide through the delay proxy ($delay each way): a warm-up, then $runs × (check, floor)"
proxy_start
run_check "$(dsn_for bench_guide "$proxy_port")"
proxy_stop
proxy_start
run_floor "$(dsn_for bench_guide "$proxy_port")"
proxy_stop
checks=() floors=() rcs=() check_trips=() floor_trips=() errs="" check_detail=""
for ((r = 1; r <= runs; r++)); do
  proxy_start
  run_check "$(dsn_for bench_guide "$proxy_port")"
  proxy_stop
  checks+=("$took") rcs+=("$rc") check_trips+=("$trips") check_detail=$trips_detail
  [ -z "$errors" ] || errs+="$errors"$'\n'
  proxy_start
  run_floor "$(dsn_for bench_guide "$proxy_port")"
  proxy_stop
  floors+=("$took") floor_trips+=("$trips")
  log "  run $r: check $(fmt_s "${checks[-1]}") (exit $rc, ${check_trips[-1]} round trips), floor $(fmt_s "$took") (${floor_trips[-1]} round trips)"
done
c=$(median "${checks[@]}") f=$(median "${floors[@]}")
distance_row="| the guide's 2-table database, $delay each way ($rtt round trip) | $(fmt_s "$c") | $(fmt_s "$f") | $(ratio "$c" "$f") | $(median "${check_trips[@]}") ($check_detail) | $(median "${floor_trips[@]}") | $(uniq_join "${rcs[@]}") |"
if [ -n "$errs" ]; then
  error_notes+=("the guide's database through the proxy:")
  while IFS= read -r line; do error_notes+=("  $line"); done < <(printf '%s' "$errs" | cut -c1-240 | sort | uniq -c | sed 's/^ *\([0-9]*\) /\1× /')
fi

# ----------------------------------------------------------------- report
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit+=" (with local changes)"
binary_note="built from this checkout at $commit"
[ -z "$given_bin" ] || binary_note="$bin"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_gb=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
echo
echo "cdcpreflight bench, $(date -u '+%Y-%m-%d %H:%M UTC'): cdcpreflight $binary_note"
echo "machine: $(nproc) cores ($cpu), ${mem_gb} GB RAM, load average $loadavg at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "server: PostgreSQL $server_version, TLS over loopback (sslmode=require), fsync off; check as $connector with default options"
echo "method: medians of $runs runs, check, floor and the check's SQL alternating, after one warm-up of each; floor = psql -f scripts/bench-floor.sql;"
echo "        the check's SQL = psql sending the statements a check of that database sends (recorded by internal/ownsql from this checkout), one round trip each"
echo "command: SIZES=\"${size_list[*]}\" RUNS=$runs DELAY=$delay scripts/bench.sh"
echo
echo "| tables | check | psql floor | ratio | psql, the check's SQL | check ÷ its SQL | check peak RSS | check exit | rules in error |"
echo "|---:|---:|---:|---:|---:|---:|---:|:---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "CPU seconds (client user + system, and the server backends' own), medians of the same runs:"
echo
echo "| tables | check | psql floor | ratio | psql, the check's SQL | check ÷ its SQL |"
echo "|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${cpu_rows[@]}"
echo
echo "| distance | check | psql connect + three reads | ratio | round trips per check | round trips, psql | check exit |"
echo "|---|---:|---:|---:|---|---:|:---:|"
echo "$distance_row"
echo
echo "builds: $(printf '%s; ' "${build_notes[@]}" | sed 's/; $//')"
if [ ${#error_notes[@]} -gt 0 ]; then
  echo
  echo "rules in error (runs × message):"
  printf '%s\n' "${error_notes[@]}"
fi
if [ -n "$bench_dir" ]; then
  echo
  echo "cluster kept in $dir (databases bench_guide$(printf ' bench_%s' "${size_list[@]}")); start it with:"
  if $root; then
    echo "  runuser -u postgres -- $pg_bin/pg_ctl -D $data -l $dir/postgres.log start   # socket and port: $data/bench.conf"
  else
    echo "  $pg_bin/pg_ctl -D $data -l $dir/postgres.log start   # socket and port: $data/bench.conf"
  fi
fi
