/*
 * results.h — applying a match result inside one transaction.
 *
 * The caller opens the transaction and locks the match row (match_lock);
 * result_apply_ratings() then locks both players in id order, computes the
 * new ratings with lib/rating, and writes players, the all-time and
 * current-season leaderboard entries and rating_events. Nothing here
 * commits: the caller commits once everything (including the
 * Idempotency-Key response) is written, so a result is applied exactly
 * once or not at all.
 */
#ifndef RP_STORE_RESULTS_H
#define RP_STORE_RESULTS_H

#include <stdbool.h>

#include "core/err.h"
#include "leaderboard/ranks.h"
#include "rating/elo.h"

struct arena;
struct db;
struct match;

struct applied_ratings {
	struct rating_change all[2];    /* [0] = player1, [1] = player2 */
	struct rank_update ups[2];      /* for the Redis boards */
	bool has_season;
	char season[72];
	struct rating_change season_changes[2];
	struct rank_update season_ups[2];
	const char *usernames[2];
};

/* outcome1 is player1's outcome. RP_ECONFLICT (with *why) when a player is no longer active. */
enum rp_err result_apply_ratings(struct db *db, struct arena *a, const struct match *m,
				 enum rating_outcome outcome1, struct applied_ratings *out,
				 const char **why) RP_MUSTCHECK;
/* For unrated results: both players' current ratings as before == after, k 0. */
enum rp_err result_current_ratings(struct db *db, struct arena *a, const struct match *m,
				   struct applied_ratings *out) RP_MUSTCHECK;
/* Season changes as a JSON text for match_results.season_changes (arena). */
const char *result_season_json(struct arena *a, const struct applied_ratings *r, const struct match *m);

#endif
