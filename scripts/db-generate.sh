#!/usr/bin/env bash
# `npm run db:generate -- --name <what_it_does>`: drizzle-kit names an unnamed migration with random
# words; a migration is read by name when it is reviewed, renumbered or applied, so a name is required.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  case "$arg" in --name | --name=?*) exec node_modules/.bin/drizzle-kit generate "$@" ;; esac
done
echo "usage: npm run db:generate -- --name <what_it_does>   (for example add_link_country_code)" >&2
exit 2
