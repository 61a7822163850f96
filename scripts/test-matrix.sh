#!/usr/bin/env bash
# Runs the whole test suite, real-PostgreSQL scenarios included, on each
# PostgreSQL major given (default: 10-18) and prints major × result.
#
#   scripts/test-matrix.sh          # all nine majors
#   scripts/test-matrix.sh 10 18    # some
set -uo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(10 11 12 13 14 15 16 17 18)
logs=${TMPDIR:-/tmp}/cdcpreflight-matrix
mkdir -p "$logs"

declare -A result
failed=0
for m in "${majors[@]}"; do
  if ! bin=$(scripts/pg-binaries.sh "$m"); then
    result[$m]="FAIL (no binaries)"; failed=1; continue
  fi
  start=$(date +%s)
  if CDCPREFLIGHT_DIFF_REPORT=$logs/differential-pg$m.md CDCPREFLIGHT_PG_BIN=$bin \
    go test -tags differential -count=1 ./... >"$logs/pg$m.log" 2>&1; then
    result[$m]="pass"
  else
    result[$m]="FAIL (see $logs/pg$m.log)"; failed=1
  fi
  result[$m]="${result[$m]}  $(( $(date +%s) - start ))s"
  echo "PostgreSQL $m: ${result[$m]}" >&2
done

printf '\n| PostgreSQL | result |\n|---|---|\n'
for m in "${majors[@]}"; do printf '| %s | %s |\n' "$m" "${result[$m]}"; done
passed=0; fails=0
for m in "${majors[@]}"; do case ${result[$m]} in pass*) passed=$((passed+1));; *) fails=$((fails+1));; esac; done
if [ $failed -ne 0 ]; then
  for m in "${majors[@]}"; do
    case ${result[$m]} in FAIL*) echo; echo "== PostgreSQL $m: failures"; grep -E -- '--- FAIL|^FAIL|panic' "$logs/pg$m.log" | head -40;; esac
  done
fi
for m in "${majors[@]}"; do
  [ -f "$logs/differential-pg$m.md" ] && echo "PostgreSQL $m: $(grep '^differential:' "$logs/differential-pg$m.md")"
done
echo
echo "matrix: $passed passed, $fails failed"
exit $failed
