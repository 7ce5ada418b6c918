#!/bin/sh
# Build the hub benchmark database: a separate PostgreSQL database (default jalin_hub_bench),
# migrated, with one supplier (50 000 products, 32 buyers with customer price lists, 2
# warehouses) and 200 000 historical orders of about 5 lines (1M order lines).
#
#   bench/setup_hub_pg.sh                          # defaults below
#   FRESH=1 bench/setup_hub_pg.sh                  # drop and recreate the database first
#   BENCH_DB=jalin_hub_small PRODUCTS=2000 BUYERS=4 ORDERS=1000 bench/setup_hub_pg.sh
#
# The buyers' API tokens are written to $TOKENS (default bench/hub_tokens.json, not in git);
# bench/hub_bench.py reads them.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
PGURL_BASE=${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-jalin_hub_bench}
SUPPLIER=${SUPPLIER:-grosir}
PRODUCTS=${PRODUCTS:-50000}
BUYERS=${BUYERS:-32}
WAREHOUSES=${WAREHOUSES:-2}
ORDERS=${ORDERS:-200000}
LINES=${LINES:-5}
TOKENS=${TOKENS:-bench/hub_tokens.json}
export DATABASE_URL="$PGURL_BASE/$BENCH_DB"

if [ "${FRESH:-0}" = "1" ]; then
  psql "$PGURL_BASE/postgres" -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $BENCH_DB"
fi
psql "$PGURL_BASE/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" \
  | grep -q 1 || psql "$PGURL_BASE/postgres" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $BENCH_DB"
"$PYTHON" -m jalin migrate --no-input
"$PYTHON" -m jalin hub_generate --supplier "$SUPPLIER" --products "$PRODUCTS" \
  --buyers "$BUYERS" --warehouses "$WAREHOUSES" --orders "$ORDERS" --lines "$LINES" \
  --seed 1 --tokens-file "$TOKENS"
