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
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing ${apt_packages[*]} from Debian's packages"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# The pinned Bun and every dependency come from package-lock.json.
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# promtool checks and unit-tests the alert rules (test/deploy/prometheus.test.ts). Debian ships it only
# in the prometheus package, whose installation would also start and enable a Prometheus server: only
# promtool is taken out of the package, into node_modules/.bin.
if ! command -v promtool >/dev/null && [ ! -x node_modules/.bin/promtool ]; then
  echo "taking promtool from Debian's prometheus package"
  package_dir=$(mktemp -d)
  if ! (cd "$package_dir" && apt-get download -qq prometheus 2>/dev/null); then
    "${sudo[@]}" apt-get update -qq
    (cd "$package_dir" && apt-get download -qq prometheus)
  fi
  dpkg-deb --fsys-tarfile "$package_dir"/prometheus_*.deb | tar -x -C "$package_dir" ./usr/bin/promtool
  mv "$package_dir/usr/bin/promtool" node_modules/.bin/promtool
  rm -rf "$package_dir"
fi

PATH="$PWD/node_modules/.bin:$PATH" exec node_modules/.bin/bun test "$@"
