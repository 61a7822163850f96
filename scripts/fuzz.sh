#!/usr/bin/env bash
# fuzz.sh runs every native Go fuzz target of the module (any func FuzzX
# in any package's tests, found with `go test -list`, so a new target is
# picked up without touching this file) for a short, fixed time each.
# `go test` already runs each target's seed corpus (its f.Add seeds and
# testdata/fuzz/FuzzX/); this explores beyond it.
#
#   FUZZTIME      fuzzing time per target (default 10s)
#   FUZZ_BUDGET   most seconds of fuzzing in all (default 90: with building
#                 and starting each target, CI spends under three minutes
#                 here); when targets × FUZZTIME exceed it, each target gets
#                 budget/targets
#   FUZZ_PKGS     packages to look in (default ./...)
#   FUZZ_MATCH    only targets whose name matches this regexp
#
# A crasher fails the run; go test writes it to the package's
# testdata/fuzz/FuzzX/ and prints how to re-run it. Fix the bug and commit
# that file: it becomes part of the seed corpus every `go test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
budget=${FUZZ_BUDGET:-90}
match=${FUZZ_MATCH:-.}
per=${fuzztime%s}
[[ $per =~ ^[0-9]+$ ]] || { echo "fuzz.sh: FUZZTIME must be whole seconds like 10s, got $fuzztime" >&2; exit 2; }

# "pkg target" per line.
targets=()
for pkg in $(go list ${FUZZ_PKGS:-./...}); do
  while read -r name; do
    [[ $name == Fuzz* ]] && [[ $name =~ $match ]] && targets+=("$pkg $name")
  done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
done
n=${#targets[@]}
if ((n == 0)); then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
if ((n * per > budget)); then
  per=$((budget / n))
  ((per >= 1)) || per=1
fi
echo "fuzz.sh: $n targets, ${per}s each (budget ${budget}s)"

failed=0
summary=()
for t in "${targets[@]}"; do
  pkg=${t% *} name=${t#* }
  log=$(mktemp)
  corpus="$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name"
  before=$(ls "$corpus" 2>/dev/null | sort || true)
  start=$(date +%s)
  # -fuzzminimizetime: time spent shrinking each new input is not spent
  # fuzzing, and a run this short cannot afford the default minute.
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "${per}s" -fuzzminimizetime 5s "$pkg" >"$log" 2>&1; then
    result=ok
  elif [[ "$(ls "$corpus" 2>/dev/null | sort || true)" == "$before" ]] && grep -q '^    context deadline exceeded$' "$log"; then
    # Go 1.26's fuzzing coordinator can report its own -fuzztime deadline
    # as a failure when a worker is mid-input as it expires (a busy
    # machine): golang/go#75804, fixed in Go 1.27. No input was written,
    # so nothing crashed.
    result="ok (the fuzztime race of golang/go#75804, no input written)"
  else
    result=FAILED
    failed=1
    cat "$log"
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  summary+=("$(printf '%-60s %-22s %6s s %10s execs  %s' "${pkg#github.com/cdcpreflight/cdcpreflight/}" "$name" "$(($(date +%s) - start))" "${execs:-0}" "$result")")
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "fuzz.sh: a target failed; its input is in the package's testdata/fuzz/ (commit it with the fix)" >&2
  exit 1
fi
