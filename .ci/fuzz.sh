#!/usr/bin/env bash
# Contract fuzzing: schemathesis (PyPI) against the running API for a bounded time. It generates
# requests from /openapi.json (valid and invalid), and fails on any 5xx other than a documented
# 503, any status, content type, header or body the document does not allow. Installs what it
# needs; starts the whole app itself (`npm start`: dev server, worker, relay, API) on free ports
# in a throwaway data dir, and stops it at the end.
#   FUZZ_SECONDS (default 120): the time budget of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-120}
SCHEMATHESIS_VERSION=4.32.5

venv=.cache/fuzz-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

data=$(mktemp -d)
read -r api temporal ui smtp < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(4)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(*[s.getsockname()[1] for s in ss])')
CONVEYOR_DATA_DIR="$data" PORT=$api TEMPORAL_DEV_SERVER_PORT=$temporal TEMPORAL_UI_PORT=$ui MAIL_CATCHER_PORT=$smtp \
  LOG_LEVEL=warn WELCOME_FOLLOW_UP_DELAY=5s \
  RATE_LIMIT_RPS=100000 RATE_LIMIT_BURST=100000 RATE_LIMIT_SUBMIT_RPS=100000 RATE_LIMIT_SUBMIT_BURST=100000 RATE_LIMIT_PUBLIC_RPS=100000 RATE_LIMIT_PUBLIC_BURST=100000 \
  setsid npm start >"$data/app.log" 2>&1 &
app=$!
# npm does not pass SIGTERM on to `node bin/start.ts`: signal the whole process group, or the app
# outlives this script (it did: a CI run left it running).
stop_app() {
  kill -TERM -- "-$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
}
trap stop_app EXIT

base="http://127.0.0.1:$api"
for _ in $(seq 1 180); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$app" 2>/dev/null || { cat "$data/app.log"; echo "the app did not start"; exit 1; }
  sleep 1
done
curl -fsS "$base/readyz"; echo
# npm start's development key (all scopes): the fuzzer calls the API as an authenticated client.
key=$(cat "$data/dev-api-key")

# The live feed is a never-ending event stream: a request to it only ends by timeout.
# Its own report goes to a file: its closing banner ("=== No issues found in 120.00s ===") reads
# like a test runner that ran no test, and the CI log's closing line is .ci/tally.js's. This
# script prints a summary instead, and the whole report when the fuzzer found something.
set +e
"$venv/bin/schemathesis" run "$base/openapi.json" \
  --max-time "$FUZZ_SECONDS" \
  --workers 1 \
  --request-timeout 10 \
  --exclude-path '/v1/topics/{stream}/live' \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --report junit --report-dir "$data/report" \
  --no-color >"$data/schemathesis.log" 2>&1
status=$?
set -e
python3 - "$data/report" "$status" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
cases = [c for f in glob.glob(sys.argv[1] + "/*.xml") for c in ET.parse(f).getroot().iter("testcase")]
bad = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
print(f"fuzz: schemathesis exercised {len(cases)} operations, {len(bad)} with findings, exit code {sys.argv[2]}")
for name in bad:
    print(f"fuzz: finding in {name}")
PY
[ "$status" -eq 0 ] || cat "$data/schemathesis.log"
if grep -q '"level":50' "$data/app.log"; then
  echo "the app logged errors during the run:"; grep '"level":50' "$data/app.log" | head -20; exit 1
fi
exit $status
