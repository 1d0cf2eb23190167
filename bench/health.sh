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

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

for v in DURATION WARMUP THREADS CONNECTIONS WORKERS RSS_FIRST RSS_REQUESTS; do
	case ${!v} in '' | *[!0-9]*) die "$v must be a number (got '${!v}')" ;; esac
done
[ "$DURATION" -ge 1 ] || die "DURATION must be at least 1"
[ "$WORKERS" -ge 1 ] || die "WORKERS must be at least 1"
if [ "$RSS_REQUESTS" -ne 0 ] && [ "$RSS_REQUESTS" -le "$RSS_FIRST" ]; then
	die "RSS_REQUESTS ($RSS_REQUESTS) must be 0 or larger than RSS_FIRST ($RSS_FIRST)"
fi
bench_init ab

# ---------------------------------------------------------------- the stack

# shellcheck disable=SC2034 # read by bench_start_stack (bench/lib.sh)
SEED_PLAYERS=0
bench_start_stack
sleep 1 # let the workers finish starting
RSS_START=$(rss_sample)
[ -n "${RSS_START%%|*}" ] || die "the rankpulse master $MASTER_PID has no workers"

# ---------------------------------------------------------------- bench targets

BODY=$BENCH_DIR/health.json
code=$(http_code "$BASE_URL/api/health" "$BODY")
[ "$code" = 200 ] || die "/api/health answered $code: $(head -c 300 "$BODY" 2>/dev/null)"
chmod 0644 "$BODY"
HEALTH_STATUS=$(sed -n 's/^{"status":"\([a-z]*\)".*/\1/p' "$BODY")
[ "$HEALTH_STATUS" = healthy ] || say "warning: /api/health says '$HEALTH_STATUS', not healthy"
BODY_BYTES=$(wc -c <"$BODY")

bench_start_floor "" "$BODY"
HEALTH_FLOOR_SOCK=${FLOOR_SOCK[_]}

# The two bench locations go into the public server's include of the
# rendered (throwaway) config; the stack is discarded afterwards.
cat >>"$LOCATIONS" <<EOF

# --- added by bench/health.sh (throwaway stack) ---
location = /bench/static.json {
    alias $BODY;
}
location = /bench/floor {
    fastcgi_pass unix:$HEALTH_FLOOR_SOCK;
    include $FASTCGI_PARAMS;
    fastcgi_keep_conn off;
}
EOF
bench_nginx_reload
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
load_bg ab -n 1000 -c 10 "$BASE_URL/api/health" >"$WORK/ab.txt" 2>&1
load_wait || { cat "$WORK/ab.txt" >&2; die "ab failed"; }
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
