#!/usr/bin/env bash
# Makes the database servers the store and API suites use answer on this machine (CI, or a developer's
# Debian/Ubuntu box): PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306. Needs root and apt-get.
# Without them `npm test` still passes: PostgreSQL suites start a private server from an npm package and,
# unless CI is set, MySQL suites are skipped (docs/development.md).
#
# Each server is installed with apt-get when missing, then started when stopped. A server this script
# installed (remembered in $STATE_DIR, so a run that failed half-way is finished by the next) is set up the
# way the tests expect: PostgreSQL trusts 127.0.0.1 and ::1, MariaDB's root has no password over TCP, and
# a database `test` exists. Servers that were there before are started, never reconfigured.
set -euo pipefail

STATE_DIR=/var/lib/scale-agent-ci
MARIADB_LOG=/var/log/scale-agent-ci-mariadbd.log
READY_ATTEMPTS=120 # × 0.5 s

missing=()
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then missing+=(postgresql); fi
if [ ! -x /usr/sbin/mariadbd ]; then missing+=(mariadb-server); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "ci: installing ${missing[*]}"
  mkdir -p "$STATE_DIR"
  for package in "${missing[@]}"; do touch "$STATE_DIR/installed-$package"; done
  apt-get update -qq
  # policy-rc.d 101: the packages must not try to start services through an init system this machine may lack.
  # One that is already there (Debian's Docker images ship one) is the machine's own and stays. Ours goes even
  # when apt-get fails: left behind, it would silently keep every later package from starting its service.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ours() { [ -e "$STATE_DIR/installed-$1" ]; }

wait_for() {
  for _ in $(seq 1 "$READY_ATTEMPTS"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

# --- PostgreSQL ---------------------------------------------------------------------------------------
if command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$pg_version" ]; then
    pg_version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    pg_createcluster "$pg_version" main >/dev/null
  fi
  hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
  trust_changed=false
  if ours postgresql && ! grep -q '^host all all 127.0.0.1/32 trust$' "$hba"; then
    # First match wins in pg_hba.conf: the trust lines go above the packaged defaults.
    { printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'; cat "$hba"; } >"$hba.new"
    # Keep the packaged owner and mode (0640): the new file would otherwise be root's umask default, world-readable.
    chown --reference="$hba" "$hba.new" && chmod --reference="$hba" "$hba.new"
    mv "$hba.new" "$hba"
    trust_changed=true
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || true
  elif $trust_changed; then
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
  if ! wait_for pg_isready -h 127.0.0.1 -p 5432; then
    # Not fatal: the PostgreSQL suites then run on a private server (test/support/private-postgres.ts).
    echo "ci: warning: PostgreSQL $pg_version did not come up on 127.0.0.1:5432; the tests will start a private one" >&2
    tail -n 20 "/var/log/postgresql/postgresql-$pg_version-main.log" >&2 2>/dev/null || true
  fi
fi

# --- MariaDB ------------------------------------------------------------------------------------------
if [ -x /usr/sbin/mariadbd ]; then
  # `ping` succeeds whenever the server answers, even if it refuses the user: it tells up from down.
  if ! mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld
    # --user=mysql: mariadbd refuses to run as root, and Debian's config leaves `user` commented out
    # because its systemd unit (User=mysql) and mysqld_safe (--user=mysql) supply it instead.
    start-stop-daemon --start --oknodo --background --output "$MARIADB_LOG" --exec /usr/sbin/mariadbd -- --user=mysql || true
  fi
  # Fatal: with CI set the MySQL suites never skip, so they would fail later with less to go on.
  if ! wait_for mariadb-admin -h 127.0.0.1 -P 3306 -u root ping; then
    echo "ci: MariaDB did not come up on 127.0.0.1:3306 (log: $MARIADB_LOG)" >&2
    tail -n 20 "$MARIADB_LOG" >&2 2>/dev/null || true
    exit 1
  fi
  if ours mariadb-server; then
    mariadb -u root <<'SQL'
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS test;
FLUSH PRIVILEGES;
SQL
  fi
fi
