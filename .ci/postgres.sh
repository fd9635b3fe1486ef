# Sourced by .ci/run: make sure a PostgreSQL server runs on 127.0.0.1:5432, create a throwaway
# database and export TEST_DATABASE_URL for the tests that run against both SQLite and PostgreSQL.
# The role may create databases: each test file makes its own (see test/support/databases.ts).
if [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  echo "Installing PostgreSQL from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$pg_version main" || pg_createcluster "$pg_version" main >/dev/null
pg_ctlcluster "$pg_version" main start 2>/dev/null || pg_ctlcluster "$pg_version" main status >/dev/null
as_postgres() { su postgres -c "$1"; }
as_postgres "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'conveyor'\"" | grep -q 1 ||
  as_postgres "psql -qc \"CREATE ROLE conveyor LOGIN CREATEDB PASSWORD 'conveyor'\""
as_postgres "psql -qc \"ALTER ROLE conveyor CREATEDB\""
test_db="conveyor_test_$(date +%s)_$$"
as_postgres "createdb -O conveyor $test_db"
export TEST_DATABASE_URL="postgres://conveyor:conveyor@127.0.0.1:5432/$test_db"
echo "PostgreSQL $pg_version: throwaway database $test_db"
