#!/usr/bin/env bash
# Runs the whole suite on SQLite, then on PostgreSQL when the machine has it.
# Under CI=true a missing PostgreSQL is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# The report pages are tested in Debian's Chromium; Playwright drives it, never downloads one.
# An emoji font, so that the screenshots show 🔴 🟡 🟢 📊 rather than empty boxes.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing ${need[*]} for the browser tests =="
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi
if ! command -v chromium >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
  echo "chromium is not installed: required under CI=true" >&2
  exit 1
fi

echo "== suite on SQLite =="
DIGESTBOT_TEST_DATABASE=sqlite pytest -q

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not installed: required under CI=true" >&2
    exit 1
  fi
  echo "PostgreSQL is not installed here: ran SQLite only." >&2
  exit 0
fi

pg_ctlcluster 15 main start 2>/dev/null || pg_ctlcluster 15 main status >/dev/null
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 0.5
done
# A database of this run's own: two runs on one machine (or a run and a bench) never collide.
db="digestbot_test_$$"
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'digestbot') THEN
    CREATE ROLE digestbot LOGIN PASSWORD 'digestbot';
  END IF;
END \$\$;
CREATE DATABASE $db OWNER digestbot;
SQL
trap 'su postgres -c "dropdb --if-exists --force $db" >/dev/null 2>&1 || true' EXIT

echo "== suite on PostgreSQL ($db) =="
DIGESTBOT_TEST_DATABASE="postgresql+psycopg://digestbot:digestbot@127.0.0.1:5432/$db" pytest -q
