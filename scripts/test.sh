#!/usr/bin/env bash
# The test command (`npm test`): makes sure what the tests run for real is on the machine,
# then runs `bun test`. Works on a fresh Debian machine that has only Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v redis-server >/dev/null || apt_packages+=(redis-server)
command -v openssl >/dev/null || apt_packages+=(openssl)
# test/docs/readme-blocks.test.ts runs the README's blocks, which use curl.
command -v curl >/dev/null || apt_packages+=(curl)
# The benchmark's smoke test (test/bench-smoke.test.ts) loads the service with wrk.
command -v wrk >/dev/null || apt_packages+=(wrk)
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_packages+=(postgresql)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  echo "installing ${apt_packages[*]} from Debian's packages"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# The pinned Bun and every dependency come from package-lock.json.
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

exec node_modules/.bin/bun test "$@"
