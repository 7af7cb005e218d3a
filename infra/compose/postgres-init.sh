#!/bin/sh
# Temporal keeps its own databases on the same PostgreSQL server, under its own role, whose password
# comes from .env (TEMPORAL_DB_PASSWORD) like every other. Runs once, when the data volume is new.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal WITH LOGIN PASSWORD :'password' CREATEDB;
SQL
