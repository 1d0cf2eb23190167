/*
 * nchan.h — talking to nginx's nchan publisher endpoint.
 *
 * The publisher listens on a unix socket that only the service user can
 * reach (NCHAN_PUBLISH_URL = "unix:/path/nchan.sock"); a loopback TCP
 * address ("http://127.0.0.1:PORT") is accepted for split deployments.
 * Each call is one short HTTP/1.0 exchange bounded by a deadline.
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
/* RP_OK when the nchan status endpoint answers 200. */
enum rp_err nchan_check(const struct nchan_target *t) RP_MUSTCHECK;

#endif
