/*
 * outbox.h — ordered realtime publishing through a Redis outbox.
 *
 * Why: seq numbers are per channel and clients treat a gap as "refetch".
 * If workers numbered messages and then posted them to nchan themselves,
 * two workers could deliver seq 8 before seq 7. Instead a worker numbers
 * and queues all the messages of one write in one atomic Lua call (per
 * message INCR seq:<channel>, RPUSH rt:outbox:<partition>), so each queue
 * is in seq order per channel, and a publisher process per partition
 * (forked by the master) pops up to NCHAN_BATCH_MAX of them at a time
 * (LPOP with a count; BLPOP when the queue is empty) and posts them in
 * order, pipelined on one kept-alive HTTP/1.1 connection to nchan. A
 * request never waits for nchan.
 *
 * Redis down: messages are posted directly with "seq":null (clients
 * refetch on a null seq). The outbox is capped (OUTBOX_MAX); a publisher
 * that cannot reach nchan counts each failure in
 * rankpulse_realtime_publish_failures_total and drops the message.
 */
#ifndef RP_REALTIME_OUTBOX_H
#define RP_REALTIME_OUTBOX_H

#include <signal.h>
#include <stddef.h>

#define OUTBOX_PARTITIONS 2
#define OUTBOX_MAX 100000

struct app;
struct arena;
struct metrics;
struct rp_config;

struct outbox_msg {
	const char *channel;
	const char *type;
	const char *data; /* JSON text */
};

/* Number and queue n messages (one pipelined round trip). */
void outbox_send(struct app *app, struct arena *a, const struct outbox_msg *msgs, size_t n);
/* Which partition carries a channel. */
int outbox_partition(const char *channel);
/* Publisher process loop for one partition; returns when *stop is set. */
int outbox_publisher_run(const struct rp_config *cfg, struct metrics *m, int partition,
			 volatile sig_atomic_t *stop);

#endif
