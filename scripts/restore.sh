#!/usr/bin/env bash
# restore.sh — restore a backup.sh dump into a fresh database, verify it,
# and optionally put it in place of the live one.  Installed as
# `rankpulse-restore`.
#
#   restore.sh [options] DUMP
#     --env-file FILE   the app's configuration: DATABASE_URL names the live
#                       database; REDIS_URL etc. are used by rebuild-cache
#     --admin-url URL   connection for CREATE/ALTER/DROP DATABASE (default:
#                       DATABASE_URL with the database "postgres")
#     --target NAME     the fresh database (default <live>_restore_<UTC ts>)
#     --owner ROLE      its owner (default: the live database's owner)
#     --in-place        after verification: migrate it, swap it with the live
#                       database (live → <live>_old_<ts>), rankpulse rebuild-cache
#     --drop-old        with --in-place: drop <live>_old_<ts> afterwards
#     --keep-acl        restore GRANTs too (the roles must exist)
#     --keep-failed     keep the fresh database when verification fails
#     --no-migrate      with --in-place: skip rankpulse migrate
#     --yes             no question before --in-place (needed without a terminal)
#
# Steps: the .sha256 next to DUMP (if any) must match; pg_restore must list
# it; the expected rows per table are read from the dump itself; a new
# database is created (template0, the live database's owner and locale) and
# the dump restored into it in one transaction (--exit-on-error, no owners);
# ANALYZE; the rows of every table are counted and compared with the dump —
# a mismatch drops the new database and fails.  Without --in-place the live
# database is never touched and the new one is left for inspection.
#
# --in-place: rankpulse migrate runs on the new database (an older backup
# meets a newer binary), then, through the admin connection, the live
# database stops accepting connections, its sessions are terminated (the
# workers reconnect by themselves, to the new one), it is renamed to
# <live>_old_<ts> and the new one takes its name.  `rankpulse rebuild-cache`
# then rebuilds the Redis ranks from the restored data.  Rollback: swap the
# names back (see the message printed at the end).
#
# Needs psql, pg_restore and the rankpulse binary (RANKPULSE_BIN, default
# ../bin/rankpulse next to this script, else rankpulse in PATH).  The admin
# role needs CREATEDB and must own (or be superuser over) the databases.
# Exit status: 0 restored and verified, 1 failed, 2 usage.
set -euo pipefail

PROG=restore
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
usage() { sed -n '/^#   restore.sh/,/^#     --yes/p' "$0" | sed 's/^#   //; 1s/^/usage: /'; }

ENV_FILE=""
ADMIN_URL=""
TARGET=""
OWNER=""
IN_PLACE=0
DROP_OLD=0
KEEP_ACL=0
KEEP_FAILED=0
MIGRATE=1
YES=0
DUMP=""
PSQL=${PSQL:-psql}
PG_RESTORE=${PG_RESTORE:-pg_restore}

while [ $# -gt 0 ]; do
	case $1 in
	--env-file) [ $# -ge 2 ] || die "--env-file needs a value"; ENV_FILE=$2; shift 2 ;;
	--admin-url) [ $# -ge 2 ] || die "--admin-url needs a value"; ADMIN_URL=$2; shift 2 ;;
	--target) [ $# -ge 2 ] || die "--target needs a value"; TARGET=$2; shift 2 ;;
	--owner) [ $# -ge 2 ] || die "--owner needs a value"; OWNER=$2; shift 2 ;;
	--in-place) IN_PLACE=1; shift ;;
	--drop-old) DROP_OLD=1; shift ;;
	--keep-acl) KEEP_ACL=1; shift ;;
	--keep-failed) KEEP_FAILED=1; shift ;;
	--no-migrate) MIGRATE=0; shift ;;
	--yes) YES=1; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) say "unknown option: $1"; usage >&2; exit 2 ;;
	*) [ -z "$DUMP" ] || { say "one dump only"; exit 2; }; DUMP=$1; shift ;;
	esac
done
[ -n "$DUMP" ] || { usage >&2; exit 2; }
[ -r "$DUMP" ] || die "cannot read $DUMP"
[ "$DROP_OLD" -eq 0 ] || [ "$IN_PLACE" -eq 1 ] || die "--drop-old only makes sense with --in-place"

# shellcheck source=scripts/rankpulse-env.sh
. "$(dirname "$0")/rankpulse-env.sh"
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (environment or --env-file)"

if [ -z "${RANKPULSE_BIN:-}" ]; then
	self=$(cd "$(dirname "$0")" && pwd -P)
	if [ -x "$self/../bin/rankpulse" ]; then
		RANKPULSE_BIN=$self/../bin/rankpulse
	elif [ -x "$self/../build/rankpulse" ]; then
		RANKPULSE_BIN=$self/../build/rankpulse
	else
		RANKPULSE_BIN=$(command -v rankpulse || true)
	fi
fi
if [ "$IN_PLACE" -eq 1 ]; then
	if [ -z "$RANKPULSE_BIN" ] || [ ! -x "$RANKPULSE_BIN" ]; then
		die "rankpulse binary not found (set RANKPULSE_BIN); --in-place needs it for migrate and rebuild-cache"
	fi
fi
command -v "$PSQL" >/dev/null || die "$PSQL not found (install postgresql-client)"
command -v "$PG_RESTORE" >/dev/null || die "$PG_RESTORE not found (install postgresql-client)"

# db_url URL NAME: URL with its database replaced by NAME (URI or key=value form).
db_url() {
	case $1 in
	postgres://* | postgresql://*)
		local scheme=${1%%://*} rest=${1#*://} auth_host query=""
		case $rest in *\?*) query="?${rest#*\?}"; rest=${rest%%\?*} ;; esac
		auth_host=${rest%%/*}
		printf '%s://%s/%s%s' "$scheme" "$auth_host" "$2" "$query"
		;;
	*) printf '%s dbname=%s' "$1" "$2" ;;
	esac
}

# sql URL SQL: run SQL (ON_ERROR_STOP), print unaligned tuples.
sql() { "$PSQL" -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

ident_ok() { [[ $1 =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; }

# The dump: checksum, table of contents, expected rows per table.
if [ -f "$DUMP.sha256" ]; then
	(cd "$(dirname "$DUMP")" && sha256sum --check --status "$(basename "$DUMP").sha256") ||
		die "$DUMP does not match $DUMP.sha256 (corrupted or modified)"
	say "checksum ok"
fi
"$PG_RESTORE" --list "$DUMP" >/dev/null 2>&1 || die "$DUMP is not a readable pg_dump custom-format archive"
WORK=$(mktemp -d)
NEW_CREATED=0
NEW_DB=""
ADMIN=""
on_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$NEW_CREATED" -eq 1 ] && [ "$KEEP_FAILED" -eq 0 ]; then
		say "dropping the incomplete database $NEW_DB"
		sql "$ADMIN" "DROP DATABASE IF EXISTS \"$NEW_DB\"" >/dev/null 2>&1 ||
			say "could not drop $NEW_DB; drop it by hand"
	fi
	rm -rf "$WORK"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PG_RESTORE" --data-only --file=- "$DUMP" | awk '
	/^COPY .* FROM stdin;$/ { t = $2; n = 0; inside = 1; next }
	inside && $0 == "\\." { print t "\t" n; inside = 0; next }
	inside { n++ }
	END { if (inside) exit 3 }' | LC_ALL=C sort >"$WORK/expected" ||
	die "cannot read the data of $DUMP"
[ -s "$WORK/expected" ] || die "$DUMP holds no table data"
if [ -f "$DUMP.counts" ] && ! cmp -s "$WORK/expected" "$DUMP.counts"; then
	die "$DUMP.counts (written at backup time) disagrees with the dump's data"
fi

# The live database, the admin connection, the new database's name.
LIVE=$(sql "$DATABASE_URL" "SELECT current_database()" 2>/dev/null || true)
if [ -z "$LIVE" ]; then
	case $DATABASE_URL in
	postgres://* | postgresql://*) LIVE=${DATABASE_URL#*://}; LIVE=${LIVE%%\?*}; LIVE=${LIVE#*/} ;;
	*) LIVE=$(printf '%s\n' "$DATABASE_URL" | tr ' ' '\n' | sed -n 's/^dbname=//p' | tail -n 1) ;;
	esac
	say "the live database does not answer; restoring for '$LIVE'"
fi
ident_ok "$LIVE" || die "cannot tell the live database's name from DATABASE_URL (got '$LIVE')"
ADMIN=${ADMIN_URL:-$(db_url "$DATABASE_URL" postgres)}
sql "$ADMIN" "SELECT 1" >/dev/null || die "cannot connect with the admin URL (use --admin-url)"
TS=$(date -u +%Y%m%d%H%M%S)
NEW_DB=${TARGET:-${LIVE}_restore_$TS}
ident_ok "$NEW_DB" || die "bad --target '$NEW_DB' (lower case letters, digits, _; at most 63)"
[ "$NEW_DB" != "$LIVE" ] || die "--target must differ from the live database"
[ -z "$(sql "$ADMIN" "SELECT 1 FROM pg_database WHERE datname = '$NEW_DB'")" ] ||
	die "database $NEW_DB already exists"

LIVE_EXISTS=$(sql "$ADMIN" "SELECT 1 FROM pg_database WHERE datname = '$LIVE'")
LOCALE=""
if [ -n "$LIVE_EXISTS" ]; then
	[ -n "$OWNER" ] || OWNER=$(sql "$ADMIN" "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$LIVE'")
	LOCALE=$(sql "$ADMIN" "SELECT format(' LC_COLLATE %L LC_CTYPE %L', datcollate, datctype) FROM pg_database WHERE datname = '$LIVE'")
fi
ADMIN_USER=$(sql "$ADMIN" "SELECT current_user")
[ -n "$OWNER" ] || OWNER=$ADMIN_USER
[[ $OWNER =~ ^[A-Za-z_][A-Za-z0-9_-]{0,62}$ ]] || die "bad owner role '$OWNER'"

say "creating database $NEW_DB (owner $OWNER)"
sql "$ADMIN" "CREATE DATABASE \"$NEW_DB\" OWNER \"$OWNER\" TEMPLATE template0 ENCODING 'UTF8'$LOCALE" >/dev/null ||
	die "CREATE DATABASE failed"
NEW_CREATED=1

NEW_ADMIN_URL=$(db_url "$ADMIN" "$NEW_DB")
restore_args=(--exit-on-error --single-transaction --no-owner)
[ "$KEEP_ACL" -eq 1 ] || restore_args+=(--no-acl)
[ "$OWNER" = "$ADMIN_USER" ] || restore_args+=("--role=$OWNER")
START=$(date +%s)
say "restoring $DUMP"
"$PG_RESTORE" "${restore_args[@]}" --dbname="$NEW_ADMIN_URL" "$DUMP" || die "pg_restore failed"
sql "$NEW_ADMIN_URL" "ANALYZE" >/dev/null || die "ANALYZE failed"

# Verify: the rows of every table against the dump.
query=""
while IFS=$'\t' read -r table _; do
	[ -n "$query" ] && query="$query UNION ALL "
	query="${query}SELECT '$table' || E'\\t' || count(*) FROM $table"
done <"$WORK/expected"
sql "$NEW_ADMIN_URL" "$query" | LC_ALL=C sort >"$WORK/actual" || die "cannot count the restored rows"
if ! cmp -s "$WORK/expected" "$WORK/actual"; then
	say "row counts differ (table, expected, restored):"
	join -t $'\t' -a 1 -a 2 -e '-' -o 0,1.2,2.2 "$WORK/expected" "$WORK/actual" |
		awk -F'\t' '$2 != $3 { print "  " $0 }' >&2 || true
	die "verification failed"
fi
TABLES=$(wc -l <"$WORK/expected" | tr -d ' ')
ROWS=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$WORK/expected")
say "verified: $TABLES tables, $ROWS rows, as in the dump ($(($(date +%s) - START)) s)"

if [ "$IN_PLACE" -eq 0 ]; then
	NEW_CREATED=0
	say "restored into $NEW_DB; the live database $LIVE is untouched."
	say "to use it: rerun with --in-place, or point DATABASE_URL at $NEW_DB and run rankpulse migrate + rebuild-cache"
	echo "$NEW_DB"
	exit 0
fi

if [ "$YES" -eq 0 ]; then
	[ -t 0 ] || die "--in-place replaces the live database $LIVE; add --yes to confirm without a terminal"
	printf 'Replace the live database %s with the restored copy? [y/N] ' "$LIVE" >&2
	read -r answer
	case $answer in y | Y | yes) ;; *) die "not confirmed" ;; esac
fi

if [ "$MIGRATE" -eq 1 ]; then
	say "rankpulse migrate on $NEW_DB"
	# The real environment wins over --env-file: DATABASE_URL points at the new database.
	mig_args=(migrate)
	[ -z "$ENV_FILE" ] || mig_args+=(--env-file "$ENV_FILE")
	DATABASE_URL=$(db_url "$DATABASE_URL" "$NEW_DB") "$RANKPULSE_BIN" "${mig_args[@]}" ||
		die "rankpulse migrate failed on $NEW_DB"
fi

OLD_DB=${LIVE}_old_$TS
if [ -n "$LIVE_EXISTS" ]; then
	ident_ok "$OLD_DB" || OLD_DB=${LIVE:0:40}_old_$TS
	say "swapping: $LIVE → $OLD_DB, $NEW_DB → $LIVE"
	sql "$ADMIN" "ALTER DATABASE \"$LIVE\" WITH ALLOW_CONNECTIONS false" >/dev/null ||
		die "cannot close $LIVE to new connections"
	swapped=0
	for _ in $(seq 1 50); do
		sql "$ADMIN" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = '$LIVE' AND pid <> pg_backend_pid()" >/dev/null || true
		if sql "$ADMIN" "ALTER DATABASE \"$LIVE\" RENAME TO \"$OLD_DB\"" >/dev/null 2>&1; then
			swapped=1
			break
		fi
		sleep 0.2
	done
	if [ "$swapped" -eq 0 ]; then
		sql "$ADMIN" "ALTER DATABASE \"$LIVE\" WITH ALLOW_CONNECTIONS true" >/dev/null || true
		die "sessions kept $LIVE busy; nothing was swapped (the restored copy stays as $NEW_DB)"
	fi
	sql "$ADMIN" "ALTER DATABASE \"$NEW_DB\" RENAME TO \"$LIVE\"" >/dev/null || {
		sql "$ADMIN" "ALTER DATABASE \"$OLD_DB\" RENAME TO \"$LIVE\"" >/dev/null || true
		sql "$ADMIN" "ALTER DATABASE \"$LIVE\" WITH ALLOW_CONNECTIONS true" >/dev/null || true
		die "could not rename $NEW_DB to $LIVE; the previous database is back in place"
	}
	sql "$ADMIN" "ALTER DATABASE \"$OLD_DB\" WITH ALLOW_CONNECTIONS true" >/dev/null || true
else
	sql "$ADMIN" "ALTER DATABASE \"$NEW_DB\" RENAME TO \"$LIVE\"" >/dev/null ||
		die "could not rename $NEW_DB to $LIVE"
fi
NEW_CREATED=0

say "rankpulse rebuild-cache"
rb_args=(rebuild-cache)
[ -z "$ENV_FILE" ] || rb_args+=(--env-file "$ENV_FILE")
if ! "$RANKPULSE_BIN" "${rb_args[@]}"; then
	say "warning: rebuild-cache failed; the app rebuilds missing ranks from PostgreSQL by itself"
fi

if [ -n "$LIVE_EXISTS" ]; then
	if [ "$DROP_OLD" -eq 1 ]; then
		sql "$ADMIN" "DROP DATABASE \"$OLD_DB\"" >/dev/null || say "warning: could not drop $OLD_DB"
		say "dropped the previous database"
	else
		say "the previous database is kept as $OLD_DB; rollback: rename $LIVE away and $OLD_DB back to $LIVE, then rebuild-cache; or DROP DATABASE \"$OLD_DB\" when satisfied"
	fi
fi
say "done: $LIVE now holds the restored data"
echo "$LIVE"
