#!/usr/bin/env bash
# CI: Conveyor against a real Temporal cluster (issue 15). Builds the Temporal server v1.32.2 and
# its `sql` schema tool from the Go module proxy (cached under $CONVEYOR_GO_CACHE, so a warm
# machine rebuilds in seconds), gives Temporal its own PostgreSQL cluster (port 5433), creates the
# schemas, starts the server as four processes (frontend, history, matching, worker) with
# deploy/temporal/config.yaml, runs `npm run temporal:setup`, then the integration tests and the
# cluster fault tests (test/cluster) against it. Each run starts from empty Temporal databases.
#
#   .ci/cluster.sh          build, start, set up, run the tests, stop (CI)
#   .ci/cluster.sh start    build, start and set up the namespace 'default', then leave it running and
#                           print CLUSTER_ADDRESS=, CLUSTER_DIR= and CLUSTER_PG_PID= (the PostgreSQL
#                           postmaster) lines; `npm run bench:cluster` uses it
#   .ci/cluster.sh stop     stop the four server processes a `start` left running
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-test}
case $MODE in test | start | stop) ;; *) echo "usage: $0 [start|stop]" >&2; exit 2 ;; esac
step_start=$SECONDS
say() { echo "[cluster $((SECONDS - step_start))s] $*"; }

TEMPORAL_VERSION=v1.32.2
GO_CACHE=${CONVEYOR_GO_CACHE:-/var/cache/conveyor-go}
PG_VERSION=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
TEMPORAL_PG_PORT=5433
FRONTEND=127.0.0.1:17233
CLUSTER_DIR=$PWD/.cache/cluster
mkdir -p "$CLUSTER_DIR" "$GO_CACHE"/{build,mod,bin}
stop_servers() {   # SIGTERM, then wait (up to 15 s) so their ports are free again
  local pids=()
  for f in "$CLUSTER_DIR"/*.pid; do
    [ -e "$f" ] || continue
    pids+=("$(cat "$f")")
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}
if [ "$MODE" = stop ]; then
  stop_servers
  say "stopped"
  exit 0
fi

# ---- Build (Go module proxy only; the machine's Go fetches the pinned toolchain) ----
command -v go >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; }
export GOTOOLCHAIN=go1.27.3 GOCACHE=$GO_CACHE/build GOMODCACHE=$GO_CACHE/mod GOBIN=$GO_CACHE/bin GOFLAGS=-modcacherw
say "building the Temporal server $TEMPORAL_VERSION and its sql tool (cache: $GO_CACHE)"
go install go.temporal.io/server/cmd/server@$TEMPORAL_VERSION
go install go.temporal.io/server/cmd/tools/sql@$TEMPORAL_VERSION
SERVER=$GOBIN/server SQL_TOOL=$GOBIN/sql
SCHEMA_DIR=$GOMODCACHE/go.temporal.io/server@$TEMPORAL_VERSION/schema/postgresql/v12
say "built: $SERVER"

# ---- PostgreSQL for Temporal ----
# Its own PostgreSQL cluster rather than the app's: four server processes hold up to 4 x 30
# connections, past the default max_connections of 100 that the app's tests share, and raising it
# there would need a restart under whoever uses that database. Production keeps them apart too.
if [ "$MODE" = test ]; then
  [ -n "${TEST_DATABASE_URL:-}" ] || source .ci/postgres.sh   # installs PostgreSQL; the tests need TEST_DATABASE_URL
elif [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
stop_servers   # left over from an interrupted run
pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PG_VERSION temporal" ||
  pg_createcluster "$PG_VERSION" temporal -p $TEMPORAL_PG_PORT -o max_connections=300 >/dev/null
pg_ctlcluster "$PG_VERSION" temporal start >/dev/null 2>&1 || pg_ctlcluster "$PG_VERSION" temporal status >/dev/null
as_postgres() { su postgres -c "psql -p $TEMPORAL_PG_PORT -qtAc \"$1\""; }
as_postgres "SELECT 1 FROM pg_roles WHERE rolname = 'temporal'" | grep -q 1 ||
  as_postgres "CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal'"
for db in temporal temporal_visibility; do as_postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
export SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$TEMPORAL_PG_PORT SQL_USER=temporal SQL_PASSWORD=temporal
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*} schema=${pair##*:}
  "$SQL_TOOL" --db "$db" create-database >/dev/null 2>&1
  "$SQL_TOOL" --db "$db" setup-schema -v 0.0 >/dev/null 2>&1
  "$SQL_TOOL" --db "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned" >/dev/null 2>&1
done
say "schemas: $(su postgres -c "psql -p $TEMPORAL_PG_PORT -d temporal -qtAc 'SELECT curr_version FROM schema_version'") (temporal), $(su postgres -c "psql -p $TEMPORAL_PG_PORT -d temporal_visibility -qtAc 'SELECT curr_version FROM schema_version'") (visibility)"

# ---- The server as four processes ----
export CONVEYOR_CLUSTER_SERVER=$SERVER CONVEYOR_CLUSTER_CONFIG=$PWD/deploy/temporal/config.yaml
start_service() {   # also used by the history fault test (same command, same pid file)
  setsid "$SERVER" --config-file "$CONVEYOR_CLUSTER_CONFIG" --allow-no-auth start --service "$1" >>"$CLUSTER_DIR/$1.log" 2>&1 &
  echo $! >"$CLUSTER_DIR/$1.pid"
}
on_exit() {
  status=$?
  # `start` leaves a working cluster running for its caller; anything that failed is stopped.
  [ "$MODE" = start ] && [ $status -eq 0 ] || stop_servers
  if [ $status -ne 0 ]; then
    for s in frontend history matching worker; do echo "--- $s.log (last lines)"; tail -20 "$CLUSTER_DIR/$s.log" 2>/dev/null | cut -c1-400 || true; done
  fi
  say "done (exit $status)"
}
trap on_exit EXIT
for s in frontend history matching worker; do : >"$CLUSTER_DIR/$s.log"; done
# On empty databases every service writes the cluster's metadata record at start, and all but one
# of four racing for it exit: let the frontend write it, then start the other three.
start_service frontend
for attempt in $(seq 1 60); do
  [ "$(su postgres -c "psql -p $TEMPORAL_PG_PORT -d temporal -qtAc 'SELECT count(*) FROM cluster_metadata_info'")" -gt 0 ] && break
  [ "$attempt" -lt 60 ] || { echo "the frontend never wrote the cluster metadata"; exit 1; }
  sleep 0.5
done
for s in history matching worker; do start_service "$s"; done
say "started frontend, history, matching and worker processes; logs in $CLUSTER_DIR"

# ---- temporal:setup: the namespace and search attributes (and the tests' isolated namespaces) ----
namespaces=default
[ "$MODE" = start ] || namespaces="default $(node --import tsx -e "console.log(Object.values(require('./test/support/namespaces.ts').ISOLATED_NAMESPACES).join(' '))")"
for ns in $namespaces; do
  for attempt in $(seq 1 60); do   # the frontend may not answer yet
    if TEMPORAL_ADDRESS=$FRONTEND TEMPORAL_NAMESPACE=$ns npm run -s temporal:setup; then break; fi
    [ "$attempt" -lt 60 ] || { echo "temporal:setup never succeeded for $ns"; exit 1; }
    sleep 1
  done
done
say "cluster set up"
if [ "$MODE" = start ]; then
  pg_data=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "temporal" {print $6}')
  echo "CLUSTER_ADDRESS=$FRONTEND"
  echo "CLUSTER_DIR=$CLUSTER_DIR"
  echo "CLUSTER_PG_PID=$(head -1 "$pg_data/postmaster.pid")"
  exit 0
fi

# ---- The tests against it ----
# test/workflows keeps its time-skipping test server, test/replay needs none; temporal-setup and
# outbox-temporal-down start dev servers of their own by design; e2e/main-job tests `npm start`
# with its embedded dev server. Everything else that talks to Temporal runs here.
export CONVEYOR_TEST_TEMPORAL_ADDRESS=$FRONTEND CONVEYOR_TEST_CLUSTER_DIR=$CLUSTER_DIR CI=${CI:-1}
# CONVEYOR_CLUSTER_TESTS narrows the run (e.g. to test/cluster while working on the cluster).
# shellcheck disable=SC2086
npx jest ${CONVEYOR_CLUSTER_TESTS:-test/api test/streams test/faults test/cluster} \
  --testPathIgnorePatterns 'temporal-setup\.test' 'outbox-temporal-down\.test' \
  ${CI_TALLY_DIR:+--json --outputFile="$CI_TALLY_DIR/cluster.json"}
say "cluster tests passed"
