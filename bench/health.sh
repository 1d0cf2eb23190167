#!/usr/bin/env bash
# health.sh — how close /api/health gets to the FastCGI ceiling.
#
# One run, one throwaway stack (scripts/stack.sh, SEED_PLAYERS=0), one nginx,
# three targets measured back to back with the same wrk settings:
#
#   static   nginx serving a file holding the exact bytes of a real
#            /api/health body — what nginx alone costs;
#   floor    bench/fcgi-floor.c behind the same nginx: prefork libfcgi
#            children answering those same bytes and nothing else — the
#            ceiling of any FastCGI handler on this machine (same worker
#            count as rankpulse, same socket directory, same
#            fastcgi_params, fastcgi_keep_conn off);
#   health   the real /api/health of rankpulse.
#
# Then `ab -n 1000 -c 10 /api/health` (failed requests must be 0) and the
# resident memory of the rankpulse workers (children of the master in
# DIR/run/app.pid, VmRSS from /proc) at start, after ~RSS_FIRST and after
# ~RSS_REQUESTS requests to /api/health: it must stay small and flat.
#
# Targets (the issue): health rps >= 80 % of the floor's; health p99 < 10 ms
# at 64 connections; ab 0 failed; worker RSS < 16 MiB and within ±5 %
# between the two samples.
#
# Output: progress on stderr (`bench:`), the Markdown result on stdout (paste
# it into docs/benchmarks.md).  Exit 0 if every target is met, 1 if one is
# missed, 2 if the benchmark could not run.  Everything is torn down on exit.
#
# Environment:
#   RANKPULSE_BIN  binary under test (default build/rankpulse, built if absent)
#   DURATION       seconds of each measured wrk run        (10; QUICK=1: 5)
#   WARMUP         seconds of warm-up before each run      (2;  QUICK=1: 1)
#   THREADS, CONNECTIONS  wrk -t / -c                      (2, 64)
#   WORKERS        rankpulse and floor workers             (2 x cores)
#   RSS_FIRST      requests before the first RSS sample    (100000)
#   RSS_REQUESTS   requests before the second RSS sample   (1000000; QUICK=1:
#                  300000; 0 skips the second sample)
#   QUICK=1        shorter run (~2 min instead of ~4)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	DURATION=${DURATION:-5}
	WARMUP=${WARMUP:-1}
	RSS_REQUESTS=${RSS_REQUESTS:-300000}
fi
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
RSS_FIRST=${RSS_FIRST:-100000}
RSS_REQUESTS=${RSS_REQUESTS:-1000000}
CORES=$(nproc)
WORKERS=${WORKERS:-$((2 * CORES))}

# Targets.
MIN_RATIO_PCT=80
MAX_P99_MS=10
MAX_RSS_KIB=$((16 * 1024))
MAX_RSS_DRIFT_PCT=5

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 2
}

for v in DURATION WARMUP THREADS CONNECTIONS WORKERS RSS_FIRST RSS_REQUESTS; do
	case ${!v} in '' | *[!0-9]*) die "$v must be a number (got '${!v}')" ;; esac
done
[ "$DURATION" -ge 1 ] || die "DURATION must be at least 1"
[ "$WORKERS" -ge 1 ] || die "WORKERS must be at least 1"
if [ "$RSS_REQUESTS" -ne 0 ] && [ "$RSS_REQUESTS" -le "$RSS_FIRST" ]; then
	die "RSS_REQUESTS ($RSS_REQUESTS) must be 0 or larger than RSS_FIRST ($RSS_FIRST)"
fi
for tool in wrk ab curl cc perl nginx; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool is not installed"
done
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}

# ---------------------------------------------------------------- build

if [ -z "${RANKPULSE_BIN:-}" ]; then
	RANKPULSE_BIN=build/rankpulse
	make -s build/rankpulse >&2 || die "make build/rankpulse failed"
fi
[ -x "$RANKPULSE_BIN" ] || die "no rankpulse binary at $RANKPULSE_BIN"

FLOOR_BIN=build/bench/fcgi-floor
if [ ! -x "$FLOOR_BIN" ] || [ bench/fcgi-floor.c -nt "$FLOOR_BIN" ]; then
	say "building $FLOOR_BIN"
	mkdir -p build/bench
	# shellcheck disable=SC2046
	cc -std=c11 -O2 -Wall -Wextra -Werror $(pkg-config --cflags fcgi 2>/dev/null) \
		-o "$FLOOR_BIN" bench/fcgi-floor.c \
		$(pkg-config --libs fcgi 2>/dev/null || echo -lfcgi) || die "cannot build $FLOOR_BIN"
fi

# ---------------------------------------------------------------- teardown

WORK=""
STACK=""
FLOOR_PID=""
LOAD_PID=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$? n
	trap - EXIT INT TERM
	[ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null || true
	if [ -n "$FLOOR_PID" ] && [ "$(cat "/proc/$FLOOR_PID/comm" 2>/dev/null)" = fcgi-floor ]; then
		kill -TERM "$FLOOR_PID" 2>/dev/null || true
		n=50
		while [ "$n" -gt 0 ] && [ -e "/proc/$FLOOR_PID" ]; do
			sleep 0.1
			n=$((n - 1))
		done
		kill -KILL "$FLOOR_PID" 2>/dev/null || true
	fi
	if [ -n "$STACK" ] && [ -e "$STACK" ]; then
		local real
		real=$(readlink -f "$STACK")
		say "stopping the stack"
		scripts/stack.sh stop --dir "$STACK" >>"$WORK/stack.log" 2>&1 ||
			say "warning: stack.sh stop failed (see above)"
		# A stack relocated by stack.sh lives outside WORK.
		case $real in /var/lib/rankpulse-stack/?*) rm -rf -- "$real" ;; esac
	fi
	[ -n "$WORK" ] && rm -rf -- "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d /tmp/rp-bench.XXXXXX)
chmod 0755 "$WORK" # the stack's service user must reach the stack inside
STACK=$WORK/stack

# ---------------------------------------------------------------- helpers

free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
			LocalPort => 0, Proto => "tcp") or die "$!\n";
		print $s->sockport, "\n";'
}

# stack_var NAME: a value from the stack's stack.env.
stack_var() {
	# shellcheck disable=SC1090,SC1091
	(. "$STACK/stack.env" && printf '%s' "${!1}")
}

# to_ms VALUE: wrk's "812.00us" / "1.98ms" / "1.02s" / "1.50m" in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000;
		printf "%.2f", n }'
}

# run_wrk NAME URL SECONDS: one wrk run, output kept in WORK/NAME.txt.
# wrk runs in the background so that a signal interrupts `wait` and the
# teardown starts at once (bash defers traps until a foreground child ends).
run_wrk() {
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3"s --latency "$2" >"$WORK/$1.txt" 2>&1 &
	LOAD_PID=$!
	if ! wait "$LOAD_PID"; then
		LOAD_PID=""
		cat "$WORK/$1.txt" >&2
		die "wrk failed against $2"
	fi
	LOAD_PID=""
}

# wrk_field NAME FIELD: requests | rps | p50 | p99 | errors from WORK/NAME.txt.
wrk_field() {
	local f=$WORK/$1.txt
	case $2 in
	requests) awk '/ requests in /{print $1; exit}' "$f" ;;
	rps) awk '/^Requests\/sec:/{printf "%.0f", $2; exit}' "$f" ;;
	p50) to_ms "$(awk '$1 == "50%"{print $2; exit}' "$f")" ;;
	p99) to_ms "$(awk '$1 == "99%"{print $2; exit}' "$f")" ;;
	errors)
		# non-2xx responses + socket errors (connect, read, write, timeout)
		awk '/Non-2xx or 3xx responses:/{n += $NF}
			/Socket errors:/{gsub(/,/, ""); n += $4 + $6 + $8 + $10}
			END{print n + 0}' "$f"
		;;
	esac
}

http_code() { curl -s -o "${2:-/dev/null}" -w '%{http_code}' --max-time 5 "$1" || true; }

# Worker processes of the rankpulse master, and their resident memory.
MASTER_PID=""
worker_pids() { pgrep -P "$MASTER_PID" | sort -n | tr '\n' ' '; }
# rss_sample: "PIDS|SUM_KIB|MAX_KIB" of the current workers.
rss_sample() {
	local pids p kib sum=0 max=0
	pids=$(worker_pids)
	for p in $pids; do
		kib=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null) || kib=0
		kib=${kib:-0}
		sum=$((sum + kib))
		[ "$kib" -gt "$max" ] && max=$kib
	done
	printf '%s|%s|%s' "$pids" "$sum" "$max"
}
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.0f", 100 * a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
thousands() { printf '%s' "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }

# ---------------------------------------------------------------- the stack

PORT=$(free_port)
say "starting a throwaway stack on 127.0.0.1:$PORT ($WORKERS workers; log: $WORK/stack.log)"
if ! RANKPULSE_BIN=$RANKPULSE_BIN SEED_PLAYERS=0 WORKERS=$WORKERS STACK_NO_APP=0 \
	scripts/stack.sh start --dir "$STACK" --port "$PORT" >"$WORK/stack.log" 2>&1; then
	tail -n 40 "$WORK/stack.log" >&2
	die "the stack did not start"
fi

SD=$(stack_var STACK_DIR)
RUN_DIR=$(stack_var RUN_DIR)
BASE_URL=$(stack_var BASE_URL)
STACK_USER=$(stack_var STACK_USER)
APP_PID_FILE=$(stack_var APP_PID_FILE)
NGINX_PREFIX=$SD/nginx
NGINX_CONF=$NGINX_PREFIX/nginx.conf
LOCATIONS=$NGINX_PREFIX/rankpulse-locations.conf
FASTCGI_PARAMS=$NGINX_PREFIX/fastcgi_params.conf
{ [ -r "$LOCATIONS" ] && [ -r "$FASTCGI_PARAMS" ]; } ||
	die "the stack's nginx has no $LOCATIONS / $FASTCGI_PARAMS (did stack.sh change its layout?)"
grep -q "include $LOCATIONS;" "$NGINX_CONF" ||
	die "$NGINX_CONF does not include $LOCATIONS (did stack.sh change its layout?)"

AS_USER=()
if [ "$(id -u)" -eq 0 ]; then
	AS_USER=(setpriv "--reuid=$STACK_USER" "--regid=$(id -gn "$STACK_USER")" --init-groups --)
fi

MASTER_PID=$(head -n 1 "$APP_PID_FILE" | tr -dc 0-9)
{ [ -n "$MASTER_PID" ] && [ -e "/proc/$MASTER_PID" ]; } || die "no rankpulse master (pid file $APP_PID_FILE)"
sleep 1 # let the workers finish starting
RSS_START=$(rss_sample)
[ -n "${RSS_START%%|*}" ] || die "the rankpulse master $MASTER_PID has no workers"

# ---------------------------------------------------------------- bench targets

BENCH_DIR=$SD/bench # beside the stack: readable by the service user
mkdir -p "$BENCH_DIR"
chmod 0755 "$BENCH_DIR"
BODY=$BENCH_DIR/health.json
code=$(http_code "$BASE_URL/api/health" "$BODY")
[ "$code" = 200 ] || die "/api/health answered $code: $(head -c 300 "$BODY" 2>/dev/null)"
chmod 0644 "$BODY"
HEALTH_STATUS=$(sed -n 's/^{"status":"\([a-z]*\)".*/\1/p' "$BODY")
[ "$HEALTH_STATUS" = healthy ] || say "warning: /api/health says '$HEALTH_STATUS', not healthy"
BODY_BYTES=$(wc -c <"$BODY")

install -m 0755 "$FLOOR_BIN" "$BENCH_DIR/fcgi-floor"
FLOOR_SOCK=$RUN_DIR/floor.sock
say "starting fcgi-floor ($WORKERS workers) on $FLOOR_SOCK"
(
	exec </dev/null >>"$WORK/floor.log" 2>&1
	exec "${AS_USER[@]}" "$BENCH_DIR/fcgi-floor" "$FLOOR_SOCK" "$WORKERS" "$BODY"
) &
FLOOR_PID=$!
n=50
until [ -S "$FLOOR_SOCK" ]; do
	[ -e "/proc/$FLOOR_PID" ] || { cat "$WORK/floor.log" >&2; die "fcgi-floor exited"; }
	n=$((n - 1))
	[ "$n" -gt 0 ] || die "fcgi-floor did not create $FLOOR_SOCK"
	sleep 0.1
done

# The two bench locations go into the public server's include of the
# rendered (throwaway) config; the stack is discarded afterwards.
cat >>"$LOCATIONS" <<EOF

# --- added by bench/health.sh (throwaway stack) ---
location = /bench/static.json {
    alias $BODY;
}
location = /bench/floor {
    fastcgi_pass unix:$FLOOR_SOCK;
    include $FASTCGI_PARAMS;
    fastcgi_keep_conn off;
}
EOF
nginx_cmd() {
	"${AS_USER[@]}" "$NGINX_BIN" -p "$NGINX_PREFIX/" -c "$NGINX_CONF" \
		-e "$NGINX_PREFIX/logs/error.log" "$@"
}
nginx_cmd -t -q >"$WORK/nginx-t.log" 2>&1 || { cat "$WORK/nginx-t.log" >&2; die "nginx -t failed"; }
nginx_cmd -s reload >>"$WORK/nginx-t.log" 2>&1 || { cat "$WORK/nginx-t.log" >&2; die "nginx reload failed"; }
n=100
until [ "$(http_code "$BASE_URL/bench/static.json")" = 200 ] &&
	[ "$(http_code "$BASE_URL/bench/floor")" = 200 ]; do
	n=$((n - 1))
	[ "$n" -gt 0 ] || die "the bench locations do not answer 200 after the reload"
	sleep 0.1
done
# Same bytes from all three (health: same shape and size; its clock moves).
http_code "$BASE_URL/bench/static.json" "$WORK/static.body" >/dev/null
http_code "$BASE_URL/bench/floor" "$WORK/floor.body" >/dev/null
cmp -s "$BODY" "$WORK/static.body" || die "/bench/static.json does not serve the health body"
cmp -s "$BODY" "$WORK/floor.body" || die "/bench/floor does not serve the health body"

# ---------------------------------------------------------------- measure

declare -A URL=([static]="$BASE_URL/bench/static.json" [floor]="$BASE_URL/bench/floor"
	[health]="$BASE_URL/api/health")
declare -A RPS P50 P99 ERRS
HEALTH_REQUESTS=0
ALL_CLEAN=1
for t in static floor health; do
	say "$t: warm-up ${WARMUP}s, then wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency ${URL[$t]}"
	if [ "$WARMUP" -gt 0 ]; then
		run_wrk "$t-warmup" "${URL[$t]}" "$WARMUP"
		[ "$t" = health ] && HEALTH_REQUESTS=$((HEALTH_REQUESTS + $(wrk_field "$t-warmup" requests)))
	fi
	run_wrk "$t" "${URL[$t]}" "$DURATION"
	[ "$t" = health ] && HEALTH_REQUESTS=$((HEALTH_REQUESTS + $(wrk_field "$t" requests)))
	RPS[$t]=$(wrk_field "$t" rps)
	P50[$t]=$(wrk_field "$t" p50)
	P99[$t]=$(wrk_field "$t" p99)
	ERRS[$t]=$(wrk_field "$t" errors)
	[ "${ERRS[$t]}" -eq 0 ] || ALL_CLEAN=0
	say "$t: ${RPS[$t]} rps, p50 ${P50[$t]} ms, p99 ${P99[$t]} ms, errors ${ERRS[$t]}"
done

say "ab -n 1000 -c 10 $BASE_URL/api/health"
ab -n 1000 -c 10 "$BASE_URL/api/health" >"$WORK/ab.txt" 2>&1 &
LOAD_PID=$!
wait "$LOAD_PID" || { cat "$WORK/ab.txt" >&2; die "ab failed"; }
LOAD_PID=""
HEALTH_REQUESTS=$((HEALTH_REQUESTS + 1000))
AB_COMPLETE=$(awk '/^Complete requests:/{print $3}' "$WORK/ab.txt")
AB_FAILED=$(awk '/^Failed requests:/{print $3}' "$WORK/ab.txt")
AB_DETAIL=$(awk '/^Failed requests:/{getline; if ($0 ~ /Connect:/) {gsub(/^[ \t]+/, ""); print}}' "$WORK/ab.txt")
AB_NON2XX=$(awk '/^Non-2xx responses:/{print $3}' "$WORK/ab.txt")
AB_NON2XX=${AB_NON2XX:-0}

# top_up TARGET: keep /api/health busy until ~TARGET requests were sent.
top_up() {
	local target=$1 rate=${RPS[health]} left secs
	[ "$rate" -ge 500 ] || rate=500
	while [ "$HEALTH_REQUESTS" -lt "$target" ]; do
		left=$((target - HEALTH_REQUESTS))
		secs=$(((left + rate - 1) / rate))
		[ "$secs" -ge 1 ] || secs=1
		[ "$secs" -le 120 ] || secs=120
		say "  $(thousands "$HEALTH_REQUESTS") requests so far; ${secs}s more"
		run_wrk rss-load "${URL[health]}" "$secs"
		HEALTH_REQUESTS=$((HEALTH_REQUESTS + $(wrk_field rss-load requests)))
		[ "$(wrk_field rss-load errors)" -eq 0 ] || ALL_CLEAN=0
	done
}

say "worker RSS: loading /api/health up to ~$(thousands "$RSS_FIRST") requests"
top_up "$RSS_FIRST"
RSS1_N=$HEALTH_REQUESTS
RSS1=$(rss_sample)
RSS2=""
if [ "$RSS_REQUESTS" -gt 0 ]; then
	say "worker RSS: loading /api/health up to ~$(thousands "$RSS_REQUESTS") requests"
	top_up "$RSS_REQUESTS"
	RSS2_N=$HEALTH_REQUESTS
	RSS2=$(rss_sample)
fi

# ---------------------------------------------------------------- report

FAILS=0
# row LABEL MEASURED CONDITION: one line of the targets table (CONDITION is
# an awk expression); counts the misses.
row() {
	local result=PASS
	if ! awk "BEGIN{exit !($3)}"; then
		result=FAIL
		FAILS=$((FAILS + 1))
	fi
	echo "| $1 | $2 | $result |"
}

VERSION=$("$RANKPULSE_BIN" version 2>/dev/null | head -n 1 || echo unknown)
CPU=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
NGINX_VERSION=$("$NGINX_BIN" -v 2>&1 | sed 's|.*nginx/||')

label() {
	case $1 in
	static) echo "static file, same bytes (nginx only)" ;;
	floor) echo "fcgi-floor (trivial libfcgi responder)" ;;
	health) echo "/api/health (rankpulse)" ;;
	esac
}

echo "### /api/health vs. the FastCGI floor"
echo
echo "measured on $(date -u '+%Y-%m-%d %H:%M UTC'), rankpulse \`$VERSION\`, $CORES cores ($CPU),"
echo "$(uname -sr), nginx $NGINX_VERSION; $WORKERS rankpulse workers = $WORKERS floor workers;"
echo "\`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency\` after a ${WARMUP}s warm-up, wrk on the same machine;"
echo "body: $BODY_BYTES bytes (health status: $HEALTH_STATUS)."
echo
echo "| target | rps | p50 | p99 | ratio vs floor | ratio vs static |"
echo "|---|---:|---:|---:|---:|---:|"
for t in static floor health; do
	errs=""
	[ "${ERRS[$t]}" -eq 0 ] || errs=" (**${ERRS[$t]} errors**)"
	printf '| %s%s | %s | %s ms | %s ms | %s | %s |\n' "$(label "$t")" "$errs" "${RPS[$t]}" \
		"${P50[$t]}" "${P99[$t]}" "$(ratio "${RPS[$t]}" "${RPS[floor]}")" \
		"$(ratio "${RPS[$t]}" "${RPS[static]}")"
done
echo

AB_LINE="ab -n 1000 -c 10 /api/health: $AB_COMPLETE complete, $AB_FAILED failed"
[ -n "$AB_DETAIL" ] && AB_LINE="$AB_LINE ($AB_DETAIL)"
[ "$AB_NON2XX" -eq 0 ] || AB_LINE="$AB_LINE, $AB_NON2XX non-2xx"
echo "* $AB_LINE"

IFS='|' read -r PIDS0 SUM0 MAX0 <<<"$RSS_START"
IFS='|' read -r PIDS1 SUM1 MAX1 <<<"$RSS1"
nw=$(wc -w <<<"$PIDS0")
echo "* worker RSS ($nw workers, total / largest): at start $(mib "$SUM0") / $(mib "$MAX0") MiB;" \
	"after $(thousands "$RSS1_N") requests $(mib "$SUM1") / $(mib "$MAX1") MiB"
MAX_LAST=$MAX1
DRIFT=""
RESPAWNED=0
[ "$PIDS1" = "$PIDS0" ] || RESPAWNED=1
if [ -n "$RSS2" ]; then
	IFS='|' read -r PIDS2 SUM2 MAX2 <<<"$RSS2"
	DRIFT=$(awk -v a="$SUM1" -v b="$SUM2" 'BEGIN{printf "%+.1f", 100 * (b - a) / a}')
	echo "* worker RSS after $(thousands "$RSS2_N") requests: $(mib "$SUM2") / $(mib "$MAX2") MiB" \
		"($DRIFT % total vs. the $(thousands "$RSS1_N")-request sample)"
	MAX_LAST=$MAX2
	[ "$PIDS2" = "$PIDS0" ] || RESPAWNED=1
fi
[ "$RESPAWNED" = 0 ] || echo "* **workers were replaced during the run** (pids $PIDS0 -> ${PIDS2:-$PIDS1}): a worker died"
[ "$ALL_CLEAN" = 1 ] || echo "* **some wrk runs saw non-2xx responses or socket errors** (see the table)"
echo

HEALTH_PCT=$(pct "${RPS[health]}" "${RPS[floor]}")
echo "| target | measured | result |"
echo "|---|---|---|"
row "/api/health rps >= $MIN_RATIO_PCT % of the floor's" "$HEALTH_PCT %" \
	"${RPS[health]} * 100 >= $MIN_RATIO_PCT * ${RPS[floor]} && ${ERRS[health]} == 0"
row "/api/health p99 < $MAX_P99_MS ms at $CONNECTIONS connections" "${P99[health]} ms" \
	"${P99[health]} < $MAX_P99_MS"
row "ab -n 1000 -c 10 /api/health: 0 failed" "$AB_FAILED failed, $AB_NON2XX non-2xx" \
	"$AB_FAILED == 0 && $AB_NON2XX == 0 && $AB_COMPLETE == 1000"
row "worker RSS < 16 MiB" "largest $(mib "$MAX_LAST") MiB" \
	"$MAX_LAST < $MAX_RSS_KIB && $RESPAWNED == 0"
if [ -n "$DRIFT" ]; then
	row "worker RSS flat (±$MAX_RSS_DRIFT_PCT %), $(thousands "$RSS1_N") -> $(thousands "$RSS2_N") requests" \
		"$DRIFT %" "$DRIFT <= $MAX_RSS_DRIFT_PCT && $DRIFT >= -$MAX_RSS_DRIFT_PCT && $RESPAWNED == 0"
else
	echo "| worker RSS flat (±$MAX_RSS_DRIFT_PCT %) | not measured (RSS_REQUESTS=0) | SKIP |"
fi
echo

if [ "$FAILS" -gt 0 ]; then
	say "$FAILS target(s) missed"
	exit 1
fi
say "all targets met"
exit 0
