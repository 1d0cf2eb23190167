/*
 * outbox.c — see outbox.h.
 */
#include "realtime/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "cache/redis.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "realtime/nchan.h"

/*
 * Number and queue every message of one write atomically. KEYS: the n seq
 * keys, then the n outbox keys; ARGV[1] the cap, then per message head,
 * tail, ttl. Returns the seqs. Atomic, so each outbox holds every channel's
 * messages in seq order.
 */
static const char enqueue_script[] =
	"local n = #KEYS / 2 local cap = tonumber(ARGV[1]) local seqs = {} "
	"for i = 1, n do "
	"local a = 2 + (i - 1) * 3 "
	"local s = redis.call('INCR', KEYS[i]) "
	"if ARGV[a + 2] ~= '0' then redis.call('EXPIRE', KEYS[i], ARGV[a + 2]) end "
	"redis.call('RPUSH', KEYS[n + i], ARGV[a] .. s .. ARGV[a + 1]) "
	"if redis.call('LLEN', KEYS[n + i]) > cap then redis.call('LPOP', KEYS[n + i]) end "
	"seqs[i] = s end "
	"return seqs";

int outbox_partition(const char *channel)
{
	unsigned h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)channel; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (int)(h % OUTBOX_PARTITIONS);
}

/* "<channel>\n{"type":..,"channel":..,"seq":"  and  ","ts":..,"data":..}" */
static bool split_message(struct arena *a, const struct outbox_msg *m, const char **head,
			  const char **tail)
{
	char ts[32];
	time_iso8601(ts);
	struct buf h, t;
	buf_init(&h, a);
	buf_init(&t, a);
	buf_printf(&h, "%s\n{\"type\":\"%s\",\"channel\":", m->channel, m->type);
	buf_json_string(&h, m->channel);
	buf_puts(&h, ",\"seq\":");
	buf_printf(&t, ",\"ts\":\"%s\",\"data\":%s}", ts, m->data);
	*head = h.data;
	*tail = t.data;
	return !h.failed && !t.failed;
}

static void post(const struct nchan_target *t, struct metrics *metrics, const char *channel,
		 const char *body, size_t len)
{
	char path[256];
	int status = 0;
	snprintf(path, sizeof(path), "/pub/%s", channel);
	if (nchan_http(t, "POST", path, body, len, NCHAN_TIMEOUT_MS, &status) != RP_OK ||
	    (status != 201 && status != 202)) {
		metrics_count(metrics, MC_NCHAN_PUBLISH_FAILURES);
		log_warn("realtime publish to %s failed (status %d)", channel, status);
	}
}

/* EVAL argv for n messages: script, numkeys, n seq keys, n queues, cap, n × (head, tail, ttl) */
static const char **enqueue_argv(struct arena *a, const struct outbox_msg *msgs, size_t n,
				 const char **heads, const char **tails, int *argc)
{
	*argc = 4 + 5 * (int)n;
	const char **argv = arena_calloc(a, (size_t)*argc, sizeof(*argv));
	const char *numkeys = arena_printf(a, "%zu", 2 * n);
	if (argv == NULL || numkeys == NULL)
		return NULL;
	argv[0] = "EVAL";
	argv[1] = enqueue_script;
	argv[2] = numkeys;
	argv[3 + 2 * n] = "100000";
	for (size_t i = 0; i < n; i++) {
		if (!split_message(a, &msgs[i], &heads[i], &tails[i]))
			return NULL;
		argv[3 + i] = arena_printf(a, "seq:%s", msgs[i].channel);
		argv[3 + n + i] = arena_printf(a, "rt:outbox:%d", outbox_partition(msgs[i].channel));
		if (argv[3 + i] == NULL || argv[3 + n + i] == NULL)
			return NULL;
		const char **m = &argv[4 + 2 * n + 3 * i];
		m[0] = heads[i];
		m[1] = tails[i];
		/* board channels live forever; per-match/player channels' counters
		 * expire after 30 idle days (a client then sees a restart and refetches) */
		m[2] = strncmp(msgs[i].channel, "leaderboard", 11) == 0 ? "0" : "2592000";
	}
	return argv;
}

void outbox_send(struct app *app, struct arena *a, const struct outbox_msg *msgs, size_t n)
{
	const char **heads = arena_calloc(a, n ? n : 1, sizeof(char *));
	const char **tails = arena_calloc(a, n ? n : 1, sizeof(char *));
	int argc;
	const char **argv = heads && tails && n ? enqueue_argv(a, msgs, n, heads, tails, &argc) : NULL;
	if (argv == NULL)
		return;
	enum rp_err err;
	redisReply *r = rcache_command(app->redis, &err, argc, argv, NULL);
	if (r != NULL) {
		bool ok = err == RP_OK && r->type == REDIS_REPLY_ARRAY && r->elements == n;
		freeReplyObject(r);
		if (ok)
			return;
		log_error("realtime outbox refused a message");
	}
	/* Redis unavailable: publish directly, unnumbered */
	for (size_t i = 0; i < n; i++) {
		const char *nl = strchr(heads[i], '\n');
		const char *body = arena_printf(a, "%snull%s", nl ? nl + 1 : heads[i], tails[i]);
		if (body != NULL)
			post(&app->nchan, app->metrics, msgs[i].channel, body, strlen(body));
	}
}

/*
 * Up to NCHAN_BATCH_MAX queued items, oldest first: LPOP with a count, or —
 * with the queue empty — BLPOP for the next one (at most 0.5 s, below the
 * 1 s command timeout, so stop is noticed). *items point into the reply
 * (caller frees it); NULL reply when Redis failed.
 */
static redisReply *pop_batch(struct rcache *rc, const char *queue, redisReply ***items, size_t *n)
{
	static const char count[] = "64";
	_Static_assert(NCHAN_BATCH_MAX == 64, "LPOP count is the batch size");
	const char *lpop[] = {"LPOP", queue, count};
	const char *blpop[] = {"BLPOP", queue, "0.5"};
	enum rp_err err;
	*n = 0;
	redisReply *r = rcache_command(rc, &err, 3, lpop, NULL);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		*items = r->element;
		*n = r->elements;
		return r;
	}
	if (r == NULL)
		return NULL;
	freeReplyObject(r);
	r = rcache_command(rc, &err, 3, blpop, NULL);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		*items = &r->element[1];
		*n = 1;
	}
	return r;
}

/* Post a batch in order on the kept-alive connection; count and log each failure. */
static void publish_batch(struct nchan_conn *c, struct metrics *m, struct nchan_post *posts,
			  size_t n)
{
	size_t done = 0;
	int fresh_tries = 0;
	while (done < n && fresh_tries < 2) {
		int retry;
		size_t got = nchan_post_batch(c, posts + done, n - done, NCHAN_TIMEOUT_MS, &retry);
		done += got;
		if (!retry)
			break;
		if (got == 0)
			fresh_tries++;
	}
	for (size_t i = 0; i < n; i++) {
		if (posts[i].status == 201 || posts[i].status == 202)
			continue;
		metrics_count(m, MC_NCHAN_PUBLISH_FAILURES);
		log_warn("realtime publish to %s failed (status %d)", posts[i].channel, posts[i].status);
	}
}

/* "<channel>\n<message>" items into posts (split in place); malformed items are skipped. */
static size_t posts_of(redisReply **items, size_t n, struct nchan_post *posts)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < NCHAN_BATCH_MAX; i++) {
		if (items[i]->type != REDIS_REPLY_STRING)
			continue;
		char *item = items[i]->str;
		char *nl = memchr(item, '\n', items[i]->len);
		if (nl == NULL)
			continue;
		*nl = '\0';
		posts[k++] = (struct nchan_post){item, nl + 1, items[i]->len - (size_t)(nl + 1 - item), 0};
	}
	return k;
}

int outbox_publisher_run(const struct rp_config *cfg, struct metrics *m, int partition,
			 volatile sig_atomic_t *stop)
{
	struct nchan_target target;
	if (nchan_target_parse(cfg->nchan_publish_url, &target) != RP_OK) {
		log_error("publisher: bad NCHAN_PUBLISH_URL");
		return 1;
	}
	struct rcache *rc = rcache_new(cfg, m);
	if (rc == NULL)
		return 1;
	char queue[32];
	snprintf(queue, sizeof(queue), "rt:outbox:%d", partition);
	log_debug("publisher for %s ready", queue);
	struct nchan_conn conn;
	struct nchan_post posts[NCHAN_BATCH_MAX];
	nchan_conn_init(&conn, &target);
	while (!*stop) {
		redisReply **items;
		size_t n;
		redisReply *r = pop_batch(rc, queue, &items, &n);
		if (r == NULL) {
			struct timespec ts = {0, 100 * 1000000L};
			nanosleep(&ts, NULL);
			continue;
		}
		publish_batch(&conn, m, posts, posts_of(items, n, posts));
		freeReplyObject(r);
	}
	nchan_conn_free(&conn);
	rcache_free(rc);
	return 0;
}
