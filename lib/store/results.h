/*
 * results.h — applying a match result inside one transaction, in two round
 * trips.
 *
 * Round trip 1 (the caller's batch, after BEGIN and the match lock):
 * result_tx_locks() queues the locks of both players (by id) and of their
 * current-season entries. Round trip 2: result_tx_rate() computes the new
 * ratings with lib/rating from the locked rows and queues the writes of
 * players, the all-time and current-season leaderboard entries and
 * rating_events (one statement per table); the caller adds its own writes
 * (match_results, the match status, the response row, COMMIT) to the same
 * batch, runs it, and calls
 * result_tx_finish() for what the writes returned. Nothing here commits:
 * a result is applied exactly once or not at all.
 *
 * Lock order, everywhere: the match row, then the two player rows by id,
 * then the two current-season entries by player id.
 */
#ifndef RP_STORE_RESULTS_H
#define RP_STORE_RESULTS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/err.h"
#include "leaderboard/ranks.h"
#include "rating/elo.h"

struct arena;
struct db_batch;
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

/* The PGresults of one application (owned; result_tx_clear() frees them). */
struct result_tx {
	PGresult *players, *season;  /* round trip 1: the locked rows */
	PGresult *versions, *entries; /* round trip 2: what the writes returned */
};

void result_tx_init(struct result_tx *tx);
void result_tx_clear(struct result_tx *tx);
/* Queue the locks; match_param is {match id} and must outlive the batch run. */
void result_tx_locks(struct result_tx *tx, struct db_batch *b, const char *const *match_param);
/*
 * After round trip 1: compute and queue the writes (parameters in the arena).
 * outcome1 is player1's outcome. RP_ECONFLICT (with *why) when a player is
 * no longer active or gone.
 */
enum rp_err result_tx_rate(struct result_tx *tx, struct db_batch *b, struct arena *a,
			   const struct match *m, enum rating_outcome outcome1,
			   struct applied_ratings *out, const char **why) RP_MUSTCHECK;
/* For unrated results: both players' current ratings as before == after, k 0. */
void result_tx_unrated(struct result_tx *tx, struct arena *a, const struct match *m,
		       struct applied_ratings *out);
/* After the writes ran: players' versions and entries' reached_at into out. */
enum rp_err result_tx_finish(struct result_tx *tx, struct applied_ratings *out) RP_MUSTCHECK;
/* Season changes as a JSON text for match_results.season_changes (arena). */
const char *result_season_json(struct arena *a, const struct applied_ratings *r, const struct match *m);

#endif
