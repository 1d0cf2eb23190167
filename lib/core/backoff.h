/*
 * backoff.h — reconnect pacing for worker-scoped connections.
 * After a failure the next attempt waits delay_us, doubling up to max_us;
 * a success resets it. Callers that are inside the wait window fail fast
 * instead of blocking a request on a dead dependency.
 */
#ifndef RP_CORE_BACKOFF_H
#define RP_CORE_BACKOFF_H

#include <stdbool.h>

struct backoff {
	long long next_us;  /* monotonic time of the next allowed attempt */
	long long delay_us; /* current delay; 0 = no failure yet */
	long long min_us;
	long long max_us;
};

void backoff_init(struct backoff *b, long long min_us, long long max_us);
bool backoff_ready(const struct backoff *b, long long now_us);
void backoff_failed(struct backoff *b, long long now_us);
void backoff_succeeded(struct backoff *b);

#endif
