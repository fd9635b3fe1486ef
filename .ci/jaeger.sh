#!/usr/bin/env bash
# Jaeger v2 (issue 16): a real trace backend for test/ops/tracing.test.ts and `npm run bench:obs`.
#
# Builds Jaeger v2.13.0 from the Go module proxy (module github.com/jaegertracing/jaeger v1.76.0:
# Jaeger tags each v2 release also as v1.x, and the proxy serves only those; its cmd/jaeger is the
# v2 binary, an OpenTelemetry Collector distribution). `go install pkg@version` refuses the module
# (its go.mod has a replace directive), so the module's source is copied out of the module cache and
# built as the main module. Cached under $CONVEYOR_GO_CACHE like .ci/cluster.sh: a warm machine
# skips the build. Then starts it on loopback with in-memory storage (OTLP/HTTP receiver, query
# API) and exports:
#   CONVEYOR_TEST_OTLP_ENDPOINT  its OTLP/HTTP base URL (what OTEL_EXPORTER_OTLP_ENDPOINT would be)
#   CONVEYOR_TEST_JAEGER_URL     its query service (HTTP API: /api/traces, /api/v3/traces)
# Jaeger's web UI is not in the Go module (its assets are built from the jaeger-ui repository with
# npm and embedded by Jaeger's release build), so this binary serves Jaeger's placeholder page at /,
# unless JAEGER_UI_ASSETS names a built jaeger-ui (its packages/jaeger-ui/build directory): then the
# query service serves that UI at / (docs/operations/trace-screenshot.sh builds one; CI needs none).
#
# Sourced by .ci/run (`source .ci/jaeger.sh`, before `npm test`): Jaeger stops when that shell exits.
# Run directly with a command, it starts Jaeger, runs the command with those variables, and stops it:
#   bash .ci/jaeger.sh npx jest test/ops/tracing.test.ts
jaeger_module_version=v1.76.0   # = Jaeger v2.13.0
jaeger_release=v2.13.0
jaeger_go_cache=${CONVEYOR_GO_CACHE:-/var/cache/conveyor-go}
jaeger_otlp_port=${JAEGER_OTLP_HTTP_PORT:-14318}
jaeger_query_port=${JAEGER_QUERY_PORT:-16686}
jaeger_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/jaeger"
jaeger_bin=$jaeger_go_cache/bin/jaeger-$jaeger_release
jaeger_say() { echo "[jaeger] $*"; }

jaeger_build() {
  [ -x "$jaeger_bin" ] && return 0
  command -v go >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; }
  (
    set -euo pipefail
    export GOTOOLCHAIN=go1.27.3 GOCACHE=$jaeger_go_cache/build GOMODCACHE=$jaeger_go_cache/mod GOFLAGS=-modcacherw
    mkdir -p "$jaeger_go_cache"/{build,mod,bin,src}
    jaeger_say "building Jaeger $jaeger_release (module $jaeger_module_version) from the Go module proxy; cache $jaeger_go_cache (a cold build takes 10-20 minutes on 2 cores)"
    module_dir=$(go mod download -json "github.com/jaegertracing/jaeger@$jaeger_module_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [ -d "$module_dir" ] || { echo "go mod download gave no source directory" >&2; exit 1; }
    src=$jaeger_go_cache/src/jaeger@$jaeger_module_version
    rm -rf "$src" && cp -r "$module_dir" "$src" && chmod -R u+w "$src"
    cd "$src"
    go build -trimpath -ldflags "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$jaeger_release" -o "$jaeger_bin.tmp" ./cmd/jaeger
    mv "$jaeger_bin.tmp" "$jaeger_bin"
  )
}

jaeger_stop() {
  [ -f "$jaeger_dir/jaeger.pid" ] || return 0
  local pid
  pid=$(cat "$jaeger_dir/jaeger.pid")
  rm -f "$jaeger_dir/jaeger.pid"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

jaeger_start() {
  command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
  mkdir -p "$jaeger_dir"
  jaeger_stop   # one left over from an interrupted run
  local ui_assets=""
  if [ -n "${JAEGER_UI_ASSETS:-}" ]; then
    [ -f "$JAEGER_UI_ASSETS/index.html" ] || { echo "JAEGER_UI_ASSETS=$JAEGER_UI_ASSETS has no index.html (want jaeger-ui's packages/jaeger-ui/build)" >&2; return 1; }
    ui_assets="ui:
      assets_path: $(cd "$JAEGER_UI_ASSETS" && pwd)"
  fi
  # The smallest all-in-one: OTLP/HTTP in, memory storage, the query service; nothing else listens
  # (no gRPC receivers, no own metrics port), and everything on 127.0.0.1.
  cat >"$jaeger_dir/config.yaml" <<YAML
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memory_store
    enable_tracing: false   # on by default in v2: it would export its own spans to localhost:4317
    $ui_assets
    http:
      endpoint: 127.0.0.1:$jaeger_query_port
    grpc:
      endpoint: 127.0.0.1:$((jaeger_query_port - 1))
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$((jaeger_query_port + 1))
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$jaeger_otlp_port
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
YAML
  setsid "$jaeger_bin" --config "$jaeger_dir/config.yaml" >"$jaeger_dir/jaeger.log" 2>&1 &
  echo $! >"$jaeger_dir/jaeger.pid"
  local attempt
  for attempt in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$jaeger_query_port/api/services" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$(cat "$jaeger_dir/jaeger.pid")" 2>/dev/null || [ "$attempt" -eq 120 ]; then
      echo "Jaeger did not start; its log:" >&2
      tail -30 "$jaeger_dir/jaeger.log" >&2
      return 1
    fi
    sleep 0.5
  done
  export CONVEYOR_TEST_OTLP_ENDPOINT=http://127.0.0.1:$jaeger_otlp_port
  export CONVEYOR_TEST_JAEGER_URL=http://127.0.0.1:$jaeger_query_port
  jaeger_say "Jaeger $jaeger_release on 127.0.0.1: OTLP/HTTP $CONVEYOR_TEST_OTLP_ENDPOINT, query $CONVEYOR_TEST_JAEGER_URL${JAEGER_UI_ASSETS:+ (UI from $JAEGER_UI_ASSETS)} (log $jaeger_dir/jaeger.log)"
}

jaeger_build || { echo "Jaeger $jaeger_release did not build" >&2; return 1 2>/dev/null || exit 1; }
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: stop with the shell that sourced us (it has no EXIT trap of its own).
  jaeger_start || return 1
  trap jaeger_stop EXIT
else
  set -euo pipefail
  trap jaeger_stop EXIT
  jaeger_start
  [ $# -eq 0 ] || "$@"
fi
