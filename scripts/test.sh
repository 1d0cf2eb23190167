#!/usr/bin/env bash
# test.sh — what `make test` runs after building: a throwaway stack on a free
# port in a temp directory, `prove -r t/` against it, teardown even on failure.
#
# Environment:
#   RANKPULSE_BIN  binary under test (default build/asan/rankpulse)
#   PROVE_ARGS     extra prove arguments (word-split), e.g. "-v" or "-j4"
#   KEEP_STACK=1   on failure keep the (stopped) temp directory for inspection
#
# Tests find the stack through RP_STACK_ENV (its stack.env) and the repo
# through RP_REPO; t/lib is on PERL5LIB (t/lib/Stack.pm).  Exit status is
# prove's; a sanitizer report in the app log fails the run as well.
# shellcheck disable=SC2317 # functions below run from traps
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"

say() { printf 'test: %s\n' "$*" >&2; }

TMP=$(mktemp -d /tmp/rankpulse-test.XXXXXX)
chmod 755 "$TMP"
RC=1
STACK_STARTED=0
LOGS_PRINTED=0

print_logs() {
	local f
	for f in "$TMP"/log/app.log "$TMP"/log/postgres.log "$TMP"/log/redis.log \
		"$TMP"/nginx/logs/error.log; do
		if [ -s "$f" ]; then
			printf '==> %s (last 40 lines) <==\n' "$f" >&2
			tail -n 40 "$f" >&2 || true
		fi
	done
}

# Sanitizer reports go to the app's stderr (the app log), not to prove.
sanitizer_reports() {
	local log=$TMP/log/app.log
	[ -s "$log" ] || return 1
	grep -E -q 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer' "$log"
}

cleanup() {
	local rc=$RC
	trap '' INT TERM
	if [ "$STACK_STARTED" -eq 1 ] || [ -e "$TMP/stack.env" ]; then
		scripts/stack.sh stop --dir "$TMP" || true
	fi
	if sanitizer_reports; then
		say "sanitizer reports in the app log:"
		grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TMP/log/app.log" |
			head -n 200 >&2 || true
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$LOGS_PRINTED" -eq 0 ]; then
		print_logs
	fi
	if [ "$rc" -ne 0 ] && [ "${KEEP_STACK:-0}" = 1 ]; then
		say "kept $TMP (stack stopped; restart: scripts/stack.sh start --dir $TMP)"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'RC=130; exit 130' INT
trap 'RC=143; exit 143' TERM

PORT=$(perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
		LocalPort => 0, Proto => "tcp") or die "no free port: $!\n";
	print $s->sockport, "\n";')

export STACK_FAST=1 SEED_PLAYERS=0
export RANKPULSE_BIN=${RANKPULSE_BIN:-build/asan/rankpulse}
# Sanitizer reports land in the app log (checked at the end); stack.sh
# hands ASAN_OPTIONS/UBSAN_OPTIONS/LSAN_OPTIONS through to the app.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

say "stack in $TMP on 127.0.0.1:$PORT (binary $RANKPULSE_BIN)"
STACK_STARTED=1
if ! scripts/stack.sh start --dir "$TMP" --port "$PORT"; then
	say "the test stack did not start"
	LOGS_PRINTED=1 # stack.sh printed the log tails
	RC=1
	exit 1
fi

export RP_STACK_ENV=$TMP/stack.env
export RP_REPO=$REPO
export PERL5LIB=$REPO/t/lib${PERL5LIB:+:$PERL5LIB}

set +e
# shellcheck disable=SC2086 # PROVE_ARGS is a word list on purpose
prove -r ${PROVE_ARGS:-} t/
RC=$?
set -e
exit "$RC"
