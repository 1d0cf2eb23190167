/*
 * app.h — the worker-scoped application context and the request pipeline.
 *
 * A worker creates one struct app after fork: it owns the worker's
 * PostgreSQL and Redis connections and points at the shared metrics.
 * app_handle() is the whole request pipeline: request id, limits, routing,
 * body parsing, the handler, problem rendering, metrics and the access log.
 * It always produces a response.
 */
#ifndef RP_API_APP_H
#define RP_API_APP_H

#include <stdbool.h>

#include "core/err.h"
#include "http/http.h"
#include "http/router.h"
#include "realtime/nchan.h"

struct rp_config;
struct db;
struct rcache;
struct metrics;

struct health_check {
	long long checked_us; /* monotonic; 0 = never */
	enum rp_err result;
};

struct app {
	const struct rp_config *config;
	struct db *db;
	struct rcache *redis;
	struct metrics *metrics;
	const struct route_table *routes;
	struct nchan_target nchan;
	/* per-worker health cache (≤ 1 s) */
	struct health_check health_db, health_redis, health_nchan, health_migrations;
};

enum rp_err app_init(struct app *app, const struct rp_config *cfg, struct metrics *m) RP_MUSTCHECK;
void app_free(struct app *app);
/* Open the database and Redis connections ahead of the first request;
 * failures are ignored (requests will retry with back-off). */
void app_warm(struct app *app);
/* Deferred work, run by the worker after the response has been sent. */
void app_after_response(struct app *app);
/* Run the pipeline; res is always filled. */
void app_handle(struct app *app, struct request *req, struct response *res);
/* Route table of the API (lib/api/routes.c). */
const struct route_table *api_routes(void);
/* True for 127.0.0.1, ::1 and unix-socket peers (empty REMOTE_ADDR). */
bool remote_is_loopback(const char *addr);

#endif
