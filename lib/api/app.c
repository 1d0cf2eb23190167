/*
 * app.c — the request pipeline (see app.h).
 *
 * Order matters and is the same for every request:
 *   1. request id (trusted from nginx when well-formed, else generated)
 *   2. hard limits on path and query string
 *   3. routing → 404 / 405 + Allow
 *   4. route policy (loopback-only)
 *   5. body: size → 413, media type → 415, strict JSON → 400
 *   6. the handler
 *   7. problem rendering for any error, X-Request-Id, metrics, access log
 * Handlers therefore only ever see requests that passed 1–5.
 */
#include "api/app.h"

#include <json-c/json.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "cache/redis.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/log.h"
#include "http/json.h"
#include "http/problem.h"
#include "leaderboard/ranks.h"
#include "metrics/metrics.h"
#include "store/db.h"

enum rp_err app_init(struct app *app, const struct rp_config *cfg, struct metrics *m)
{
	memset(app, 0, sizeof(*app));
	app->config = cfg;
	app->metrics = m;
	app->routes = api_routes();
	if (nchan_target_parse(cfg->nchan_publish_url, &app->nchan) != RP_OK)
		return RP_EINVAL;
	app->db = db_new(cfg->database_url, m);
	app->redis = rcache_new(cfg, m);
	if (app->db == NULL || app->redis == NULL) {
		app_free(app);
		return RP_ENOMEM;
	}
	return RP_OK;
}

void app_free(struct app *app)
{
	db_free(app->db);
	rcache_free(app->redis);
	app->db = NULL;
	app->redis = NULL;
}

void app_warm(struct app *app)
{
	if (db_ensure(app->db) != RP_OK)
		log_warn("database not reachable at worker start");
	if (rcache_ping(app->redis) != RP_OK)
		log_warn("redis not reachable at worker start");
}

void app_after_response(struct app *app)
{
	ranks_after_response(app);
}

bool remote_is_loopback(const char *addr)
{
	if (addr == NULL || addr[0] == '\0')
		return true; /* unix socket peer */
	/* exactly the host's own address, as nginx's allow list */
	return strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0 ||
	       strcmp(addr, "::ffff:127.0.0.1") == 0;
}

static bool request_id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
		if (n >= 64)
			return false;
	}
	return n > 0;
}

static const char *new_request_id(struct arena *a)
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	char *hex = arena_alloc(a, 33);
	if (hex == NULL)
		return "unknown";
	sodium_bin2hex(hex, 33, raw, sizeof(raw));
	return hex;
}

/* "application/json" with an optional "; charset=utf-8" (any case). */
static bool content_type_is_json(const char *ct)
{
	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	static const char mt[] = "application/json";
	if (strncasecmp(ct, mt, sizeof(mt) - 1) != 0)
		return false;
	const char *p = ct + sizeof(mt) - 1;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	p++;
	while (*p == ' ')
		p++;
	return strcasecmp(p, "charset=utf-8") == 0 || strcasecmp(p, "charset=\"utf-8\"") == 0;
}

static bool method_takes_body(enum http_method m)
{
	return m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH || m == HTTP_DELETE;
}

static enum rp_err parse_body(struct request *req)
{
	if (req->body_too_large || req->content_length > (long long)HTTP_MAX_BODY ||
	    req->body_len > HTTP_MAX_BODY) {
		req->problem.detail = "request body exceeds 64 KiB";
		return RP_ETOOLARGE;
	}
	if (!method_takes_body(req->method) || req->body_len == 0)
		return RP_OK;
	if (!content_type_is_json(req->content_type)) {
		req->problem.detail = "request bodies must be application/json (UTF-8)";
		return RP_EMEDIATYPE;
	}
	const char *why = NULL;
	enum rp_err e = json_parse_strict(req->body, req->body_len, &req->json, &why);
	if (e != RP_OK) {
		req->problem.detail = why ? why : "malformed JSON";
		req->problem.code = "bad_json";
		return RP_EBADJSON;
	}
	return RP_OK;
}

static enum rp_err pipeline(struct app *app, struct request *req, struct response *res)
{
	if (strlen(req->query) > HTTP_MAX_QUERY) {
		req->problem.detail = "query string exceeds 4 KiB";
		return RP_EBADREQ;
	}
	enum rp_err e = router_match(app->routes, req);
	if (e == RP_ENOTFOUND) {
		req->problem.detail = "no such resource";
		return e;
	}
	if (e == RP_EMETHOD) {
		req->problem.detail = "method not allowed on this resource";
		return e;
	}
	if (e != RP_OK)
		return e;
	if ((req->route->flags & ROUTE_LOOPBACK_ONLY) && !remote_is_loopback(req->remote_addr)) {
		req->problem.detail = "this endpoint is served to loopback only";
		return RP_EFORBIDDEN;
	}
	if ((e = parse_body(req)) != RP_OK)
		return e;
	return req->route->handler(req, res);
}

void app_handle(struct app *app, struct request *req, struct response *res)
{
	req->app = app;
	if (req->started_us == 0)
		req->started_us = clock_us();
	if (req->request_id == NULL || !request_id_valid(req->request_id))
		req->request_id = new_request_id(req->arena);

	enum rp_err e = pipeline(app, req, res);
	if (e != RP_OK) {
		if (req->problem.code == NULL)
			req->problem.code = problem_kind_of(e)->slug;
		problem_render(req, res, e);
	}
	if (res->body.failed) {
		problem_render(req, res, RP_ENOMEM);
	}
	response_header(res, "X-Request-Id", req->request_id);

	long long latency = clock_us() - req->started_us;
	metrics_request(app->metrics, router_index(app->routes, req->route), res->status, latency);
	if (req->route == NULL || !(req->route->flags & ROUTE_NO_ACCESS_LOG) || e != RP_OK)
		log_request(req->request_id, req->method_name,
			    req->route ? req->route->pattern : "unmatched", res->status, latency,
			    e != RP_OK ? req->problem.code : NULL);
	if (req->json != NULL) {
		json_object_put(req->json);
		req->json = NULL;
	}
}
