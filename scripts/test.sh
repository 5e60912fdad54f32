#!/usr/bin/env bash
# One node --test invocation over every test file, so a single summary closes the run.
# Node 20 does not expand globs given to --test, so the list is built here.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find packages apps bench scripts examples -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files found" >&2
  exit 1
fi
exec node --import tsx --test --test-reporter=spec "$@" "${files[@]}"
