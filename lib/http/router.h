/*
 * router.h — the route table: method + path pattern → handler.
 *
 * Patterns are literal segments and "{name}" parameters ("/players/{id}/stats").
 * Every route answers both under "/api" and without the prefix. A path that
 * matches a pattern under another method gives 405 with the Allow list.
 */
#ifndef RP_HTTP_ROUTER_H
#define RP_HTTP_ROUTER_H

#include <stddef.h>

#include "core/err.h"
#include "http/http.h"

#define ROUTE_MAX_SEGMENTS 8
#define ROUTE_MAX_PARAM_LEN 128

typedef enum rp_err (*route_handler)(struct request *req, struct response *res);

enum route_flags {
	ROUTE_LOOPBACK_ONLY = 1 << 0, /* refuse unless REMOTE_ADDR is loopback */
	ROUTE_NO_ACCESS_LOG = 1 << 1,
};

struct route {
	enum http_method method;
	const char *pattern;
	route_handler handler;
	unsigned flags;
};

struct route_table {
	const struct route *routes;
	size_t nroutes;
};

/*
 * Match req->method/req->path against the table. On RP_OK sets req->route,
 * req->params and req->nparams. RP_ENOTFOUND when no pattern matches;
 * RP_EMETHOD when one does under other methods (req->problem.allow is set,
 * e.g. "GET, HEAD"). HEAD matches GET routes.
 */
enum rp_err router_match(const struct route_table *t, struct request *req) RP_MUSTCHECK;
/* Index of a route in its table, for metrics; -1 for NULL. */
int router_index(const struct route_table *t, const struct route *r);

#endif
