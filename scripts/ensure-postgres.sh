#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth, user postgres).
# Starts the machine's cluster when it is installed but down; says so plainly otherwise.
set -u
host=${BEACHHEAD_PGHOST:-127.0.0.1}
port=${BEACHHEAD_PGPORT:-5432}
up() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-postgres: pg_isready not found; PostgreSQL tests will be skipped" >&2
  exit 0
fi
up && exit 0
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for v in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
  done
fi
for _ in $(seq 1 30); do up && exit 0; sleep 1; done
echo "ensure-postgres: no PostgreSQL on $host:$port; PostgreSQL tests will be skipped" >&2
exit 0
