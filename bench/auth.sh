#!/usr/bin/env bash
# auth.sh — login throughput, and GET /players/{id}/stats against /api/health.
#
# One throwaway stack (scripts/stack.sh, SEED_PLAYERS demo players, all with
# the password `rankpulse-demo`), two parts:
#
# 1. Logins.  `wrk -c LOGIN_CONNECTIONS` POSTs /api/auth/login for a
#    different demo player on every request (successful logins are not
#    rate limited by the app; nginx's rp_auth zone allows 50 r/s + burst
#    100, well above what argon2id allows).  Login is bounded by argon2id on
#    purpose (libsodium crypto_pwhash_str_verify with the INTERACTIVE limits:
#    ~70 ms and 64 MiB per hash), so the figures are: logins/s, CPU time of
#    the rankpulse workers per login (-> hashes/s per core) and memory per
#    hash (the workers' peak RSS, VmHWM, above their RSS before the first
#    login).  Every response must be 200.
#
# 2. Stats vs health.  Per round, back to back with the same wrk settings
#    (THREADS x CONNECTIONS) and the same wrk script (a unique `_=` query
#    parameter per request, so nginx's 1 s microcache never answers):
#      health   GET /api/health
#      stats    GET /api/players/{id}/stats, {id} rotating over STATS_IDS
#               demo players (uncached: PostgreSQL row + two Redis ZRANKs),
#               through the public microcache location (as specified: a
#               MISS; with fastcgi_cache_min_uses 2 nothing is stored)
#      statsapp the same on a bench-only server block whose copy of the
#               locations has `fastcgi_cache off` (the application alone)
#      floor    bench/fcgi-floor answering a real stats body (the ceiling of
#               any FastCGI handler, for context)
#    Then, for the latency, health and stats again at LAT_CONNECTIONS (8):
#    a closed loop of C connections queues C / rps on average (Little's
#    law), so p99 < 10 ms is judged there, not at 64 connections.
#    ROUNDS rounds; the tables show medians and CPU time per request by
#    component.  Targets: stats rps >= 60 % of health rps (median of the
#    per-round ratios), judged as specified (stats; statsapp is shown next
#    to it); stats p99 < 10 ms at LAT_CONNECTIONS (the read latency target
#    of the leaderboard issue, which covers stats).
#
# Output: progress on stderr, Markdown on stdout; exit 0 all targets met,
# 1 a target missed, 2 could not run.  Everything is torn down on exit.
#
# Environment:
#   RANKPULSE_BIN     binary under test (default build/rankpulse, built if
#                     absent; benchmark a frozen copy while others edit the tree)
#   SEED_PLAYERS      demo players (10000)
#   LOGIN_SECONDS     measured login run (10; QUICK=1: 5)
#   LOGIN_CONNECTIONS wrk -c for logins (4)
#   DURATION, WARMUP  seconds per measured / warm-up run of part 2 (10, 2;
#                     QUICK=1: 3, 1)
#   ROUNDS            rounds of part 2 (3; QUICK=1: 1)
#   THREADS, CONNECTIONS  wrk -t / -c of part 2's throughput runs (2, 64)
#   LAT_CONNECTIONS   wrk -c of part 2's latency runs (8)
#   WORKERS           rankpulse and floor workers (2 x cores)
#   STATS_IDS         distinct players the stats requests rotate over (1000)
#   QUICK=1           about 1 minute instead of ~3
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	LOGIN_SECONDS=${LOGIN_SECONDS:-5}
	DURATION=${DURATION:-3}
	WARMUP=${WARMUP:-1}
	ROUNDS=${ROUNDS:-1}
fi
SEED_PLAYERS=${SEED_PLAYERS:-10000}
LOGIN_SECONDS=${LOGIN_SECONDS:-10}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-4}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
LAT_CONNECTIONS=${LAT_CONNECTIONS:-8}
WORKERS=${WORKERS:-$((2 * $(nproc)))}
STATS_IDS=${STATS_IDS:-1000}

# Targets.
MIN_STATS_VS_HEALTH_PCT=60
MAX_P99_MS=10
ARGON_MIB=64 # crypto_pwhash_MEMLIMIT_INTERACTIVE

check_numbers SEED_PLAYERS LOGIN_SECONDS LOGIN_CONNECTIONS DURATION WARMUP ROUNDS THREADS \
	CONNECTIONS LAT_CONNECTIONS WORKERS STATS_IDS
[ "$LAT_CONNECTIONS" -ge "$THREADS" ] && [ "$CONNECTIONS" -ge "$THREADS" ] ||
	die "CONNECTIONS and LAT_CONNECTIONS must be at least THREADS ($THREADS)"
[ "$SEED_PLAYERS" -ge 100 ] || die "SEED_PLAYERS must be at least 100"
[ "$DURATION" -ge 1 ] && [ "$LOGIN_SECONDS" -ge 1 ] && [ "$ROUNDS" -ge 1 ] ||
	die "DURATION, LOGIN_SECONDS and ROUNDS must be at least 1"
[ "$STATS_IDS" -le "$SEED_PLAYERS" ] || STATS_IDS=$SEED_PLAYERS

bench_init

# ---------------------------------------------------------------- the stack

bench_start_stack
# The seed has just bulk-loaded the tables; autovacuum would ANALYZE them
# within a minute.  Do it now: without statistics PostgreSQL's generic plan
# for the stats queries scans a whole index (see docs/benchmarks.md).
stack_psql -q -c "ANALYZE players" -c "ANALYZE leaderboard_entries" || die "ANALYZE failed"
sleep 1 # let the workers finish starting
WPIDS=$(worker_pids)
[ -n "$WPIDS" ] || die "the rankpulse master $MASTER_PID has no workers"

# ---------------------------------------------------------------- 1. logins

# The hash alone: a few crypto_pwhash_str_verify calls with the same limits
# as the app (libsodium's INTERACTIVE: 2 passes over 64 MiB), timed.
HASH_RUNS=5
cat >"$WORK/hash.c" <<'C'
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double ms(const struct timespec *a, const struct timespec *b)
{ return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6; }
int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	char h[crypto_pwhash_STRBYTES];
	if (sodium_init() < 0 || crypto_pwhash_str(h, "rankpulse-demo", 14,
		crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return 1;
	for (int i = 0; i < runs; i++) {
		struct timespec w0, w1, c0, c1;
		clock_gettime(CLOCK_MONOTONIC, &w0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		if (crypto_pwhash_str_verify(h, "rankpulse-demo", 14) != 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &w1);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
		printf("%.1f %.1f\n", ms(&w0, &w1), ms(&c0, &c1));
	}
	return 0;
}
C
HASH_ALONE="not measured"
# shellcheck disable=SC2046
if cc -std=c11 -O2 -o "$WORK/hash" "$WORK/hash.c" $(pkg-config --cflags --libs libsodium 2>/dev/null || echo -lsodium) \
	>"$WORK/hash-cc.log" 2>&1 && "$WORK/hash" "$HASH_RUNS" >"$WORK/hash.txt" 2>&1; then
	HASH_ALONE="$(median $(awk '{print $1}' "$WORK/hash.txt")) ms / $(median $(awk '{print $2}' "$WORK/hash.txt")) ms"
fi
say "argon2id verify alone: $HASH_ALONE (wall / CPU, median of $HASH_RUNS)"

code=$(curl -s -o "$WORK/login.json" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
	-d '{"login":"demo000001","password":"rankpulse-demo"}' "$BASE_URL/api/auth/login") || true
[ "$code" = 200 ] || die "POST /api/auth/login answered $code: $(head -c 300 "$WORK/login.json")"

cat >"$WORK/login.lua" <<'LUA'
-- every request logs in a different demo player (demo000001 ... demoNNNNNN)
local tid_next = 0
function setup(thread)
  thread:set("tid", tid_next)
  tid_next = tid_next + 1
end
function init(args)
  n = 0
  players = tonumber(args[1])
  headers = { ["Content-Type"] = "application/json" }
end
function request()
  n = n + 1
  local i = (tid * 7919 + n * 2) % players + 1
  local body = string.format('{"login":"demo%06d","password":"rankpulse-demo"}', i)
  return wrk.format("POST", "/api/auth/login", headers, body)
end
LUA

# Worker memory before the measured logins: RSS now, and the peak (VmHWM)
# after them.  The single login above already ran in one worker, so the
# baseline is the smallest RSS (a worker that has not hashed yet has the
# same RSS as one that has: the argon2 area is freed after each hash).
declare -A RSS0=()
for p in $WPIDS; do RSS0[$p]=$(proc_kib "$p" VmRSS); done
T0=$(cpu_ticks "$WPIDS")
say "logins: wrk -t1 -c$LOGIN_CONNECTIONS -d${LOGIN_SECONDS}s POST /api/auth/login (rotating demo players)"
run_wrk login "$BASE_URL/api/auth/login" "$LOGIN_SECONDS" -t1 -c"$LOGIN_CONNECTIONS" \
	-s "$WORK/login.lua" -- "$SEED_PLAYERS"
T1=$(cpu_ticks "$WPIDS")
sleep 1 # logins still in flight when wrk stopped finish before the memory samples
LOGIN_REQ=$(wrk_field login requests)
LOGIN_RPS=$(awk '/^Requests\/sec:/{printf "%.1f", $2; exit}' "$WORK/login.txt")
LOGIN_P50=$(wrk_field login p50)
LOGIN_P99=$(wrk_field login p99)
LOGIN_ERR=$(wrk_field login errors)
CPU_S=$(awk -v t="$((T1 - T0))" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t / hz}')
# hashes per CPU-second of the workers (all of the login's CPU is charged to
# the hash: a lower bound for the hash alone)
HASH_PER_CORE=$(awk -v n="$LOGIN_REQ" -v c="$CPU_S" 'BEGIN{ if (c > 0) printf "%.1f", n / c; else print "n/a" }')
MS_PER_LOGIN=$(awk -v n="$LOGIN_REQ" -v c="$CPU_S" 'BEGIN{ if (n > 0) printf "%.1f", 1000 * c / n; else print "n/a" }')
HWM_MAX=0
RSS_BASE=0
RSS_AFTER_MAX=0
for p in $WPIDS; do
	h=$(proc_kib "$p" VmHWM)
	[ "$h" -gt "$HWM_MAX" ] && HWM_MAX=$h
	a=$(proc_kib "$p" VmRSS)
	[ "$a" -gt "$RSS_AFTER_MAX" ] && RSS_AFTER_MAX=$a
	if [ "$RSS_BASE" -eq 0 ] || [ "${RSS0[$p]}" -lt "$RSS_BASE" ]; then RSS_BASE=${RSS0[$p]}; fi
done
PER_HASH_KIB=$((HWM_MAX - RSS_BASE))
say "logins: $LOGIN_RPS/s, p50 $LOGIN_P50 ms, p99 $LOGIN_P99 ms, errors $LOGIN_ERR;" \
	"$CPU_S CPU-s for $LOGIN_REQ logins; peak RSS $(mib "$HWM_MAX") MiB (base $(mib "$RSS_BASE") MiB)"

# ---------------------------------------------------------------- 2. stats vs health

# Players the stats requests rotate over: evenly spread over the demo ids.
demo_ids 1 "$SEED_PLAYERS" "$((SEED_PLAYERS / STATS_IDS))" "$STATS_IDS" >"$WORK/ids.txt"
FIRST_ID=$(head -n 1 "$WORK/ids.txt")
BODY=$BENCH_DIR/stats.json
# The first stats read builds the Redis boards (global + country) lazily.
code=$(http_code "$BASE_URL/api/players/$FIRST_ID/stats" "$BODY" 60)
[ "$code" = 200 ] || die "GET /api/players/$FIRST_ID/stats answered $code: $(head -c 300 "$BODY")"
grep -q '"globalRank":[0-9]' "$BODY" || die "the stats body has no globalRank: $(head -c 300 "$BODY")"
chmod 0644 "$BODY"
STATS_BYTES=$(wc -c <"$BODY")
bench_start_floor stats "$BODY"
cat >>"$LOCATIONS" <<EOF

# --- added by bench/auth.sh (throwaway stack) ---
location = /bench/floor {
    fastcgi_pass unix:${FLOOR_SOCK[stats]};
    include $FASTCGI_PARAMS;
    fastcgi_keep_conn off;
}
EOF
bench_add_nocache_server
bench_nginx_reload
[ "$(http_code "$BASE_URL/bench/floor")" = 200 ] || die "/bench/floor does not answer 200 after the reload"
[ "$(http_code "$NOCACHE_URL/api/health")" = 200 ] || die "the bench server on $NOCACHE_URL does not answer"

write_uniq_lua "$WORK/uniq.lua"
# The microcache must not answer: the unique parameter makes every request a MISS.
xc=$(curl -s -o /dev/null -D - "$BASE_URL/api/players/$FIRST_ID/stats?_=probe-$$" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "x-cache"{print $2}')
[ "$xc" = MISS ] || die "a unique stats URL was not a cache MISS (X-Cache: ${xc:-none})"
MIN_USES=$(micro_min_uses)
MICRO_LINE=$(micro_cache_line)
ONEOFF=$(one_off_probe "$BASE_URL/api/players/$FIRST_ID/stats" 100)
say "$MICRO_LINE; 100 one-off stats keys: cache files $ONEOFF (before after)"

declare -A URL=([health]="$BASE_URL/api/health" [stats]="$BASE_URL/api/players/{id}/stats"
	[statsapp]="$NOCACHE_URL/api/players/{id}/stats" [floor]="$BASE_URL/bench/floor")
TARGETS="health stats statsapp floor"
LAT_TARGETS="health stats"
for r in $(seq 1 "$ROUNDS"); do
	say "round $r/$ROUNDS: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (warm-up ${WARMUP}s) for: $TARGETS;" \
		"then -c$LAT_CONNECTIONS for: $LAT_TARGETS"
	for t in $TARGETS; do
		measure "$t" "${URL[$t]}" -s "$WORK/uniq.lua" -- "$WORK/ids.txt"
	done
	for t in $LAT_TARGETS; do
		CONNECTIONS=$LAT_CONNECTIONS measure "lat.$t" "${URL[$t]}" -s "$WORK/uniq.lua" -- "$WORK/ids.txt"
	done
done

# ---------------------------------------------------------------- report

label() {
	case $1 in
	health) echo "/api/health" ;;
	stats)
		if [ "$MIN_USES" -ge 2 ]; then
			echo "/api/players/{id}/stats + unique param (microcache MISS, not stored; $STATS_IDS players)"
		else
			echo "/api/players/{id}/stats + unique param (microcache MISS + store; $STATS_IDS players)"
		fi
		;;
	statsapp) echo "/api/players/{id}/stats, microcache off (the app alone)" ;;
	floor) echo "fcgi-floor, same bytes as stats" ;;
	esac
}

echo "### Logins and player stats"
echo
machine_line
echo "$WORKERS rankpulse workers = $WORKERS floor workers; $(thousands "$SEED_PLAYERS") demo players;"
echo "$MICRO_LINE; wrk on the same machine."
echo
echo "**Logins** (\`wrk -t1 -c$LOGIN_CONNECTIONS -d${LOGIN_SECONDS}s\`, POST /api/auth/login, a different demo player per request):"
echo
echo "| logins/s | p50 | p99 | non-2xx + socket errors | worker CPU per login | hashes/s per core | memory per hash |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
echo "| $LOGIN_RPS | $LOGIN_P50 ms | $LOGIN_P99 ms | $LOGIN_ERR | $MS_PER_LOGIN ms | $HASH_PER_CORE | $(mib "$PER_HASH_KIB") MiB |"
echo
echo "* $(thousands "$LOGIN_REQ") logins in ${LOGIN_SECONDS} s used $CPU_S CPU-seconds of the rankpulse workers" \
	"($CORES cores: at most $(awk -v h="$HASH_PER_CORE" -v c="$CORES" 'BEGIN{ if (h + 0 > 0) printf "%.0f", h * c; else print "n/a" }') logins/s if the hash had the machine to itself)."
echo "* memory per hash = the workers' peak RSS (VmHWM, largest $(mib "$HWM_MAX") MiB) minus their smallest RSS" \
	"before the logins ($(mib "$RSS_BASE") MiB); a second after the run the largest worker RSS is $(mib "$RSS_AFTER_MAX") MiB."
echo "* one argon2id verify (crypto_pwhash_str_verify, INTERACTIVE limits) alone on this machine, no other load from" \
	"this benchmark: median of $HASH_RUNS: $HASH_ALONE (wall / CPU)."
echo
echo "**Stats vs health** (\`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency\`, ${WARMUP}s warm-up, a unique \`_=\` parameter" \
	"per request so the microcache never answers; medians of $ROUNDS round(s), targets interleaved):"
echo
echo "| target | rps (median) | rps range | p50 | p99 | errors | ratio vs health | ratio vs floor | CPU µs per request (nginx · app · postgres · redis · machine) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for t in $TARGETS; do
	printf '| %s | %s | %s | %s ms | %s ms | %s | %s | %s | %s |\n' "$(label "$t")" "$(med "$t" rps)" \
		"$(spread "$t" rps)" "$(med "$t" p50)" "$(med "$t" p99)" "$(errs "$t")" \
		"$(med_ratio "$t" health)" "$(med_ratio "$t" floor)" "$(cpu_line "$t")"
done
echo
echo "* per-round stats/health ratios: $(ratios stats health) (unique param), $(ratios statsapp health) (app alone);" \
	"body: $STATS_BYTES bytes; the tables were ANALYZEd after seeding."
read -r ONEOFF0 ONEOFF1 <<<"$ONEOFF"
echo "* one-off keys: 100 stats requests with a unique parameter left the microcache directory with" \
	"$ONEOFF1 files (before: $ONEOFF0)."
echo
echo "**Latency** (\`wrk -t$THREADS -c$LAT_CONNECTIONS -d${DURATION}s --latency\`, same script; the p99 target is judged" \
	"here: a closed loop of C connections waits C / rps in line on average, so at $CONNECTIONS connections" \
	"p99 < $MAX_P99_MS ms needs more than $((CONNECTIONS * 1000 / MAX_P99_MS)) rps whatever the service time):"
echo
echo "| target | rps (median) | rps range | p50 | p99 | errors | CPU µs per request (nginx · app · postgres · redis · machine) |"
echo "|---|---:|---:|---:|---:|---:|---|"
for t in $LAT_TARGETS; do
	printf '| %s | %s | %s | %s ms | %s ms | %s | %s |\n' "$(label "$t")" "$(med "lat.$t" rps)" \
		"$(spread "lat.$t" rps)" "$(med "lat.$t" p50)" "$(med "lat.$t" p99)" "$(errs "lat.$t")" "$(cpu_line "lat.$t")"
done
echo

STATS_PCT=$(awk -v r="$(med_ratio stats health)" 'BEGIN{printf "%.0f", 100 * r}')
STATSAPP_PCT=$(awk -v r="$(med_ratio statsapp health)" 'BEGIN{printf "%.0f", 100 * r}')
echo "| target | measured | result |"
echo "|---|---|---|"
row "logins: every response 200" "$LOGIN_ERR errors in $(thousands "$LOGIN_REQ")" \
	"$LOGIN_ERR == 0 && $LOGIN_REQ > 0"
row "memory per hash ≈ $ARGON_MIB MiB (argon2id INTERACTIVE)" "$(mib "$PER_HASH_KIB") MiB" \
	"$PER_HASH_KIB >= 0.9 * $ARGON_MIB * 1024 && $PER_HASH_KIB <= 1.1 * $ARGON_MIB * 1024"
row "stats rps >= $MIN_STATS_VS_HEALTH_PCT % of /api/health (public URL + unique param, as specified)" "$STATS_PCT %" \
	"$STATS_PCT >= $MIN_STATS_VS_HEALTH_PCT && $(errs stats) == 0"
info_row "stats rps vs /api/health, the app alone (microcache off)" "$STATSAPP_PCT %"
row "stats p99 < $MAX_P99_MS ms at $LAT_CONNECTIONS connections (public URL + unique param)" \
	"$(med lat.stats p99) ms (/api/health $(med lat.health p99) ms)" \
	"$(med lat.stats p99) < $MAX_P99_MS && $(errs lat.stats) == 0"
info_row "stats p99 at $CONNECTIONS connections" "$(med stats p99) ms"
echo

if [ "$FAILS" -gt 0 ]; then
	say "$FAILS target(s) missed"
	exit 1
fi
say "all targets met"
exit 0
