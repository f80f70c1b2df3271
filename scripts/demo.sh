#!/usr/bin/env bash
# npm run demo [-- --smoke|--browser|--data-dir DIR]: build, then run `sealpost demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ]; then
  echo "demo: dependencies are not installed. Run: npm ci" >&2
  exit 1
fi
node scripts/build.mjs
exec node bin/sealpost.js demo "$@"
