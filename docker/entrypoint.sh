#!/bin/sh
# entrypoint.sh — PID 1 of the Love Rank Pulse container: runs the FastCGI
# workers (`rankpulse serve`) and nginx+nchan side by side, in the
# foreground, and stops both when either stops or the container is told to.
#
#   docker run ... IMAGE              the service (same as IMAGE serve)
#   docker run ... IMAGE migrate      any other rankpulse command, run once
#   docker run ... IMAGE sh           anything else is exec'ed as is
#
# serve:
#   1. rankpulse check-config (fails fast, naming the bad variable);
#   2. rankpulse migrate, unless MIGRATE_ON_START=0 (safe with several
#      replicas: migrations run under an advisory lock);
#   3. renders nginx's configuration from the environment
#      (rankpulse-render-nginx --container: CORS from FRONTEND_URL and
#      ALLOWED_ORIGINS, TRUSTED_PROXIES → real client addresses);
#   4. starts rankpulse serve, waits for its socket, starts nginx (each in
#      its own session, so a dead master's workers can be cleaned up too);
#   5. SIGTERM/SIGINT (docker stop): nginx stops accepting and finishes its
#      requests (SIGQUIT), the workers drain (SIGTERM, ≤ 10 s); whatever is
#      left after STOP_TIMEOUT seconds is killed.  Exit 0.
#      If either process dies on its own, the other is stopped the same way
#      and the container exits 1, so the orchestrator restarts it.
#
# Configuration comes only from the environment (see .env.example) plus:
#   PORT (8080) and LISTEN_ADDR (0.0.0.0)  nginx's HTTP listener
#   TRUSTED_PROXIES   addresses/CIDRs of the proxies in front (X-Forwarded-For)
#   MIGRATE_ON_START  1 (default) or 0
#   STOP_TIMEOUT      seconds to wait for both to stop (12; give docker stop
#                     --time / stop_grace_period a little more, e.g. 15 s)
#   RP_RUN_DIR        sockets (/run/rankpulse), RP_STATE_DIR nginx state
#                     (/var/lib/rankpulse), RP_PREFIX the install prefix (/usr)
#   RP_CACHE_DIR      nginx's microcache; must be on tmpfs (default, with the
#                     default RP_STATE_DIR: /dev/shm/rankpulse-nginx-cache when
#                     /dev/shm is a writable tmpfs; else RP_STATE_DIR/nginx/cache;
#                     docs/caching.md)
# FCGI_SOCKET and NCHAN_PUBLISH_URL default to sockets in RP_RUN_DIR.
# Logs: the app's JSON lines on stderr, nginx's JSON access log on stdout,
# nginx errors and this script's own JSON lines on stderr.
set -eu

RP_PREFIX=${RP_PREFIX:-/usr}
RANKPULSE_BIN=${RANKPULSE_BIN:-$RP_PREFIX/bin/rankpulse}
RENDER_NGINX=${RENDER_NGINX:-$RP_PREFIX/sbin/rankpulse-render-nginx}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
RP_SHARE=${RP_SHARE:-$RP_PREFIX/share/rankpulse}
RP_RUN_DIR=${RP_RUN_DIR:-/run/rankpulse}
RP_STATE_DIR=${RP_STATE_DIR:-/var/lib/rankpulse}
RP_CACHE_DIR=${RP_CACHE_DIR:-}
# The image's own layout (a container has a private /dev/shm): the microcache
# on tmpfs.  With another RP_STATE_DIR (e.g. the entrypoint run on a host by
# the tests) it stays under the state dir unless RP_CACHE_DIR says otherwise.
if [ -z "$RP_CACHE_DIR" ] && [ "$RP_STATE_DIR" = /var/lib/rankpulse ] &&
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
	RP_CACHE_DIR=/dev/shm/rankpulse-nginx-cache
fi
PORT=${PORT:-8080}
LISTEN_ADDR=${LISTEN_ADDR:-0.0.0.0}
MIGRATE_ON_START=${MIGRATE_ON_START:-1}
STOP_TIMEOUT=${STOP_TIMEOUT:-12}
FCGI_SOCKET=${FCGI_SOCKET:-$RP_RUN_DIR/rankpulse.sock}
NCHAN_PUBLISH_URL=${NCHAN_PUBLISH_URL:-unix:$RP_RUN_DIR/nchan.sock}
export FCGI_SOCKET NCHAN_PUBLISH_URL PORT

# log LEVEL MESSAGE: one JSON line on stderr, like the app's.
log() {
	_msg=$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n\r\t')
	printf '{"time":"%s","level":"%s","component":"entrypoint","pid":%s,"msg":"%s"}\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$$" "$_msg" >&2
}

case ${1:-serve} in
serve) ;;
migrate | seed | rebuild-cache | check-config | version | --help | help)
	exec "$RANKPULSE_BIN" "$@"
	;;
*) exec "$@" ;;
esac

case $PORT in '' | *[!0-9]*) log error "PORT must be a number (got '$PORT')"; exit 2 ;; esac
case $STOP_TIMEOUT in '' | *[!0-9]*) log error "STOP_TIMEOUT must be a number of seconds"; exit 2 ;; esac
case $NCHAN_PUBLISH_URL in
unix:/*) NCHAN_SOCKET=${NCHAN_PUBLISH_URL#unix:} ;;
*) log error "NCHAN_PUBLISH_URL must be unix:/path inside the container"; exit 2 ;;
esac

APP_PID=""
NGINX_PID=""
STOPPING=0
trap 'STOPPING=1' TERM INT
trap '' HUP # a reload of the whole container is a restart

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] || return 1
	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		case $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) in Z | X | '') return 1 ;; esac
	fi
	return 0
}

# nap: sleep a tenth of a second; a signal interrupts it (the trap runs).
nap() {
	sleep 0.1 &
	wait $! 2>/dev/null || true
}

# stop_all: ask both to stop, wait up to STOP_TIMEOUT, then kill what is left.
stop_all() {
	trap '' TERM INT
	if alive "$NGINX_PID"; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
	if alive "$APP_PID"; then kill -TERM "$APP_PID" 2>/dev/null || true; fi
	_n=$((STOP_TIMEOUT * 10))
	while [ "$_n" -gt 0 ] && { alive "$NGINX_PID" || alive "$APP_PID"; }; do
		nap
		_n=$((_n - 1))
	done
	for _p in "$NGINX_PID" "$APP_PID"; do
		if alive "$_p"; then
			log warn "process $_p did not stop within ${STOP_TIMEOUT}s; killing it"
			kill -KILL "$_p" 2>/dev/null || true
		fi
	done
	# Workers orphaned by a master that died or was killed: each child runs
	# in its own session (setsid), so its process group is its pid.
	for _p in "$NGINX_PID" "$APP_PID"; do
		[ -n "$_p" ] || continue
		# dash's kill builtin cannot signal a process group; procps' can.
		if [ -x /bin/kill ]; then
			/bin/kill -KILL -- "-$_p" 2>/dev/null || true
		else
			kill -KILL -- "-$_p" 2>/dev/null || true
		fi
	done
	wait 2>/dev/null || true
	rm -f "$NCHAN_SOCKET" 2>/dev/null || true
}

fail() {
	log error "$1"
	stop_all
	exit 1
}

umask 027
mkdir -p "$RP_RUN_DIR" "$RP_STATE_DIR/nginx"
chmod 0750 "$RP_RUN_DIR" 2>/dev/null || true

"$RANKPULSE_BIN" check-config >/dev/null || { log error "rankpulse check-config rejected the configuration"; exit 2; }
if [ "$MIGRATE_ON_START" = 1 ]; then
	log info "rankpulse migrate"
	"$RANKPULSE_BIN" migrate || { log error "rankpulse migrate failed"; exit 1; }
fi

set -- --container --env-file /dev/null --out "$RP_STATE_DIR/nginx" \
	--state-dir "$RP_STATE_DIR/nginx" --listen "$LISTEN_ADDR:$PORT" \
	--www "$RP_SHARE/www" --nginx "$NGINX_BIN"
if [ -n "${TRUSTED_PROXIES:-}" ]; then set -- "$@" --real-ip-from "$TRUSTED_PROXIES"; fi
if [ -n "$RP_CACHE_DIR" ]; then set -- "$@" --cache-dir "$RP_CACHE_DIR"; fi
"$RENDER_NGINX" "$@" || { log error "could not render the nginx configuration"; exit 1; }

[ "$STOPPING" -eq 0 ] || exit 0
log info "starting rankpulse serve"
rm -f "$FCGI_SOCKET"
setsid "$RANKPULSE_BIN" serve &
APP_PID=$!
_n=200
while [ ! -S "$FCGI_SOCKET" ]; do
	alive "$APP_PID" || fail "rankpulse serve exited during startup"
	[ "$STOPPING" -eq 0 ] || { stop_all; exit 0; }
	[ "$_n" -gt 0 ] || fail "rankpulse serve did not create $FCGI_SOCKET within 20 s"
	nap
	_n=$((_n - 1))
done

log info "starting nginx on $LISTEN_ADDR:$PORT"
rm -f "$NCHAN_SOCKET"
setsid "$NGINX_BIN" -p "$RP_STATE_DIR/nginx/" -c "$RP_STATE_DIR/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
log info "running (rankpulse pid $APP_PID, nginx pid $NGINX_PID)"

while [ "$STOPPING" -eq 0 ]; do
	if ! alive "$APP_PID"; then fail "rankpulse serve (pid $APP_PID) exited; stopping nginx"; fi
	if ! alive "$NGINX_PID"; then fail "nginx (pid $NGINX_PID) exited; stopping rankpulse"; fi
	nap
done

log info "stop requested; stopping nginx and rankpulse"
stop_all
log info "stopped"
exit 0
