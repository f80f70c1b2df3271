# shellcheck shell=bash
# Source this file: it makes sure `node` on PATH is Node.js 22.12 or newer.
#
# When the machine's node is older (these machines ship Node 20, which is end of life), it
# fetches Node 22 LTS from the npm registry — the `node-<os>-<arch>` package holds bin/node
# and the headers in include/node — into a cache, puts its bin first on PATH, and points
# npm_config_nodedir at it so native modules build offline against the right headers.
#
#   source scripts/ensure-node.sh
#
# SEALPOST_NODE_VERSION picks the version (default below); SEALPOST_NODE_CACHE the cache.

sealpost_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

sealpost_ensure_node() {
  local version="${SEALPOST_NODE_VERSION:-22.23.3}"
  if sealpost_node_ok; then
    return 0
  fi
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "ensure-node: install Node.js ${version} or newer yourself on $(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "ensure-node: no Node.js package for $(uname -m); install Node.js ${version} or newer yourself" >&2; return 1 ;;
  esac
  local cache="${SEALPOST_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealpost}"
  local dir="${cache}/node-v${version}-${os}-${arch}"
  if [ ! -x "${dir}/bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "ensure-node: Node.js ${version}+ is needed and npm is not available to fetch it" >&2
      return 1
    fi
    echo "ensure-node: $(node --version 2>/dev/null || echo 'no node') is too old; fetching Node.js ${version} from the npm registry (node-${os}-${arch})" >&2
    mkdir -p "${cache}"
    local work
    work="$(mktemp -d "${cache}/fetch.XXXXXX")"
    if ! (cd "${work}" && npm pack --silent "node-${os}-${arch}@${version}" >/dev/null); then
      rm -rf "${work}"
      echo "ensure-node: could not fetch node-${os}-${arch}@${version} from the npm registry" >&2
      return 1
    fi
    tar -xzf "${work}"/node-"${os}"-"${arch}"-*.tgz -C "${work}"
    rm -rf "${dir}"
    mv "${work}/package" "${dir}"
    rm -rf "${work}"
  fi
  export PATH="${dir}/bin:${PATH}"
  export npm_config_nodedir="${dir}"
  hash -r
  if ! sealpost_node_ok; then
    echo "ensure-node: ${dir}/bin/node does not run" >&2
    return 1
  fi
  echo "ensure-node: using Node.js $(node --version) from ${dir}" >&2
}

sealpost_ensure_node
