/* t/unit/router.c — lib/http/router.c: matching, params, /api prefix, 405 + Allow, limits. */
#include <string.h>

#include "core/arena.h"
#include "http/router.h"
#include "tap.h"

static enum rp_err h_dummy(struct request *req, struct response *res)
{
	(void)req;
	(void)res;
	return RP_OK;
}

static const struct route routes[] = {
	{HTTP_GET, "/health", h_dummy, 0},
	{HTTP_GET, "/players/{id}", h_dummy, 0},
	{HTTP_PATCH, "/players/{id}", h_dummy, 0},
	{HTTP_DELETE, "/players/{id}", h_dummy, 0},
	{HTTP_GET, "/players/{id}/stats", h_dummy, 0},
	{HTTP_POST, "/matches/{id}/result", h_dummy, 0},
	{HTTP_GET, "/leaderboard/country/{cc}", h_dummy, 0},
	{HTTP_GET, "/", h_dummy, 0},
};
static const struct route_table table = {routes, sizeof(routes) / sizeof(routes[0])};

static struct arena *arena;

static enum rp_err match(enum http_method m, const char *path, struct request *req)
{
	arena_reset(arena);
	request_init(req, arena);
	req->method = m;
	req->path = path;
	return router_match(&table, req);
}

int main(void)
{
	struct request req;
	arena = arena_new(4096);

	is_int(match(HTTP_GET, "/health", &req), RP_OK, "literal route");
	ok(req.route == &routes[0], "literal route resolves to its entry");
	is_int(match(HTTP_GET, "/api/health", &req), RP_OK, "/api prefix stripped");
	is_int(match(HTTP_GET, "/health/", &req), RP_OK, "single trailing slash ignored");
	is_int(match(HTTP_GET, "/healthz", &req), RP_ENOTFOUND, "prefix of a segment does not match");
	is_int(match(HTTP_GET, "/apihealth", &req), RP_ENOTFOUND, "/api only stripped as a whole segment");
	is_int(match(HTTP_GET, "/api", &req), RP_OK, "/api alone is the root");

	is_int(match(HTTP_GET, "/players/abc-123", &req), RP_OK, "param route");
	is_int((long long)req.nparams, 1, "one param captured");
	is_str(req.params[0], "abc-123", "param value copied");
	is_int(match(HTTP_GET, "/api/players/p1/stats", &req), RP_OK, "param in the middle");
	is_str(req.params[0], "p1", "middle param value");
	ok(req.route == &routes[4], "stats route chosen, not /players/{id}");
	is_int(match(HTTP_HEAD, "/players/x", &req), RP_OK, "HEAD matches GET routes");

	is_int(match(HTTP_POST, "/players/x", &req), RP_EMETHOD, "POST on a GET/PATCH/DELETE route is 405");
	is_str(req.problem.allow, "GET, HEAD, PATCH, DELETE", "Allow lists the route's methods");
	is_int(match(HTTP_GET, "/matches/m1/result", &req), RP_EMETHOD, "GET on POST-only route is 405");
	is_str(req.problem.allow, "POST", "Allow: POST");
	is_int(match(HTTP_METHOD_OTHER, "/health", &req), RP_EMETHOD, "unknown method is 405");

	is_int(match(HTTP_GET, "/players//stats", &req), RP_ENOTFOUND, "empty segment is 404");
	is_int(match(HTTP_GET, "players/x", &req), RP_ENOTFOUND, "relative path is 404");
	is_int(match(HTTP_GET, "", &req), RP_ENOTFOUND, "empty path is 404");
	is_int(match(HTTP_GET, "/a/b/c/d/e/f/g/h/i/j", &req), RP_ENOTFOUND, "too many segments is 404");

	char longp[300];
	memcpy(longp, "/players/", 9);
	memset(longp + 9, 'x', 200);
	longp[209] = '\0';
	is_int(match(HTTP_GET, longp, &req), RP_ENOTFOUND, "param over 128 bytes is 404");
	longp[9 + 128] = '\0';
	is_int(match(HTTP_GET, longp, &req), RP_OK, "param of exactly 128 bytes matches");

	static char huge[HTTP_MAX_PATH + 10];
	memset(huge, 'a', sizeof(huge) - 1);
	huge[0] = '/';
	huge[sizeof(huge) - 1] = '\0';
	is_int(match(HTTP_GET, huge, &req), RP_ENOTFOUND, "path over the limit is 404");

	is_int(match(HTTP_GET, "/leaderboard/country/SE", &req), RP_OK, "country alias");
	is_str(req.params[0], "se", "params are lower-cased (ids are case-insensitive)");
	is_int(match(HTTP_GET, "/", &req), RP_OK, "root route");

	is_int(router_index(&table, &routes[3]), 3, "router_index of an entry");
	is_int(router_index(&table, NULL), -1, "router_index of NULL");

	arena_free(arena);
	return done_testing();
}
