/*
 * metrics.h — process-shared counters, rendered as Prometheus text.
 *
 * The master maps one anonymous MAP_SHARED segment before forking, so every
 * worker (and every respawned or reloaded worker) adds into the same
 * counters with relaxed atomics and /api/metrics shows the whole pool.
 * Routes are identified by their index in the route table.
 */
#ifndef RP_METRICS_METRICS_H
#define RP_METRICS_METRICS_H

#include <stdint.h>

struct buf;
struct route_table;

#define METRICS_MAX_ROUTES 128
#define METRICS_UNMATCHED METRICS_MAX_ROUTES /* row for requests without a route */
#define METRICS_NBUCKETS 12

enum metrics_counter {
	MC_WORKER_RESTARTS,
	MC_DB_ERRORS,
	MC_DB_RECONNECTS,
	MC_REDIS_ERRORS,
	MC_REDIS_RECONNECTS,
	MC_NCHAN_PUBLISH_FAILURES,
	MC_MAX
};

struct metrics;

/* Map the shared segment (master, before fork). NULL on failure. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* All functions accept m == NULL (unit tests, one-shot commands). */
void metrics_count(struct metrics *m, enum metrics_counter c);
void metrics_request(struct metrics *m, int route_index, int status, long long latency_us);
void metrics_set_workers(struct metrics *m, int workers);
int64_t metrics_started_at(const struct metrics *m); /* unix seconds */
/* Render Prometheus text exposition format 0.0.4 into b. */
void metrics_render(const struct metrics *m, const struct route_table *t, struct buf *b);

#endif
