# syntax=docker/dockerfile:1
# Love Rank Pulse — container image: nginx + nchan + the FastCGI workers in
# one container, as an unprivileged user, configured only through the
# environment.  TLS belongs to the proxy / load balancer in front.
#
#   docker build -t rankpulse --build-arg GIT_REV=$(git rev-parse --short=12 HEAD) .
#   docker run -d --name rankpulse -p 8080:8080 --stop-timeout 15 \
#     -e APP_ENV=production \
#     -e DATABASE_URL='postgresql://rankpulse:...@db.internal/rankpulse?sslmode=require' \
#     -e REDIS_URL='redis://:...@redis.internal:6379/0' \
#     -e JWT_SECRET="$(openssl rand -hex 32)" \
#     -e ALLOWED_ORIGINS=https://app.example.com -e TRUSTED_PROXIES=10.0.0.0/8 \
#     rankpulse
#   docker run --rm -e DATABASE_URL=... rankpulse migrate    # one-off commands
#
# docker/entrypoint.sh is PID 1: it checks the configuration, migrates
# (MIGRATE_ON_START=1), renders nginx's configuration from the environment,
# runs `rankpulse serve` and nginx in the foreground and stops both on
# SIGTERM.  Writable paths: /run/rankpulse (sockets) and /var/lib/rankpulse
# (nginx state) — so --read-only works with tmpfs mounts there and on /tmp.
# nginx's microcache goes to /dev/shm (a tmpfs in every container; 32 MiB at
# most of docker's default 64 MiB) unless RP_CACHE_DIR says otherwise.
# Logs: JSON lines on stdout (nginx access) and stderr (app, nginx errors).

ARG DEBIAN_IMAGE=debian:12-slim

# ---------------------------------------------------------------- build
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config make ca-certificates \
      libfcgi-dev libpq-dev libhiredis-dev libjson-c-dev libsodium-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile .env.example nginx.conf README.md CHANGELOG.md ./
COPY mk/ mk/
COPY fcgi/ fcgi/
COPY lib/ lib/
COPY migrations/ migrations/
COPY scripts/ scripts/
COPY conf/ conf/
COPY docker/ docker/
COPY docs/ docs/
ARG GIT_REV=unknown
RUN make -j"$(nproc)" all GIT_REV="$GIT_REV" \
 && ./build/rankpulse version \
 && DESTDIR=/out PREFIX=/usr RANKPULSE_BIN=build/rankpulse sh scripts/install.sh \
 && install -m 0755 docker/entrypoint.sh /out/usr/sbin/rankpulse-entrypoint

# ---------------------------------------------------------------- runtime
FROM ${DEBIAN_IMAGE}
# policy-rc.d: the nginx package must not try to start a daemon at build time.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libfcgi0ldbl libpq5 libhiredis0.14 libjson-c5 libsodium23 \
      nginx libnginx-mod-nchan curl ca-certificates procps \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && groupadd --system --gid 10001 rankpulse \
 && useradd --system --uid 10001 --gid rankpulse --home-dir /var/lib/rankpulse \
      --no-create-home --shell /usr/sbin/nologin rankpulse \
 && install -d -m 0750 -o rankpulse -g rankpulse /run/rankpulse /var/lib/rankpulse \
 && install -d -m 0700 -o rankpulse -g rankpulse /var/lib/nginx/body
COPY --from=build /out/ /

ENV APP_ENV=production \
    PORT=8080 \
    LOG_LEVEL=info \
    FCGI_SOCKET=/run/rankpulse/rankpulse.sock \
    NCHAN_PUBLISH_URL=unix:/run/rankpulse/nchan.sock \
    MIGRATE_ON_START=1
USER 10001:10001
WORKDIR /var/lib/rankpulse
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${PORT:-8080}/api/health/live" || exit 1
ENTRYPOINT ["/usr/sbin/rankpulse-entrypoint"]
CMD ["serve"]
