/*
 * health.c — /health, /health/live, /health/ready and /metrics.
 *
 * Dependency checks are cached per worker for HEALTH_CACHE_US so that a
 * load balancer polling every worker, or a benchmark, costs one PING per
 * dependency per second per worker, not one per request. Health bodies are
 * JSON even for 503 (load balancers and the seed's scripts read them).
 *
 *   healthy   — database, Redis and nchan answer          → 200
 *   degraded  — database answers; Redis or nchan does not → 200
 *   unhealthy — database does not answer                  → 503
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
#include "api/handlers.h"
#include "cache/redis.h"
#include "core/log.h"
#include "core/version.h"
#include "metrics/metrics.h"
#include "store/db.h"
#include "store/migrate.h"

#define HEALTH_CACHE_US 1000000LL

typedef enum rp_err (*check_fn)(struct app *app);

static enum rp_err check_db(struct app *app)
{
	enum rp_err e;
	PGresult *r = db_query(app->db, STMT_PING, NULL, &e);
	PQclear(r);
	return e == RP_OK ? RP_OK : RP_EUNAVAIL;
}

static enum rp_err check_redis(struct app *app)
{
	return rcache_ping(app->redis);
}

static enum rp_err check_nchan(struct app *app)
{
	return nchan_check(&app->nchan);
}

static enum rp_err check_migrations(struct app *app)
{
	enum rp_err e;
	PGresult *r = db_query(app->db, STMT_MIGRATION_VERSION, NULL, &e);
	if (r == NULL)
		return e == RP_EUNAVAIL ? RP_EUNAVAIL : RP_ECONFLICT;
	int v = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return v >= migrations_latest() ? RP_OK : RP_ECONFLICT;
}

static enum rp_err cached(struct health_check *hc, check_fn fn, struct app *app)
{
	long long now = clock_us();
	if (hc->checked_us == 0 || now - hc->checked_us >= HEALTH_CACHE_US) {
		hc->result = fn(app);
		hc->checked_us = clock_us();
	}
	return hc->result;
}

static long long uptime_s(const struct app *app)
{
	int64_t started = metrics_started_at(app->metrics);
	return started > 0 ? (long long)(time(NULL) - started) : 0;
}

static void no_store(struct response *res)
{
	response_header(res, "Cache-Control", "no-store");
}

enum rp_err handle_health(struct request *req, struct response *res)
{
	struct app *app = req->app;
	bool db = cached(&app->health_db, check_db, app) == RP_OK;
	bool redis = cached(&app->health_redis, check_redis, app) == RP_OK;
	bool ws = cached(&app->health_nchan, check_nchan, app) == RP_OK;
	const char *status = !db ? "unhealthy" : (redis && ws) ? "healthy" : "degraded";
	char ts[32];
	time_iso8601(ts);
	buf_printf(&res->body,
		   "{\"status\":\"%s\",\"timestamp\":\"%s\",\"uptime\":%lld,\"version\":\"%s\","
		   "\"services\":{\"database\":\"%s\",\"redis\":\"%s\",\"websocket\":\"%s\"}}",
		   status, ts, uptime_s(app), RP_VERSION, db ? "connected" : "disconnected",
		   redis ? "connected" : "disconnected", ws ? "running" : "unavailable");
	res->status = db ? 200 : 503;
	no_store(res);
	if (!db)
		response_header(res, "Retry-After", "5");
	return RP_OK;
}

enum rp_err handle_health_live(struct request *req, struct response *res)
{
	char ts[32];
	time_iso8601(ts);
	buf_printf(&res->body, "{\"status\":\"alive\",\"timestamp\":\"%s\",\"uptime\":%lld,\"pid\":%ld}",
		   ts, uptime_s(req->app), (long)getpid());
	no_store(res);
	return RP_OK;
}

enum rp_err handle_health_ready(struct request *req, struct response *res)
{
	struct app *app = req->app;
	bool db = cached(&app->health_db, check_db, app) == RP_OK;
	enum rp_err mig = db ? cached(&app->health_migrations, check_migrations, app) : RP_EUNAVAIL;
	bool ready = db && mig == RP_OK;
	char ts[32];
	time_iso8601(ts);
	buf_printf(&res->body,
		   "{\"status\":\"%s\",\"timestamp\":\"%s\",\"checks\":{\"database\":\"%s\","
		   "\"migrations\":\"%s\"},\"schemaVersion\":%d}",
		   ready ? "ready" : "not_ready", ts, db ? "connected" : "disconnected",
		   mig == RP_OK ? "current" : mig == RP_ECONFLICT ? "pending" : "unknown",
		   migrations_latest());
	res->status = ready ? 200 : 503;
	no_store(res);
	return RP_OK;
}

enum rp_err handle_metrics(struct request *req, struct response *res)
{
	metrics_render(req->app->metrics, req->app->routes, &res->body);
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	no_store(res);
	return RP_OK;
}
