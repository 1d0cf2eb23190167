/*
 * nchan.h — talking to nginx's nchan publisher endpoint.
 *
 * The publisher listens on a unix socket that only the service user can
 * reach (NCHAN_PUBLISH_URL = "unix:/path/nchan.sock"); a loopback TCP
 * address ("http://127.0.0.1:PORT") is accepted for split deployments.
 * nchan_http() is one short HTTP/1.0 exchange bounded by a deadline (health
 * checks, the Redis-down fallback). Publisher processes keep one HTTP/1.1
 * connection alive instead (struct nchan_conn) and pipeline a batch of
 * publishes on it: nginx answers pipelined requests in order, so the
 * messages of a batch reach nchan in the order given.
 */
#ifndef RP_REALTIME_NCHAN_H
#define RP_REALTIME_NCHAN_H

#include <stddef.h>

#include "core/err.h"

#define NCHAN_TIMEOUT_MS 500

struct nchan_target {
	int is_unix;
	char path[108];
	char host[64];
	int port;
};

enum rp_err nchan_target_parse(const char *url, struct nchan_target *t) RP_MUSTCHECK;
/*
 * Send one request; on RP_OK *status holds the HTTP status. Body may be
 * NULL. RP_EUNAVAIL on connect/IO failure or timeout.
 */
enum rp_err nchan_http(const struct nchan_target *t, const char *method, const char *path,
		       const char *body, size_t len, int timeout_ms, int *status) RP_MUSTCHECK;
/* Like nchan_http, and copies the response body (truncated, NUL-terminated) into out. */
enum rp_err nchan_exchange(const struct nchan_target *t, const char *method, const char *path,
			   const char *body, size_t len, int timeout_ms, int *status, char *out,
			   size_t outcap) RP_MUSTCHECK;
/* A kept-alive connection to the publisher (one per publisher process). */
#define NCHAN_BATCH_MAX 64
struct nchan_conn {
	struct nchan_target target;
	int fd; /* -1 while closed */
	unsigned long long sock_dev, sock_ino; /* the unix socket file connected to */
	char *out;  /* requests being sent (grown as needed) */
	size_t out_cap;
	char in[8192]; /* responses received and not yet parsed, NUL-terminated */
	size_t in_len;
};
struct nchan_post {
	const char *channel;
	const char *body;
	size_t len;
	int status; /* out: the HTTP status, 0 = no answer */
};
void nchan_conn_init(struct nchan_conn *c, const struct nchan_target *t);
/* Close the connection (the next batch connects again). */
void nchan_conn_close(struct nchan_conn *c);
/* Close and release the buffers. */
void nchan_conn_free(struct nchan_conn *c);
/*
 * Publish n (<= NCHAN_BATCH_MAX) messages in order on the connection
 * (connecting when needed); timeout_ms bounds the connect and send, and
 * the wait for each answer (nginx answers a publish after fanning it out,
 * so a batch may take n times as long as one message). Returns how many of the
 * first messages were answered (posts[i].status). *retry tells whether the
 * unanswered rest may be sent again on a new connection: the connection was
 * refused, or ended after an answer saying "Connection: close", or was
 * closed between requests (nginx closes a kept-alive connection only
 * between requests). After a timeout or an unreadable answer *retry is 0:
 * the rest counts as failed rather than risk publishing a message twice.
 */
size_t nchan_post_batch(struct nchan_conn *c, struct nchan_post *posts, size_t n, int timeout_ms,
			int *retry);
/* RP_OK when the nchan status endpoint answers 200. */
enum rp_err nchan_check(const struct nchan_target *t) RP_MUSTCHECK;

#endif
