#!/usr/bin/env bash
# stack.sh — the embedded local stack of Love Rank Pulse.
#
# One self-contained stack per directory: its own PostgreSQL cluster (initdb),
# its own redis-server on a unix socket, the rankpulse FastCGI workers and its
# own nginx+nchan on 127.0.0.1:PORT.  `make run` uses ./var, `make test` a
# throwaway directory under /tmp.
#
#   scripts/stack.sh start|stop|run|status [--dir DIR] [--port PORT]
#   scripts/stack.sh start-service|stop-service postgres|redis|app|nginx [--dir DIR]
#
# Layout of DIR:
#   bin/rankpulse   copy of $RANKPULSE_BIN (readable by the service user)
#   run/            0700: postgres socket, redis.sock, rankpulse.sock (FastCGI),
#                   nchan.sock (nginx publisher), app.pid, redis.pid
#   pg/             PostgreSQL data directory (postmaster.pid = its pid file)
#   redis/          redis working directory (nothing is persisted)
#   nginx/          nginx prefix: rendered config, logs/, temp/, nginx.pid
#   www/            static files (conf/www) and nginx's problem+json bodies
#   log/            postgres.log, redis.log, app.log (app stderr)
#   secret          JWT secret, generated once (0600)
#   stack.env       `export K='V'` lines describing the stack (for tests)
#
# Privileges: run as root, every component runs as the system user
# `rankpulse` (created if missing); DIR itself, bin/, www/, secret and
# stack.env stay root-owned so nothing root sources is writable by the
# service user.  If that user cannot reach DIR (e.g. a repo under /root),
# the stack lives in /var/lib/rankpulse-stack/<name> and DIR becomes a symlink.
# Run as a normal user, everything runs as that user.
#
# Environment: RANKPULSE_BIN (build/rankpulse), STACK_DIR (./var), PORT (8080),
# WORKERS (4), SEED_PLAYERS (200; 0 = no seeding), STACK_FAST=1 (test
# stack: no fsync, APP_ENV=test), STACK_APP_ENV (override APP_ENV),
# LOG_LEVEL (info), STACK_NO_APP=1 (debugging aid: start everything but the
# app and skip the health wait), STACK_PASS_ENV ("VAR1 VAR2": more variables
# handed to the app).  Progress lines go to stderr, prefixed `stack:`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
SERVICE_USER_NAME=rankpulse
RELOCATE_BASE=/var/lib/rankpulse-stack
# Variables handed to the app besides the ones the stack computes.
APP_PASS_VARS="FRONTEND_URL ALLOWED_ORIGINS RESULT_VERIFICATION LOGIN_FAILURE_LIMIT
REGISTER_RATE_LIMIT ACCESS_TOKEN_TTL REFRESH_TOKEN_TTL ASAN_OPTIONS UBSAN_OPTIONS
LSAN_OPTIONS"
SERVICES="postgres redis app nginx"

umask 022

say() { printf 'stack: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

usage() {
	cat <<'EOF'
usage: scripts/stack.sh start|stop|run|status [--dir DIR] [--port PORT]
       scripts/stack.sh start-service|stop-service postgres|redis|app|nginx [--dir DIR]
       scripts/stack.sh start-node NAME --port PORT | stop-node NAME [--dir DIR]

  start          start every component (idempotent), write DIR/stack.env
  run            start, print the URLs, stay in the foreground; Ctrl-C stops
  stop           stop every component of DIR
  status         show what is running (exit 3 if something is stopped)
  start-service  start one component of an existing stack
  stop-service   stop one component (to simulate an outage)
  start-node     start an extra nginx node sharing channels via NCHAN_REDIS_URL
  stop-node      stop that node

env: RANKPULSE_BIN STACK_DIR PORT WORKERS SEED_PLAYERS STACK_FAST STACK_NO_APP
     STACK_APP_ENV LOG_LEVEL STACK_PASS_ENV
EOF
}

# ---------------------------------------------------------------- arguments

CMD=${1:-}
[ $# -gt 0 ] && shift
SERVICE=""
case $CMD in
start | stop | run | status) ;;
start-service | stop-service)
	SERVICE=${1:-}
	[ $# -gt 0 ] && shift
	case $SERVICE in
	postgres | redis | app | nginx) ;;
	*)
		usage >&2
		exit 2
		;;
	esac
	;;
start-node | stop-node)
	NODE_NAME=${1:-}
	[ $# -gt 0 ] && shift
	case $NODE_NAME in
	[a-z0-9]*) ;;
	*)
		usage >&2
		exit 2
		;;
	esac
	;;
-h | --help | help)
	usage
	exit 0
	;;
*)
	usage >&2
	exit 2
	;;
esac

OPT_DIR=""
OPT_PORT=""
while [ $# -gt 0 ]; do
	case $1 in
	--dir)
		[ $# -ge 2 ] || die "--dir needs a value"
		OPT_DIR=$2
		shift 2
		;;
	--dir=*)
		OPT_DIR=${1#--dir=}
		shift
		;;
	--port)
		[ $# -ge 2 ] || die "--port needs a value"
		OPT_PORT=$2
		shift 2
		;;
	--port=*)
		OPT_PORT=${1#--port=}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

DIR=${OPT_DIR:-${STACK_DIR:-$REPO/var}}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
[ -n "$DIR" ] || die "refusing to use / as the stack directory"

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

STACK_FAST=${STACK_FAST:-0}
STACK_NO_APP=${STACK_NO_APP:-0}

# ---------------------------------------------------------------- helpers

# set_paths: derive every path from $DIR (call again after relocation).
set_paths() {
	RUN_DIR=$DIR/run
	PG_DIR=$DIR/pg
	REDIS_DIR=$DIR/redis
	NGINX_PREFIX=$DIR/nginx
	WWW_DIR=$DIR/www
	LOG_DIR=$DIR/log
	BIN=$DIR/bin/rankpulse
	ENV_FILE=$DIR/stack.env
	SECRET_FILE=$DIR/secret
	APP_LOG=$LOG_DIR/app.log
	PG_LOG=$LOG_DIR/postgres.log
	REDIS_LOG=$LOG_DIR/redis.log
	NGINX_ERROR_LOG=$NGINX_PREFIX/logs/error.log
	NGINX_ACCESS_LOG=$NGINX_PREFIX/logs/access.log
	NGINX_CONF=$NGINX_PREFIX/nginx.conf
	FCGI_SOCKET=$RUN_DIR/rankpulse.sock
	NCHAN_SOCKET=$RUN_DIR/nchan.sock
	REDIS_SOCKET=$RUN_DIR/redis.sock
	APP_PID_FILE=$RUN_DIR/app.pid
	REDIS_PID_FILE=$RUN_DIR/redis.pid
	NGINX_PID_FILE=$NGINX_PREFIX/nginx.pid
	PG_PID_FILE=$PG_DIR/postmaster.pid
	DATABASE_URL="postgresql:///rankpulse?host=$RUN_DIR&user=rankpulse"
	ADMIN_DB_URL="postgresql:///postgres?host=$RUN_DIR&user=rankpulse"
	REDIS_URL="unix://$REDIS_SOCKET"
	NCHAN_PUBLISH_URL="unix:$NCHAN_SOCKET"
	set_user
}

# Who runs the components, and how we become them.
set_user() {
	if [ "$IS_ROOT" -eq 1 ]; then
		STACK_USER=$SERVICE_USER_NAME
		STACK_GROUP=$(id -gn "$STACK_USER" 2>/dev/null || echo "$STACK_USER")
		AS_USER=(setpriv "--reuid=$STACK_USER" "--regid=$STACK_GROUP" --init-groups --
			env "HOME=$DIR" "USER=$STACK_USER" "LOGNAME=$STACK_USER")
	else
		STACK_USER=$(id -un)
		STACK_GROUP=$(id -gn)
		AS_USER=()
	fi
}

as_user() { "${AS_USER[@]}" "$@"; }

ensure_service_user() {
	[ "$IS_ROOT" -eq 1 ] || return 0
	if ! id -u "$SERVICE_USER_NAME" >/dev/null 2>&1; then
		say "creating system user $SERVICE_USER_NAME"
		useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin \
			"$SERVICE_USER_NAME" || die "cannot create user $SERVICE_USER_NAME"
	fi
	set_user
}

user_exists() { [ "$IS_ROOT" -eq 0 ] || id -u "$SERVICE_USER_NAME" >/dev/null 2>&1; }

# proc_matches PID KIND: PID is a live (non-zombie) process of this stack's kind.
proc_matches() {
	local pid=$1 kind=$2 stat state comm exe
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	state=${stat##*) }
	state=${state%% *}
	case $state in Z | X) return 1 ;; esac
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	case $kind in
	postgres) [ "$comm" = postgres ] || [ "$comm" = postmaster ] ;;
	redis) case $comm in redis-server* | redis-check-rdb*) return 0 ;; *) return 1 ;; esac ;;
	nginx) [ "$comm" = nginx ] ;;
	app)
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=""
		case $exe in "$DIR"/bin/*) return 0 ;; esac
		# An interpreted stand-in: the binary path is in the command line.
		case $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) in
		*"$DIR/bin/rankpulse"*) return 0 ;;
		esac
		return 1
		;;
	*) return 1 ;;
	esac
}

pid_file_of() {
	case $1 in
	postgres) echo "$PG_PID_FILE" ;;
	redis) echo "$REDIS_PID_FILE" ;;
	app) echo "$APP_PID_FILE" ;;
	nginx) echo "$NGINX_PID_FILE" ;;
	esac
}

# service_pid NAME: print the pid of a running component, fail if not running.
service_pid() {
	local f pid
	f=$(pid_file_of "$1")
	[ -r "$f" ] || return 1
	pid=$(head -n 1 "$f" 2>/dev/null | tr -dc 0-9)
	proc_matches "$pid" "$1" || return 1
	echo "$pid"
}

running() { service_pid "$1" >/dev/null; }

# signal SIG TARGET...: send as the service user, so a forged pid file can
# never make root signal a foreign process.
signal() {
	local sig=$1
	shift
	if [ "$IS_ROOT" -eq 1 ]; then
		user_exists || return 0
		as_user /bin/kill "-$sig" -- "$@" >/dev/null 2>&1 || true
	else
		kill "-$sig" -- "$@" >/dev/null 2>&1 || true
	fi
}

# kill_group_of PID KIND: SIGKILL every process of PID's process group that
# still looks like KIND (workers / backends left behind by a dead master).
kill_group_of() {
	local pid=$1 kind=$2 p killed=""
	for p in $(pgrep -g "$pid" 2>/dev/null || true); do
		if proc_matches "$p" "$kind"; then
			signal KILL "$p"
			killed="$killed $p"
		fi
	done
	[ -n "$killed" ] && say "killed leftover $kind processes:$killed"
	proc_matches "$pid" "$kind" && signal KILL "$pid"
	return 0
}

# wait_gone PID KIND SECONDS: wait until PID is no longer a live KIND.
wait_gone() {
	local pid=$1 kind=$2 n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		proc_matches "$pid" "$kind" || return 0
		sleep 0.1
		n=$((n - 1))
	done
	! proc_matches "$pid" "$kind"
}

# write_file PATH MODE: atomically replace PATH with stdin (never follows a
# symlink planted at PATH).
write_file() {
	local path=$1 mode=$2 tmp
	tmp=$(mktemp "$path.XXXXXX")
	cat >"$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$path"
}

# shq VALUE: single-quote for sh.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# sed_escape VALUE: escape for the replacement side of s|...|...|.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

tail_log() {
	local f=$1 n=${2:-25}
	if [ -s "$f" ]; then
		printf '==> %s (last %s lines) <==\n' "$f" "$n" >&2
		tail -n "$n" "$f" >&2 || true
	fi
}

dump_logs() {
	local f
	for f in "$PG_LOG" "$REDIS_LOG" "$APP_LOG" "$LOG_DIR/nginx-start.log" \
		"$NGINX_ERROR_LOG"; do
		tail_log "$f" 30
	done
}

fail() {
	say "error: $*"
	dump_logs
	exit 1
}

port_free() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
			LocalPort => $ARGV[0], Proto => "tcp", ReuseAddr => 1);
		exit 0 if $s;
		print STDERR "$!\n";
		exit 1;' "$1" 2>/dev/null
}

check_port() {
	case $PORT in '' | *[!0-9]*) die "PORT must be a number (got '$PORT')" ;; esac
	if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then die "PORT out of range: $PORT"; fi
	if [ "$IS_ROOT" -eq 1 ] && [ "$PORT" -lt 1024 ]; then
		die "PORT $PORT is privileged; nginx runs as $STACK_USER, use a port >= 1024"
	fi
	if ! port_free "$PORT"; then
		say "error: port 127.0.0.1:$PORT is already in use by something else:"
		ss -Hltnp "( sport = :$PORT )" 2>/dev/null | sed 's/^/stack:   /' >&2 || true
		die "choose another port with --port or PORT=..."
	fi
}

# ---------------------------------------------------------------- directory

# user_can_reach PATH: the service user can traverse PATH (or, if PATH does
# not exist yet, its nearest existing parent).
user_can_reach() {
	local p=$1
	while [ ! -e "$p" ]; do p=$(dirname "$p"); done
	as_user test -x "$p" 2>/dev/null
}

# Resolve DIR (following a relocation symlink) and, when starting as root,
# relocate it if the service user cannot reach it or it is too deep for
# unix socket paths.
resolve_dir() {
	local creating=$1 logical=$DIR target name
	# A relocation symlink whose target vanished: recreate the target.
	if [ "$creating" -eq 1 ] && [ -L "$DIR" ] && [ ! -e "$DIR" ]; then
		target=$(readlink "$DIR")
		case $target in
		"$RELOCATE_BASE"/*) install -d -m 0755 "$RELOCATE_BASE" "$target" ;;
		esac
	fi
	if [ -e "$DIR" ]; then
		DIR=$(cd "$DIR" && pwd -P)
	fi
	set_paths
	[ "$creating" -eq 1 ] || return 0

	local too_long=0
	# sun_path holds 107 bytes; the longest socket is run/.s.PGSQL.5432.lock.
	[ ${#RUN_DIR} -gt 80 ] && too_long=1
	if [ "$IS_ROOT" -eq 1 ] && { ! user_can_reach "$DIR" || [ "$too_long" -eq 1 ]; }; then
		if [ -L "$logical" ]; then
			die "$logical is a symlink to $DIR, which user $STACK_USER cannot use; remove it or use --dir"
		elif [ -d "$logical" ] && [ -n "$(ls -A "$logical" 2>/dev/null)" ]; then
			die "$logical exists but user $STACK_USER cannot use it; remove it or use --dir"
		elif [ -e "$logical" ] && [ ! -d "$logical" ]; then
			die "$logical exists and is not a directory"
		fi
		name=$(basename "$logical")-$(printf '%s' "$logical" | cksum | cut -d' ' -f1)
		target=$RELOCATE_BASE/$name
		install -d -m 0755 "$RELOCATE_BASE" "$target"
		[ -d "$logical" ] && rmdir "$logical"
		ln -s "$target" "$logical"
		if [ "$too_long" -eq 1 ]; then
			say "$logical is too deep for unix socket paths; using $target (symlinked from $logical)"
		else
			say "user $STACK_USER cannot reach $logical; using $target (symlinked from $logical)"
		fi
		DIR=$target
		set_paths
	elif [ "$too_long" -eq 1 ]; then
		die "$RUN_DIR is too long for unix socket paths; use a shorter --dir"
	fi
}

# Create the layout.  Service-owned: run pg redis nginx log.  Owned by the
# invoking user: DIR bin www secret stack.env.
prepare_dir() {
	local d owner
	mkdir -p "$DIR"
	owner=$(stat -c %U "$DIR")
	if [ "$IS_ROOT" -eq 0 ] && [ "$owner" != "$STACK_USER" ]; then
		die "$DIR belongs to $owner (a root run?); run as root or remove $DIR"
	fi
	chmod 0755 "$DIR"
	for d in run pg redis nginx log; do
		if [ -e "$DIR/$d" ]; then
			owner=$(stat -c %U "$DIR/$d")
			if [ "$owner" != "$STACK_USER" ]; then
				[ "$IS_ROOT" -eq 1 ] ||
					die "$DIR/$d belongs to $owner (a root run?); run as root or remove $DIR"
				chown -R "$STACK_USER:$STACK_GROUP" "$DIR/$d"
			fi
		fi
	done
	install -d -o "$STACK_USER" -g "$STACK_GROUP" -m 0700 "$RUN_DIR" "$PG_DIR"
	install -d -o "$STACK_USER" -g "$STACK_GROUP" -m 0750 "$REDIS_DIR" "$LOG_DIR"
	install -d -o "$STACK_USER" -g "$STACK_GROUP" -m 0755 "$NGINX_PREFIX"
	as_user mkdir -p "$NGINX_PREFIX/logs" "$NGINX_PREFIX/temp/client_body" \
		"$NGINX_PREFIX/temp/proxy" "$NGINX_PREFIX/temp/fastcgi" \
		"$NGINX_PREFIX/temp/uwsgi" "$NGINX_PREFIX/temp/scgi"
	as_user touch "$APP_LOG" "$PG_LOG" "$REDIS_LOG"
	mkdir -p "$DIR/bin"

	# Static files and nginx's problem+json bodies.
	rm -rf "$WWW_DIR.new"
	mkdir -p "$WWW_DIR.new/_problem"
	if [ -d "$REPO/conf/www" ]; then
		cp -R "$REPO/conf/www/." "$WWW_DIR.new/"
	fi
	cp "$REPO"/conf/errors/*.json "$WWW_DIR.new/_problem/"
	chmod -R a+rX "$WWW_DIR.new"
	rm -rf "$WWW_DIR"
	mv "$WWW_DIR.new" "$WWW_DIR"

	if [ ! -s "$SECRET_FILE" ]; then
		head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | write_file "$SECRET_FILE" 0600
	fi
}

# Copy the binary so the service user can run it wherever the repo lives.
install_binary() {
	local src=${RANKPULSE_BIN:-build/rankpulse}
	case $src in
	/*) ;;
	*) if [ -e "$PWD/$src" ]; then src=$PWD/$src; else src=$REPO/$src; fi ;;
	esac
	if [ ! -x "$src" ]; then
		if [ "$STACK_NO_APP" = 1 ]; then
			say "no rankpulse binary at $src (STACK_NO_APP=1: app not started)"
			return 0
		fi
		die "rankpulse binary not found at $src (build it with make, or set RANKPULSE_BIN)"
	fi
	if ! cmp -s "$src" "$BIN"; then
		local tmp
		tmp=$(mktemp "$DIR/bin/.rankpulse.XXXXXX")
		cp "$src" "$tmp"
		chmod 0755 "$tmp"
		mv -f "$tmp" "$BIN"
	fi
}

# ---------------------------------------------------------------- stack.env

write_env() {
	local app_env=${STACK_APP_ENV:-}
	if [ -z "$app_env" ]; then
		if [ "$STACK_FAST" = 1 ]; then app_env="test"; else app_env="development"; fi
	fi
	local v pass=""
	for v in $APP_PASS_VARS ${STACK_PASS_ENV:-}; do
		case $v in *[!A-Za-z0-9_]* | [0-9]*) die "bad variable name in STACK_PASS_ENV: $v" ;; esac
		if [ -n "${!v+x}" ]; then pass="$pass $v"; fi
	done
	{
		echo "# Love Rank Pulse local stack — generated by scripts/stack.sh; do not edit."
		echo "# Source it: . $(shq "$ENV_FILE")"
		for kv in \
			"STACK_DIR=$DIR" "RUN_DIR=$RUN_DIR" "STACK_USER=$STACK_USER" \
			"PORT=$PORT" "BASE_URL=http://127.0.0.1:$PORT" \
			"DATABASE_URL=$DATABASE_URL" "REDIS_URL=$REDIS_URL" \
			"FCGI_SOCKET=$FCGI_SOCKET" "NCHAN_PUBLISH_URL=$NCHAN_PUBLISH_URL" \
			"APP_ENV=$app_env" "JWT_SECRET=$(cat "$SECRET_FILE")" \
			"WORKERS=${WORKERS:-4}" "LOG_LEVEL=${LOG_LEVEL:-info}" \
			"RANKPULSE_BIN=$BIN" "APP_LOG=$APP_LOG" "POSTGRES_LOG=$PG_LOG" \
			"REDIS_LOG=$REDIS_LOG" "NGINX_ERROR_LOG=$NGINX_ERROR_LOG" \
			"NGINX_ACCESS_LOG=$NGINX_ACCESS_LOG" \
			"APP_PID_FILE=$APP_PID_FILE" "REDIS_PID_FILE=$REDIS_PID_FILE" \
			"NGINX_PID_FILE=$NGINX_PID_FILE" "POSTGRES_PID_FILE=$PG_PID_FILE" \
			"REDIS_SOCKET=$REDIS_SOCKET" "NCHAN_SOCKET=$NCHAN_SOCKET" \
			"PGBIN=$PGBIN" "PSQL=$PGBIN/psql" "STACK_FAST=$STACK_FAST" \
			"STACK_NO_APP=$STACK_NO_APP" "STACK_PASS_ENV=${pass# }"; do
			echo "export ${kv%%=*}=$(shq "${kv#*=}")"
		done
		for v in $pass; do
			echo "export $v=$(shq "${!v}")"
		done
	} | write_file "$ENV_FILE" 0600
}

load_env() {
	[ -r "$ENV_FILE" ] || die "no stack in $DIR (run: scripts/stack.sh start --dir $DIR)"
	# shellcheck disable=SC1090
	. "$ENV_FILE"
}

# ---------------------------------------------------------------- postgres

start_postgres() {
	local pid
	if pid=$(service_pid postgres); then
		say "postgres already running (pid $pid)"
		return 0
	fi
	if [ ! -s "$PG_DIR/PG_VERSION" ]; then
		say "initdb $PG_DIR"
		local sync=()
		[ "$STACK_FAST" = 1 ] && sync=(--no-sync)
		if ! as_user "$PGBIN/initdb" -D "$PG_DIR" -A trust -U rankpulse --encoding=UTF8 \
			--locale=C.UTF-8 "${sync[@]}" >"$LOG_DIR/initdb.log" 2>&1; then
			say "initdb with locale C.UTF-8 failed; retrying with locale C"
			find "$PG_DIR" -mindepth 1 -delete 2>/dev/null || true
			as_user "$PGBIN/initdb" -D "$PG_DIR" -A trust -U rankpulse --encoding=UTF8 \
				--locale=C "${sync[@]}" >>"$LOG_DIR/initdb.log" 2>&1 ||
				{ tail_log "$LOG_DIR/initdb.log" 40; die "initdb failed"; }
		fi
		printf "\n# Love Rank Pulse local stack\ninclude_if_exists = 'rankpulse.conf'\n" |
			as_user tee -a "$PG_DIR/postgresql.conf" >/dev/null
	fi
	{
		echo "# generated by scripts/stack.sh at every start"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$RUN_DIR'"
		echo "unix_socket_permissions = 0700"
		echo "max_connections = 100"
		echo "log_min_duration_statement = -1"
		if [ "$STACK_FAST" = 1 ]; then
			echo "# test stack: durability off"
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
			echo "shared_buffers = 32MB"
		fi
	} | write_file "$PG_DIR/rankpulse.conf" 0644
	say "starting postgres"
	as_user "$PGBIN/pg_ctl" -D "$PG_DIR" -l "$PG_LOG" -w -t 60 -s start \
		</dev/null >/dev/null 2>>"$PG_LOG" || fail "postgres did not start"
	# The database itself.
	local have
	have=$(as_user "$PGBIN/psql" -XAtq -d "$ADMIN_DB_URL" \
		-c "SELECT 1 FROM pg_database WHERE datname = 'rankpulse'" 2>>"$PG_LOG") ||
		fail "cannot connect to postgres"
	if [ "$have" != 1 ]; then
		say "creating database rankpulse"
		as_user "$PGBIN/psql" -XAtq -d "$ADMIN_DB_URL" -c "CREATE DATABASE rankpulse" \
			>/dev/null 2>>"$PG_LOG" || fail "cannot create database rankpulse"
	fi
}

stop_postgres() {
	local pid
	pid=$(service_pid postgres) || return 0
	say "stopping postgres (pid $pid)"
	as_user "$PGBIN/pg_ctl" -D "$PG_DIR" -m fast -w -t 20 -s stop \
		</dev/null >/dev/null 2>>"$PG_LOG" ||
		as_user "$PGBIN/pg_ctl" -D "$PG_DIR" -m immediate -w -t 10 -s stop \
			</dev/null >/dev/null 2>>"$PG_LOG" || true
	if proc_matches "$pid" postgres; then
		say "postgres did not stop; killing it"
		kill_group_of "$pid" postgres
	fi
}

# ---------------------------------------------------------------- redis

start_redis() {
	local pid
	if pid=$(service_pid redis); then
		say "redis already running (pid $pid)"
		return 0
	fi
	say "starting redis"
	rm -f "$REDIS_SOCKET" "$REDIS_PID_FILE"
	(
		exec </dev/null >/dev/null 2>>"$REDIS_LOG"
		exec setsid "${AS_USER[@]}" redis-server --port 0 \
			--unixsocket "$REDIS_SOCKET" --unixsocketperm 700 \
			--save "" --appendonly no --dir "$REDIS_DIR" --daemonize no \
			--pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG"
	) &
	local spawned=$! n=100
	while [ "$n" -gt 0 ]; do
		if [ -S "$REDIS_SOCKET" ] &&
			[ "$(as_user redis-cli -s "$REDIS_SOCKET" ping 2>/dev/null)" = PONG ]; then
			return 0
		fi
		kill -0 "$spawned" 2>/dev/null || fail "redis exited during startup"
		sleep 0.1
		n=$((n - 1))
	done
	fail "redis did not answer PING within 10 s"
}

stop_redis() {
	local pid
	pid=$(service_pid redis) || { rm -f "$REDIS_SOCKET"; return 0; }
	say "stopping redis (pid $pid)"
	signal TERM "$pid"
	wait_gone "$pid" redis 10 || kill_group_of "$pid" redis
	rm -f "$REDIS_SOCKET"
}

# ---------------------------------------------------------------- app

# app_env_args: the complete environment of every rankpulse invocation.
app_env_args() {
	APP_ENV_ARGS=(env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$DIR" "LANG=C.UTF-8"
		"DATABASE_URL=$DATABASE_URL" "REDIS_URL=$REDIS_URL" "FCGI_SOCKET=$FCGI_SOCKET"
		"NCHAN_PUBLISH_URL=$NCHAN_PUBLISH_URL" "WORKERS=$WORKERS" "APP_ENV=$APP_ENV"
		"JWT_SECRET=$JWT_SECRET" "LOG_LEVEL=$LOG_LEVEL" "PORT=$PORT")
	local v
	for v in ${STACK_PASS_ENV:-}; do
		APP_ENV_ARGS+=("$v=${!v-}")
	done
}

# rankpulse ARGS...: run a one-shot subcommand as the service user, output
# appended to the app log.
rankpulse() {
	app_env_args
	as_user "${APP_ENV_ARGS[@]}" "$BIN" "$@" </dev/null >>"$APP_LOG" 2>&1
}

prepare_database() {
	say "rankpulse migrate"
	rankpulse migrate || fail "rankpulse migrate failed"
	local n=${SEED_PLAYERS:-200}
	case $n in '' | *[!0-9]*) die "SEED_PLAYERS must be a number (got '$n')" ;; esac
	if [ "$n" -gt 0 ] && [ ! -e "$DIR/.seeded" ]; then
		say "rankpulse seed --players $n --if-empty"
		rankpulse seed --players "$n" --if-empty || fail "rankpulse seed failed"
		: | write_file "$DIR/.seeded" 0644
	fi
}

start_app() {
	local pid
	if [ "$STACK_NO_APP" = 1 ]; then
		say "STACK_NO_APP=1: not starting the app"
		return 0
	fi
	if pid=$(service_pid app); then
		say "app already running (pid $pid)"
		return 0
	fi
	[ -x "$BIN" ] || die "no binary at $BIN"
	say "starting app (workers: $WORKERS)"
	rm -f "$FCGI_SOCKET"
	app_env_args
	(
		exec </dev/null >>"$APP_LOG" 2>&1
		exec setsid "${AS_USER[@]}" "${APP_ENV_ARGS[@]}" "$BIN" serve
	) &
	pid=$!
	echo "$pid" | write_file "$APP_PID_FILE" 0644
	local n=200
	while [ "$n" -gt 0 ]; do
		[ -S "$FCGI_SOCKET" ] && return 0
		proc_matches "$pid" app || fail "the app exited during startup"
		sleep 0.1
		n=$((n - 1))
	done
	fail "the app did not create $FCGI_SOCKET within 20 s"
}

stop_app() {
	local pid
	if pid=$(service_pid app); then
		say "stopping app (pid $pid)"
		signal TERM "$pid"
		if ! wait_gone "$pid" app 12; then
			say "app did not stop within 12 s; killing its process group"
		fi
	fi
	# Leftover workers of a master that died or was killed.
	local f=$APP_PID_FILE p
	if [ -r "$f" ]; then
		p=$(head -n 1 "$f" | tr -dc 0-9)
		[ -n "$p" ] && kill_group_of "$p" app
		rm -f "$f"
	fi
	rm -f "$FCGI_SOCKET"
}

# ---------------------------------------------------------------- nginx

# nginx's microcache directory (docs/caching.md): on tmpfs, because creating
# a cache file on a disk filesystem costs nginx more than the request does.
# The stack's run directory when it is tmpfs, else a private directory in
# /dev/shm, else (no usable tmpfs) NGINX_PREFIX/cache.  One per nginx
# prefix (extra nodes get their own).  STACK_CACHE_DIR overrides.  Pure: it
# only prints the path (nginx creates the directory itself).
nginx_cache_dir() {
	if [ -n "${STACK_CACHE_DIR:-}" ]; then
		printf '%s' "$STACK_CACHE_DIR"
		return 0
	fi
	local id
	id=$(printf '%s' "$NGINX_PREFIX" | cksum | cut -d' ' -f1)
	if [ "$(stat -f -c %T "$RUN_DIR" 2>/dev/null)" = tmpfs ]; then
		printf '%s' "$RUN_DIR/nginx-cache-$id"
	elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ] && [ -k /dev/shm ]; then
		printf '%s' "/dev/shm/rankpulse-nginx-cache-$id"
	else
		printf '%s' "$NGINX_PREFIX/cache"
	fi
}

# prepare_cache_dir: NGINX_CACHE_DIR for the config about to be rendered.
# A /dev/shm path that exists but is not the stack user's own directory (a
# leftover of another user, a symlink) is not used: NGINX_PREFIX/cache is.
prepare_cache_dir() {
	NGINX_CACHE_DIR=$(nginx_cache_dir)
	case $NGINX_CACHE_DIR in
	/dev/shm/*)
		if [ -L "$NGINX_CACHE_DIR" ] || { [ -e "$NGINX_CACHE_DIR" ] &&
			[ "$(stat -c %U "$NGINX_CACHE_DIR" 2>/dev/null)" != "$STACK_USER" ]; }; then
			say "warning: $NGINX_CACHE_DIR is not $STACK_USER's own directory; the microcache uses $NGINX_PREFIX/cache (disk)"
			NGINX_CACHE_DIR=$NGINX_PREFIX/cache
		fi
		;;
	esac
}

# remove_cache_dir: after nginx stopped, drop its tmpfs cache directory (the
# one in the rendered config, only if it is one that prepare_cache_dir picks).
remove_cache_dir() {
	local d
	d=$(awk '$1 == "fastcgi_cache_path" {print $2; exit}' "$NGINX_CONF" 2>/dev/null) || return 0
	case $d in
	/dev/shm/rankpulse-nginx-cache-[0-9]* | "$RUN_DIR"/nginx-cache-[0-9]*)
		if [ -d "$d" ] && [ ! -L "$d" ]; then as_user rm -rf -- "$d" 2>/dev/null || true; fi
		;;
	esac
	return 0
}

render_nginx() {
	local user_directive="# no user directive: nginx runs entirely as $STACK_USER"
	prepare_cache_dir
	local seds=(
		-e "s|@PORT@|$(sed_escape "$PORT")|g"
		-e "s|@PREFIX@|$(sed_escape "$NGINX_PREFIX")|g"
		-e "s|@CONF_DIR@|$(sed_escape "$NGINX_PREFIX")|g"
		-e "s|@RUN_DIR@|$(sed_escape "$RUN_DIR")|g"
		-e "s|@WWW_DIR@|$(sed_escape "$WWW_DIR")|g"
		-e "s|@CACHE_DIR@|$(sed_escape "$NGINX_CACHE_DIR")|g"
		-e "s|@FCGI_SOCKET@|$(sed_escape "$FCGI_SOCKET")|g"
		-e "s|@NCHAN_SOCKET@|$(sed_escape "$NCHAN_SOCKET")|g"
		-e "s|@NCHAN_REDIS_URL@|$(sed_escape "${NCHAN_REDIS_URL:-}")|g"
		-e "s|@USER_DIRECTIVE@|$(sed_escape "$user_directive")|g"
	)
	sed "${seds[@]}" "$REPO/conf/nginx/local.conf.in" | write_file "$NGINX_CONF" 0644
	sed "${seds[@]}" "$REPO/conf/nginx/rankpulse-locations.conf" |
		write_file "$NGINX_PREFIX/rankpulse-locations.conf" 0644
	write_file "$NGINX_PREFIX/fastcgi_params.conf" 0644 <"$REPO/conf/nginx/fastcgi_params.conf"
	# nchan storage: shared memory, or Redis when NCHAN_REDIS_URL is set
	if [ -n "${NCHAN_REDIS_URL:-}" ]; then
		write_file "$NGINX_PREFIX/nchan-storage.conf" 0644 <"$REPO/conf/nginx/nchan-redis.conf"
		sed "${seds[@]}" "$REPO/conf/nginx/nchan-redis-upstream.conf.in" |
			write_file "$NGINX_PREFIX/nchan-upstream.conf" 0644
	else
		write_file "$NGINX_PREFIX/nchan-storage.conf" 0644 <"$REPO/conf/nginx/nchan-memory.conf"
		printf '# nchan uses shared memory: no Redis upstream\n' |
			write_file "$NGINX_PREFIX/nchan-upstream.conf" 0644
	fi
	if grep -q '@[A-Z_]*@' "$NGINX_CONF" "$NGINX_PREFIX/rankpulse-locations.conf"; then
		die "unrendered placeholder in the nginx config: $(grep -ho '@[A-Z_]*@' \
			"$NGINX_CONF" "$NGINX_PREFIX/rankpulse-locations.conf" | sort -u | tr '\n' ' ')"
	fi
}

# nchan registers nginx's compiled-in client_body_temp_path as a path nginx
# must create at startup; as a non-root master nginx can only cope if it
# already exists.  It is what Debian's own nginx creates on its first start.
NCHAN_TEMP_DIR=/var/lib/nginx/body
nchan_temp_dir() {
	[ -d "$NCHAN_TEMP_DIR" ] && return 0
	if [ "$IS_ROOT" -eq 1 ]; then
		if id -u www-data >/dev/null 2>&1; then
			install -d -m 0700 -o www-data -g www-data "$NCHAN_TEMP_DIR"
		else
			install -d -m 0700 "$NCHAN_TEMP_DIR"
		fi
	else
		die "$NCHAN_TEMP_DIR is missing and nginx+nchan cannot start without it; create it once as root: sudo install -d -m 0700 -o www-data -g www-data $NCHAN_TEMP_DIR"
	fi
}

nginx_cmd() { as_user "$NGINX_BIN" -p "$NGINX_PREFIX/" -c "$NGINX_CONF" -e "$NGINX_ERROR_LOG" "$@"; }

start_nginx() {
	local pid
	if pid=$(service_pid nginx); then
		say "nginx already running (pid $pid)"
		return 0
	fi
	check_port
	nchan_temp_dir
	render_nginx
	nginx_cmd -t -q </dev/null >"$LOG_DIR/nginx-start.log" 2>&1 ||
		{ tail_log "$LOG_DIR/nginx-start.log" 40; die "nginx -t rejected $NGINX_CONF"; }
	say "starting nginx on 127.0.0.1:$PORT"
	rm -f "$NCHAN_SOCKET" "$NGINX_PID_FILE"
	nginx_cmd </dev/null >>"$LOG_DIR/nginx-start.log" 2>&1 || fail "nginx did not start"
	local n=100 code
	while [ "$n" -gt 0 ]; do
		if running nginx; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
				"http://127.0.0.1:$PORT/" 2>/dev/null) || code=000
			[ "$code" != 000 ] && return 0
		fi
		sleep 0.1
		n=$((n - 1))
	done
	fail "nginx does not answer on 127.0.0.1:$PORT"
}

stop_nginx() {
	local pid
	if pid=$(service_pid nginx); then
		say "stopping nginx (pid $pid)"
		signal QUIT "$pid"
		if ! wait_gone "$pid" nginx 5; then
			say "nginx did not quit within 5 s; killing it"
			kill_group_of "$pid" nginx
		fi
		# Workers finishing long-lived (websocket) connections.
		kill_group_of "$pid" nginx
	fi
	rm -f "$NCHAN_SOCKET" "$NGINX_PID_FILE"
	remove_cache_dir
}

wait_healthy() {
	[ "$STACK_NO_APP" = 1 ] && return 0
	local url="http://127.0.0.1:$PORT/api/health/live" n=200 code=000
	while [ "$n" -gt 0 ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || code=000
		[ "$code" = 200 ] && return 0
		running app || fail "the app died while waiting for $url"
		sleep 0.1
		n=$((n - 1))
	done
	fail "$url did not answer 200 within 20 s (last status: $code)"
}

# ---------------------------------------------------------------- commands

start_service() {
	case $1 in
	postgres) start_postgres ;;
	redis) start_redis ;;
	app) start_app ;;
	nginx) start_nginx ;;
	esac
}

stop_service() {
	case $1 in
	postgres) stop_postgres ;;
	redis) stop_redis ;;
	app) stop_app ;;
	nginx) stop_nginx ;;
	esac
}

cmd_start() {
	PORT=${OPT_PORT:-${PORT:-8080}}
	WORKERS=${WORKERS:-4}
	ensure_service_user
	set_user
	resolve_dir 1
	if ! running nginx; then check_port; fi
	prepare_dir
	install_binary
	write_env
	load_env
	start_postgres
	start_redis
	if [ "$STACK_NO_APP" != 1 ]; then
		say "rankpulse check-config"
		rankpulse check-config || fail "rankpulse check-config rejected the stack's configuration"
		prepare_database
	fi
	start_app
	start_nginx
	wait_healthy
	say "up: $BASE_URL (dir $DIR)"
}

cmd_stop() {
	set_user
	resolve_dir 0
	if [ ! -d "$DIR" ]; then
		say "no stack in $DIR"
		return 0
	fi
	stop_nginx
	stop_app
	stop_redis
	stop_postgres
	# Anything of this stack still alive: kill it by its pid file.
	local s pid
	for s in $SERVICES; do
		if pid=$(service_pid "$s"); then
			say "$s (pid $pid) still running; killing it"
			kill_group_of "$pid" "$s"
		fi
	done
	rm -f "$APP_PID_FILE" "$REDIS_PID_FILE" "$NGINX_PID_FILE" "$FCGI_SOCKET" \
		"$REDIS_SOCKET" "$NCHAN_SOCKET" 2>/dev/null || true
	say "stopped ($DIR)"
}

cmd_status() {
	set_user
	resolve_dir 0
	if [ ! -d "$DIR" ]; then
		echo "no stack in $DIR"
		return 3
	fi
	local s pid rc=0
	echo "stack $DIR (user $STACK_USER)"
	for s in $SERVICES; do
		if pid=$(service_pid "$s"); then
			printf '  %-9s running (pid %s)\n' "$s" "$pid"
		else
			printf '  %-9s stopped\n' "$s"
			rc=3
		fi
	done
	if [ -r "$ENV_FILE" ]; then
		local url
		url=$(sed -n "s/^export BASE_URL='\(.*\)'$/\1/p" "$ENV_FILE")
		echo "  url       $url"
	fi
	return $rc
}

cmd_service() {
	set_user
	resolve_dir 0
	# The caller's values of the pass-through variables win over the ones
	# recorded at stack start (e.g. RESULT_VERIFICATION=opponent for one test).
	local overrides=() v kv
	for v in $APP_PASS_VARS; do
		if [ -n "${!v+x}" ]; then overrides+=("$v=${!v}"); fi
	done
	load_env
	for kv in "${overrides[@]}"; do
		v=${kv%%=*}
		export "$v=${kv#*=}"
		case " ${STACK_PASS_ENV:-} " in
		*" $v "*) ;;
		*) STACK_PASS_ENV="${STACK_PASS_ENV:-} $v" ;;
		esac
	done
	if [ "$1" = start ]; then
		user_exists || ensure_service_user
		start_service "$SERVICE"
		[ "$SERVICE" = app ] && running nginx && wait_healthy
	else
		stop_service "$SERVICE"
	fi
	return 0
}

# An extra nginx node of an existing stack (multi-node nchan): its own
# prefix DIR/nodes/NAME, port and publisher socket RUN_DIR/nchan-NAME.sock,
# the same app socket, channels shared through NCHAN_REDIS_URL.
cmd_node() {
	set_user
	resolve_dir 0
	load_env
	NGINX_PREFIX=$DIR/nodes/$NODE_NAME
	NGINX_CONF=$NGINX_PREFIX/nginx.conf
	NGINX_ERROR_LOG=$NGINX_PREFIX/logs/error.log
	NGINX_PID_FILE=$NGINX_PREFIX/nginx.pid
	NCHAN_SOCKET=$RUN_DIR/nchan-$NODE_NAME.sock
	if [ "$1" = stop ]; then
		stop_nginx
		return 0
	fi
	[ -n "${NCHAN_REDIS_URL:-}" ] || die "start-node needs NCHAN_REDIS_URL (the Redis the nodes share)"
	PORT=${OPT_PORT:?start-node needs --port}
	local d
	for d in "$DIR/nodes" "$NGINX_PREFIX" "$NGINX_PREFIX/logs" "$NGINX_PREFIX/temp" "$NGINX_PREFIX/cache"; do
		if [ "$IS_ROOT" -eq 1 ]; then
			install -d -m 0755 -o "$STACK_USER" -g "$STACK_GROUP" "$d"
		else
			mkdir -p "$d"
		fi
	done
	start_nginx
}

RUN_STOPPING=0
run_shutdown() {
	local rc=$1
	trap '' INT TERM
	if [ "$RUN_STOPPING" -eq 0 ]; then
		RUN_STOPPING=1
		say "stopping"
		cmd_stop || true
	fi
	exit "$rc"
}

cmd_run() {
	trap 'run_shutdown 130' INT
	trap 'run_shutdown 143' TERM
	trap 'run_shutdown $?' EXIT
	cmd_start
	cat <<EOF

  Love Rank Pulse is running ($APP_ENV)
    site:    $BASE_URL/
    health:  $BASE_URL/api/health
    api:     $BASE_URL/api/leaderboards
    demo logins: demo000001 … demo000${SEED_PLAYERS:-200} and admin, password rankpulse-demo
    logs:    $LOG_DIR/ (app.log, postgres.log, redis.log), $NGINX_PREFIX/logs/
  Press Ctrl-C to stop.

EOF
	while :; do
		sleep 1 &
		wait $! || true
		if [ "$STACK_NO_APP" != 1 ] && ! running app; then
			say "error: the app stopped unexpectedly (see $APP_LOG)"
			tail_log "$APP_LOG" 20
			run_shutdown 1
		fi
		if ! running nginx; then
			say "error: nginx stopped unexpectedly (see $NGINX_ERROR_LOG)"
			tail_log "$NGINX_ERROR_LOG" 20
			run_shutdown 1
		fi
	done
}

set_paths
case $CMD in
start) cmd_start ;;
run) cmd_run ;;
stop) cmd_stop ;;
status) cmd_status ;;
start-service) cmd_service start ;;
stop-service) cmd_service stop ;;
start-node) cmd_node start ;;
stop-node) cmd_node stop ;;
esac
