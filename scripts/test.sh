#!/usr/bin/env bash
# npm test: every check CI runs, in order, failing fast. Starts every service it needs itself
# (test/services) on random loopback ports and stops each by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

step() { printf '\n== %s ==\n' "$*"; }

if [ ! -d node_modules ]; then
  echo "test: dependencies are not installed. Run: npm ci" >&2
  exit 1
fi

step "system packages for the test services"
bash scripts/install-system-deps.sh

step "format (prettier)"
npx prettier --check . --log-level warn

step "lint (eslint, type-aware; layer arrows are errors)"
npx eslint --max-warnings 0 .

step "typecheck (tsc -b, every part)"
npx tsc -b

step "Electron security scan (electronegativity over electron/)"
npm run --silent scan:electron

step "build"
node scripts/build.mjs

mkdir -p test-reports
step "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-reports/vitest.json

step "end-to-end tests (playwright, Debian chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME=test-reports/playwright.json npx playwright test --reporter=list,json

step "summary"
node scripts/test-summary.mjs test-reports/vitest.json test-reports/playwright.json
echo "npm test took $(( $(date +%s) - started )) s"
