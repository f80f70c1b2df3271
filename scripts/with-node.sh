#!/usr/bin/env bash
# Runs a command with Node.js 22.12+ first on PATH (fetched from the npm registry if needed).
set -euo pipefail
# shellcheck source=scripts/ensure-node.sh
source "$(dirname "$0")/ensure-node.sh"
exec "$@"
