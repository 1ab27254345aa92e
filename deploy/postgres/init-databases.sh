#!/bin/sh
# First start of the postgresql container only (docker-entrypoint-initdb.d): one role and
# database for Relance, one role for Temporal (it creates its temporal and
# temporal_visibility databases itself, see deploy/temporal/setup-postgres.sh).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE relance LOGIN PASSWORD '${RELANCE_DB_PASSWORD}';
CREATE DATABASE relance OWNER relance;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${TEMPORAL_DB_PASSWORD}';
SQL
