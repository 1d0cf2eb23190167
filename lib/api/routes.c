/*
 * routes.c — the API's route table. Every pattern answers under /api and
 * without the prefix (router.c strips it). Order only matters for metrics
 * labels (the index is the metrics row), never for matching.
 */
#include "api/app.h"
#include "api/handlers.h"

static const struct route routes[] = {
	{HTTP_GET, "/health", handle_health, 0},
	{HTTP_GET, "/health/live", handle_health_live, 0},
	{HTTP_GET, "/health/ready", handle_health_ready, 0},
	{HTTP_GET, "/metrics", handle_metrics, ROUTE_LOOPBACK_ONLY | ROUTE_NO_ACCESS_LOG},

	{HTTP_POST, "/auth/register", handle_register, 0},
	{HTTP_POST, "/auth/login", handle_login, 0},
	{HTTP_POST, "/auth/refresh", handle_refresh, 0},
	{HTTP_POST, "/auth/logout", handle_logout, 0},
	{HTTP_GET, "/auth/me", handle_me, 0},

	{HTTP_GET, "/players", handle_player_list, 0},
	{HTTP_GET, "/players/{id}", handle_player_get, 0},
	{HTTP_PATCH, "/players/{id}", handle_player_patch, 0},
	{HTTP_DELETE, "/players/{id}", handle_player_delete, 0},
	{HTTP_GET, "/players/{id}/stats", handle_player_stats, 0},
	{HTTP_GET, "/players/{id}/matches", handle_player_matches, 0},
	{HTTP_GET, "/players/{id}/rating-history", handle_rating_history, 0},

	{HTTP_POST, "/matches", handle_match_create, 0},
	{HTTP_GET, "/matches", handle_match_list, 0},
	{HTTP_GET, "/matches/{id}", handle_match_get, 0},
	{HTTP_POST, "/matches/{id}/start", handle_match_start, 0},
	{HTTP_POST, "/matches/{id}/cancel", handle_match_cancel, 0},
	{HTTP_POST, "/matches/{id}/result", handle_match_result, 0},
	{HTTP_POST, "/matches/{id}/verify", handle_match_verify, 0},
	{HTTP_POST, "/matches/{id}/dispute", handle_match_dispute, 0},

	{HTTP_GET, "/leaderboards", handle_leaderboards, 0},
	{HTTP_GET, "/leaderboards/around/{id}", handle_leaderboard_around, 0},
	{HTTP_GET, "/leaderboards/me", handle_leaderboard_me, 0},
	{HTTP_GET, "/leaderboard/global", handle_leaderboard_global, 0},
	{HTTP_GET, "/leaderboard/top", handle_leaderboard_global, 0},
	{HTTP_GET, "/leaderboard/country/{cc}", handle_leaderboard_country, 0},

	{HTTP_GET, "/seasons", handle_season_list, 0},
	{HTTP_POST, "/seasons", handle_season_create, 0},
	{HTTP_POST, "/seasons/{id}/close", handle_season_close, 0},

	{HTTP_GET, "/rt/leaderboard", handle_rt_leaderboard, 0},
	{HTTP_GET, "/rt/leaderboard/{cc}", handle_rt_leaderboard_country, 0},
	{HTTP_GET, "/rt/leaderboard/season/{id}", handle_rt_leaderboard_season, 0},
	{HTTP_GET, "/rt/matches/{id}", handle_rt_match, 0},
	{HTTP_GET, "/rt/players/{id}", handle_rt_player, 0},
	{HTTP_GET, "/rt/me", handle_rt_me, 0},
};

static const struct route_table table = {routes, sizeof(routes) / sizeof(routes[0])};

const struct route_table *api_routes(void)
{
	return &table;
}
