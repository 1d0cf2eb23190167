# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are read by the sourcing scripts
# lib.sh — helpers shared by the benchmarks in bench/ (sourced, not run).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Every benchmark follows the same shape (see docs/benchmarks.md): a
# throwaway stack (scripts/stack.sh) in a temporary directory on a free port,
# bench-only locations appended to the stack's rendered nginx config (a
# static file holding the exact bytes of a real answer, and bench/fcgi-floor
# answering those same bytes over FastCGI), wrk against each target back to
# back, and a Markdown table on stdout.  Progress goes to stderr (`bench:`).
# Exit status: 0 every target met, 1 a target missed, 2 could not run.
#
# What the sourcing script gets:
#   REPO             the repository (the script's cwd after bench_init)
#   say / die        progress line / fatal error (exit 2)
#   bench_init       checks tools, resolves RANKPULSE_BIN and NGINX_BIN,
#                    builds build/bench/fcgi-floor, makes WORK (a temp dir
#                    removed on exit) and installs the teardown traps
#   bench_start_stack    starts the stack (SEED_PLAYERS, WORKERS) -> SD,
#                    RUN_DIR, BASE_URL, STACK_USER, NGINX_*, LOCATIONS,
#                    FASTCGI_PARAMS, AS_USER, MASTER_PID, BENCH_DIR
#   bench_start_floor NAME BODY   a fcgi-floor answering BODY's bytes on
#                    RUN_DIR/floor-NAME.sock (FLOOR_SOCK[NAME])
#   bench_nginx_reload   nginx -t + reload of the (bench-edited) config
#   run_wrk / wrk_field  one wrk run and the numbers from its output
#   micro_cache_directives / micro_cache_line / cache_files   the stack's
#                    microcache settings (for bench locations that must
#                    behave like the real one) and what is in its directory
#   stack_psql / stack_redis / stack_rankpulse   run a client as the stack user
#   rss_sample, worker_pids, http_code, to_ms, mib, pct, ratio, thousands,
#   row (a judged target) / info_row (a figure shown, not judged)
#
# A script may define bench_extra_cleanup (called first on exit) to stop
# anything of its own; background load started with `load_bg CMD...` /
# `load_wait` is killed on exit as well.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO" || exit 2

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 2
}

# check_numbers VAR...: each variable holds a non-negative integer.
check_numbers() {
	local v
	for v in "$@"; do
		case ${!v} in '' | *[!0-9]*) die "$v must be a number (got '${!v}')" ;; esac
	done
}

# ---------------------------------------------------------------- setup

WORK=""
STACK=""
LOAD_PID=""
declare -A FLOOR_PID=()
declare -A FLOOR_SOCK=()

# bench_init [TOOL...]: the common prerequisites (plus the named tools),
# the binary under test, the floor binary, WORK and the teardown.
bench_init() {
	local tool
	for tool in wrk curl cc perl nginx "$@"; do
		command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool is not installed"
	done
	NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
	CORES=$(nproc)

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
			-o "$FLOOR_BIN.tmp.$$" bench/fcgi-floor.c \
			$(pkg-config --libs fcgi 2>/dev/null || echo -lfcgi) || die "cannot build $FLOOR_BIN"
		mv -f "$FLOOR_BIN.tmp.$$" "$FLOOR_BIN"
	fi

	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d /tmp/rp-bench.XXXXXX)
	chmod 0755 "$WORK" # the stack's service user must reach the stack inside
	STACK=$WORK/stack
}

# stop_pid PID COMM: TERM, wait up to 5 s, KILL — only if PID is still COMM.
stop_pid() {
	local pid=$1 comm=$2 n=50
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while [ "$n" -gt 0 ] && [ -e "/proc/$pid" ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
bench_cleanup() {
	local rc=$? name
	trap - EXIT INT TERM
	if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup || true; fi
	[ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null || true
	for name in "${!FLOOR_PID[@]}"; do
		stop_pid "${FLOOR_PID[$name]}" fcgi-floor
	done
	if [ -n "$STACK" ] && [ -e "$STACK" ]; then
		local real
		real=$(readlink -f "$STACK")
		say "stopping the stack"
		scripts/stack.sh stop --dir "$STACK" >>"$WORK/stack.log" 2>&1 ||
			say "warning: stack.sh stop failed (see above)"
		# A stack relocated by stack.sh lives outside WORK.
		case $real in /var/lib/rankpulse-stack/?*) rm -rf -- "$real" ;; esac
	fi
	if [ -n "$WORK" ]; then
		if [ "${KEEP_WORK:-0}" = 1 ]; then
			say "KEEP_WORK=1: kept $WORK"
		else
			rm -rf -- "$WORK"
		fi
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- small helpers

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

# load_bg CMD...: run CMD in the background as LOAD_PID (killed on exit);
# load_wait: wait for it, returning its status.  A signal interrupts `wait`
# at once (bash defers traps until a foreground child ends).
load_bg() {
	"$@" &
	LOAD_PID=$!
}
load_wait() {
	local rc=0
	wait "$LOAD_PID" || rc=$?
	LOAD_PID=""
	return "$rc"
}

# run_wrk NAME URL SECONDS [WRK ARGS...]: one wrk run, output kept in
# WORK/NAME.txt.  Uses THREADS/CONNECTIONS; extra args (e.g. -s script,
# -c 16) come after them and win.  Arguments after `--` go to the script.
run_wrk() {
	local name=$1 url=$2 secs=$3
	shift 3
	local opts=() sargs=()
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			shift
			sargs=("$@")
			break
		fi
		opts+=("$1")
		shift
	done
	# BENCH_RUN: a name unique to this run, for scripts that make unique keys
	local cmd=(env "BENCH_RUN=$name" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$secs"s --latency "${opts[@]}" "$url")
	[ ${#sargs[@]} -gt 0 ] && cmd+=(-- "${sargs[@]}")
	load_bg "${cmd[@]}" >"$WORK/$name.txt" 2>&1
	if ! load_wait; then
		cat "$WORK/$name.txt" >&2
		die "wrk failed against $url"
	fi
}

# wrk_field NAME FIELD: requests | rps | p50 | p99 | errors from WORK/NAME.txt.
wrk_field() {
	local f=$WORK/$1.txt
	case $2 in
	requests) awk '/ requests in /{print $1; exit}' "$f" ;;
	rps) awk '/^Requests\/sec:/{printf "%.0f", $2; exit}' "$f" ;;
	p50) to_ms "$(awk '$1 == "50%"{print $2; exit}' "$f")" ;;
	p90) to_ms "$(awk '$1 == "90%"{print $2; exit}' "$f")" ;;
	p99) to_ms "$(awk '$1 == "99%"{print $2; exit}' "$f")" ;;
	errors)
		# non-2xx responses + socket errors (connect, read, write, timeout)
		awk '/Non-2xx or 3xx responses:/{n += $NF}
			/Socket errors:/{gsub(/,/, ""); n += $4 + $6 + $8 + $10}
			END{print n + 0}' "$f"
		;;
	esac
}

http_code() { curl -s -o "${2:-/dev/null}" -w '%{http_code}' --max-time "${3:-5}" "$1" || true; }

mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.0f", 100 * a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
thousands() { printf '%s' "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }
# median N...: the median of the numbers (the lower middle for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END{print v[int((NR + 1) / 2)]}'; }
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN{printf "%.1f", b - a}'; }

FAILS=0
# row LABEL MEASURED CONDITION: one line of a targets table (CONDITION is an
# awk expression); counts the misses in FAILS.
row() {
	local result=PASS
	if ! awk "BEGIN{exit !($3)}"; then
		result=FAIL
		FAILS=$((FAILS + 1))
	fi
	echo "| $1 | $2 | $result |"
}
# info_row LABEL MEASURED: a line of a targets table that is shown but not
# judged (e.g. the same target measured another way, for comparison).
info_row() { echo "| $1 | $2 | (shown, not judged) |"; }

# has_phase NAME: NAME is one of the words of PHASES.
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

# machine_line: one sentence about what the numbers were measured on.
machine_line() {
	local version cpu nginx_version
	version=$("$RANKPULSE_BIN" version 2>/dev/null | sed -n 1p || echo unknown)
	cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
	nginx_version=$("$NGINX_BIN" -v 2>&1 | sed 's|.*nginx/||')
	echo "measured on $(date -u '+%Y-%m-%d %H:%M UTC'), rankpulse \`$version\`, $CORES cores ($cpu),"
	echo "$(uname -sr), nginx $nginx_version, load average before the run: ${LOAD_BEFORE:-?}"
}

# ---------------------------------------------------------------- the stack

# bench_start_stack: a throwaway stack in $STACK on a free port.
#   SEED_PLAYERS (0), WORKERS (2 x cores), STACK_FAST (unset: durable, like
#   make run) are passed to scripts/stack.sh.
bench_start_stack() {
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	PORT=$(free_port)
	say "starting a throwaway stack on 127.0.0.1:$PORT ($WORKERS workers," \
		"${SEED_PLAYERS:-0} players; log: $WORK/stack.log)"
	if ! RANKPULSE_BIN=$RANKPULSE_BIN SEED_PLAYERS=${SEED_PLAYERS:-0} WORKERS=$WORKERS STACK_NO_APP=0 \
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
	{ [ -n "$MASTER_PID" ] && [ -e "/proc/$MASTER_PID" ]; } ||
		die "no rankpulse master (pid file $APP_PID_FILE)"

	BENCH_DIR=$SD/bench # beside the stack: readable by the service user
	mkdir -p "$BENCH_DIR"
	chmod 0755 "$BENCH_DIR"
}

# stack_psql ARGS...: psql on the stack's database, as the stack user.
stack_psql() {
	"${AS_USER[@]}" env -i PATH=/usr/bin:/bin HOME=/ \
		"$(stack_var PSQL)" -X -v ON_ERROR_STOP=1 -d "$(stack_var DATABASE_URL)" "$@"
}
# stack_redis ARGS...: redis-cli on the stack's redis, as the stack user.
stack_redis() { "${AS_USER[@]}" redis-cli -s "$(stack_var REDIS_SOCKET)" "$@"; }
# stack_rankpulse ARGS...: a rankpulse subcommand with the stack's environment.
stack_rankpulse() {
	"${AS_USER[@]}" env -i PATH=/usr/bin:/bin HOME=/ LANG=C.UTF-8 \
		"DATABASE_URL=$(stack_var DATABASE_URL)" "REDIS_URL=$(stack_var REDIS_URL)" \
		"FCGI_SOCKET=$(stack_var FCGI_SOCKET)" "NCHAN_PUBLISH_URL=$(stack_var NCHAN_PUBLISH_URL)" \
		"APP_ENV=$(stack_var APP_ENV)" "JWT_SECRET=$(stack_var JWT_SECRET)" \
		"WORKERS=$(stack_var WORKERS)" "LOG_LEVEL=$(stack_var LOG_LEVEL)" \
		"PORT=$(stack_var PORT)" "$(stack_var RANKPULSE_BIN)" "$@"
}

nginx_cmd() {
	"${AS_USER[@]}" "$NGINX_BIN" -p "$NGINX_PREFIX/" -c "$NGINX_CONF" \
		-e "$NGINX_PREFIX/logs/error.log" "$@"
}

# bench_nginx_reload: validate and reload the bench-edited nginx config, then
# wait until the old workers are gone (a reload drops nchan subscribers).
bench_nginx_reload() {
	local old
	old=$(pgrep -P "$(cat "$NGINX_PREFIX/nginx.pid")" | tr '\n' ' ')
	nginx_cmd -t -q >"$WORK/nginx-t.log" 2>&1 || { cat "$WORK/nginx-t.log" >&2; die "nginx -t failed"; }
	nginx_cmd -s reload >>"$WORK/nginx-t.log" 2>&1 || { cat "$WORK/nginx-t.log" >&2; die "nginx reload failed"; }
	local n=100 p alive
	while [ "$n" -gt 0 ]; do
		alive=0
		for p in $old; do [ -e "/proc/$p" ] && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
		n=$((n - 1))
	done
	sleep 0.2
}

# bench_start_floor NAME BODY_FILE: a fcgi-floor with WORKERS workers that
# answers BODY_FILE's bytes, on RUN_DIR/floor-NAME.sock.  Runs as the stack
# user so that nginx can connect to it.
bench_start_floor() {
	local name=$1 body=$2 sock
	if [ "$name" = "" ]; then sock=$RUN_DIR/floor.sock; else sock=$RUN_DIR/floor-$name.sock; fi
	[ -x "$BENCH_DIR/fcgi-floor" ] || install -m 0755 "$FLOOR_BIN" "$BENCH_DIR/fcgi-floor"
	say "starting fcgi-floor${name:+ $name} ($WORKERS workers) on $sock"
	(
		exec </dev/null >>"$WORK/floor.log" 2>&1
		exec "${AS_USER[@]}" env FLOOR_NO_LINGER="${FLOOR_NO_LINGER:-0}" \
			"$BENCH_DIR/fcgi-floor" "$sock" "$WORKERS" "$body"
	) &
	FLOOR_PID[${name:-_}]=$!
	FLOOR_SOCK[${name:-_}]=$sock
	local n=50
	until [ -S "$sock" ]; do
		[ -e "/proc/${FLOOR_PID[${name:-_}]}" ] || { cat "$WORK/floor.log" >&2; die "fcgi-floor exited"; }
		n=$((n - 1))
		[ "$n" -gt 0 ] || die "fcgi-floor did not create $sock"
		sleep 0.1
	done
}

# Worker processes of the rankpulse master, and their resident memory.
worker_pids() { pgrep -P "$MASTER_PID" | sort -n | tr '\n' ' '; }
# rss_sample [PIDS]: "PIDS|SUM_KIB|MAX_KIB" of the given (default: the
# current rankpulse workers') processes.
rss_sample() {
	local pids p kib sum=0 max=0
	pids=${1:-$(worker_pids)}
	for p in $pids; do
		kib=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null) || kib=0
		kib=${kib:-0}
		sum=$((sum + kib))
		[ "$kib" -gt "$max" ] && max=$kib
	done
	printf '%s|%s|%s' "$pids" "$sum" "$max"
}

# demo_ids FIRST LAST [STEP [MAX]]: the ids of the seeded demo players
# (md5('rankpulse-demo-' || i)::uuid, see lib/store/seed.c), one a line, at
# most MAX of them.
demo_ids() {
	perl -MDigest::MD5=md5_hex -e '
		my ($a, $b, $s, $max) = @ARGV;
		my $n = 0;
		for (my $i = $a; $i <= $b && ($max == 0 || $n < $max); $i += $s, $n++) {
			my $h = md5_hex("rankpulse-demo-$i");
			$h =~ s/^(.{8})(.{4})(.{4})(.{4})(.{12})$/$1-$2-$3-$4-$5/;
			print "$h\n";
		}' "$1" "$2" "${3:-1}" "${4:-0}"
}

# cpu_ticks PIDS: utime + stime (clock ticks) summed over the processes.
cpu_ticks() {
	local p sum=0 t
	for p in $1; do
		t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || t=0
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# proc_kib PID FIELD: a /proc/PID/status field (VmRSS, VmHWM, RssAnon...) in KiB.
proc_kib() { awk -v f="$2:" '$1 == f {print $2; exit}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- repeated measurements

# Every target is measured ROUNDS times (targets interleaved within a round),
# and the tables report the median of each figure.
declare -A M_RPS=() M_P50=() M_P99=() M_ERR=() M_N=()

# measure KEY URL [WRK ARGS...]: a WARMUP-second warm-up, then a DURATION-
# second measured run; appends rps / p50 / p99 / errors to KEY's lists.
measure() {
	local key=$1 url=$2 n
	shift 2
	if [ "$WARMUP" -gt 0 ]; then run_wrk "$key-warmup" "$url" "$WARMUP" "$@"; fi
	n=$((${M_N[$key]:-0} + 1))
	M_N[$key]=$n
	local c0 c1
	c0=$(cpu_snapshot)
	run_wrk "$key-$n" "$url" "$DURATION" "$@"
	c1=$(cpu_snapshot)
	cpu_add "$key" "$c0" "$c1" "$(wrk_field "$key-$n" requests)"
	local rps p50 p99 err
	rps=$(wrk_field "$key-$n" rps)
	p50=$(wrk_field "$key-$n" p50)
	p99=$(wrk_field "$key-$n" p99)
	err=$(wrk_field "$key-$n" errors)
	if [ "$(wrk_field "$key-$n" requests)" = 0 ]; then
		# nothing completed: no latency distribution; never a pass
		say "  $key #$n: no request completed within the run"
		p50=999999
		p99=999999
		err=$((err + 1))
	fi
	M_RPS[$key]+="$rps "
	M_P50[$key]+="$p50 "
	M_P99[$key]+="$p99 "
	M_ERR[$key]=$((${M_ERR[$key]:-0} + err))
	say "  $key #$n: $rps rps, p50 $p50 ms, p99 $p99 ms, errors $err"
}

# med KEY rps|p50|p99: the median over KEY's rounds; errs KEY: the error sum.
med() {
	local -n list=M_${2^^}
	# shellcheck disable=SC2086
	median ${list[$1]}
}
errs() { echo "${M_ERR[$1]:-0}"; }
# spread KEY rps|p99: "min–max" over the rounds.
spread() {
	local -n list=M_${2^^}
	# shellcheck disable=SC2086
	printf '%s\n' ${list[$1]} | sort -g | awk 'NR == 1{a = $1} {b = $1} END{printf "%s–%s", a, b}'
}
# ratios KEY BASE: the per-round rps ratios KEY/BASE ("0.52 0.49 0.55").
ratios() {
	# shellcheck disable=SC2206
	local a=(${M_RPS[$1]}) b=(${M_RPS[$2]}) i out=""
	for i in "${!a[@]}"; do out+="$(ratio "${a[$i]}" "${b[$i]:-0}") "; done
	echo "${out% }"
}
# med_ratio KEY BASE: the median of the per-round ratios.
med_ratio() {
	# shellcheck disable=SC2046
	median $(ratios "$1" "$2")
}

# write_uniq_lua FILE: a wrk script that appends `_=<run>.<thread>-<counter>`
# to every request (a unique query string: the nginx microcache never hits;
# the app ignores unknown parameters; <run> is run_wrk's run name, so a
# measured run never reuses its warm-up's keys).  `{id}` in the URL's path is replaced by
# the next line of the file given as the script's first argument (may be
# ""); an optional second argument R sends every key R times in a row (R = 2:
# the second request of each key is the one the microcache stores, with
# fastcgi_cache_min_uses 2 — the most a cache-busting client can force).
write_uniq_lua() {
	cat >"$1" <<'LUA'
local tid_next = 0
function setup(thread)
  thread:set("tid", tid_next)
  tid_next = tid_next + 1
end
function init(args)
  n = 0
  ids = {}
  if args[1] and args[1] ~= "" then
    for line in io.lines(args[1]) do ids[#ids + 1] = line end
  end
  base = wrk.path
  sep = string.find(base, "?", 1, true) and "&" or "?"
  rep = tonumber(args[2] or "1") or 1
  run = os.getenv("BENCH_RUN") or tostring(os.time())
end
function request()
  n = n + 1
  local k = math.floor((n - 1) / rep) + 1
  local p = base
  if #ids > 0 then
    p = string.gsub(p, "{id}", ids[(k * 7 + tid * 131) % #ids + 1])
  end
  return wrk.format(nil, p .. sep .. "_=" .. run .. "." .. tid .. "-" .. k)
end
LUA
}

# write_ids_lua FILE: like write_uniq_lua but without the unique parameter
# (rotating ids only: requests that the microcache may answer).
write_ids_lua() {
	cat >"$1" <<'LUA'
local tid_next = 0
function setup(thread)
  thread:set("tid", tid_next)
  tid_next = tid_next + 1
end
function init(args)
  n = 0
  ids = {}
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  base = wrk.path
end
function request()
  n = n + 1
  return wrk.format(nil, (string.gsub(base, "{id}", ids[(n * 7 + tid * 131) % #ids + 1])))
end
LUA
}

# ---------------------------------------------------------------- matches and results

# admin_token: a fresh access token of the seeded admin (15 min by default).
admin_token() {
	local out=$WORK/admin-login.json code
	code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
		-d '{"login":"admin","password":"rankpulse-demo"}' "$BASE_URL/api/auth/login") || true
	[ "$code" = 200 ] || die "admin login answered $code: $(head -c 300 "$out")"
	perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{token}' <"$out"
}

# write_create_matches_lua FILE: a wrk script that POSTs /api/matches between
# two random players of the ids file (script arg 1) with the bearer token
# (arg 2), and appends every created match id to PREFIX-<thread>.txt (arg 3).
write_create_matches_lua() {
	cat >"$1" <<'LUA'
local tid_next = 0
function setup(thread)
  thread:set("tid", tid_next)
  tid_next = tid_next + 1
end
function init(args)
  ids = {}
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2] }
  out = io.open(args[3] .. "-" .. tid .. ".txt", "a")
  out:setvbuf("line")
  math.randomseed(os.time() + tid * 7919)
end
function request()
  local a = math.random(#ids)
  local b = math.random(#ids - 1)
  if b >= a then b = b + 1 end
  local body = '{"player1Id":"' .. ids[a] .. '","player2Id":"' .. ids[b] .. '"}'
  return wrk.format("POST", "/api/matches", headers, body)
end
function response(status, hdrs, body)
  if status == 201 or status == 200 then
    local id = string.match(body, '^{"id":"([0-9a-f-]+)"')
    if id then out:write(id, "\n") end
  end
end
LUA
}

# write_results_lua FILE: a wrk script that POSTs a result (1-0, 0-1 or 1-1)
# to each match of the ids file (arg 1) once, bearer token arg 2; thread t of
# T (arg 3) takes every T-th match.  When its matches run out a thread stops.
write_results_lua() {
	cat >"$1" <<'LUA'
local tid_next = 0
function setup(thread)
  thread:set("tid", tid_next)
  tid_next = tid_next + 1
end
function init(args)
  ids = {}
  local nthreads = tonumber(args[3])
  local k = 0
  for line in io.lines(args[1]) do
    if k % nthreads == tid then ids[#ids + 1] = line end
    k = k + 1
  end
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2] }
  scores = { '{"player1Score":1,"player2Score":0}', '{"player1Score":0,"player2Score":1}',
             '{"player1Score":1,"player2Score":1}' }
  n = 0
end
function request()
  n = n + 1
  if n > #ids then
    wrk.thread:stop()
    n = #ids
  end
  return wrk.format("POST", "/api/matches/" .. ids[n] .. "/result", headers, scores[n % 3 + 1])
end
LUA
}

# ---------------------------------------------------------------- CPU by component

# component_pids NAME: the stack's processes of one component —
#   app (rankpulse master + workers), postgres (postmaster + backends),
#   nginx (master + workers), redis.
component_pids() {
	local pid
	case $1 in
	app) pid=$MASTER_PID ;;
	postgres) pid=$(head -n 1 "$SD/pg/postmaster.pid" 2>/dev/null) ;;
	nginx) pid=$(cat "$NGINX_PREFIX/nginx.pid" 2>/dev/null) ;;
	redis) pid=$(cat "$RUN_DIR/redis.pid" 2>/dev/null) ;;
	esac
	[ -n "$pid" ] || return 0
	echo "$pid $(pgrep -P "$pid" | tr '\n' ' ')"
}
COMPONENTS="nginx app postgres redis"
# cpu_snapshot: "nginx=T app=T postgres=T redis=T total=T" (clock ticks;
# total = busy ticks of the whole machine from /proc/stat, all processes).
cpu_snapshot() {
	local c out=""
	for c in $COMPONENTS; do out+="$c=$(cpu_ticks "$(component_pids "$c")") "; done
	out+="total=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat)"
	echo "$out"
}
# cpu_per_request BEFORE AFTER REQUESTS: "nginx 41 / app 120 / postgres 230 /
# redis 12 / machine 560" — CPU microseconds per request of each component
# between two cpu_snapshot values (machine = every process on the box,
# including wrk and anything else running).
cpu_per_request() {
	awk -v a="$1" -v b="$2" -v n="$3" -v hz="$CLK_TCK" 'BEGIN {
		na = split(a, A, " "); split(b, B, " ");
		for (i = 1; i <= na; i++) {
			split(A[i], x, "="); split(B[i], y, "=");
			name = (x[1] == "total") ? "machine" : x[1];
			us = (n > 0) ? (y[2] - x[2]) * 1e6 / hz / n : 0;
			if (us < 0) us = 0;
			out = out (i > 1 ? " / " : "") sprintf("%s %.0f", name, us);
		}
		print out }'
}

# cpu_add KEY BEFORE AFTER REQUESTS: accumulate KEY's CPU ticks per component.
declare -A CPU_SUM=() REQ_SUM=()
cpu_add() {
	local key=$1 a b
	for a in $2; do
		for b in $3; do
			[ "${a%%=*}" = "${b%%=*}" ] || continue
			CPU_SUM[$key.${a%%=*}]=$((${CPU_SUM[$key.${a%%=*}]:-0} + ${b#*=} - ${a#*=}))
		done
	done
	REQ_SUM[$key]=$((${REQ_SUM[$key]:-0} + $4))
}
# cpu_line KEY: CPU microseconds per request of each component over all of
# KEY's measured runs ("nginx 41 · app 120 · postgres 230 · redis 12 · machine 560").
cpu_line() {
	local key=$1 c out="" n=${REQ_SUM[$1]:-0}
	for c in $COMPONENTS total; do
		out+="$(awk -v t="${CPU_SUM[$key.$c]:-0}" -v n="$n" -v hz="$CLK_TCK" -v c="$c" 'BEGIN{
			if (c == "total") c = "machine";
			v = (n > 0 ? t * 1e6 / hz / n : 0); if (v < 0) v = 0  # a process that exited in between
			printf "%s %.0f", c, v }') · "
	done
	echo "${out% · }"
}

# bench_add_nocache_server: a second server block in the stack's rendered
# nginx.conf (bench only), on a free loopback port (NOCACHE_URL), including a
# copy of the locations file with `fastcgi_cache rp_micro;` turned into
# `fastcgi_cache off;` — the application without nginx's microcache in front.
# Call after adding any bench locations; reload nginx afterwards.
bench_add_nocache_server() {
	NOCACHE_PORT=$(free_port)
	NOCACHE_URL=http://127.0.0.1:$NOCACHE_PORT
	sed 's/^\([[:space:]]*\)fastcgi_cache rp_micro;/\1fastcgi_cache off;/' "$LOCATIONS" \
		>"$NGINX_PREFIX/bench-nocache-locations.conf"
	grep -q 'fastcgi_cache off;' "$NGINX_PREFIX/bench-nocache-locations.conf" ||
		die "no 'fastcgi_cache rp_micro;' in $LOCATIONS (did the microcache location change?)"
	BENCH_SERVER="
    # --- added by bench/lib.sh: the locations with the microcache off (bench only) ---
    server {
        listen 127.0.0.1:$NOCACHE_PORT;
        server_name bench-nocache;
        include $NGINX_PREFIX/bench-nocache-locations.conf;
    }
" perl -0pi -e 's/\}\s*\z/$ENV{BENCH_SERVER}}\n/' "$NGINX_CONF"
	grep -q "listen 127.0.0.1:$NOCACHE_PORT;" "$NGINX_CONF" ||
		die "could not add the bench server to $NGINX_CONF"
}

# ---------------------------------------------------------------- the microcache

# micro_cache_directives: the fastcgi_cache* lines of the stack's microcache
# location (the one with `fastcgi_cache rp_micro;`), so that a bench location
# behind the cache behaves exactly like the real one (min_uses, lock, ...).
micro_cache_directives() {
	awk '/^[[:space:]]*location[[:space:]]/ {n = 0; delete l}
		/^[[:space:]]*fastcgi_cache/ {l[++n] = $0}
		/^[[:space:]]*fastcgi_cache[[:space:]]+rp_micro;/ {hit = 1}
		/^}/ { if (hit) { for (i = 1; i <= n; i++) print l[i]; exit } }' "$LOCATIONS"
}
# micro_cache_dir: the stack's fastcgi_cache_path directory.
micro_cache_dir() { awk '$1 == "fastcgi_cache_path" {print $2; exit}' "$NGINX_CONF"; }
# micro_min_uses: the microcache location's fastcgi_cache_min_uses (1 if unset).
micro_min_uses() {
	local v
	v=$(micro_cache_directives | awk '$1 == "fastcgi_cache_min_uses" {gsub(/;/, "", $2); print $2}')
	echo "${v:-1}"
}
# micro_cache_line: one sentence on the microcache settings of the run.
micro_cache_line() {
	local d fs inactive
	d=$(micro_cache_dir)
	fs=$(stat -f -c %T "$d" 2>/dev/null || echo '?')
	inactive=$(awk '$1 == "fastcgi_cache_path" {f = 1} f && match($0, /inactive=[0-9a-z]+/) {print substr($0, RSTART + 9, RLENGTH - 9); exit}' "$NGINX_CONF")
	echo "microcache: \`fastcgi_cache_min_uses $(micro_min_uses)\`, \`inactive=${inactive:-?}\`, directory on $fs ($d)"
}
# cache_files: how many files the microcache directory holds now.
cache_files() {
	local d
	d=$(micro_cache_dir)
	[ -n "$d" ] && [ -d "$d" ] || { echo 0; return 0; }
	find "$d" -type f 2>/dev/null | wc -l
}
# one_off_probe URL N: N requests with one-off keys to URL (unique `_=`);
# prints "FILES_BEFORE FILES_AFTER" of the microcache directory.
one_off_probe() {
	local url=$1 n=$2 i before after sep='?'
	case $url in *\?*) sep='&' ;; esac
	before=$(cache_files)
	for i in $(seq 1 "$n"); do curl -s -o /dev/null --max-time 10 "$url${sep}_=oneoff-$$-$i"; done
	after=$(cache_files)
	echo "$before $after"
}
