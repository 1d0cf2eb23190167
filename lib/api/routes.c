/*
 * routes.c — the API's route table. Every pattern answers under /api and
 * without the prefix (router.c strips it).
 */
#include "api/app.h"
#include "api/handlers.h"

static const struct route routes[] = {
	{HTTP_GET, "/health", handle_health, 0},
	{HTTP_GET, "/health/live", handle_health_live, 0},
	{HTTP_GET, "/health/ready", handle_health_ready, 0},
	{HTTP_GET, "/metrics", handle_metrics, ROUTE_LOOPBACK_ONLY | ROUTE_NO_ACCESS_LOG},
};

static const struct route_table table = {routes, sizeof(routes) / sizeof(routes[0])};

const struct route_table *api_routes(void)
{
	return &table;
}
