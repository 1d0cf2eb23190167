#!/bin/sh
# install.sh — what `make install` runs (mk/install.mk): installs the binary,
# the systemd units, the nginx templates, the static files, the operator
# scripts and the documentation under PREFIX, staged in DESTDIR.
#
#   make install                          PREFIX=/usr/local, DESTDIR empty
#   make install PREFIX=/usr DESTDIR=/tmp/pkg
#
# Environment: DESTDIR, PREFIX (/usr/local), RANKPULSE_BIN (build/rankpulse),
# SYSCONFDIR (/etc), SYSTEMD_UNITDIR (PREFIX/lib/systemd/system).
#
# Layout (PREFIX-relative unless absolute):
#   bin/rankpulse
#   sbin/rankpulse-render-nginx  rankpulse-backup  rankpulse-restore  rankpulse-env.sh
#   lib/systemd/system/rankpulse.service .socket, rankpulse-migrate.service,
#       rankpulse-backup.service .timer, nginx.service.d/rankpulse.conf
#   lib/sysusers.d/rankpulse.conf   lib/tmpfiles.d/rankpulse.conf
#   share/rankpulse/nginx/       nginx.conf (production template), container.conf.in,
#                                rankpulse-locations.conf, fastcgi_params.conf, nchan-*.conf
#   share/rankpulse/www/         the demo page and nginx's problem+json bodies (_problem/)
#   share/doc/rankpulse/         README, CHANGELOG, docs/*.md, examples/
#   SYSCONFDIR/rankpulse/rankpulse.env.example
#   SYSCONFDIR/logrotate.d/rankpulse-nginx      (only if not there yet)
# The units name PREFIX/bin/rankpulse and PREFIX/sbin/rankpulse-backup
# (the files in conf/systemd/ say /usr/local; it is rewritten to PREFIX).
#
# Nothing is started, enabled or created beyond files: no users, no
# /etc/rankpulse/rankpulse.env (it holds secrets; copy the example), no
# nginx configuration (rankpulse-render-nginx does that).  The next steps are
# printed at the end.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
SYSTEMD_UNITDIR=${SYSTEMD_UNITDIR:-$PREFIX/lib/systemd/system}
RANKPULSE_BIN=${RANKPULSE_BIN:-build/rankpulse}

say() { printf 'install: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

case $PREFIX in /*) ;; *) die "PREFIX must be absolute (got '$PREFIX')" ;; esac
case $PREFIX in *[!A-Za-z0-9._/+-]*) die "PREFIX contains unusual characters: '$PREFIX'" ;; esac
case $SYSCONFDIR in /*) ;; *) die "SYSCONFDIR must be absolute" ;; esac
case $SYSTEMD_UNITDIR in /*) ;; *) die "SYSTEMD_UNITDIR must be absolute" ;; esac
case $RANKPULSE_BIN in /*) ;; *) RANKPULSE_BIN=$REPO/$RANKPULSE_BIN ;; esac
[ -x "$RANKPULSE_BIN" ] || die "no rankpulse binary at $RANKPULSE_BIN (run make first)"

ROOT=${DESTDIR%/}
BINDIR=$ROOT$PREFIX/bin
SBINDIR=$ROOT$PREFIX/sbin
SHARE=$ROOT$PREFIX/share/rankpulse
DOCDIR=$ROOT$PREFIX/share/doc/rankpulse
UNITDIR=$ROOT$SYSTEMD_UNITDIR
LIBDIR=$ROOT$PREFIX/lib
ETC=$ROOT$SYSCONFDIR

umask 022

# inst MODE SRC DEST: install a file (atomically, via install(1)).
inst() {
	install -m "$1" "$2" "$3" || die "cannot install $2 as $3"
}

install -d -m 0755 "$BINDIR" "$SBINDIR" "$SHARE/nginx" "$SHARE/www/_problem" \
	"$DOCDIR/examples" "$UNITDIR" "$UNITDIR/nginx.service.d" "$LIBDIR/sysusers.d" \
	"$LIBDIR/tmpfiles.d" "$ETC/rankpulse" "$ETC/logrotate.d"

# The program and the operator scripts.
inst 0755 "$RANKPULSE_BIN" "$BINDIR/rankpulse"
inst 0755 "$REPO/scripts/render-nginx.sh" "$SBINDIR/rankpulse-render-nginx"
inst 0755 "$REPO/scripts/backup.sh" "$SBINDIR/rankpulse-backup"
inst 0755 "$REPO/scripts/restore.sh" "$SBINDIR/rankpulse-restore"
inst 0644 "$REPO/scripts/rankpulse-env.sh" "$SBINDIR/rankpulse-env.sh"

# systemd: units with PREFIX in their paths, sysusers/tmpfiles snippets.
rewrite_prefix() {
	sed -e "s|/usr/local/bin/|$PREFIX/bin/|g" -e "s|/usr/local/sbin/|$PREFIX/sbin/|g" "$1"
}
for u in rankpulse.service rankpulse.socket rankpulse-migrate.service \
	rankpulse-backup.service rankpulse-backup.timer; do
	rewrite_prefix "$REPO/conf/systemd/$u" >"$UNITDIR/$u.tmp"
	chmod 0644 "$UNITDIR/$u.tmp"
	mv -f "$UNITDIR/$u.tmp" "$UNITDIR/$u"
done
inst 0644 "$REPO/conf/systemd/nginx-rankpulse.conf" "$UNITDIR/nginx.service.d/rankpulse.conf"
inst 0644 "$REPO/conf/systemd/rankpulse.sysusers" "$LIBDIR/sysusers.d/rankpulse.conf"
inst 0644 "$REPO/conf/systemd/rankpulse.tmpfiles" "$LIBDIR/tmpfiles.d/rankpulse.conf"

# nginx templates (rendered by rankpulse-render-nginx).
inst 0644 "$REPO/nginx.conf" "$SHARE/nginx/nginx.conf"
inst 0644 "$REPO/docker/nginx.conf.in" "$SHARE/nginx/container.conf.in"
for f in rankpulse-locations.conf fastcgi_params.conf nchan-memory.conf nchan-redis.conf \
	nchan-redis-upstream.conf.in; do
	inst 0644 "$REPO/conf/nginx/$f" "$SHARE/nginx/$f"
done

# Static files: the demo page, and nginx's own error bodies under _problem/.
if [ -d "$REPO/conf/www" ]; then
	for f in "$REPO"/conf/www/*; do
		[ -f "$f" ] && inst 0644 "$f" "$SHARE/www/$(basename "$f")"
	done
fi
for f in "$REPO"/conf/errors/*.json; do
	inst 0644 "$f" "$SHARE/www/_problem/$(basename "$f")"
done

# Documentation and examples.
for f in README.md CHANGELOG.md; do
	[ -f "$REPO/$f" ] && inst 0644 "$REPO/$f" "$DOCDIR/$f"
done
if [ -d "$REPO/docs" ]; then
	for f in "$REPO"/docs/*.md; do
		[ -f "$f" ] && inst 0644 "$f" "$DOCDIR/$(basename "$f")"
	done
fi
[ -f "$REPO/conf/systemd/README.md" ] && inst 0644 "$REPO/conf/systemd/README.md" "$DOCDIR/systemd.md"
inst 0644 "$REPO/.env.example" "$DOCDIR/examples/rankpulse.env.example"
inst 0644 "$REPO/conf/stunnel/redis-client.conf" "$DOCDIR/examples/stunnel-redis-client.conf"
inst 0644 "$REPO/conf/logrotate/rankpulse-nginx" "$DOCDIR/examples/logrotate-rankpulse-nginx"

# /etc: the example next to where the real file goes; logrotate only once.
inst 0644 "$REPO/.env.example" "$ETC/rankpulse/rankpulse.env.example"
if [ -e "$ETC/logrotate.d/rankpulse-nginx" ]; then
	say "kept the existing $ETC/logrotate.d/rankpulse-nginx (new version in $DOCDIR/examples/)"
else
	inst 0644 "$REPO/conf/logrotate/rankpulse-nginx" "$ETC/logrotate.d/rankpulse-nginx"
fi

say "installed rankpulse into ${DESTDIR:+$DESTDIR }$PREFIX"
if [ -z "$DESTDIR" ]; then
	cat >&2 <<EOF
install: next steps (see $PREFIX/share/doc/rankpulse/systemd.md):
  systemd-sysusers && systemd-tmpfiles --create    # user rankpulse, /run/rankpulse
  install -m 0640 -g rankpulse $SYSCONFDIR/rankpulse/rankpulse.env.example $SYSCONFDIR/rankpulse/rankpulse.env   # then edit it
  systemctl daemon-reload && systemctl start rankpulse-migrate && systemctl enable --now rankpulse rankpulse-backup.timer
  rankpulse-render-nginx --server-name HOST --cert FULLCHAIN --key KEY && systemctl reload nginx
EOF
fi
