#!/usr/bin/env bash
# postgres.sh: a real PostgreSQL for the connector tests (a bureau database polled by watermark),
# on loopback, in a git-ignored folder.
#
#   scripts/postgres.sh up       install Debian's postgresql when its binaries are missing, initdb a
#                                cluster once, start it and create the test database
#   scripts/postgres.sh down     stop it (pg_ctl stop -m fast)
#   scripts/postgres.sh status   say where it runs (exit 1 unless it does)
#   scripts/postgres.sh env      print the export the tests read:
#                                eval "$(scripts/postgres.sh env)"   (FANGXIN_POSTGRES_URL)
#   scripts/postgres.sh reset    down, then delete the cluster
#
# The cluster lives in $STACK_STATE/postgres ($REPO/.stack/postgres, git-ignored) and runs as the
# unprivileged user PG_USER (fangxin-pg, created when run as root; PostgreSQL refuses to run as
# root). When that user cannot reach the folder (a clone under /root), the cluster lives in
# /var/lib/fangxin-stack/state-{hash}/postgres instead.
#
# Settings (env): PG_PORT (the port of an existing cluster, else the first free one from 55432),
# PG_USER (fangxin-pg), PG_DB (fangxin), STACK_STATE ($REPO/.stack).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${STACK_STATE:-$REPO/.stack}"
PG_USER="${PG_USER:-fangxin-pg}"
PG_DB="${PG_DB:-fangxin}"

log() { printf 'postgres: %s\n' "$*" >&2; }
die() { printf 'postgres: error: %s\n' "$*" >&2; exit 1; }

searchable() { # searchable PATH: every existing folder on the way is enterable by others
	local d="$1"
	while [[ "$d" != / && "$d" != . ]]; do
		if [[ -e "$d" ]]; then
			[[ "$(stat -L -c %A "$d")" == ?????????[xt] ]] || return 1
		fi
		d="$(dirname "$d")"
	done
}
PG_STATE="$STATE/postgres"
if [[ $EUID -eq 0 ]] && ! searchable "$PG_STATE"; then
	PG_STATE="/var/lib/fangxin-stack/state-$(printf %s "$STATE" | sha1sum | cut -c1-12)/postgres"
fi
DATA="$PG_STATE/data"
PORT_FILE="$PG_STATE/port"

pgbin() { # the newest installed PostgreSQL's bin folder
	local d
	d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
	[[ -n "$d" && -x "$d/initdb" ]] && printf %s "$d"
}

as_pg() { # run a command as the cluster's user
	if [[ $EUID -eq 0 ]]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

install() {
	[[ -n "$(pgbin)" ]] && return 0
	[[ $EUID -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
	log "installing Debian's postgresql (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends postgresql >/dev/null
	[[ -n "$(pgbin)" ]] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb appeared"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

choose_port() {
	if [[ -n "${PG_PORT:-}" ]]; then
		printf %s "$PG_PORT"
		return
	fi
	if [[ -f "$PORT_FILE" ]]; then
		cat "$PORT_FILE"
		return
	fi
	local p=55432
	while ! port_free "$p"; do
		p=$((p + 1))
		((p < 55532)) || die "no free port in 55432..55531; set PG_PORT"
	done
	printf %s "$p"
}

running() { [[ -f "$DATA/postmaster.pid" ]] && as_pg "$(pgbin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

cmd_up() {
	install
	local bin port
	bin="$(pgbin)"
	if [[ $EUID -eq 0 ]] && ! id -u "$PG_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir "$PG_STATE" --shell /usr/sbin/nologin "$PG_USER"
	fi
	mkdir -p "$PG_STATE"
	[[ $EUID -eq 0 ]] && chown "$PG_USER" "$PG_STATE"
	port="$(choose_port)"
	if running; then
		log "already running on 127.0.0.1:$(cat "$PORT_FILE")"
		return 0
	fi
	if [[ ! -f "$DATA/PG_VERSION" ]]; then
		log "initdb $DATA"
		rm -rf "$DATA"
		as_pg "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_STATE/initdb.log" 2>&1 ||
			{ tail -n 20 "$PG_STATE/initdb.log" >&2; die "initdb failed"; }
	fi
	port_free "$port" || die "port $port is taken; set PG_PORT to a free one"
	printf %s "$port" >"$PORT_FILE"
	log "starting on 127.0.0.1:$port"
	as_pg "$bin/pg_ctl" -D "$DATA" -l "$PG_STATE/postgres.log" -w -t 120 start \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $DATA -c fsync=on -c max_connections=50" >/dev/null ||
		{ tail -n 20 "$PG_STATE/postgres.log" >&2; die "PostgreSQL did not start"; }
	if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
		as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$PG_DB"
	fi
	log "use: eval \"\$(scripts/postgres.sh env)\""
	cmd_env
}

cmd_down() {
	local bin
	bin="$(pgbin)"
	if [[ -z "$bin" ]] || ! running; then
		log "not running"
		return 0
	fi
	as_pg "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	log "stopped"
}

cmd_status() {
	if [[ -n "$(pgbin)" ]] && running; then
		log "running on 127.0.0.1:$(cat "$PORT_FILE"), data $DATA"
		return 0
	fi
	log "not running"
	return 1
}

cmd_env() {
	local port
	port="${PG_PORT:-}"
	[[ -z "$port" && -f "$PORT_FILE" ]] && port="$(cat "$PORT_FILE")"
	[[ -n "$port" ]] || die "no cluster yet: scripts/postgres.sh up"
	printf 'export FANGXIN_POSTGRES_URL=%q\n' "postgres://postgres@127.0.0.1:$port/$PG_DB?sslmode=disable"
}

cmd_reset() {
	cmd_down
	rm -rf "$PG_STATE"
	log "deleted $PG_STATE"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
reset) cmd_reset ;;
*) die "usage: scripts/postgres.sh up|down|status|env|reset" ;;
esac
