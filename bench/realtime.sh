#!/usr/bin/env bash
# realtime.sh — publish -> receive latency on /rt/leaderboard with 1,000 and
# 10,000 WebSocket subscribers while results are reported, and nginx memory
# per 1,000 subscribers.
#
# One throwaway stack (scripts/stack.sh, SEED_PLAYERS demo players).  The
# stock nginx config (conf/nginx/local.conf.in) has worker_connections 1024
# and 2 workers — at most ~2,000 client connections — so the script first
# shows how many subscriptions the stock config admits (STOCK_PROBE), then
# raises the limits in the stack's rendered nginx.conf (a bench-only copy:
# worker_rlimit_nofile / worker_connections from `ulimit -n`) and reloads.
#
# Each scenario SUBS:RATE (SCENARIOS) runs bench/realtime.c (built into
# build/bench/realtime):
#   1. SUBS WebSocket subscriptions to /rt/leaderboard (the app admits each
#      one and redirects it to nchan), over 2 client threads;
#   2. nginx workers' memory sampled (VmRSS and RssAnon, summed over the
#      workers; fresh workers: nginx is reloaded before every scenario)
#      before and after subscribing -> KiB per 1,000 subscribers;
#   3. RATE results/s for PUBLISH_SECONDS (POST /api/matches/{id}/result as the
#      admin, over keep-alive connections, each to a match created
#      beforehand); every result makes the worker publish one
#      leaderboard_update on the channel;
#   4. latency of every message at every subscriber: receive time minus the
#      envelope's "ts" (the worker's publish time, ms resolution) and minus
#      the time the POST was sent; completeness: every subscriber must get
#      every seq SEQ0+1 .. SEQ0+COUNT (missing / duplicate / out-of-order
#      counted), waiting at most DRAIN seconds after the last response.
# CPU time per result of nginx / app / postgres / redis during 3-4 is
# reported as well.
#
# Targets (the issue): at 1,000 subscribers and 200 results/s, p99 < 50 ms
# and every subscriber receives every message; nginx memory per 1,000
# subscribers reported (no target).
#
# Output: progress on stderr, Markdown on stdout; exit 0 all targets met,
# 1 a target missed, 2 could not run.  Everything is torn down on exit.
#
# Environment:
#   RANKPULSE_BIN    binary under test (default build/rankpulse, built if absent;
#                    benchmark a frozen copy while others edit the tree)
#   SCENARIOS        "SUBS:RATE ..." ("1000:200 10000:200 1000:100 1000:50 10000:20 10000:5";
#                    QUICK=1: "1000:200 10000:200")
#   PUBLISH_SECONDS  seconds of publishing per scenario (10; QUICK=1: 5)
#   DRAIN            seconds to wait for the last messages (30; QUICK=1: 15)
#   PUBLISH_CONNS    keep-alive connections the results are posted over (32)
#   CLIENT_THREADS   subscriber threads of the client (2)
#   SEED_PLAYERS     demo players (10000)
#   WORKERS          rankpulse workers (2 x cores)
#   STOCK_PROBE      subscribers tried against the stock nginx limits (2500; 0 = skip)
#   QUICK=1          about 2 minutes
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	SCENARIOS=${SCENARIOS:-1000:200 10000:200}
	PUBLISH_SECONDS=${PUBLISH_SECONDS:-5}
	DRAIN=${DRAIN:-15}
fi
SCENARIOS=${SCENARIOS:-1000:200 10000:200 1000:100 1000:50 10000:20 10000:5}
PUBLISH_SECONDS=${PUBLISH_SECONDS:-10}
DRAIN=${DRAIN:-30}
PUBLISH_CONNS=${PUBLISH_CONNS:-32}
CLIENT_THREADS=${CLIENT_THREADS:-2}
SEED_PLAYERS=${SEED_PLAYERS:-10000}
WORKERS=${WORKERS:-$((2 * $(nproc)))}
STOCK_PROBE=${STOCK_PROBE:-2500}
# shellcheck disable=SC2034 # wrk -t / -c for run_wrk (bench/lib.sh)
THREADS=2
# shellcheck disable=SC2034
CONNECTIONS=16

# Targets.
TARGET_SUBS=1000
TARGET_RATE=200
MAX_P99_MS=50

check_numbers PUBLISH_SECONDS DRAIN PUBLISH_CONNS CLIENT_THREADS SEED_PLAYERS WORKERS STOCK_PROBE
MAX_SUBS=0
for sc in $SCENARIOS; do
	case $sc in *[!0-9:]* | :* | *: | *:*:*) die "SCENARIOS: '$sc' is not SUBS:RATE" ;; esac
	[ "${sc%%:*}" -le "$MAX_SUBS" ] || MAX_SUBS=${sc%%:*}
done

# File descriptors: the client holds every subscription, and nginx (started
# from this shell, so it inherits the limit) one per subscriber too.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
[ "$NOFILE" -gt $((MAX_SUBS + 500)) ] ||
	die "ulimit -n is $NOFILE: too low for $MAX_SUBS subscribers (raise the hard limit)"

bench_init cc

RT_BIN=build/bench/realtime
if [ ! -x "$RT_BIN" ] || [ bench/realtime.c -nt "$RT_BIN" ]; then
	say "building $RT_BIN"
	mkdir -p build/bench
	cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$RT_BIN.tmp.$$" bench/realtime.c ||
		die "cannot build $RT_BIN"
	mv -f "$RT_BIN.tmp.$$" "$RT_BIN"
fi

CLIENT_PID=""
bench_extra_cleanup() {
	[ -n "$CLIENT_PID" ] && stop_pid "$CLIENT_PID" realtime
	return 0
}

# ---------------------------------------------------------------- the stack

bench_start_stack
TOKEN=$(admin_token)

nginx_workers() { pgrep -P "$(cat "$NGINX_PREFIX/nginx.pid")" | tr '\n' ' '; }
# nginx_mem: "RSS_KIB ANON_KIB" summed over the nginx workers
nginx_mem() {
	local p rss=0 anon=0
	for p in $(nginx_workers); do
		rss=$((rss + $(proc_kib "$p" VmRSS)))
		anon=$((anon + $(proc_kib "$p" RssAnon)))
	done
	echo "$rss $anon"
}
seq_now() {
	local s
	s=$(stack_redis GET seq:leaderboard 2>/dev/null | tr -dc 0-9)
	echo "${s:-0}"
}
worker_crashes() { grep -c 'exited on signal' "$NGINX_PREFIX/logs/error.log" 2>/dev/null || true; }

# run_client NAME SUBS RATE COUNT MATCH_FILE: one client run; key=value
# output in WORK/NAME.out; nginx memory before/after subscribing and the
# CPU of the publish phase in WORK/NAME.mem / NAME.cpu.
run_client() {
	local name=$1 subs=$2 rate=$3 count=$4 ids=$5 ready=$WORK/$1.ready seq0 m0 m1 c0 c1
	seq0=$(seq_now)
	rm -f "$ready"
	sleep 1
	m0=$(nginx_mem)
	local args=(-p "$PORT" -n "$subs" -r "$rate" -c "$count" -k "$TOKEN" -s "$seq0"
		-t "$CLIENT_THREADS" -P "$PUBLISH_CONNS" -R "$ready" -w 120 -d "$DRAIN")
	[ "$count" -gt 0 ] && args+=(-m "$ids")
	"$RT_BIN" "${args[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	CLIENT_PID=$!
	local n=0
	until [ -e "$ready" ]; do
		kill -0 "$CLIENT_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; die "the client exited early"; }
		sleep 0.1
		n=$((n + 1))
		[ "$n" -lt 3000 ] || die "the client did not finish subscribing in 300 s"
	done
	sleep 1 # let nginx settle
	m1=$(nginx_mem)
	echo "$m0 $m1" >"$WORK/$name.mem"
	c0=$(cpu_snapshot)
	rm -f "$ready"
	wait "$CLIENT_PID" || { cat "$WORK/$name.err" >&2; die "the client failed"; }
	CLIENT_PID=""
	c1=$(cpu_snapshot)
	echo "$c0|$c1" >"$WORK/$name.cpu"
}
val() { awk -F= -v k="$2" '$1 == k {print $2; exit}' "$WORK/$1.out"; }
# client_us RUN: the bench client's own CPU µs per result (it publishes and receives every frame)
client_us() { awk -v c="$(val "$1" client_cpu_secs)" -v n="$(val "$1" published)" 'BEGIN{ printf "%.0f", (n > 0 ? c * 1e6 / n : 0) }'; }

# ---------------------------------------------------------------- stock limits

STOCK_WC=$(awk '/worker_connections/{gsub(/;/, ""); print $2; exit}' "$NGINX_CONF")
STOCK_WP=$(awk '/^worker_processes/{gsub(/;/, ""); print $2; exit}' "$NGINX_CONF")
if [ "$STOCK_PROBE" -gt 0 ]; then
	say "stock nginx limits (worker_processes $STOCK_WP, worker_connections $STOCK_WC): $STOCK_PROBE subscribers"
	run_client stock "$STOCK_PROBE" 1 0 ""
	STOCK_OPEN=$(val stock subs_open)
	STOCK_REASON=$(val stock subs_fail_reason)
	STOCK_ALERTS=$(grep -c 'worker_connections are not enough' "$NGINX_PREFIX/logs/error.log" || true)
	say "stock limits: $STOCK_OPEN of $STOCK_PROBE subscriptions open"
fi

# ---------------------------------------------------------------- bench limits

BENCH_WC=$((NOFILE - 256))
[ "$BENCH_WC" -le 65000 ] || BENCH_WC=65000
# (the stock config may already set worker_rlimit_nofile: replace it, else add it)
perl -0pi -e "s/worker_connections\\s+\\d+;/worker_connections $BENCH_WC;/;
	s/^worker_rlimit_nofile[^\\n]*\\n//mg;
	s/^(worker_processes[^\\n]*\\n)/\${1}# bench\\/realtime.sh: bench-only limits\\nworker_rlimit_nofile $NOFILE;\\n/m" "$NGINX_CONF"
grep -q "worker_rlimit_nofile $NOFILE;" "$NGINX_CONF" || die "could not raise the limits in $NGINX_CONF"
say "bench nginx limits: worker_rlimit_nofile $NOFILE, worker_connections $BENCH_WC (reload)"
bench_nginx_reload
[ "$(http_code "$BASE_URL/api/health")" = 200 ] || die "/api/health does not answer after the reload"

# ---------------------------------------------------------------- matches

NEED=0
for sc in $SCENARIOS; do
	NEED=$((NEED + ${sc#*:} * PUBLISH_SECONDS))
done
write_create_matches_lua "$WORK/create.lua"
demo_ids 1 "$SEED_PLAYERS" 1 >"$WORK/pool.txt"
say "creating $NEED matches (POST /api/matches as admin)"
made=0
tries=0
while [ "$made" -lt "$NEED" ]; do
	tries=$((tries + 1))
	[ "$tries" -le 20 ] || die "could not create $NEED matches ($made made)"
	secs=$(((NEED - made) / 400 + 1))
	[ "$secs" -le 30 ] || secs=30
	run_wrk "create-$tries" "$BASE_URL" "$secs" -s "$WORK/create.lua" -- "$WORK/pool.txt" "$TOKEN" "$WORK/mids"
	made=$(cat "$WORK"/mids-*.txt | wc -l)
done
cat "$WORK"/mids-*.txt | sort -u >"$WORK/mids.txt"
TOKEN=$(admin_token) # fresh: 15 minutes from now

# ---------------------------------------------------------------- scenarios

CRASHES0=$(worker_crashes)
used=0
i=0
for sc in $SCENARIOS; do
	i=$((i + 1))
	subs=${sc%%:*}
	rate=${sc#*:}
	count=$((rate * PUBLISH_SECONDS))
	sed -n "$((used + 1)),$((used + count))p" "$WORK/mids.txt" >"$WORK/mids-run$i.txt"
	used=$((used + count))
	say "scenario $i: $subs subscribers, $rate results/s for ${PUBLISH_SECONDS}s ($count results)"
	# fresh nginx workers: memory a previous scenario left behind (nginx does
	# not give freed pool memory back to the system) must not hide this one's
	bench_nginx_reload
	run_client "run$i" "$subs" "$rate" "$count" "$WORK/mids-run$i.txt"
	say "scenario $i: $(val "run$i" subs_open) open, $(val "run$i" subs_complete) complete," \
		"ts latency p50 $(val "run$i" lat_ts_p50_ms) / p99 $(val "run$i" lat_ts_p99_ms) ms," \
		"publish rate $(val "run$i" publish_rate)/s"
	sleep 2 # the closed subscriptions are cleaned up before the next baseline
done
CRASHES=$(($(worker_crashes) - CRASHES0))

# ---------------------------------------------------------------- report

kib_per_1000() { # kib_per_1000 BEFORE AFTER SUBS
	awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN{ if (n > 0) printf "%.0f", (b - a) * 1000 / n; else print "n/a" }'
}

echo "### Realtime fan-out (WebSocket, /rt/leaderboard)"
echo
machine_line
echo "$WORKERS rankpulse workers, nginx worker_processes $STOCK_WP; $(thousands "$SEED_PLAYERS") demo players;"
echo "client \`build/bench/realtime\` (bench/realtime.c, epoll, $CLIENT_THREADS threads) on the same machine;"
echo "results posted over $PUBLISH_CONNS keep-alive connections for ${PUBLISH_SECONDS}s per scenario."
echo
if [ "$STOCK_PROBE" -gt 0 ]; then
	echo "* stock limits (\`worker_processes $STOCK_WP; worker_connections $STOCK_WC;\` from conf/nginx/local.conf.in):" \
		"$STOCK_OPEN of $STOCK_PROBE subscriptions opened (first failure: $STOCK_REASON;" \
		"\"worker_connections are not enough\" logged $STOCK_ALERTS times)."
	echo "* the measurements below use a bench-only copy of the rendered nginx.conf with" \
		"\`worker_rlimit_nofile $NOFILE;\` and \`worker_connections $BENCH_WC;\` (ulimit -n $NOFILE)."
fi
echo
echo "| subscribers | results/s asked / achieved | subscribed in | complete subscribers | messages received / expected | out of order | ts latency p50 / p90 / p99 / max | POST-sent latency p50 / p99 | POST response p50 / p99 |"
echo "|---:|---|---:|---:|---|---:|---|---|---|"
i=0
for sc in $SCENARIOS; do
	i=$((i + 1))
	r=run$i
	printf '| %s | %s / %s | %s s | %s / %s | %s / %s | %s | %s / %s / %s / %s ms | %s / %s ms | %s / %s ms |\n' \
		"$(thousands "${sc%%:*}")" "${sc#*:}" "$(val $r publish_rate)" "$(val $r connect_secs)" \
		"$(thousands "$(val $r subs_complete)")" "$(thousands "$(val $r subs_open)")" \
		"$(thousands "$(val $r msgs_received)")" "$(thousands "$(val $r msgs_expected)")" \
		"$(thousands "$(val $r reorders)")" \
		"$(val $r lat_ts_p50_ms)" "$(val $r lat_ts_p90_ms)" "$(val $r lat_ts_p99_ms)" "$(val $r lat_ts_max_ms)" \
		"$(val $r lat_post_p50_ms)" "$(val $r lat_post_p99_ms)" \
		"$(val $r post_resp_p50_ms)" "$(val $r post_resp_p99_ms)"
done
echo
echo "| subscribers | nginx workers VmRSS before → after subscribing | RssAnon before → after | per 1,000 subscribers (RSS / anon) | CPU µs per result (publish phase; machine includes the client) |"
echo "|---:|---|---|---|---|"
i=0
for sc in $SCENARIOS; do
	i=$((i + 1))
	read -r r0 a0 r1 a1 <"$WORK/run$i.mem"
	IFS='|' read -r c0 c1 <"$WORK/run$i.cpu"
	printf '| %s | %s → %s MiB | %s → %s MiB | %s / %s KiB | %s |\n' "$(thousands "${sc%%:*}")" \
		"$(mib "$r0")" "$(mib "$r1")" "$(mib "$a0")" "$(mib "$a1")" \
		"$(kib_per_1000 "$r0" "$r1" "$(val "run$i" subs_open)")" "$(kib_per_1000 "$a0" "$a1" "$(val "run$i" subs_open)")" \
		"$(cpu_per_request "$c0" "$c1" "$(val "run$i" published)") / client $(client_us "run$i")"
done
echo
i=0
for sc in $SCENARIOS; do
	i=$((i + 1))
	r=run$i
	notes=""
	[ "$(val $r subs_failed)" = 0 ] || notes+=" $(val $r subs_failed) subscriptions failed ($(val $r subs_fail_reason));"
	[ "$(val $r post_fail)" = 0 ] || notes+=" $(val $r post_fail) result POSTs failed (first status $(val $r post_first_bad_status));"
	[ "$(val $r post_late)" = 0 ] || notes+=" $(val $r post_late) POSTs sent >5 ms late (every connection busy);"
	[ "$(val $r dups)" = 0 ] || notes+=" $(val $r dups) duplicates;"
	[ "$(val $r extra)" = 0 ] || notes+=" $(val $r extra) messages outside the run's seq range;"
	[ "$(val $r subs_closed_by_server)" = 0 ] || notes+=" $(val $r subs_closed_by_server) subscriptions closed by the server;"
	[ "$(val $r reordered_subs)" = 0 ] || notes+=" $(val $r reordered_subs) subscribers saw a later seq before an earlier one;"
	notes+=" drained $(val $r drain_secs) s after the last response."
	echo "* $(thousands "${sc%%:*}") @ ${sc#*:}/s:$notes"
done
echo "* nginx workers that died during the scenarios (\"exited on signal\" in error.log): $CRASHES"
echo

echo "| target | measured | result |"
echo "|---|---|---|"
i=0
found=0
for sc in $SCENARIOS; do
	i=$((i + 1))
	[ "$sc" = "$TARGET_SUBS:$TARGET_RATE" ] || continue
	found=1
	r=run$i
	row "$(thousands "$TARGET_SUBS") subscribers @ $TARGET_RATE results/s: ts latency p99 < $MAX_P99_MS ms" \
		"$(val $r lat_ts_p99_ms) ms" "$(val $r lat_ts_p99_ms) < $MAX_P99_MS"
	row "$(thousands "$TARGET_SUBS") subscribers @ $TARGET_RATE results/s: POST-sent latency p99 < $MAX_P99_MS ms" \
		"$(val $r lat_post_p99_ms) ms" "$(val $r lat_post_p99_ms) < $MAX_P99_MS"
	row "$(thousands "$TARGET_SUBS") subscribers @ $TARGET_RATE results/s: every subscriber receives every message" \
		"$(val $r subs_complete) of $TARGET_SUBS complete" \
		"$(val $r subs_complete) == $TARGET_SUBS && $(val $r subs_open) == $TARGET_SUBS"
	row "$(thousands "$TARGET_SUBS") subscribers: the asked $TARGET_RATE results/s were reported" \
		"$(val $r publish_rate)/s, $(val $r post_fail) failed" \
		"$(val $r publish_rate) >= 0.95 * $TARGET_RATE && $(val $r post_fail) == 0"
done
[ "$found" = 1 ] || echo "| $TARGET_SUBS subscribers @ $TARGET_RATE/s | not in SCENARIOS | SKIP |"
i=0
for sc in $SCENARIOS; do
	i=$((i + 1))
	[ "${sc%%:*}" -gt "$TARGET_SUBS" ] || continue
	r=run$i
	row "$(thousands "${sc%%:*}") subscribers @ ${sc#*:}/s: every subscriber receives every message" \
		"$(thousands "$(val $r subs_complete)") of $(thousands "${sc%%:*}") complete" \
		"$(val $r subs_complete) == ${sc%%:*}"
done
row "no nginx worker died" "$CRASHES" "$CRASHES == 0"
echo

if [ "$FAILS" -gt 0 ]; then
	say "$FAILS target(s) missed"
	exit 1
fi
say "all targets met"
exit 0
