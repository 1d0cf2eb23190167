#include "auth/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "cache/redis.h"
#include "core/log.h"

static const char hit_script[] =
	"local c = redis.call('INCR', KEYS[1]) "
	"if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
	"local t = redis.call('TTL', KEYS[1]) "
	"if t < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end "
	"return {c, t}";

static const char check_script[] =
	"local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
	"local t = redis.call('TTL', KEYS[1]) "
	"return {c, t}";

static enum rp_err run(struct rcache *rc, const char *script, const char *key,
		       struct rate_limit lim, unsigned *retry_after)
{
	char secs[16];
	snprintf(secs, sizeof(secs), "%u", lim.seconds);
	const char *argv[] = {"EVAL", script, "1", key, secs};
	enum rp_err err;
	redisReply *r = rcache_command(rc, &err, 5, argv, NULL);
	if (r == NULL || err != RP_OK || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		if (r != NULL)
			freeReplyObject(r);
		return RP_EUNAVAIL;
	}
	long long count = r->element[0]->integer;
	long long ttl = r->element[1]->integer;
	freeReplyObject(r);
	*retry_after = ttl > 0 ? (unsigned)ttl : lim.seconds;
	return count > (long long)lim.count ? RP_ERATELIMIT : RP_OK;
}

enum rp_err ratelimit_hit(struct rcache *rc, const char *key, struct rate_limit lim,
			  unsigned *retry_after)
{
	return run(rc, hit_script, key, lim, retry_after);
}

enum rp_err ratelimit_check(struct rcache *rc, const char *key, struct rate_limit lim,
			    unsigned *retry_after)
{
	/* at the limit already means the next attempt would exceed it */
	lim.count = lim.count > 0 ? lim.count - 1 : 0;
	return run(rc, check_script, key, lim, retry_after);
}

enum rp_err ratelimit_clear(struct rcache *rc, const char *key)
{
	const char *argv[] = {"DEL", key};
	enum rp_err err;
	redisReply *r = rcache_command(rc, &err, 2, argv, NULL);
	if (r != NULL)
		freeReplyObject(r);
	return err;
}

bool ratelimit_local_take(struct local_budget *b)
{
	long long now = clock_us();
	if (b->window_start_us == 0 || now - b->window_start_us >= 60000000LL) {
		b->window_start_us = now;
		b->used = 0;
	}
	if (b->used >= RATELIMIT_LOCAL_BUDGET)
		return false;
	b->used++;
	return true;
}
