#!/bin/sh
# Install the Debian 12 packages Love Rank Pulse needs to build, run and test.
# Idempotent: installs only what is missing. Without root (and without sudo)
# it prints the exact apt command instead and fails.
set -eu

PKGS="build-essential pkg-config make git ca-certificates curl jq
libfcgi-dev libpq-dev libhiredis-dev libjson-c-dev libsodium-dev
postgresql postgresql-client redis-server nginx libnginx-mod-nchan
perl libmojolicious-perl wrk apache2-utils cppcheck clang-format
procps iproute2 passwd util-linux
openssl logrotate stunnel4 systemd shellcheck"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

ensure_nchan_dirs() {
	# nchan 1.3.6 always registers /var/lib/nginx/body as a temp path; nginx
	# refuses to start (even under -p PREFIX) when it cannot be created.
	if [ ! -d /var/lib/nginx/body ] && [ "$(id -u)" -eq 0 ]; then
		install -d -m 0700 -o www-data -g www-data /var/lib/nginx/body 2>/dev/null ||
			install -d -m 0700 /var/lib/nginx/body
	fi
}

if [ -z "$missing" ]; then
	ensure_nchan_dirs
	echo "deps: all packages present"
	exit 0
fi

cmd="apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
else
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root:  apt-get update && $cmd" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
# Do not let package scripts start system-wide services we never use:
# the stack runs its own PostgreSQL, Redis and nginx.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	created_policy=1
fi
rc=0
$SUDO sh -c "$cmd" || rc=$?
[ "$created_policy" -eq 1 ] && $SUDO rm -f "$policy"
[ "$rc" -eq 0 ] && ensure_nchan_dirs
exit $rc
