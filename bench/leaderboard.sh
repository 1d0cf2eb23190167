#!/usr/bin/env bash
# leaderboard.sh — board and stats reads, data generation and result
# reporting at 10k, 100k and 1M players, against the FastCGI floor.
#
# One throwaway stack (scripts/stack.sh, durable PostgreSQL like `make run`),
# grown size by size (SIZES).  For each size N, the phases named in PHASES
# (default all three: "reads results fallback"):
#
#   data     (always) `rankpulse seed --players N` (timed; when it fails, the
#            same rows from bench/gen-players.sql, timed, and the failure is
#            reported), at the largest size GEN_MATCHES completed matches
#            from bench/gen-matches.sql (GEN_JOBS sessions in parallel,
#            timed), then `rankpulse rebuild-cache` (timed), ANALYZE and a
#            warm-up read of every board used.
#   reads    four endpoints, each next to a bench/fcgi-floor answering that
#            endpoint's real body (same bytes), all through the same nginx:
#              top10   GET /api/leaderboards?limit=10
#              page    GET /api/leaderboards?offset=P&limit=10 (P = 500,000
#                      at 1M players, N/2 below)
#              around  GET /api/leaderboards/around/{id}?radius=5
#              stats   GET /api/players/{id}/stats
#            ({id} rotates over IDS players spread evenly over the board).
#            Throughput, `wrk -c CONNECTIONS` (64), each endpoint three ways,
#            back to back, with the same wrk script (a unique `_=` parameter
#            per request):
#              floor     the fcgi-floor location (no cache) — the ceiling;
#              uncached  the public URL + unique parameter (as specified):
#                        the application answers; nginx's microcache misses
#                        and, with fastcgi_cache_min_uses 2, stores nothing;
#              app       the same request to a bench-only second server
#                        block whose copy of the locations has
#                        `fastcgi_cache off` — the application alone.
#            Plus, for the top-10 body: the floor behind a copy of the
#            microcache location (same fastcgi_cache* directives) with a
#            unique parameter (what nginx's cache adds to a miss) and with
#            every key sent twice (the second request stores an entry: the
#            most a cache-busting client can force), the static file with
#            those bytes, and the microcached top-10 (the plain public URL).
#            Latency, `wrk -c LAT_CONNECTIONS` (8): the floor and the four
#            `uncached` endpoints.  A closed loop of C connections queues
#            C / rps on average (Little's law): at 64 connections and
#            ~2,500 rps that is ~25 ms before any work is done, so the
#            p99 < 10 ms target is judged at LAT_CONNECTIONS, not at 64.
#            ROUNDS rounds (every target once per round, interleaved); the
#            tables show medians and CPU time per request by component.
#   results  RESULT_MATCHES matches between random players created by the
#            admin (POST /api/matches, through wrk), then
#            `wrk -c RESULT_CONNECTIONS` (16) POSTs one result to each of them
#            (POST /api/matches/{id}/result, each match once).  The target
#            couples rate and latency (>= 800/s with p99 < 50 ms); at 16
#            connections and 800/s the queueing share is ~20 ms.
#   fallback at the largest size only, with Redis stopped
#            (scripts/stack.sh stop-service redis): top10 / page / stats /
#            around from PostgreSQL (app server, unique parameter,
#            `wrk -c FALLBACK_CONNECTIONS`, default LAT_CONNECTIONS).
#
# Targets (the issue), at every size: uncached top-10 >= 50 % and
# around / stats >= 40 % of the floor's rps (judged on the public URL with a
# unique parameter, as specified; the app alone is shown next to it);
# microcached top-10 >= 50 % of the static file's rps; p99 < 10 ms (judged at
# LAT_CONNECTIONS; the p99 at 64 connections is shown); results >= 800/s with
# p99 < 50 ms; with Redis down at the largest size p99 < 50 ms for
# top10 / page / stats / around.
#
# Output: progress on stderr, Markdown on stdout; exit 0 all targets met,
# 1 a target missed, 2 could not run.  Everything is torn down on exit
# (KEEP_WORK=1 keeps the work directory: wrk outputs, logs).
#
# Environment:
#   RANKPULSE_BIN   binary under test (default build/rankpulse, built if absent;
#                   benchmark a frozen copy while others edit the tree)
#   PHASES          "reads results fallback" (any subset, e.g. PHASES=results or
#                   PHASES=fallback SIZES=1000000 GEN_MATCHES=0); with neither
#                   reads nor results only the largest size is loaded
#   SIZES           player counts, ascending ("10000 100000 1000000"; QUICK=1: 10000)
#   DURATION, WARMUP  seconds per measured / warm-up run (8, 2; QUICK=1: 3, 1)
#   ROUNDS          rounds of the read measurements (3; QUICK=1: 1)
#   THREADS, CONNECTIONS  wrk -t / -c of the throughput runs (2, 64)
#   LAT_CONNECTIONS wrk -c of the latency runs, where p99 is judged (8)
#   WORKERS         rankpulse and floor workers (2 x cores)
#   FLOOR_NO_LINGER 1 = the floor closes a body-less request plainly, as
#                   rankpulse does, instead of libfcgi's lingering close (the
#                   stock floor, 0, is what the targets are stated against)
#   IDS             players that around / stats rotate over (1000)
#   GEN_MATCHES     matches generated at the largest size (2000000; QUICK=1: 10000; 0 = none)
#   GEN_JOBS        parallel psql sessions for gen-matches (2)
#   RESULT_MATCHES  matches created per size for the result run (20000; QUICK=1: 2500)
#   RESULT_SECONDS  measured result run (10; QUICK=1: 3)
#   RESULT_CONNECTIONS  wrk -c for results (16)
#   FALLBACK        0 = leave out the fallback phase (same as leaving it out of PHASES)
#   FALLBACK_CONNECTIONS  wrk -c with Redis down (LAT_CONNECTIONS)
#   QUICK=1         a smoke run of every phase in about 2 minutes (10k
#                   players, 10k matches, 3 s runs, one round)
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	SIZES=${SIZES:-10000}
	DURATION=${DURATION:-3}
	WARMUP=${WARMUP:-1}
	ROUNDS=${ROUNDS:-1}
	GEN_MATCHES=${GEN_MATCHES:-10000}
	RESULT_MATCHES=${RESULT_MATCHES:-2500}
	RESULT_SECONDS=${RESULT_SECONDS:-3}
fi
PHASES=${PHASES:-reads results fallback}
SIZES=${SIZES:-10000 100000 1000000}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
LAT_CONNECTIONS=${LAT_CONNECTIONS:-8}
WORKERS=${WORKERS:-$((2 * $(nproc)))}
IDS=${IDS:-1000}
GEN_MATCHES=${GEN_MATCHES:-2000000}
GEN_JOBS=${GEN_JOBS:-2}
RESULT_MATCHES=${RESULT_MATCHES:-20000}
RESULT_SECONDS=${RESULT_SECONDS:-10}
RESULT_CONNECTIONS=${RESULT_CONNECTIONS:-16}
FALLBACK=${FALLBACK:-1}
FALLBACK_CONNECTIONS=${FALLBACK_CONNECTIONS:-$LAT_CONNECTIONS}

# Targets.
MIN_TOP10_PCT=50
MIN_AROUND_STATS_PCT=40
MIN_MICRO_PCT=50
MAX_P99_MS=10
MIN_RESULTS_RPS=800
MAX_RESULTS_P99_MS=50
MAX_FALLBACK_P99_MS=50

check_numbers DURATION WARMUP ROUNDS THREADS CONNECTIONS LAT_CONNECTIONS WORKERS IDS GEN_MATCHES \
	GEN_JOBS RESULT_MATCHES RESULT_SECONDS RESULT_CONNECTIONS FALLBACK FALLBACK_CONNECTIONS
for n in $SIZES; do
	case $n in '' | *[!0-9]*) die "SIZES must be numbers (got '$SIZES')" ;; esac
	[ "$n" -ge 100 ] || die "every size must be at least 100 players"
done
for p in $PHASES; do
	case $p in reads | results | fallback) ;; *) die "PHASES: unknown phase '$p' (reads results fallback)" ;; esac
done
[ "$FALLBACK" = 1 ] || PHASES=$(printf '%s\n' $PHASES | grep -vx fallback | tr '\n' ' ')
[ -n "${PHASES// /}" ] || die "PHASES names no phase to run"
[ "$DURATION" -ge 1 ] && [ "$ROUNDS" -ge 1 ] && [ "$GEN_JOBS" -ge 1 ] ||
	die "DURATION, ROUNDS and GEN_JOBS must be at least 1"
for v in CONNECTIONS LAT_CONNECTIONS RESULT_CONNECTIONS FALLBACK_CONNECTIONS; do
	[ "${!v}" -ge "$THREADS" ] || die "$v must be at least THREADS ($THREADS)"
done
SIZES=$(printf '%s\n' $SIZES | sort -n | tr '\n' ' ')
LARGEST=$(printf '%s\n' $SIZES | tail -n 1)
# Only the fallback: the smaller sizes have nothing to measure.
if ! has_phase reads && ! has_phase results; then SIZES=$LARGEST; fi
say "phases: $PHASES; sizes: $SIZES"

bench_init

# ---------------------------------------------------------------- the stack

# shellcheck disable=SC2034 # read by bench_start_stack
SEED_PLAYERS=0 # seeded below, size by size, timed
bench_start_stack

ENDPOINTS="top10 page around stats"
for e in $ENDPOINTS; do
	echo '{}' >"$BENCH_DIR/$e.json"
	chmod 0644 "$BENCH_DIR/$e.json"
done

# Bench locations in the public server (the stack is thrown away afterwards):
# the static bytes, the floor, and the floor behind a copy of the microcache
# location's fastcgi_cache* directives (whatever the real location says).
MICRO_DIRECTIVES=$(micro_cache_directives)
[ -n "$MICRO_DIRECTIVES" ] || die "no microcache location (fastcgi_cache rp_micro;) in $LOCATIONS"
MIN_USES=$(micro_min_uses)
{
	echo
	echo "# --- added by bench/leaderboard.sh (throwaway stack) ---"
	for e in $ENDPOINTS; do
		cat <<EOF
location = /bench/static/$e.json {
    alias $BENCH_DIR/$e.json;
}
location = /bench/floor/$e {
    fastcgi_pass unix:$RUN_DIR/floor-$e.sock;
    include $FASTCGI_PARAMS;
    fastcgi_keep_conn off;
}
location = /bench/floorc/$e {
    fastcgi_pass unix:$RUN_DIR/floor-$e.sock;
$MICRO_DIRECTIVES
    add_header X-Request-Id \$rp_request_id always;
    add_header X-Cache \$upstream_cache_status always;
}
EOF
	done
} >>"$LOCATIONS"
# A second server block, bench only: the same locations with the microcache
# switched off — the application without nginx's cache in front.
bench_add_nocache_server
bench_nginx_reload
[ "$(http_code "$NOCACHE_URL/api/health")" = 200 ] || die "the bench server on $NOCACHE_URL does not answer"
MICRO_LINE=$(micro_cache_line)
say "$MICRO_LINE"

write_uniq_lua "$WORK/uniq.lua"
write_create_matches_lua "$WORK/create.lua"
write_results_lua "$WORK/results.lua"

# ---------------------------------------------------------------- helpers

timed() { # timed VAR CMD...: run CMD, store its wall seconds in VAR; returns CMD's status
	local __var=$1 t0 rc=0
	shift
	t0=$(now_s)
	"$@" || rc=$?
	printf -v "$__var" '%s' "$(elapsed "$t0")"
	return "$rc"
}

fetch() { # fetch URL FILE: 200 or die
	local code
	code=$(http_code "$1" "$2" 120)
	[ "$code" = 200 ] || die "GET $1 answered $code: $(head -c 300 "$2" 2>/dev/null)"
}

declare -A DATA=()  # "<size>.<what>" -> text for the data table
declare -A RES=()   # "<size>.<what>" -> result-run figures
declare -A PAGE_OFFSET=()
declare -A GEN=()

seed_to() { # seed_to N: the demo players up to N, timed
	local n=$1 t
	say "[$n] rankpulse seed --players $n"
	if timed t stack_rankpulse seed --players "$n" >"$WORK/seed-$n.log" 2>&1; then
		DATA[$n.seed]="\`rankpulse seed --players $n\`: $t s"
		return 0
	fi
	local why
	why=$(grep -m1 -o 'ERROR: .*' "$WORK/seed-$n.log" || tail -n 1 "$WORK/seed-$n.log")
	say "[$n] rankpulse seed failed after $t s ($why); using bench/gen-players.sql"
	DATA[$n.seed]="\`rankpulse seed --players $n\`: **failed** after $t s (\`$why\`)"
	DATA[$n.seedfail]=1
	if ! timed t stack_psql -q -v players="$n" -f "$REPO/bench/gen-players.sql" \
		>"$WORK/gen-players-$n.log" 2>&1; then
		tail -n 20 "$WORK/gen-players-$n.log" >&2
		die "bench/gen-players.sql failed"
	fi
	DATA[$n.genplayers]="\`bench/gen-players.sql\` (same rows, bigint arithmetic): $t s"
}

gen_matches() { # gen_matches M: M matches in GEN_JOBS parallel sessions, timed
	local m=$1 jobs=$GEN_JOBS j first last t0 pids=() rc=0
	say "[$LARGEST] bench/gen-matches.sql: $m matches in $jobs session(s)"
	t0=$(now_s)
	for j in $(seq 1 "$jobs"); do
		first=$(((j - 1) * m / jobs + 1))
		last=$((j * m / jobs))
		stack_psql -q -v matches="$m" -v first="$first" -v last="$last" \
			-f "$REPO/bench/gen-matches.sql" >"$WORK/gen-matches-$j.log" 2>&1 &
		pids+=($!)
	done
	for j in "${pids[@]}"; do wait "$j" || rc=1; done
	GEN[secs]=$(elapsed "$t0")
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$WORK"/gen-matches-*.log >&2
		die "bench/gen-matches.sql failed"
	fi
	GEN[rate]=$(awk -v m="$m" -v s="${GEN[secs]}" 'BEGIN{printf "%.0f", m / s}')
	GEN[counts]=$(stack_psql -At -c "SELECT (SELECT count(*) FROM matches) || ' matches, ' ||
		(SELECT count(*) FROM match_results) || ' results, ' ||
		(SELECT count(*) FROM rating_events) || ' rating events; database ' ||
		pg_size_pretty(pg_database_size(current_database()))")
	say "[$LARGEST] gen-matches: ${GEN[secs]} s (${GEN[rate]} matches/s); ${GEN[counts]}"
}

# ---------------------------------------------------------------- per size

for N in $SIZES; do
	# ------------------------------------------------------------ data
	seed_to "$N"
	if [ "$N" = "$LARGEST" ] && [ "$GEN_MATCHES" -gt 0 ]; then
		gen_matches "$GEN_MATCHES"
	fi
	say "[$N] rankpulse rebuild-cache"
	timed t stack_rankpulse rebuild-cache >"$WORK/rebuild-$N.log" 2>&1 ||
		{ cat "$WORK/rebuild-$N.log" >&2; die "rankpulse rebuild-cache failed"; }
	DATA[$N.rebuild]="\`rankpulse rebuild-cache\`: $t s"
	# Right after a bulk load the tables may not have statistics yet
	# (autovacuum analyzes them within about a minute): probe the app's
	# top-10 once like that, then ANALYZE, as autovacuum would.
	analyzed=$(stack_psql -At -c "SELECT count(*) FROM pg_stat_user_tables
		WHERE relname IN ('players', 'leaderboard_entries')
		AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL")
	curl -s -o /dev/null --max-time 60 "$NOCACHE_URL/api/leaderboards?limit=10"
	run_wrk "probe-$N" "$NOCACHE_URL/api/leaderboards?limit=10" 2 -s "$WORK/uniq.lua"
	DATA[$N.probe]="top-10 (app alone) before ANALYZE ($analyzed of players / leaderboard_entries analyzed): $(wrk_field "probe-$N" rps) rps, p99 $(wrk_field "probe-$N" p99) ms"
	timed t stack_psql -q -c "VACUUM (ANALYZE) players" -c "VACUUM (ANALYZE) leaderboard_entries" ||
		die "ANALYZE failed"
	DATA[$N.analyze]="ANALYZE players, leaderboard_entries: $t s"
	DATA[$N.players]=$(stack_psql -At -c "SELECT count(*) FROM players WHERE is_active")

	# players the around / stats requests rotate over, spread evenly
	step=$((N / IDS))
	[ "$step" -ge 1 ] || step=1
	demo_ids 1 "$N" "$step" "$IDS" >"$WORK/ids-$N.txt"
	ID0=$(sed -n "$(((IDS + 1) / 2))p" "$WORK/ids-$N.txt")
	[ -n "$ID0" ] || ID0=$(head -n 1 "$WORK/ids-$N.txt")
	if [ "$N" -ge 1000000 ]; then OFF=500000; else OFF=$((N / 2)); fi
	PAGE_OFFSET[$N]=$OFF
	declare -A PATHS=([top10]="/api/leaderboards?limit=10" [page]="/api/leaderboards?offset=$OFF&limit=10"
		[around]="/api/leaderboards/around/{id}?radius=5" [stats]="/api/players/{id}/stats")

	# warm-up reads (the first read of a board builds it in Redis) and the
	# real bodies the floors and the static files answer with
	t0=$(now_s)
	for e in $ENDPOINTS; do
		fetch "$BASE_URL${PATHS[$e]//\{id\}/$ID0}" "$BENCH_DIR/$e.json"
	done
	DATA[$N.firstread]=$(elapsed "$t0")
	grep -q '"rank":1,' "$BENCH_DIR/top10.json" || die "the top-10 body has no rank 1: $(head -c 300 "$BENCH_DIR/top10.json")"
	grep -q "\"rank\":$((OFF + 1))," "$BENCH_DIR/page.json" || die "the page body does not start at rank $((OFF + 1))"
	grep -q '"globalRank":[0-9]' "$BENCH_DIR/stats.json" || die "the stats body has no globalRank"

	# ------------------------------------------------------------ reads
	if has_phase reads; then
		for e in $ENDPOINTS; do
			[ -n "${FLOOR_PID[$e]:-}" ] && stop_pid "${FLOOR_PID[$e]}" fcgi-floor
			bench_start_floor "$e" "$BENCH_DIR/$e.json"
			DATA[$N.bytes.$e]=$(wc -c <"$BENCH_DIR/$e.json")
			[ "$(http_code "$BASE_URL/bench/floor/$e")" = 200 ] || die "/bench/floor/$e does not answer 200"
		done
		http_code "$BASE_URL/bench/static/top10.json" "$WORK/static.body" >/dev/null
		cmp -s "$BENCH_DIR/top10.json" "$WORK/static.body" || die "/bench/static/top10.json does not serve the top-10 body"
		xc=$(curl -s -o /dev/null -D - "$BASE_URL${PATHS[top10]}&_=probe-$N" | tr -d '\r' |
			awk -F': ' 'tolower($1) == "x-cache"{print $2}')
		[ "$xc" = MISS ] || die "a unique top-10 URL was not a microcache MISS (X-Cache: ${xc:-none})"
		# a hot key: stored from its MIN_USES-th request, a HIT after that
		for i in $(seq 1 "$MIN_USES"); do curl -s -o /dev/null "$BASE_URL${PATHS[top10]}"; done
		xc=$(curl -s -o /dev/null -D - "$BASE_URL${PATHS[top10]}" | tr -d '\r' |
			awk -F': ' 'tolower($1) == "x-cache"{print $2}')
		[ "$xc" = HIT ] || say "warning: the plain top-10 URL was not a microcache HIT (X-Cache: ${xc:-none})"
		# one-off keys must not make nginx write cache files
		DATA[$N.oneoff]=$(one_off_probe "$BASE_URL${PATHS[top10]}" 100)

		for r in $(seq 1 "$ROUNDS"); do
			say "[$N] round $r/$ROUNDS: wrk -t$THREADS -c$CONNECTIONS, then -c$LAT_CONNECTIONS, -d${DURATION}s (warm-up ${WARMUP}s)"
			for e in $ENDPOINTS; do
				measure "$N.floor.$e" "$BASE_URL/bench/floor/$e" -s "$WORK/uniq.lua"
				measure "$N.uncached.$e" "$BASE_URL${PATHS[$e]}" -s "$WORK/uniq.lua" -- "$WORK/ids-$N.txt"
				measure "$N.app.$e" "$NOCACHE_URL${PATHS[$e]}" -s "$WORK/uniq.lua" -- "$WORK/ids-$N.txt"
			done
			measure "$N.floorc.top10" "$BASE_URL/bench/floorc/top10" -s "$WORK/uniq.lua"
			measure "$N.floorc2.top10" "$BASE_URL/bench/floorc/top10" -s "$WORK/uniq.lua" -- "" 2
			measure "$N.static.top10" "$BASE_URL/bench/static/top10.json"
			measure "$N.micro.top10" "$BASE_URL${PATHS[top10]}"
			# latency at a moderate concurrency (the p99 target is judged here)
			CONNECTIONS=$LAT_CONNECTIONS measure "$N.lat.floor.top10" "$BASE_URL/bench/floor/top10" -s "$WORK/uniq.lua"
			for e in $ENDPOINTS; do
				CONNECTIONS=$LAT_CONNECTIONS measure "$N.lat.uncached.$e" "$BASE_URL${PATHS[$e]}" \
					-s "$WORK/uniq.lua" -- "$WORK/ids-$N.txt"
			done
		done
	fi

	# ------------------------------------------------------------ results
	if has_phase results; then
		TOKEN=$(admin_token)
		demo_ids 1 "$N" "$(((N + 99999) / 100000))" >"$WORK/pool-$N.txt"
		rm -f "$WORK"/mids-"$N"-*.txt
		say "[$N] creating $RESULT_MATCHES matches (POST /api/matches as admin)"
		made=0
		t0=$(now_s)
		tries=0
		while [ "$made" -lt "$RESULT_MATCHES" ]; do
			tries=$((tries + 1))
			[ "$tries" -le 20 ] || die "could not create $RESULT_MATCHES matches ($made made)"
			secs=$(((RESULT_MATCHES - made) / 1500 + 1))
			[ "$secs" -le 30 ] || secs=30
			run_wrk "create-$N-$tries" "$BASE_URL" "$secs" -c16 -s "$WORK/create.lua" -- \
				"$WORK/pool-$N.txt" "$TOKEN" "$WORK/mids-$N"
			made=$(cat "$WORK"/mids-"$N"-*.txt | wc -l)
		done
		RES[$N.created]=$made
		RES[$N.create_rate]=$(awk -v n="$made" -v s="$(elapsed "$t0")" 'BEGIN{printf "%.0f", n / s}')
		cat "$WORK"/mids-"$N"-*.txt | sort -u >"$WORK/mids-$N.txt"
		# a second of warm-up on the first matches, the measured run on the rest
		head -n 400 "$WORK/mids-$N.txt" >"$WORK/mids-$N-warm.txt"
		tail -n +401 "$WORK/mids-$N.txt" >"$WORK/mids-$N-run.txt"
		run_wrk "results-$N-warmup" "$BASE_URL" 1 -c"$RESULT_CONNECTIONS" -s "$WORK/results.lua" -- \
			"$WORK/mids-$N-warm.txt" "$TOKEN" "$THREADS"
		say "[$N] results: wrk -t$THREADS -c$RESULT_CONNECTIONS -d${RESULT_SECONDS}s, one POST per match"
		c0=$(cpu_snapshot)
		run_wrk "results-$N" "$BASE_URL" "$RESULT_SECONDS" -c"$RESULT_CONNECTIONS" -s "$WORK/results.lua" -- \
			"$WORK/mids-$N-run.txt" "$TOKEN" "$THREADS"
		c1=$(cpu_snapshot)
		RES[$N.requests]=$(wrk_field "results-$N" requests)
		RES[$N.rps]=$(wrk_field "results-$N" rps)
		RES[$N.p50]=$(wrk_field "results-$N" p50)
		RES[$N.p99]=$(wrk_field "results-$N" p99)
		RES[$N.errors]=$(wrk_field "results-$N" errors)
		RES[$N.cpu]=$(cpu_per_request "$c0" "$c1" "${RES[$N.requests]}")
		[ "${RES[$N.requests]}" -lt "$(wc -l <"$WORK/mids-$N-run.txt")" ] ||
			say "warning: the result run used up every match (the rate is a lower bound)"
		say "[$N] results: ${RES[$N.rps]}/s, p50 ${RES[$N.p50]} ms, p99 ${RES[$N.p99]} ms, errors ${RES[$N.errors]}"
	fi
done

# ---------------------------------------------------------------- Redis down

HEALTH_DOWN=""
if has_phase fallback; then
	N=$LARGEST
	say "[$N] stopping redis: the PostgreSQL fallback"
	scripts/stack.sh stop-service redis --dir "$STACK" >>"$WORK/stack.log" 2>&1 || die "cannot stop redis"
	sleep 1
	HEALTH_DOWN=$(curl -s --max-time 5 "$BASE_URL/api/health" | sed -n 's/^{"status":"\([a-z]*\)".*/\1/p')
	declare -A DOWN_FIRST=()
	for e in top10 page stats around; do
		# the first answer of each (a failure here is a finding, not a reason to stop)
		DOWN_FIRST[$e]=$(curl -s -o "$WORK/fallback-$e.json" --max-time 60 \
			-w '%{http_code} in %{time_total} s' "$NOCACHE_URL${PATHS[$e]//\{id\}/$ID0}") || true
		say "[$N] Redis down, first $e: ${DOWN_FIRST[$e]}"
	done
	for e in top10 page stats around; do
		CONNECTIONS=$FALLBACK_CONNECTIONS measure "$N.down.$e" "$NOCACHE_URL${PATHS[$e]}" \
			--timeout 30s -s "$WORK/uniq.lua" -- "$WORK/ids-$N.txt"
	done
	scripts/stack.sh start-service redis --dir "$STACK" >>"$WORK/stack.log" 2>&1 ||
		say "warning: redis did not restart"
fi

# ---------------------------------------------------------------- report

label() {
	case $1 in
	top10) echo "top-10" ;;
	page) echo "page at offset $2" ;;
	around) echo "around-me (radius 5)" ;;
	stats) echo "player stats" ;;
	esac
}
# line KEY LABEL BASEKEY: one row of a size's table
line() {
	local e=""
	[ "$(errs "$1")" -eq 0 ] || e=" (**$(errs "$1") errors**)"
	printf '| %s%s | %s | %s ms | %s ms | %s | %s |\n' "$2" "$e" "$(med "$1" rps)" "$(med "$1" p50)" \
		"$(med "$1" p99)" "${3:+$(med_ratio "$1" "$3")}" "$(cpu_line "$1")"
}
pct_of() { awk -v r="$(med_ratio "$1" "$2")" 'BEGIN{printf "%.0f", 100 * r}'; }
# worst_p99 PREFIX: the largest median p99 over PREFIX.<endpoint> for every endpoint
worst_p99() {
	local e w=0
	for e in $ENDPOINTS; do
		w=$(awk -v a="$w" -v b="$(med "$1.$e" p99)" 'BEGIN{print (b > a) ? b : a}')
	done
	echo "$w"
}
# errs_all PREFIX: errors summed over PREFIX.<endpoint>
errs_all() {
	local e n=0
	for e in $ENDPOINTS; do n=$((n + $(errs "$1.$e"))); done
	echo "$n"
}
if [ "$MIN_USES" -ge 2 ]; then
	UNCACHED="public URL + unique param (microcache MISS, not stored)"
else
	UNCACHED="public URL + unique param (microcache MISS + store)"
fi

echo "### Leaderboards, stats and results"
echo
machine_line
echo "$WORKERS rankpulse workers = $WORKERS floor workers$([ "${FLOOR_NO_LINGER:-0}" = 1 ] && echo ' (floor without lingering close, FLOOR_NO_LINGER=1)'); durable PostgreSQL (fsync on, shared_buffers 128MB);"
echo "$MICRO_LINE;"
echo "phases: $PHASES; wrk on the same machine."
if has_phase reads; then
	echo "Reads: throughput \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency\` and latency" \
		"\`wrk -t$THREADS -c$LAT_CONNECTIONS -d${DURATION}s --latency\`, each after a ${WARMUP}s warm-up;" \
		"medians of $ROUNDS round(s), every target once per round."
	echo "The p99 target is judged at $LAT_CONNECTIONS connections: a closed loop of C connections waits" \
		"C / rps in line on average (Little's law), so at $CONNECTIONS connections p99 < $MAX_P99_MS ms" \
		"needs more than $((CONNECTIONS * 1000 / MAX_P99_MS)) rps whatever the service time."
fi
echo
echo "**Data generation**"
echo
for N in $SIZES; do
	echo "* $(thousands "$N") players: ${DATA[$N.seed]}${DATA[$N.genplayers]:+; ${DATA[$N.genplayers]}};" \
		"${DATA[$N.rebuild]}; ${DATA[$N.analyze]}; first read of the four endpoints ${DATA[$N.firstread]} s;" \
		"$(thousands "${DATA[$N.players]}") active players; ${DATA[$N.probe]}."
done
if [ -n "${GEN[secs]:-}" ]; then
	echo "* $(thousands "$GEN_MATCHES") matches at $(thousands "$LARGEST") players (\`bench/gen-matches.sql\`," \
		"$GEN_JOBS parallel sessions): ${GEN[secs]} s = $(thousands "${GEN[rate]}") matches/s;" \
		"${GEN[counts]}."
fi
echo

for N in $SIZES; do
	has_phase reads || has_phase results || continue
	OFF=${PAGE_OFFSET[$N]}
	if has_phase reads; then
		echo "**$(thousands "$N") players, throughput** (\`-c$CONNECTIONS\`) — requests per second (median), latency, ratio to the"
		echo "floor with the same body, and CPU time per request by component in µs (nginx · app · postgres · redis ·"
		echo "whole machine incl. wrk):"
		echo
		echo "| target | rps | p50 | p99 | ratio | CPU µs per request |"
		echo "|---|---:|---:|---:|---:|---|"
		for e in $ENDPOINTS; do
			line "$N.floor.$e" "fcgi-floor, $(label "$e" "$OFF") bytes (${DATA[$N.bytes.$e]} B)" "$N.floor.$e"
			line "$N.uncached.$e" "$(label "$e" "$OFF"), $UNCACHED" "$N.floor.$e"
			line "$N.app.$e" "$(label "$e" "$OFF"), microcache off (the app alone)" "$N.floor.$e"
		done
		line "$N.floorc.top10" "fcgi-floor behind the microcache location, unique param" "$N.floor.top10"
		line "$N.floorc2.top10" "fcgi-floor behind the microcache location, every key twice (the 2nd is stored)" "$N.floor.top10"
		line "$N.static.top10" "static file, top-10 bytes (nginx only)" "$N.static.top10"
		line "$N.micro.top10" "top-10, microcached (plain public URL)" "$N.static.top10"
		echo
		echo "**$(thousands "$N") players, latency** (\`-c$LAT_CONNECTIONS\`; the p99 target is judged on these rows):"
		echo
		echo "| target | rps | p50 | p99 | ratio | CPU µs per request |"
		echo "|---|---:|---:|---:|---:|---|"
		line "$N.lat.floor.top10" "fcgi-floor, top-10 bytes" "$N.lat.floor.top10"
		for e in $ENDPOINTS; do
			line "$N.lat.uncached.$e" "$(label "$e" "$OFF"), $UNCACHED" "$N.lat.floor.top10"
		done
		echo
		read -r f0 f1 <<<"${DATA[$N.oneoff]}"
		echo "* one-off keys: 100 top-10 requests with a unique parameter left the microcache directory" \
			"with $f1 files (before: $f0)."
	fi
	if has_phase results; then
		echo "* results: $(thousands "${RES[$N.created]}") matches created by the admin at ${RES[$N.create_rate]}/s" \
			"(\`wrk -c16\`, POST /api/matches); then \`wrk -t$THREADS -c$RESULT_CONNECTIONS -d${RESULT_SECONDS}s\`" \
			"POST /api/matches/{id}/result, each match once: **${RES[$N.rps]} results/s**, p50 ${RES[$N.p50]} ms," \
			"p99 ${RES[$N.p99]} ms, ${RES[$N.errors]} errors; CPU µs per result: ${RES[$N.cpu]}."
	fi
	echo
	echo "| target ($(thousands "$N") players) | measured | result |"
	echo "|---|---|---|"
	if has_phase reads; then
		row "uncached top-10 >= $MIN_TOP10_PCT % of floor (public URL + unique param, as specified)" \
			"$(pct_of "$N.uncached.top10" "$N.floor.top10") %" \
			"$(pct_of "$N.uncached.top10" "$N.floor.top10") >= $MIN_TOP10_PCT && $(errs "$N.uncached.top10") == 0"
		info_row "uncached top-10, the app alone (microcache off)" "$(pct_of "$N.app.top10" "$N.floor.top10") %"
		row "page at offset $(thousands "$OFF") >= $MIN_TOP10_PCT % of floor (public URL + unique param)" \
			"$(pct_of "$N.uncached.page" "$N.floor.page") % (app alone $(pct_of "$N.app.page" "$N.floor.page") %)" \
			"$(pct_of "$N.uncached.page" "$N.floor.page") >= $MIN_TOP10_PCT && $(errs "$N.uncached.page") == 0"
		for e in around stats; do
			row "$(label "$e") >= $MIN_AROUND_STATS_PCT % of floor (public URL + unique param, as specified)" \
				"$(pct_of "$N.uncached.$e" "$N.floor.$e") %" \
				"$(pct_of "$N.uncached.$e" "$N.floor.$e") >= $MIN_AROUND_STATS_PCT && $(errs "$N.uncached.$e") == 0"
			info_row "$(label "$e"), the app alone (microcache off)" "$(pct_of "$N.app.$e" "$N.floor.$e") %"
		done
		row "microcached top-10 >= $MIN_MICRO_PCT % of static, same bytes" \
			"$(pct_of "$N.micro.top10" "$N.static.top10") %" \
			"$(pct_of "$N.micro.top10" "$N.static.top10") >= $MIN_MICRO_PCT && $(errs "$N.micro.top10") == 0"
		w=$(worst_p99 "$N.lat.uncached")
		row "p99 < $MAX_P99_MS ms at $LAT_CONNECTIONS connections, worst endpoint (public URL + unique param)" \
			"$w ms (floor $(med "$N.lat.floor.top10" p99) ms)" "$w < $MAX_P99_MS && $(errs_all "$N.lat.uncached") == 0"
		info_row "p99 at $CONNECTIONS connections, worst endpoint (public URL + unique param / app alone)" \
			"$(worst_p99 "$N.uncached") ms / $(worst_p99 "$N.app") ms"
	fi
	if has_phase results; then
		row "results >= $MIN_RESULTS_RPS/s with p99 < $MAX_RESULTS_P99_MS ms (\`-c$RESULT_CONNECTIONS\`)" \
			"${RES[$N.rps]}/s, p99 ${RES[$N.p99]} ms" \
			"${RES[$N.rps]} >= $MIN_RESULTS_RPS && ${RES[$N.p99]} < $MAX_RESULTS_P99_MS && ${RES[$N.errors]} == 0"
	fi
	if [ -n "${DATA[$N.seedfail]:-}" ]; then
		row "\`rankpulse seed --players $N\` works" "failed" "0"
	fi
	echo
done

if has_phase fallback; then
	N=$LARGEST
	echo "**Redis down, $(thousands "$N") players** (PostgreSQL fallback; /api/health said \`${HEALTH_DOWN:-?}\`;" \
		"microcache off, unique param, \`wrk -t$THREADS -c$FALLBACK_CONNECTIONS -d${DURATION}s --timeout 30s\`;" \
		"999999 ms = no request completed; ratio vs Redis up = vs the app alone at \`-c$CONNECTIONS\` when the reads were measured):"
	echo
	echo "| target | rps | p50 | p99 | ratio vs Redis up | CPU µs per request |"
	echo "|---|---:|---:|---:|---:|---|"
	for e in top10 page stats around; do
		if has_phase reads; then
			line "$N.down.$e" "$(label "$e" "${PAGE_OFFSET[$N]}"), Redis down" "$N.app.$e"
		else
			line "$N.down.$e" "$(label "$e" "${PAGE_OFFSET[$N]}"), Redis down" ""
		fi
	done
	echo
	echo "* first request of each with Redis down (player in the middle of the board):" \
		"top-10 ${DOWN_FIRST[top10]}, page ${DOWN_FIRST[page]}, stats ${DOWN_FIRST[stats]}, around-me ${DOWN_FIRST[around]}" \
		"(non-2xx answers are counted as errors in the table)."
	echo
	echo "| target | measured | result |"
	echo "|---|---|---|"
	for e in top10 page stats around; do
		row "Redis down: $(label "$e" "${PAGE_OFFSET[$N]}") p99 < $MAX_FALLBACK_P99_MS ms at $FALLBACK_CONNECTIONS connections" \
			"$(med "$N.down.$e" p99) ms" \
			"$(med "$N.down.$e" p99) < $MAX_FALLBACK_P99_MS && $(errs "$N.down.$e") == 0"
	done
	row "Redis down: /api/health says degraded" "${HEALTH_DOWN:-none}" "\"${HEALTH_DOWN}\" == \"degraded\""
	echo
fi

if [ "$FAILS" -gt 0 ]; then
	say "$FAILS target(s) missed"
	exit 1
fi
say "all targets met"
exit 0
