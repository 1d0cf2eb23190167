/*
 * metrics.c — shared-memory counters (see metrics.h).
 *
 * Statuses are bucketed into a fixed list so the segment has a fixed size
 * (about 30 KiB) whatever clients send; anything unexpected counts as
 * "other". The latency histogram is per route with fixed bounds from
 * 0.5 ms to 2.5 s.
 */
#define _DEFAULT_SOURCE
#include "metrics/metrics.h"

#include <stddef.h>
#include <sys/mman.h>
#include <time.h>

#include "core/buf.h"
#include "http/router.h"

static const int tracked_status[] = {200, 201, 204, 304, 400, 401, 403, 404, 405,
				     409, 413, 415, 422, 429, 500, 503};
#define NSTATUS (sizeof(tracked_status) / sizeof(tracked_status[0]) + 1) /* + other */

static const long long bucket_us[METRICS_NBUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};
static const char *const bucket_le[METRICS_NBUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05",   "0.1",   "0.25",   "0.5",   "1",    "2.5"};

static const char *const counter_names[MC_MAX] = {
	[MC_WORKER_RESTARTS] = "rankpulse_worker_restarts_total",
	[MC_DB_ERRORS] = "rankpulse_db_errors_total",
	[MC_DB_RECONNECTS] = "rankpulse_db_reconnects_total",
	[MC_REDIS_ERRORS] = "rankpulse_redis_errors_total",
	[MC_REDIS_RECONNECTS] = "rankpulse_redis_reconnects_total",
	[MC_NCHAN_PUBLISH_FAILURES] = "rankpulse_realtime_publish_failures_total",
};
static const char *const counter_help[MC_MAX] = {
	[MC_WORKER_RESTARTS] = "Workers respawned after an unexpected exit.",
	[MC_DB_ERRORS] = "PostgreSQL errors (connection failures, timeouts, failed statements).",
	[MC_DB_RECONNECTS] = "Successful PostgreSQL (re)connections by workers.",
	[MC_REDIS_ERRORS] = "Redis errors (connection failures, timeouts, error replies).",
	[MC_REDIS_RECONNECTS] = "Successful Redis (re)connections by workers.",
	[MC_NCHAN_PUBLISH_FAILURES] = "Realtime messages that could not be published to nchan.",
};

#define NROWS (METRICS_MAX_ROUTES + 1)

struct metrics {
	int64_t started_at;
	int64_t workers;
	uint64_t counters[MC_MAX];
	uint64_t requests[NROWS][NSTATUS];
	uint64_t buckets[NROWS][METRICS_NBUCKETS];
	uint64_t latency_sum_us[NROWS];
	uint64_t latency_count[NROWS];
};

struct metrics *metrics_new(void)
{
	void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct metrics *m = p; /* zero-filled by mmap */
	m->started_at = (int64_t)time(NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m != NULL)
		munmap(m, sizeof(*m));
}

static void add(uint64_t *x, uint64_t v)
{
	__atomic_fetch_add(x, v, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *x)
{
	return __atomic_load_n(x, __ATOMIC_RELAXED);
}

void metrics_count(struct metrics *m, enum metrics_counter c)
{
	if (m != NULL && (unsigned)c < MC_MAX)
		add(&m->counters[c], 1);
}

void metrics_set_workers(struct metrics *m, int workers)
{
	if (m != NULL)
		__atomic_store_n(&m->workers, (int64_t)workers, __ATOMIC_RELAXED);
}

int64_t metrics_started_at(const struct metrics *m)
{
	return m != NULL ? m->started_at : 0;
}

static size_t status_slot(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (tracked_status[i] == status)
			return i;
	return NSTATUS - 1;
}

void metrics_request(struct metrics *m, int route_index, int status, long long latency_us)
{
	if (m == NULL)
		return;
	size_t row = route_index >= 0 && route_index < METRICS_MAX_ROUTES ? (size_t)route_index
									 : METRICS_UNMATCHED;
	add(&m->requests[row][status_slot(status)], 1);
	if (latency_us < 0)
		latency_us = 0;
	for (size_t b = 0; b < METRICS_NBUCKETS; b++)
		if (latency_us <= bucket_us[b])
			add(&m->buckets[row][b], 1);
	add(&m->latency_sum_us[row], (uint64_t)latency_us);
	add(&m->latency_count[row], 1);
}

static void row_labels(const struct route_table *t, size_t row, const char **method,
		       const char **route)
{
	if (row == METRICS_UNMATCHED || row >= t->nroutes) {
		*method = "";
		*route = "unmatched";
		return;
	}
	*method = http_method_name(t->routes[row].method);
	*route = t->routes[row].pattern;
}

void metrics_render(const struct metrics *m, const struct route_table *t, struct buf *b)
{
	if (m == NULL)
		return;
	buf_puts(b, "# HELP rankpulse_http_requests_total HTTP requests by route, method and status.\n"
		    "# TYPE rankpulse_http_requests_total counter\n");
	for (size_t row = 0; row < NROWS; row++) {
		const char *method, *route;
		row_labels(t, row, &method, &route);
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t v = load(&m->requests[row][s]);
			if (v == 0)
				continue;
			if (s == NSTATUS - 1)
				buf_printf(b, "rankpulse_http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %llu\n",
					   route, method, (unsigned long long)v);
			else
				buf_printf(b, "rankpulse_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
					   route, method, tracked_status[s], (unsigned long long)v);
		}
	}
	buf_puts(b, "# HELP rankpulse_http_request_duration_seconds Time from request start to response written by the worker.\n"
		    "# TYPE rankpulse_http_request_duration_seconds histogram\n");
	for (size_t row = 0; row < NROWS; row++) {
		uint64_t count = load(&m->latency_count[row]);
		if (count == 0)
			continue;
		const char *method, *route;
		row_labels(t, row, &method, &route);
		for (size_t k = 0; k < METRICS_NBUCKETS; k++)
			buf_printf(b, "rankpulse_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%s\"} %llu\n",
				   route, method, bucket_le[k], (unsigned long long)load(&m->buckets[row][k]));
		buf_printf(b, "rankpulse_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n",
			   route, method, (unsigned long long)count);
		buf_printf(b, "rankpulse_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
			   route, method, (double)load(&m->latency_sum_us[row]) / 1e6);
		buf_printf(b, "rankpulse_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
			   route, method, (unsigned long long)count);
	}
	for (int c = 0; c < MC_MAX; c++)
		buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counter_names[c],
			   counter_help[c], counter_names[c], counter_names[c],
			   (unsigned long long)load(&m->counters[c]));
	buf_printf(b, "# HELP rankpulse_workers Configured worker processes.\n# TYPE rankpulse_workers gauge\nrankpulse_workers %lld\n",
		   (long long)__atomic_load_n(&m->workers, __ATOMIC_RELAXED));
	buf_printf(b, "# HELP rankpulse_uptime_seconds Seconds since the master started.\n# TYPE rankpulse_uptime_seconds gauge\nrankpulse_uptime_seconds %lld\n",
		   (long long)(time(NULL) - m->started_at));
}
