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

static const char enqueue_script[] =
	"local s = redis.call('INCR', KEYS[1]) "
	"if ARGV[4] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[4]) end "
	"redis.call('RPUSH', KEYS[2], ARGV[1] .. s .. ARGV[2]) "
	"if redis.call('LLEN', KEYS[2]) > tonumber(ARGV[3]) then redis.call('LPOP', KEYS[2]) end "
	"return s";

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

void outbox_send(struct app *app, struct arena *a, const struct outbox_msg *msgs, size_t n)
{
	struct rcache_cmd *cmds = arena_calloc(a, n ? n : 1, sizeof(*cmds));
	redisReply **rep = arena_calloc(a, n ? n : 1, sizeof(*rep));
	const char **heads = arena_calloc(a, n ? n : 1, sizeof(char *));
	const char **tails = arena_calloc(a, n ? n : 1, sizeof(char *));
	if (cmds == NULL || rep == NULL || heads == NULL || tails == NULL)
		return;
	static const char cap[] = "100000";
	for (size_t i = 0; i < n; i++) {
		if (!split_message(a, &msgs[i], &heads[i], &tails[i]))
			return;
		const char *seqkey = arena_printf(a, "seq:%s", msgs[i].channel);
		const char *queue = arena_printf(a, "rt:outbox:%d", outbox_partition(msgs[i].channel));
		if (seqkey == NULL || queue == NULL)
			return;
		/* board channels live forever; per-match/player channels' counters
		 * expire after 30 idle days (a client then sees a restart and refetches) */
		const char *ttl = strncmp(msgs[i].channel, "leaderboard", 11) == 0 ? "0" : "2592000";
		cmds[i] = (struct rcache_cmd){9, {"EVAL", enqueue_script, "2", seqkey, queue, heads[i], tails[i], cap, ttl}, {0}};
	}
	if (rcache_pipeline(app->redis, n, cmds, rep) == RP_OK) {
		bool ok = true;
		for (size_t i = 0; i < n; i++)
			ok = ok && rep[i] != NULL && rep[i]->type == REDIS_REPLY_INTEGER;
		rcache_free_replies(n, rep);
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
	while (!*stop) {
		/* block at most 0.5 s (below the 1 s command timeout) so stop is noticed */
		const char *argv[] = {"BLPOP", queue, "0.5"};
		enum rp_err err;
		redisReply *r = rcache_command(rc, &err, 3, argv, NULL);
		if (r == NULL) {
			struct timespec ts = {0, 100 * 1000000L};
			nanosleep(&ts, NULL);
			continue;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			char *item = r->element[1]->str;
			char *nl = memchr(item, '\n', r->element[1]->len);
			if (nl != NULL) {
				*nl = '\0';
				post(&target, m, item, nl + 1, r->element[1]->len - (size_t)(nl + 1 - item));
			}
		}
		freeReplyObject(r);
	}
	rcache_free(rc);
	return 0;
}
