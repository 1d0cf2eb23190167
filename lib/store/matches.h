/*
 * matches.h — matches and their results (tables matches, match_results).
 */
#ifndef RP_STORE_MATCHES_H
#define RP_STORE_MATCHES_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/err.h"

struct arena;
struct db;
struct json_object;

struct match {
	const char *id, *player1_id, *player2_id;
	const char *match_type, *status, *season_id;
	int best_of;
	const char *scheduled_at, *started_at, *completed_at; /* may be NULL */
	const char *created_by, *notes, *created_at, *updated_at;
	long long created_us; /* keyset cursor */
	bool has_result;
	struct {
		int player1_score, player2_score;
		const char *winner_id; /* NULL = draw / no winner */
		const char *result_type, *verification_status;
		const char *reported_by, *verified_by;
		int p1_before, p1_after, p2_before, p2_after, p1_k, p2_k;
		const char *season_id;
		const char *season_changes; /* JSON text or NULL */
	} result;
};

struct match_new {
	const char *player1_id, *player2_id, *match_type, *scheduled_at, *created_by, *notes;
	int best_of;
};

struct match_filter {
	const char *player_id, *status, *match_type; /* NULL = any */
	long long before_us;                          /* 0 = from the newest */
	const char *before_id;
	int limit;
};

/* RP_EINVAL when a player is missing or inactive. */
enum rp_err match_insert(struct db *db, struct arena *a, const struct match_new *n,
			 struct match *out) RP_MUSTCHECK;
enum rp_err match_get(struct db *db, struct arena *a, const char *id, struct match *out) RP_MUSTCHECK;
/* The match in a result of STMT_MATCH_GET / STMT_MATCH_LOCK (run in a batch);
 * `none` when the result has no row. */
enum rp_err match_from_result(struct arena *a, PGresult *r, struct match *out,
			      enum rp_err none) RP_MUSTCHECK;
/* Inside a transaction: lock the match row. */
enum rp_err match_lock(struct db *db, struct arena *a, const char *id, struct match *out) RP_MUSTCHECK;
enum rp_err match_set_status(struct db *db, const char *id, const char *status,
			     const char *season_id) RP_MUSTCHECK;
enum rp_err match_list(struct db *db, struct arena *a, const struct match_filter *f,
		       struct match **out, int *count) RP_MUSTCHECK;
struct json_object *match_json(const struct match *m);
bool match_is_participant(const struct match *m, const char *player_id);

#endif
