#!/usr/bin/env bash
# The test runner behind `npm test` and its tiers: scripts/test.sh [all|unit|services] [node --test options…]
#   all       every test file in one node --test invocation, so a single summary closes the run (npm test)
#   unit      the library's pure tests beside its sources (codecs, the offline check, units, policy) in one process
#             with the network refused, fuzzing at a fortieth of its full count unless X402_FUZZ_RUNS says otherwise
#             (npm run test:unit)
#   services  only the files that use PostgreSQL or Chromium (CI runs these again with X402_TEST_FORCE_EMBEDDED=1)
# `all` and `services` run X402_TEST_CONCURRENCY files at once (default: the core count, from 2 to 4).
# `all` and `services` choose one PostgreSQL for the whole run (packages/test-kit/src/with-postgres.ts): the
# environment's, else 127.0.0.1:5432, else an embedded server removed at the end.
# Node 20 does not expand globs given to --test, so the lists are built here.
set -euo pipefail
cd "$(dirname "$0")/.."

tier=all
case "${1:-}" in
  all | unit | services) tier=$1; shift ;;
esac

every_test_file() {
  find packages apps bench scripts examples e2e -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' 2>/dev/null | sort
}

case "$tier" in
  all) mapfile -t files < <(every_test_file) ;;
  # chain/ is left out: its tests talk HTTP to a fake node.
  unit) mapfile -t files < <(find packages/x402-stacks/src -name '*.test.ts' -not -path '*/chain/*' -not -name '*.loopback.test.ts' | sort) ;;
  services) mapfile -t files < <(every_test_file | xargs grep -lE 'testPostgresUrl|ledgerInOwnSchema|launchTestChromium') ;;
esac
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files found" >&2
  exit 1
fi

if [ "$tier" = unit ]; then
  export X402_FUZZ_RUNS="${X402_FUZZ_RUNS:-quick}"
  exec node --import tsx --test-reporter=spec "$@" packages/test-kit/src/offline.ts "${files[@]}"
fi
# Most files spend their time waiting on a devnet, a service process or a browser, so two run at once even on two
# cores; node's own default there is one, and starting 200 files one after the other took a third of the run.
# At most four by default: each file may open PostgreSQL pools of ten, against the server's 100 connections.
cores=$(nproc 2>/dev/null || echo 2)
concurrency="${X402_TEST_CONCURRENCY:-$(( cores < 2 ? 2 : cores > 4 ? 4 : cores ))}"
if ! [[ "$concurrency" =~ ^[1-9][0-9]*$ ]]; then
  echo "X402_TEST_CONCURRENCY must be a whole number of files, 1 or more (got '$concurrency')" >&2
  exit 2
fi
exec node --import tsx packages/test-kit/src/with-postgres.ts \
  node --import tsx --test --test-reporter=spec --test-concurrency="$concurrency" "$@" "${files[@]}"
