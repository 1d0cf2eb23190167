/*
 * matches.c — matches table access and the match JSON view.
 */
#include "store/matches.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/db.h"

enum {
	M_ID, M_P1, M_P2, M_TYPE, M_STATUS, M_BEST_OF, M_SEASON, M_SCHEDULED, M_STARTED,
	M_COMPLETED, M_CREATED_BY, M_NOTES, M_CREATED, M_UPDATED, R_S1, R_S2, R_WINNER, R_TYPE,
	R_VERIFY, R_REPORTED, R_VERIFIED, R_P1B, R_P1A, R_P2B, R_P2A, R_K1, R_K2, R_SEASON,
	R_SEASON_CHANGES, R_HAS, M_CREATED_US, M_COUNT
};

static int num(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : atoi(PQgetvalue(r, row, c));
}

static enum rp_err decode(struct arena *a, PGresult *r, int row, void *element)
{
	struct match *m = element;
	if (PQnfields(r) != M_COUNT)
		return RP_EINTERNAL;
	memset(m, 0, sizeof(*m));
	m->id = db_text(a, r, row, M_ID);
	m->player1_id = db_text(a, r, row, M_P1);
	m->player2_id = db_text(a, r, row, M_P2);
	m->match_type = db_text(a, r, row, M_TYPE);
	m->status = db_text(a, r, row, M_STATUS);
	m->best_of = num(r, row, M_BEST_OF);
	m->season_id = db_text(a, r, row, M_SEASON);
	m->scheduled_at = db_text(a, r, row, M_SCHEDULED);
	m->started_at = db_text(a, r, row, M_STARTED);
	m->completed_at = db_text(a, r, row, M_COMPLETED);
	m->created_by = db_text(a, r, row, M_CREATED_BY);
	m->notes = db_text(a, r, row, M_NOTES);
	m->created_at = db_text(a, r, row, M_CREATED);
	m->updated_at = db_text(a, r, row, M_UPDATED);
	m->created_us = atoll(PQgetvalue(r, row, M_CREATED_US));
	m->has_result = PQgetvalue(r, row, R_HAS)[0] == 't';
	if (m->has_result) {
		m->result.player1_score = num(r, row, R_S1);
		m->result.player2_score = num(r, row, R_S2);
		m->result.winner_id = db_text(a, r, row, R_WINNER);
		m->result.result_type = db_text(a, r, row, R_TYPE);
		m->result.verification_status = db_text(a, r, row, R_VERIFY);
		m->result.reported_by = db_text(a, r, row, R_REPORTED);
		m->result.verified_by = db_text(a, r, row, R_VERIFIED);
		m->result.p1_before = num(r, row, R_P1B);
		m->result.p1_after = num(r, row, R_P1A);
		m->result.p2_before = num(r, row, R_P2B);
		m->result.p2_after = num(r, row, R_P2A);
		m->result.p1_k = num(r, row, R_K1);
		m->result.p2_k = num(r, row, R_K2);
		m->result.season_id = db_text(a, r, row, R_SEASON);
		m->result.season_changes = db_text(a, r, row, R_SEASON_CHANGES);
	}
	if (m->id == NULL || m->player1_id == NULL || m->player2_id == NULL || m->status == NULL ||
	    m->created_at == NULL)
		return RP_ENOMEM;
	return RP_OK;
}

static enum rp_err one(struct db *db, struct arena *a, enum stmt_id id, const char *const *params,
		       struct match *out, enum rp_err none)
{
	enum rp_err err;
	PGresult *r = db_query(db, id, params, &err);
	if (r == NULL)
		return err;
	err = match_from_result(a, r, out, none);
	PQclear(r);
	return err;
}

enum rp_err match_from_result(struct arena *a, PGresult *r, struct match *out, enum rp_err none)
{
	return r != NULL && PQntuples(r) == 1 ? decode(a, r, 0, out) : none;
}

enum rp_err match_insert(struct db *db, struct arena *a, const struct match_new *n, struct match *out)
{
	char bo[16];
	snprintf(bo, sizeof(bo), "%d", n->best_of);
	const char *params[] = {n->player1_id, n->player2_id, n->match_type, bo,
				n->scheduled_at, n->created_by, n->notes};
	return one(db, a, STMT_MATCH_INSERT, params, out, RP_EINVAL);
}

enum rp_err match_get(struct db *db, struct arena *a, const char *id, struct match *out)
{
	const char *params[] = {id};
	return one(db, a, STMT_MATCH_GET, params, out, RP_ENOTFOUND);
}

enum rp_err match_lock(struct db *db, struct arena *a, const char *id, struct match *out)
{
	const char *params[] = {id};
	return one(db, a, STMT_MATCH_LOCK, params, out, RP_ENOTFOUND);
}

enum rp_err match_set_status(struct db *db, const char *id, const char *status, const char *season_id)
{
	const char *params[] = {id, status, season_id};
	return db_command(db, STMT_MATCH_SET_STATUS, params);
}

enum rp_err match_list(struct db *db, struct arena *a, const struct match_filter *f,
		       struct match **out, int *count)
{
	char before[24], lim[16];
	snprintf(before, sizeof(before), "%lld", f->before_us);
	snprintf(lim, sizeof(lim), "%d", f->limit);
	const char *params[] = {f->player_id, f->status, f->match_type,
				f->before_us ? before : NULL, f->before_us ? f->before_id : NULL, lim};
	return db_rows(db, a, STMT_MATCH_LIST, params, sizeof(struct match), decode, (void **)out,
		       count);
}

bool match_is_participant(const struct match *m, const char *player_id)
{
	return strcmp(m->player1_id, player_id) == 0 || strcmp(m->player2_id, player_id) == 0;
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *change_json(const char *player, int before, int after, int k)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "playerId", json_object_new_string(player));
	json_object_object_add(o, "before", json_object_new_int(before));
	json_object_object_add(o, "after", json_object_new_int(after));
	json_object_object_add(o, "delta", json_object_new_int(after - before));
	json_object_object_add(o, "k", json_object_new_int(k));
	return o;
}

struct json_object *match_json(const struct match *m)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(m->id));
	json_object_object_add(o, "player1Id", json_object_new_string(m->player1_id));
	json_object_object_add(o, "player2Id", json_object_new_string(m->player2_id));
	json_object_object_add(o, "matchType", json_object_new_string(m->match_type));
	json_object_object_add(o, "status", json_object_new_string(m->status));
	json_object_object_add(o, "bestOf", json_object_new_int(m->best_of));
	json_object_object_add(o, "seasonId", str_or_null(m->season_id));
	json_object_object_add(o, "scheduledAt", str_or_null(m->scheduled_at));
	json_object_object_add(o, "startedAt", str_or_null(m->started_at));
	json_object_object_add(o, "completedAt", str_or_null(m->completed_at));
	json_object_object_add(o, "createdBy", str_or_null(m->created_by));
	json_object_object_add(o, "notes", str_or_null(m->notes));
	json_object_object_add(o, "createdAt", json_object_new_string(m->created_at));
	json_object_object_add(o, "updatedAt", str_or_null(m->updated_at));
	struct json_object *res = NULL;
	if (m->has_result) {
		res = json_object_new_object();
		json_object_object_add(res, "player1Score", json_object_new_int(m->result.player1_score));
		json_object_object_add(res, "player2Score", json_object_new_int(m->result.player2_score));
		json_object_object_add(res, "winnerId", str_or_null(m->result.winner_id));
		json_object_object_add(res, "resultType", str_or_null(m->result.result_type));
		json_object_object_add(res, "verificationStatus",
				       str_or_null(m->result.verification_status));
		json_object_object_add(res, "reportedBy", str_or_null(m->result.reported_by));
		json_object_object_add(res, "verifiedBy", str_or_null(m->result.verified_by));
		bool applied = m->result.verification_status != NULL &&
			       strcmp(m->result.verification_status, "verified") == 0;
		struct json_object *changes = NULL;
		if (applied) {
			changes = json_object_new_array();
			json_object_array_add(changes, change_json(m->player1_id, m->result.p1_before,
								   m->result.p1_after, m->result.p1_k));
			json_object_array_add(changes, change_json(m->player2_id, m->result.p2_before,
								   m->result.p2_after, m->result.p2_k));
		}
		json_object_object_add(res, "ratingChanges", changes);
	}
	json_object_object_add(o, "result", res);
	return o;
}
