#!/usr/bin/env bash
# backup.sh — one consistent backup of the Love Rank Pulse database.
# Installed as `rankpulse-backup`; run daily by rankpulse-backup.timer.
#
#   backup.sh [--env-file FILE] [--dir DIR] [--keep N] [--keep-days D]
#
# What it does:
#   1. pg_dump --format=custom (compressed, one snapshot, restorable table
#      by table) of DATABASE_URL into DIR/.rankpulse-<ts>.dump.partial;
#   2. reads the dump back: `pg_restore --list` must accept it, and the rows
#      of every table are counted from its data (DIR/<name>.counts) — the
#      counts restore.sh verifies a restore against;
#   3. writes DIR/<name>.sha256, fsyncs, and renames the dump to
#      DIR/rankpulse-<UTC timestamp>.dump (a half-written backup never has
#      the final name);
#   4. retention: keeps the newest N backups (BACKUP_KEEP, default 14) and,
#      if BACKUP_KEEP_DAYS is set, also removes backups older than that —
#      never the one just written;
#   5. prints the path of the new dump on stdout (progress goes to stderr).
#
# Configuration: DATABASE_URL from the environment or, if unset there, from
# --env-file (rankpulse's KEY=VALUE syntax; nothing in it is executed).
# BACKUP_DIR (default /var/backups/rankpulse), BACKUP_KEEP, BACKUP_KEEP_DAYS;
# PG_DUMP / PG_RESTORE name the client programs (major version ≥ the server's).
# One backup at a time per directory (flock on DIR/.lock).  Files are 0600.
# Exit status: 0 written and verified, 1 failed (nothing half-written is
# left behind), 2 usage.
set -euo pipefail

PROG=backup
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
usage() { sed -n '/^#   backup.sh/p' "$0" | sed 's/^#   /usage: /'; }

ENV_FILE=""
DIR=${BACKUP_DIR:-/var/backups/rankpulse}
KEEP=${BACKUP_KEEP:-14}
KEEP_DAYS=${BACKUP_KEEP_DAYS:-0}
PG_DUMP=${PG_DUMP:-pg_dump}
PG_RESTORE=${PG_RESTORE:-pg_restore}

while [ $# -gt 0 ]; do
	case $1 in
	--env-file) [ $# -ge 2 ] || die "--env-file needs a value"; ENV_FILE=$2; shift 2 ;;
	--dir) [ $# -ge 2 ] || die "--dir needs a value"; DIR=$2; shift 2 ;;
	--keep) [ $# -ge 2 ] || die "--keep needs a value"; KEEP=$2; shift 2 ;;
	--keep-days) [ $# -ge 2 ] || die "--keep-days needs a value"; KEEP_DAYS=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) say "unknown argument: $1"; usage >&2; exit 2 ;;
	esac
done
case $KEEP in '' | *[!0-9]*) die "--keep / BACKUP_KEEP must be a number ≥ 1 (got '$KEEP')" ;; esac
[ "$KEEP" -ge 1 ] || die "--keep / BACKUP_KEEP must be at least 1"
case $KEEP_DAYS in '' | *[!0-9]*) die "--keep-days / BACKUP_KEEP_DAYS must be a number of days" ;; esac

# shellcheck source=scripts/rankpulse-env.sh
. "$(dirname "$0")/rankpulse-env.sh"
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (environment or --env-file)"
command -v "$PG_DUMP" >/dev/null || die "$PG_DUMP not found (install postgresql-client)"
command -v "$PG_RESTORE" >/dev/null || die "$PG_RESTORE not found (install postgresql-client)"

umask 077
mkdir -p "$DIR"
chmod 0700 "$DIR" 2>/dev/null || true
DIR=$(cd "$DIR" && pwd -P)
exec 9>"$DIR/.lock"
flock -n 9 || die "another backup is running in $DIR"

# dump_counts DUMP: "table<TAB>rows" for every table with data in DUMP,
# counted from the COPY blocks of the dump itself (one line per row).
dump_counts() {
	"$PG_RESTORE" --data-only --file=- "$1" | awk '
		/^COPY .* FROM stdin;$/ { t = $2; n = 0; inside = 1; next }
		inside && $0 == "\\." { print t "\t" n; inside = 0; next }
		inside { n++ }
		END { if (inside) exit 3 }' | LC_ALL=C sort
}

TS=$(date -u +%Y%m%dT%H%M%SZ)
NAME=rankpulse-$TS.dump
n=1
while [ -e "$DIR/$NAME" ]; do
	n=$((n + 1))
	NAME=rankpulse-$TS-$n.dump
done
PARTIAL=$DIR/.$NAME.partial
cleanup() { rm -f "$PARTIAL" "$PARTIAL.counts" "$PARTIAL.sha256"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

START=$(date +%s)
say "dumping the database into $DIR/$NAME"
"$PG_DUMP" --format=custom --compress=6 --no-password --lock-wait-timeout=60s \
	--file="$PARTIAL" --dbname="$DATABASE_URL" || die "pg_dump failed"

"$PG_RESTORE" --list "$PARTIAL" >/dev/null || die "pg_restore cannot read the new dump"
dump_counts "$PARTIAL" >"$PARTIAL.counts" || die "cannot read the data back from the new dump"
[ -s "$PARTIAL.counts" ] || die "the dump holds no table data (wrong database?)"
TABLES=$(wc -l <"$PARTIAL.counts" | tr -d ' ')
ROWS=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$PARTIAL.counts")
HASH=$(sha256sum "$PARTIAL" | cut -d' ' -f1)
printf '%s  %s\n' "$HASH" "$NAME" >"$PARTIAL.sha256"

sync "$PARTIAL" "$PARTIAL.counts" "$PARTIAL.sha256" 2>/dev/null || sync
mv -f "$PARTIAL.counts" "$DIR/$NAME.counts"
mv -f "$PARTIAL.sha256" "$DIR/$NAME.sha256"
mv -f "$PARTIAL" "$DIR/$NAME"
sync "$DIR" 2>/dev/null || true
SIZE=$(stat -c %s "$DIR/$NAME")
say "wrote $DIR/$NAME ($SIZE bytes, $TABLES tables, $ROWS rows) in $(($(date +%s) - START)) s"

# Retention: newest first by name (the name is the UTC time).
removed=0
remove_backup() {
	rm -f "$1" "$1.sha256" "$1.counts"
	removed=$((removed + 1))
}
i=0
while IFS= read -r f; do
	[ -n "$f" ] || continue
	i=$((i + 1))
	[ "$f" = "$DIR/$NAME" ] && continue
	if [ "$i" -gt "$KEEP" ]; then
		remove_backup "$f"
	elif [ "$KEEP_DAYS" -gt 0 ] && [ -n "$(find "$f" -maxdepth 0 -mtime +"$KEEP_DAYS" 2>/dev/null)" ]; then
		remove_backup "$f"
	fi
done < <(find "$DIR" -maxdepth 1 -type f -name 'rankpulse-*.dump' | LC_ALL=C sort -r)
if [ "$removed" -gt 0 ]; then
	limit="newest $KEEP"
	[ "$KEEP_DAYS" -eq 0 ] || limit="$limit, at most $KEEP_DAYS days old"
	say "removed $removed old backup(s) (keeping the $limit)"
fi

echo "$DIR/$NAME"
