/*
 * ratelimit.h — fixed-window counters in Redis, with a per-worker budget
 * for when Redis is away.
 *
 * A window is one Redis key: INCR, and EXPIRE when the count is new, in one
 * atomic Lua call, so a key can never be left without its TTL. The TTL is
 * what a 429 reports as Retry-After.
 *
 * Redis down: the callers fail closed beyond a small per-worker budget
 * (ratelimit_local_take): a few attempts per minute per worker still pass,
 * so an outage does not lock everyone out, but an attacker cannot use it to
 * guess passwords at full speed.
 */
#ifndef RP_AUTH_RATELIMIT_H
#define RP_AUTH_RATELIMIT_H

#include <stdbool.h>

#include "config/config.h"
#include "core/err.h"

struct rcache;

#define RATELIMIT_LOCAL_BUDGET 10 /* attempts per minute per worker without Redis */

struct local_budget {
	long long window_start_us;
	unsigned used;
};

/* Count one event. RP_OK under the limit, RP_ERATELIMIT over it (*retry_after
 * set), RP_EUNAVAIL when Redis cannot be asked. */
enum rp_err ratelimit_hit(struct rcache *rc, const char *key, struct rate_limit lim,
			  unsigned *retry_after) RP_MUSTCHECK;
/* Like ratelimit_hit but without counting: is the key already at its limit? */
enum rp_err ratelimit_check(struct rcache *rc, const char *key, struct rate_limit lim,
			    unsigned *retry_after) RP_MUSTCHECK;
enum rp_err ratelimit_clear(struct rcache *rc, const char *key) RP_MUSTCHECK;
/* Per-worker fallback: true while fewer than RATELIMIT_LOCAL_BUDGET were
 * taken in the current minute. */
bool ratelimit_local_take(struct local_budget *b);

#endif
