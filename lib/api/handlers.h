/*
 * handlers.h — every route handler, grouped by resource.
 * Contract: return RP_OK with res filled, or an rp_err with req->problem
 * describing it; never write a status for an error by hand.
 */
#ifndef RP_API_HANDLERS_H
#define RP_API_HANDLERS_H

#include <stdbool.h>

#include "core/err.h"
#include "http/http.h"

/* health.c */
enum rp_err handle_health(struct request *req, struct response *res);
enum rp_err handle_health_live(struct request *req, struct response *res);
enum rp_err handle_health_ready(struct request *req, struct response *res);
enum rp_err handle_metrics(struct request *req, struct response *res);

/* auth.c */
enum rp_err handle_register(struct request *req, struct response *res);
enum rp_err handle_login(struct request *req, struct response *res);
enum rp_err handle_refresh(struct request *req, struct response *res);
enum rp_err handle_logout(struct request *req, struct response *res);
enum rp_err handle_me(struct request *req, struct response *res);
/* field validator shared by auth.c and players.c */
bool check_country(const char *s, const char **why);

/* players.c */
enum rp_err handle_player_list(struct request *req, struct response *res);
enum rp_err handle_player_get(struct request *req, struct response *res);
enum rp_err handle_player_patch(struct request *req, struct response *res);
enum rp_err handle_player_delete(struct request *req, struct response *res);
enum rp_err handle_player_stats(struct request *req, struct response *res);

/* matches.c */
enum rp_err handle_match_create(struct request *req, struct response *res);
enum rp_err handle_match_list(struct request *req, struct response *res);
enum rp_err handle_match_get(struct request *req, struct response *res);
enum rp_err handle_match_start(struct request *req, struct response *res);
enum rp_err handle_match_cancel(struct request *req, struct response *res);
enum rp_err handle_match_result(struct request *req, struct response *res);
enum rp_err handle_match_verify(struct request *req, struct response *res);
enum rp_err handle_match_dispute(struct request *req, struct response *res);
enum rp_err handle_player_matches(struct request *req, struct response *res);
enum rp_err handle_rating_history(struct request *req, struct response *res);
/* field validator shared by matches.c and leaderboards.c */
bool check_timestamp_field(const char *s, const char **why);

/* leaderboards.c */
enum rp_err handle_leaderboards(struct request *req, struct response *res);
enum rp_err handle_leaderboard_global(struct request *req, struct response *res);
enum rp_err handle_leaderboard_country(struct request *req, struct response *res);
enum rp_err handle_leaderboard_around(struct request *req, struct response *res);
enum rp_err handle_leaderboard_me(struct request *req, struct response *res);
enum rp_err handle_season_list(struct request *req, struct response *res);
enum rp_err handle_season_create(struct request *req, struct response *res);
enum rp_err handle_season_close(struct request *req, struct response *res);
/* ranks shown by /players/{id}/stats; -1 = unranked, seq -1 = unknown */
void leaderboard_player_ranks(struct request *req, const char *player, const char *country,
			      long *global_rank, long *country_rank, long long *seq);

/* realtime.c: subscriber admission (X-Accel-Redirect to nchan) */
enum rp_err handle_rt_leaderboard(struct request *req, struct response *res);
enum rp_err handle_rt_leaderboard_country(struct request *req, struct response *res);
enum rp_err handle_rt_leaderboard_season(struct request *req, struct response *res);
enum rp_err handle_rt_match(struct request *req, struct response *res);
enum rp_err handle_rt_player(struct request *req, struct response *res);
enum rp_err handle_rt_me(struct request *req, struct response *res);

#endif
