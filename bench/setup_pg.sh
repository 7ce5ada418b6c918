#!/bin/sh
# Build the benchmark database: a separate PostgreSQL database (default jalin_bench), migrated,
# with one organization holding 1M contacts, 100k accounts and 5M activities.
#
#   bench/setup_pg.sh                     # defaults below
#   FRESH=1 bench/setup_pg.sh             # drop and recreate the database first
#   CONTACTS=10000 ACCOUNTS=1000 ACTIVITIES=50000 bench/setup_pg.sh   # a small one
set -eu
cd "$(dirname "$0")/.."
PGURL_BASE=${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-jalin_bench}
ORG=${ORG:-bench}
CONTACTS=${CONTACTS:-1000000}
ACCOUNTS=${ACCOUNTS:-100000}
ACTIVITIES=${ACTIVITIES:-5000000}
export DATABASE_URL="$PGURL_BASE/$BENCH_DB"

if [ "${FRESH:-0}" = "1" ]; then
  psql "$PGURL_BASE/postgres" -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $BENCH_DB"
fi
psql "$PGURL_BASE/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" \
  | grep -q 1 || psql "$PGURL_BASE/postgres" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $BENCH_DB"
.venv/bin/jalin migrate --no-input
.venv/bin/python bench/setup_org.py --org "$ORG"
.venv/bin/jalin crm_generate --org "$ORG" --contacts "$CONTACTS" --accounts "$ACCOUNTS" \
  --activities "$ACTIVITIES" --seed 1
