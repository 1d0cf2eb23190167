#!/bin/sh
# render-nginx.sh — render the production (or container) nginx configuration
# of Love Rank Pulse.  Installed as `rankpulse-render-nginx`.
#
# nginx cannot read environment variables, so the settings it needs from the
# application's configuration are rendered into files once, here:
#
#   FRONTEND_URL, ALLOWED_ORIGINS  → cors-origins.conf (CORS allow-list map)
#   FCGI_SOCKET                    → fastcgi_pass unix:... in the locations
#   NCHAN_PUBLISH_URL (unix:PATH)  → listen unix:PATH of the publisher server
#   NCHAN_REDIS_URL                → nchan storage in Redis (several nodes)
#   APP_ENV=production             → ALLOWED_ORIGINS='*' is refused
#
# They are read from --env-file (default /etc/rankpulse/rankpulse.env when it
# exists); a variable set in the real environment wins, as for the app.
# Re-run after changing them, then `systemctl reload nginx`.
#
# Output (atomically replaced, after `nginx -t` accepted a staged copy):
#   OUT/nginx.conf               from the template (nginx.conf of the repo,
#                                or docker/nginx.conf.in with --container)
#   OUT/rankpulse/*.conf         the included pieces (see the template header)
# The first time, a foreign OUT/nginx.conf is kept as nginx.conf.rankpulse-orig.
#
# The shared app locations (conf/nginx/rankpulse-locations.conf) are rendered
# with two production substitutions, each checked to have happened:
#   * every `add_header X-Request-Id ...` line → `include headers.conf` (nginx
#     drops inherited add_header lists in a location that has its own, so
#     the full header set must be repeated there);
#   * the /auth/ location's `limit_req zone=rp_auth ...` → `include
#     auth-limits.conf` (strict burst, the general zone too, gzip off).
#
# usage: render-nginx.sh [options]
#   --env-file FILE       app configuration (KEY=VALUE file, as rankpulse --env-file)
#   --out DIR             where nginx.conf goes (default /etc/nginx)
#   --conf-dir DIR        where the pieces go (default OUT/rankpulse)
#   --server-name NAMES   server_name of the TLS server (default: SERVER_NAME or localhost)
#   --cert FILE --key FILE  certificate chain and key (default /etc/ssl/rankpulse/{fullchain,privkey}.pem)
#   --https-listen SPEC   PORT or ADDR:PORT (default 443; a bare port listens on IPv4 and IPv6)
#   --http-listen SPEC    PORT or ADDR:PORT (default 80)
#   --no-ipv6             no [::] listeners
#   --container           render docker/nginx.conf.in (plain HTTP behind a proxy)
#   --listen SPEC         the container's listen address (default 0.0.0.0:$PORT, PORT default 8080)
#   --www DIR             static root holding _problem/ (default SHARE/www)
#   --fcgi-socket PATH    override FCGI_SOCKET
#   --nchan-socket PATH   override the publisher socket of NCHAN_PUBLISH_URL
#   --real-ip-from CIDRS  trusted proxies (space or comma separated): use X-Forwarded-For
#   --state-dir DIR       run as an unprivileged user: pid, logs, temp and cache under DIR,
#                         no `user` directive (tests, containers)
#   --cache-dir DIR       nginx's microcache directory; must be on tmpfs (default
#                         /run/nginx-rankpulse-cache, or STATE_DIR/cache with --state-dir;
#                         see docs/caching.md)
#   --user USER           worker user of a root master (default www-data)
#   --nginx BIN           nginx binary for the check (default /usr/sbin/nginx)
#   --no-check            do not run nginx -t
# Exit status: 0 rendered (and checked), 1 refused (the message names the cause), 2 usage.
set -eu

PROG=render-nginx
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
usage() {
	sed -n '/^# usage:/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'
}

SELF_DIR=$(cd "$(dirname "$0")" && pwd -P)
# Repository layout or installed layout (PREFIX/sbin + PREFIX/share/rankpulse).
if [ -f "$SELF_DIR/../conf/nginx/rankpulse-locations.conf" ]; then
	REPO=$(cd "$SELF_DIR/.." && pwd -P)
	TPL_MAIN=$REPO/nginx.conf
	TPL_CONTAINER=$REPO/docker/nginx.conf.in
	TPL_DIR=$REPO/conf/nginx
	DEFAULT_WWW=/usr/local/share/rankpulse/www
else
	SHARE=$(cd "$SELF_DIR/.." && pwd -P)/share/rankpulse
	TPL_MAIN=$SHARE/nginx/nginx.conf
	TPL_CONTAINER=$SHARE/nginx/container.conf.in
	TPL_DIR=$SHARE/nginx
	DEFAULT_WWW=$SHARE/www
fi

ENV_FILE=""
ENV_FILE_SET=0
OUT=/etc/nginx
CONF_DIR=""
SERVER_NAME_OPT=""
CERT=/etc/ssl/rankpulse/fullchain.pem
KEY=/etc/ssl/rankpulse/privkey.pem
HTTPS_LISTEN=443
HTTP_LISTEN=80
IPV6=1
CONTAINER=0
LISTEN=""
WWW=""
FCGI_OPT=""
NCHAN_OPT=""
REAL_IP=""
STATE_DIR=""
CACHE_OPT=""
NGINX_USER=www-data
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
CHECK=1

need() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	--env-file) need "$@"; ENV_FILE=$2; ENV_FILE_SET=1; shift 2 ;;
	--out) need "$@"; OUT=$2; shift 2 ;;
	--conf-dir) need "$@"; CONF_DIR=$2; shift 2 ;;
	--server-name) need "$@"; SERVER_NAME_OPT=$2; shift 2 ;;
	--cert) need "$@"; CERT=$2; shift 2 ;;
	--key) need "$@"; KEY=$2; shift 2 ;;
	--https-listen) need "$@"; HTTPS_LISTEN=$2; shift 2 ;;
	--http-listen) need "$@"; HTTP_LISTEN=$2; shift 2 ;;
	--no-ipv6) IPV6=0; shift ;;
	--container) CONTAINER=1; shift ;;
	--listen) need "$@"; LISTEN=$2; shift 2 ;;
	--www) need "$@"; WWW=$2; shift 2 ;;
	--fcgi-socket) need "$@"; FCGI_OPT=$2; shift 2 ;;
	--nchan-socket) need "$@"; NCHAN_OPT=$2; shift 2 ;;
	--real-ip-from) need "$@"; REAL_IP=$2; shift 2 ;;
	--state-dir) need "$@"; STATE_DIR=$2; shift 2 ;;
	--cache-dir) need "$@"; CACHE_OPT=$2; shift 2 ;;
	--user) need "$@"; NGINX_USER=$2; shift 2 ;;
	--nginx) need "$@"; NGINX_BIN=$2; shift 2 ;;
	--no-check) CHECK=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) say "unknown argument: $1"; usage >&2; exit 2 ;;
	esac
done

# ---------------------------------------------------------------- env file

if [ "$ENV_FILE_SET" -eq 0 ] && [ -r /etc/rankpulse/rankpulse.env ]; then
	ENV_FILE=/etc/rankpulse/rankpulse.env
fi
if [ -n "$ENV_FILE" ] && [ ! -r "$ENV_FILE" ]; then
	die "cannot read $ENV_FILE"
fi

# env_file_get KEY: the value of KEY in the env file (the syntax rankpulse
# reads: KEY=VALUE, optional "export ", optional quotes, '#' comments; the
# last assignment wins).  Never evaluates anything.
env_file_get() {
	[ -n "$ENV_FILE" ] || return 0
	awk -v want="$1" '
		{
			sub(/\r$/, "")
			sub(/^[ \t]+/, "")
			if ($0 == "" || substr($0, 1, 1) == "#") next
			sub(/^export[ \t]+/, "")
			eq = index($0, "=")
			if (eq == 0) next
			k = substr($0, 1, eq - 1)
			sub(/[ \t]+$/, "", k)
			if (k != want) next
			v = substr($0, eq + 1)
			sub(/^[ \t]+/, "", v)
			q = substr(v, 1, 1)
			if (q == "\"" || q == "'\''") {
				rest = substr(v, 2)
				end = index(rest, q)
				v = end ? substr(rest, 1, end - 1) : rest
			} else {
				sub(/[ \t]+#.*$/, "", v)
				sub(/[ \t]+$/, "", v)
			}
			val = v
			found = 1
		}
		END { if (found) printf "%s", val }
	' "$ENV_FILE"
}

# setting NAME DEFAULT: the real environment, else the env file, else DEFAULT.
setting() {
	eval "_set=\${$1+x} _val=\${$1-}"
	if [ -n "$_set" ] && [ -n "$_val" ]; then
		printf '%s' "$_val"
		return 0
	fi
	_val=$(env_file_get "$1")
	if [ -n "$_val" ]; then printf '%s' "$_val"; else printf '%s' "$2"; fi
}

APP_ENV_V=$(setting APP_ENV "")
[ -n "$APP_ENV_V" ] || APP_ENV_V=$(setting NODE_ENV development)
FRONTEND_URL_V=$(setting FRONTEND_URL "")
ALLOWED_ORIGINS_V=$(setting ALLOWED_ORIGINS "")
FCGI_SOCKET_V=${FCGI_OPT:-$(setting FCGI_SOCKET /run/rankpulse/rankpulse.sock)}
NCHAN_URL_V=$(setting NCHAN_PUBLISH_URL unix:/run/rankpulse/nchan.sock)
NCHAN_REDIS_URL_V=$(setting NCHAN_REDIS_URL "")
SERVER_NAME_V=${SERVER_NAME_OPT:-$(setting SERVER_NAME localhost)}

if [ -n "$NCHAN_OPT" ]; then
	NCHAN_SOCKET_V=$NCHAN_OPT
else
	case $NCHAN_URL_V in
	unix:*) NCHAN_SOCKET_V=${NCHAN_URL_V#unix:} ;;
	*) die "NCHAN_PUBLISH_URL must be unix:/path for this nginx (got a TCP URL); or pass --nchan-socket" ;;
	esac
fi

# ---------------------------------------------------------------- checks

# Values that end up inside nginx directives: absolute paths of safe characters.
safe_path() {
	case $2 in
	/*) ;;
	*) die "$1 must be an absolute path (got '$2')" ;;
	esac
	case $2 in
	*[!A-Za-z0-9._/@+-]*) die "$1 contains characters nginx.conf cannot carry safely: '$2'" ;;
	esac
}
safe_path FCGI_SOCKET "$FCGI_SOCKET_V"
safe_path "the nchan socket" "$NCHAN_SOCKET_V"
[ ${#FCGI_SOCKET_V} -lt 108 ] || die "FCGI_SOCKET is too long for a unix socket path"
[ ${#NCHAN_SOCKET_V} -lt 108 ] || die "the nchan socket path is too long for a unix socket"
[ -n "$WWW" ] || WWW=$DEFAULT_WWW
safe_path --www "$WWW"
[ -f "$WWW/_problem/429.json" ] || say "warning: $WWW/_problem/ is missing (nginx's problem+json bodies; make install provides it)"
case $SERVER_NAME_V in
'' | *[!A-Za-z0-9.*_\ -]*) die "--server-name: names of letters, digits, '.', '-', '*' separated by blanks (got '$SERVER_NAME_V')" ;;
esac

# listen_spec NAME SPEC → sets L_ADDR (for listen), L_PORT, L_V6 ("" or "# ").
listen_spec() {
	case $2 in
	*[!0-9]*)
		L_PORT=${2##*:}
		case $2 in
		*:*) ;;
		*) die "$1: PORT or ADDR:PORT (got '$2')" ;;
		esac
		case ${2%:*} in
		'' | *[!0-9A-Za-z.:\[\]]*) die "$1: bad address in '$2'" ;;
		esac
		L_ADDR=$2
		L_V6="# "
		;;
	*)
		L_PORT=$2
		L_ADDR=$2
		if [ "$IPV6" -eq 1 ]; then L_V6=""; else L_V6="# "; fi
		;;
	esac
	case $L_PORT in '' | *[!0-9]*) die "$1: bad port in '$2'" ;; esac
	if [ "$L_PORT" -lt 1 ] || [ "$L_PORT" -gt 65535 ]; then die "$1: port out of range in '$2'"; fi
}

# ---------------------------------------------------------------- CORS

# origin_of URL: scheme://host[:port] of an http(s) URL.
origin_of() {
	printf '%s' "$1" | sed -n 's#^\([Hh][Tt][Tt][Pp][Ss]\{0,1\}://[^/?#]*\).*$#\1#p'
}

CORS_ENTRIES=""
CORS_ANY=0
add_origin() {
	_o=$1
	if [ "$_o" = "*" ]; then
		[ "$APP_ENV_V" != production ] ||
			die "ALLOWED_ORIGINS: '*' (any origin) is refused in production"
		CORS_ANY=1
		return 0
	fi
	# scheme://host[:port] — no path, no trailing slash, no user info.
	if ! printf '%s' "$_o" | grep -Eq '^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$'; then
		die "ALLOWED_ORIGINS: '$_o' is not an origin (scheme://host[:port], no path or trailing slash)"
	fi
	CORS_ENTRIES="$CORS_ENTRIES
$(printf '%s' "$_o" | tr '[:upper:]' '[:lower:]')"
}

if [ -n "$FRONTEND_URL_V" ]; then
	_fo=$(origin_of "$FRONTEND_URL_V")
	[ -n "$_fo" ] || die "FRONTEND_URL must be an http:// or https:// URL"
	add_origin "$_fo"
fi
_old_ifs=$IFS
IFS=,
for _o in $ALLOWED_ORIGINS_V; do
	IFS=$_old_ifs
	_o=$(printf '%s' "$_o" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	[ -n "$_o" ] && add_origin "$_o"
done
IFS=$_old_ifs

# Real IP of trusted proxies.
REAL_IP_LIST=$(printf '%s' "$REAL_IP" | tr ',' ' ')
for _c in $REAL_IP_LIST; do
	case $_c in
	*[!0-9A-Fa-f.:/]* | '') die "--real-ip-from: '$_c' is not an address or CIDR" ;;
	esac
done

# ---------------------------------------------------------------- paths

if [ -n "$STATE_DIR" ]; then
	safe_path --state-dir "$STATE_DIR"
	PID_FILE=$STATE_DIR/nginx.pid
	LOG_DIR=$STATE_DIR/logs
	TEMP_DIR=$STATE_DIR/temp
	CACHE_DIR=$STATE_DIR/cache
	ACME_ROOT=$STATE_DIR/acme
	USER_DIRECTIVE="# no user directive: master and workers run as the invoking user"
	mkdir -p "$LOG_DIR" "$TEMP_DIR/body" "$TEMP_DIR/proxy" "$TEMP_DIR/fastcgi" \
		"$TEMP_DIR/uwsgi" "$TEMP_DIR/scgi" "$ACME_ROOT"
else
	PID_FILE=/run/nginx.pid
	LOG_DIR=/var/log/nginx/rankpulse
	TEMP_DIR=/var/lib/nginx
	# The microcache on tmpfs (/run is tmpfs under systemd): creating a cache
	# file on a disk filesystem costs nginx more than the request does.  A
	# root master creates the directory (the last component) at start and
	# hands it to the worker user; /run is emptied at boot, which suits a
	# cache of 1-second entries.
	CACHE_DIR=/run/nginx-rankpulse-cache
	ACME_ROOT=/var/www/letsencrypt
	case $NGINX_USER in
	'') USER_DIRECTIVE="# no user directive" ;;
	*[!A-Za-z0-9_-]*) die "--user: bad user name '$NGINX_USER'" ;;
	*) USER_DIRECTIVE="user $NGINX_USER;" ;;
	esac
	if [ "$(id -u)" -eq 0 ]; then
		if [ ! -d "$LOG_DIR" ]; then
			install -d -m 0750 -o root -g adm "$LOG_DIR" 2>/dev/null || install -d -m 0750 "$LOG_DIR"
		fi
	fi
fi
if [ -n "$CACHE_OPT" ]; then
	safe_path --cache-dir "$CACHE_OPT"
	CACHE_DIR=$CACHE_OPT
fi
# nginx creates the cache directory itself, but not its parent (an
# unprivileged master: create it here, as the user nginx will run as).
if [ -n "$STATE_DIR" ]; then
	mkdir -p "$CACHE_DIR" 2>/dev/null || die "cannot create the cache directory $CACHE_DIR"
elif [ -n "$CACHE_OPT" ] || [ "$(id -u)" -eq 0 ]; then
	[ -d "${CACHE_DIR%/*}" ] || mkdir -p "${CACHE_DIR%/*}" 2>/dev/null ||
		die "cannot create the parent of the cache directory $CACHE_DIR"
fi
_cd_fs=$CACHE_DIR
[ -d "$_cd_fs" ] || _cd_fs=${CACHE_DIR%/*}
case $(stat -f -c %T "$_cd_fs" 2>/dev/null || echo unknown) in
tmpfs | ramfs) ;;
*) say "warning: the microcache directory $CACHE_DIR is not on tmpfs: every cache miss that stores an entry creates a file on disk (docs/caching.md)" ;;
esac

if [ "$CONTAINER" -eq 1 ]; then
	TEMPLATE=$TPL_CONTAINER
	[ -n "$LISTEN" ] || LISTEN=0.0.0.0:$(setting PORT 8080)
	listen_spec --listen "$LISTEN"
	C_LISTEN=$L_ADDR
else
	TEMPLATE=$TPL_MAIN
	safe_path --cert "$CERT"
	safe_path --key "$KEY"
	listen_spec --https-listen "$HTTPS_LISTEN"
	HTTPS_ADDR=$L_ADDR HTTPS_PORT=$L_PORT V6=$L_V6
	listen_spec --http-listen "$HTTP_LISTEN"
	HTTP_ADDR=$L_ADDR HTTP_PORT=$L_PORT
	[ "$V6" = "$L_V6" ] || V6="# "
	if [ "$HTTPS_PORT" = 443 ]; then HTTPS_PORT_SUFFIX=""; else HTTPS_PORT_SUFFIX=":$HTTPS_PORT"; fi
fi
[ -r "$TEMPLATE" ] || die "template not found: $TEMPLATE"
for _t in rankpulse-locations.conf fastcgi_params.conf nchan-memory.conf nchan-redis.conf \
	nchan-redis-upstream.conf.in; do
	[ -r "$TPL_DIR/$_t" ] || die "template not found: $TPL_DIR/$_t"
done

case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
[ -n "$CONF_DIR" ] || CONF_DIR=$OUT/rankpulse
case $CONF_DIR in /*) ;; *) CONF_DIR=$PWD/$CONF_DIR ;; esac
safe_path --conf-dir "$CONF_DIR"
mkdir -p "$OUT"

# ---------------------------------------------------------------- render

# sed_escape VALUE: for the replacement side of s|...|...|.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

# render_into DIR CONFDIR: write nginx.conf and the pieces into DIR, with
# every include pointing at CONFDIR.
render_into() {
	_d=$1
	_cd=$2
	set -- \
		-e "s|@CONF_DIR@|$(sed_escape "$_cd")|g" \
		-e "s|@FCGI_SOCKET@|$(sed_escape "$FCGI_SOCKET_V")|g" \
		-e "s|@NCHAN_SOCKET@|$(sed_escape "$NCHAN_SOCKET_V")|g" \
		-e "s|@WWW_DIR@|$(sed_escape "$WWW")|g" \
		-e "s|@USER_DIRECTIVE@|$(sed_escape "$USER_DIRECTIVE")|g" \
		-e "s|@PID_FILE@|$(sed_escape "$PID_FILE")|g" \
		-e "s|@LOG_DIR@|$(sed_escape "$LOG_DIR")|g" \
		-e "s|@TEMP_DIR@|$(sed_escape "$TEMP_DIR")|g" \
		-e "s|@CACHE_DIR@|$(sed_escape "$CACHE_DIR")|g" \
		-e "s|@ACME_ROOT@|$(sed_escape "$ACME_ROOT")|g" \
		-e "s|@SERVER_NAME@|$(sed_escape "$SERVER_NAME_V")|g" \
		-e "s|@NCHAN_REDIS_URL@|$(sed_escape "$NCHAN_REDIS_URL_V")|g"
	if [ "$CONTAINER" -eq 1 ]; then
		set -- "$@" -e "s|@LISTEN@|$(sed_escape "$C_LISTEN")|g"
	else
		set -- "$@" \
			-e "s|@SSL_CERT@|$(sed_escape "$CERT")|g" \
			-e "s|@SSL_KEY@|$(sed_escape "$KEY")|g" \
			-e "s|@HTTPS_ADDR@|$(sed_escape "$HTTPS_ADDR")|g" \
			-e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
			-e "s|@HTTP_ADDR@|$(sed_escape "$HTTP_ADDR")|g" \
			-e "s|@HTTP_PORT@|$HTTP_PORT|g" \
			-e "s|@V6@|$V6|g" \
			-e "s|@HTTPS_PORT_SUFFIX@|$HTTPS_PORT_SUFFIX|g"
	fi
	if [ -n "$STATE_DIR" ]; then # an unprivileged master cannot raise its fd limit
		set -- "$@" -e 's/^worker_rlimit_nofile .*/# & (not for an unprivileged master)/'
	fi
	sed "$@" "$TEMPLATE" >"$_d/nginx.conf"

	# The app locations, with the production substitutions (the nchan
	# subscriber location gets the header set without CORS: nchan adds its own).
	sed "$@" \
		-e "/^location ~ \^\/_sub\//,/^}/s|^\([[:space:]]*\)add_header X-Request-Id \$rp_request_id always;|\1include $(sed_escape "$_cd")/headers-nchan.conf;|" \
		-e "s|^\([[:space:]]*\)add_header X-Request-Id \$rp_request_id always;|\1include $(sed_escape "$_cd")/headers.conf;|" \
		-e "s|^\([[:space:]]*\)limit_req zone=rp_auth[^;]*;|\1include $(sed_escape "$_cd")/auth-limits.conf;|" \
		"$TPL_DIR/rankpulse-locations.conf" >"$_d/rankpulse-locations.conf"
	_n=$(grep -c "include .*/auth-limits.conf;" "$_d/rankpulse-locations.conf" || true)
	[ "$_n" = 1 ] ||
		die "rankpulse-locations.conf: expected one 'limit_req zone=rp_auth' line (the /auth/ location), found $_n — update $0"
	_n=$(grep -c "include .*/headers-nchan.conf;" "$_d/rankpulse-locations.conf" || true)
	[ "$_n" = 1 ] ||
		die "rankpulse-locations.conf: expected one 'add_header X-Request-Id' line in the /_sub/ location, found $_n — update $0"
	_n=$(grep -c "include .*/headers.conf;" "$_d/rankpulse-locations.conf" || true)
	[ "$_n" -ge 1 ] ||
		die "rankpulse-locations.conf: no 'add_header X-Request-Id \$rp_request_id always;' line to extend — update $0"
	if grep -v '^[[:space:]]*#' "$_d/rankpulse-locations.conf" | grep 'add_header' |
		grep -v 'X-Cache' | grep -q .; then
		die "rankpulse-locations.conf: an add_header other than X-Cache survived rendering; it would drop the security headers of its location — update $0"
	fi

	cp "$TPL_DIR/fastcgi_params.conf" "$_d/fastcgi_params.conf"
	if [ -n "$NCHAN_REDIS_URL_V" ]; then
		case $NCHAN_REDIS_URL_V in
		redis://*) ;;
		*) die "NCHAN_REDIS_URL must be redis://[:password@]host[:port][/db]" ;;
		esac
		case $NCHAN_REDIS_URL_V in
		*[\;\{\}\ \"\'\\]*) die "NCHAN_REDIS_URL contains characters nginx.conf cannot carry" ;;
		esac
		cp "$TPL_DIR/nchan-redis.conf" "$_d/nchan-storage.conf"
		sed "$@" "$TPL_DIR/nchan-redis-upstream.conf.in" >"$_d/nchan-upstream.conf"
	else
		cp "$TPL_DIR/nchan-memory.conf" "$_d/nchan-storage.conf"
		printf '# nchan uses shared memory: no Redis upstream\n' >"$_d/nchan-upstream.conf"
	fi

	{
		echo "# Generated by rankpulse-render-nginx from FRONTEND_URL and ALLOWED_ORIGINS"
		echo "# (entries of: map \$http_origin \$rp_cors_origin).  Do not edit; re-render."
		# shellcheck disable=SC2016 # $http_origin is nginx's, not ours
		printf '%s\n' "$CORS_ENTRIES" | sed '/^$/d' | sort -u | while IFS= read -r _o; do
			printf '"%s" $http_origin;\n' "$_o"
		done
		[ "$CORS_ANY" -eq 1 ] && printf '"~." "*";\n'
		:
	} >"$_d/cors-origins.conf"

	# Every header this nginx adds; the nchan subscriber location gets the
	# set without CORS (nchan_access_control_allow_origin does it there).
	{
		echo "# Generated by rankpulse-render-nginx: every header this nginx adds.  Included"
		echo "# at server level and in each location that has add_header lines of its own."
		security_headers
		cors_headers
	} >"$_d/headers.conf"
	{
		echo "# Generated by rankpulse-render-nginx: headers.conf without the CORS headers,"
		echo "# for the nchan subscriber location (nchan does CORS there itself)."
		security_headers
	} >"$_d/headers-nchan.conf"

	cat >"$_d/auth-limits.conf" <<'EOF'
# Generated by rankpulse-render-nginx: the /auth/ location.  Strict per-address
# limit (2 r/s, bursts of 20), the general API limit as well, and no gzip:
# token answers are never compressed (BREACH).
limit_req zone=rp_auth burst=20 nodelay;
limit_req zone=rp_api burst=60 nodelay;
gzip off;
EOF

	{
		echo "# Generated by rankpulse-render-nginx (--real-ip-from)."
		if [ -n "$REAL_IP_LIST" ]; then
			for _c in $REAL_IP_LIST; do echo "set_real_ip_from $_c;"; done
			echo "real_ip_header X-Forwarded-For;"
			echo "real_ip_recursive on;"
		else
			echo "# No trusted proxy: \$remote_addr is the TCP peer."
		fi
	} >"$_d/real-ip.conf"

	_left=$(grep -ho '@[A-Z0-9_]*@' "$_d"/*.conf | sort -u | tr '\n' ' ')
	[ -z "$_left" ] || die "unrendered placeholder(s) in $TEMPLATE: $_left"
}

security_headers() {
	cat <<'EOF'
add_header X-Request-Id $rp_request_id always;
add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
add_header X-Content-Type-Options nosniff always;
add_header X-Frame-Options DENY always;
add_header Referrer-Policy no-referrer always;
add_header Content-Security-Policy $rp_csp always;
add_header Retry-After $rp_retry_after always;
EOF
}
cors_headers() {
	cat <<'EOF'
add_header Access-Control-Allow-Origin $rp_cors_origin always;
add_header Access-Control-Expose-Headers $rp_cors_expose always;
add_header Vary Origin always;
EOF
}

# nginx -t binds the publisher's unix socket: its directory must exist
# (/run/rankpulse comes from rankpulse.tmpfiles: systemd-tmpfiles --create).
if [ "$CHECK" -eq 1 ] && [ ! -d "${NCHAN_SOCKET_V%/*}" ]; then
	die "${NCHAN_SOCKET_V%/*} does not exist (the nchan publisher socket's directory; run systemd-tmpfiles --create, or use --no-check)"
fi

STAGE=$(mktemp -d "$OUT/.rankpulse-render.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$STAGE/check" "$STAGE/final"

if [ "$CHECK" -eq 1 ]; then
	render_into "$STAGE/check" "$STAGE/check"
	if ! "$NGINX_BIN" -t -q -p "$OUT/" -c "$STAGE/check/nginx.conf" >"$STAGE/nginx-t.log" 2>&1; then
		cat "$STAGE/nginx-t.log" >&2
		die "nginx -t rejected the rendered configuration; nothing was changed"
	fi
fi
render_into "$STAGE/final" "$CONF_DIR"

# Install: the pieces first, then nginx.conf.
mkdir -p "$CONF_DIR"
for _f in "$STAGE"/final/*.conf; do
	_b=$(basename "$_f")
	[ "$_b" = nginx.conf ] && continue
	chmod 0644 "$_f"
	mv -f "$_f" "$CONF_DIR/$_b"
done
if [ -f "$OUT/nginx.conf" ] && ! grep -q 'Love Rank Pulse' "$OUT/nginx.conf" &&
	[ ! -e "$OUT/nginx.conf.rankpulse-orig" ]; then
	cp -p "$OUT/nginx.conf" "$OUT/nginx.conf.rankpulse-orig"
	say "kept the previous $OUT/nginx.conf as nginx.conf.rankpulse-orig"
fi
chmod 0644 "$STAGE/final/nginx.conf"
mv -f "$STAGE/final/nginx.conf" "$OUT/nginx.conf"
_n=$(printf '%s\n' "$CORS_ENTRIES" | sed '/^$/d' | sort -u | wc -l | tr -d ' ')
say "wrote $OUT/nginx.conf and $CONF_DIR/ (CORS origins: $_n$([ "$CORS_ANY" -eq 1 ] && echo ' + any'))"
