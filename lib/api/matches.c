/*
 * matches.c — /matches and the result workflow.
 *
 *   POST /matches                 create (caller is a participant, or admin)
 *   GET  /matches, /matches/{id}  list (filters, keyset cursor) and read
 *   POST /matches/{id}/start      scheduled → in_progress
 *   POST /matches/{id}/cancel     scheduled | in_progress → cancelled (admin
 *                                 may also reject a disputed result)
 *   POST /matches/{id}/result     report; applied at once, or pending the
 *                                 opponent when RESULT_VERIFICATION=opponent
 *   POST /matches/{id}/verify     opponent (or admin) confirms: ratings move
 *   POST /matches/{id}/dispute    opponent disputes: an admin resolves
 *
 * Every state change runs in one transaction that starts by locking the
 * match row, so two reports of the same match serialise and the second sees
 * the first (409). Idempotency-Key on /result stores the first successful
 * response (24 h) inside that same transaction; a retry replays it byte
 * for byte.
 */
#include <errno.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/handlers.h"
#include "http/json.h"
#include "realtime/publish.h"
#include "auth/authn.h"
#include "auth/base64url.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/log.h"
#include "http/fields.h"
#include "leaderboard/ranks.h"
#include "store/db.h"
#include "store/matches.h"
#include "store/players.h"
#include "store/results.h"
#include "store/seasons.h"
#include "validate/validate.h"

#define MATCH_PAGE_DEFAULT 20
#define MATCH_PAGE_MAX 100

static const char *const match_types[] = {"ranked", "unranked", "friendly", "tournament",
					  "practice", NULL};
static const char *const match_statuses[] = {"scheduled", "in_progress", "completed", "cancelled",
					     "forfeit", "no_show", NULL};
static const char *const result_types[] = {"win", "draw", "forfeit", "no_show", "no_contest", NULL};

static bool one_of(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static bool check_match_type(const char *s, const char **why)
{
	*why = "must be one of ranked, unranked, friendly, tournament, practice";
	return one_of(s, match_types);
}

static bool check_result_type(const char *s, const char **why)
{
	*why = "must be one of win, draw, forfeit, no_show, no_contest";
	return one_of(s, result_types);
}

static bool check_uuid(const char *s, const char **why)
{
	*why = "must be a player id (UUID)";
	return validate_uuid(s);
}

static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/*
 * ISO-8601 date-time with a zone: YYYY-MM-DDTHH:MM[:SS[.ffffff]](Z|±HH:MM), a
 * real calendar date between years 1970 and 2999 (so PostgreSQL never sees a
 * value it would refuse).
 */
bool check_timestamp_field(const char *s, const char **why)
{
	*why = "must be an ISO-8601 date-time with a time zone, e.g. 2026-12-01T18:00:00Z";
	if (strlen(s) < 17 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':')
		return false;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2);
	if (y < 1970 || y > 2999 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    d > days_in_month(y, mo))
		return false;
	const char *p = s + 16;
	if (p[0] == ':') {
		int sec = digits(p + 1, 2);
		if (sec < 0 || sec > 59)
			return false;
		p += 3;
		if (*p == '.') {
			p++;
			int n = 0;
			while (*p >= '0' && *p <= '9' && n < 6)
				p++, n++;
			if (n == 0)
				return false;
		}
	}
	if (strcmp(p, "Z") == 0)
		return true;
	if ((p[0] != '+' && p[0] != '-') || p[3] != ':' || p[6] != '\0')
		return false;
	int zh = digits(p + 1, 2), zm = digits(p + 4, 2);
	return zh >= 0 && zh <= 14 && zm >= 0 && zm <= 59;
}

static enum rp_err match_param(struct request *req, const char **id)
{
	*id = req->params[0];
	if (!validate_uuid(*id)) {
		req->problem.detail = "no such match";
		return RP_ENOTFOUND;
	}
	return RP_OK;
}

/* The path's match id and the authenticated caller (every state change needs both). */
static enum rp_err match_and_caller(struct request *req, const char **id, struct principal *who)
{
	enum rp_err e = match_param(req, id);
	return e != RP_OK ? e : authn_require(req, who);
}

static void rollback(struct db *db)
{
	if (db_in_transaction(db) && db_exec(db, "ROLLBACK") != RP_OK)
		log_warn("rollback failed");
}

/* Begin a transaction and lock the match. */
static enum rp_err begin_locked(struct request *req, const char *id, struct match *m)
{
	struct db *db = req->app->db;
	enum rp_err e = db_exec(db, "BEGIN");
	if (e != RP_OK)
		return e;
	e = match_lock(db, req->arena, id, m);
	if (e != RP_OK) {
		rollback(db);
		if (e == RP_ENOTFOUND)
			req->problem.detail = "no such match";
	}
	return e;
}

/* A copy of n parameter pointers in the arena (a batch runs after the caller returns). */
static const char *const *arena_params(struct arena *a, const char *const *p, size_t n)
{
	const char **c = arena_calloc(a, n, sizeof(*c));
	if (c != NULL)
		memcpy(c, p, n * sizeof(*c));
	return c;
}

/*
 * Round trip 1 of a result or a verification: BEGIN, the match lock, the
 * Idempotency-Key claim (claim != NULL) and, when ratings may move
 * (tx != NULL), the locks of both players and their season entries. *claimed
 * tells whether the key was claimed. On failure the transaction is rolled
 * back and tx cleared.
 */
static enum rp_err begin_result(struct request *req, const char *id, const char *const *claim,
				struct result_tx *tx, struct match *m, bool *claimed)
{
	struct db *db = req->app->db;
	const char *const *mp = arena_params(req->arena, &id, 1);
	if (mp == NULL)
		return RP_ENOMEM;
	struct db_batch b;
	PGresult *match = NULL, *claim_row = NULL;
	db_batch_init(&b);
	db_batch_sql(&b, "BEGIN");
	/* every statement of this transaction is a key lookup or a write of a
	 * few rows; left to choose, PostgreSQL plans the array (unnest)
	 * statements anew on every execution */
	db_batch_sql(&b, "SET LOCAL plan_cache_mode = force_generic_plan");
	db_batch_add(&b, STMT_MATCH_LOCK, mp, &match);
	if (claim != NULL)
		db_batch_add(&b, STMT_IDEM_CLAIM, claim, &claim_row);
	if (tx != NULL)
		result_tx_locks(tx, &b, mp);
	enum rp_err e = db_batch_run(db, &b);
	if (e == RP_OK)
		e = match_from_result(req->arena, match, m, RP_ENOTFOUND);
	*claimed = claim_row != NULL && PQntuples(claim_row) == 1;
	PQclear(match);
	PQclear(claim_row);
	if (e != RP_OK) {
		rollback(db);
		if (tx != NULL)
			result_tx_clear(tx);
		if (e == RP_ENOTFOUND)
			req->problem.detail = "no such match";
	}
	return e;
}

static enum rp_err commit(struct request *req)
{
	enum rp_err e = db_exec(req->app->db, "COMMIT");
	if (e != RP_OK)
		rollback(req->app->db);
	return e;
}

static enum rp_err respond_match(struct request *req, struct response *res, int status,
				 const char *id)
{
	struct match m;
	enum rp_err e = match_get(req->app->db, req->arena, id, &m);
	if (e != RP_OK)
		return e;
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, status, match_json(&m));
}

enum rp_err handle_match_create(struct request *req, struct response *res)
{
	struct principal who;
	enum rp_err e = authn_require(req, &who);
	if (e != RP_OK)
		return e;
	static const struct field_spec spec[] = {
		{"player1Id", FIELD_STRING, FIELD_REQUIRED, 36, 0, 0, check_uuid},
		{"player2Id", FIELD_STRING, FIELD_REQUIRED, 36, 0, 0, check_uuid},
		{"matchType", FIELD_STRING, 0, 16, 0, 0, check_match_type},
		{"bestOf", FIELD_INT, 0, 0, 1, 99, NULL},
		{"scheduledAt", FIELD_STRING, FIELD_NULLABLE, 40, 0, 0, check_timestamp_field},
		{"notes", FIELD_STRING, FIELD_NULLABLE, 1000, 0, 0, NULL},
	};
	struct field_value v[6];
	if ((e = fields_parse(req, spec, 6, v)) != RP_OK)
		return e;
	if (strcasecmp(v[0].str, v[1].str) == 0)
		request_field_error(req, "player2Id", "must differ from player1Id");
	if (v[3].present && v[3].i % 2 == 0)
		request_field_error(req, "bestOf", "must be odd");
	if (req->problem.nerrors > 0) {
		req->problem.detail = "one or more fields are invalid";
		return RP_EINVAL;
	}
	if (!who.is_admin && strcmp(who.claims.sub, v[0].str) != 0 &&
	    strcmp(who.claims.sub, v[1].str) != 0) {
		req->problem.detail = "you can only create matches you play in";
		return RP_EFORBIDDEN;
	}
	struct match_new n = {
		.player1_id = v[0].str, .player2_id = v[1].str,
		.match_type = v[2].present ? v[2].str : "ranked",
		.best_of = v[3].present ? (int)v[3].i : 1,
		.scheduled_at = v[4].present && !v[4].is_null ? v[4].str : NULL,
		.created_by = who.claims.sub,
		.notes = v[5].present && !v[5].is_null ? v[5].str : NULL,
	};
	struct match m;
	e = match_insert(req->app->db, req->arena, &n, &m);
	if (e == RP_EINVAL) {
		request_field_error(req, "player2Id", "both players must exist and be active");
		req->problem.detail = "unknown or inactive player";
		return RP_EINVAL;
	}
	if (e != RP_OK)
		return e;
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, 201, match_json(&m));
}

enum rp_err handle_match_get(struct request *req, struct response *res)
{
	const char *id;
	enum rp_err e = match_param(req, &id);
	if (e != RP_OK)
		return e;
	struct match m;
	e = match_get(req->app->db, req->arena, id, &m);
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such match";
	if (e != RP_OK)
		return e;
	response_public_1s(res);
	return response_json(res, 200, match_json(&m));
}

/* Shared by /matches and /players/{id}/matches. */
static enum rp_err list_matches(struct request *req, struct response *res, const char *player)
{
	enum rp_err e1, e2, e3, e4, e5;
	const char *p = player ? player : request_query(req, "player", &e1);
	if (player)
		e1 = RP_OK;
	const char *status = request_query(req, "status", &e2);
	const char *type = request_query(req, "type", &e3);
	const char *limit_s = request_query(req, "limit", &e4);
	const char *cursor = request_query(req, "cursor", &e5);
	if (e1 || e2 || e3 || e4 || e5) {
		req->problem.detail = "malformed query string";
		return RP_EBADREQ;
	}
	struct match_filter f = {.player_id = p, .status = status, .match_type = type,
				 .limit = MATCH_PAGE_DEFAULT};
	if (p != NULL && !validate_uuid(p))
		request_field_error(req, "player", "must be a player id (UUID)");
	if (status != NULL && !one_of(status, match_statuses))
		request_field_error(req, "status", "is not a match status");
	if (type != NULL && !one_of(type, match_types))
		request_field_error(req, "type", "is not a match type");
	long long l;
	if (limit_s != NULL) {
		if (!query_long(limit_s, 1, MATCH_PAGE_MAX, &l))
			request_field_error(req, "limit", "must be an integer from 1 to 100");
		else
			f.limit = (int)l;
	}
	if (cursor != NULL) {
		unsigned char raw[80];
		long n = base64url_decode(raw, sizeof(raw) - 1, cursor, strlen(cursor));
		char id[40];
		int used = 0;
		if (n > 0) {
			raw[n] = '\0';
			if (sscanf((const char *)raw, "%lld.%36[0-9a-f-]%n", &f.before_us, id, &used) != 2 ||
			    used != n || !validate_uuid(id) || f.before_us <= 0 ||
			    f.before_us > 32503680000000000LL /* year 3000 */)
				n = -1;
		}
		if (n <= 0) {
			request_field_error(req, "cursor", "is not a cursor returned by this endpoint");
		} else {
			f.before_id = arena_strdup(req->arena, id);
		}
	}
	if (req->problem.nerrors > 0) {
		req->problem.detail = "invalid query parameters";
		return RP_EINVAL;
	}
	struct match *rows;
	int count;
	enum rp_err e = match_list(req->app->db, req->arena, &f, &rows, &count);
	if (e != RP_OK)
		return e;
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < count; i++)
		json_object_array_add(list, match_json(&rows[i]));
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "matches", list);
	struct json_object *next = NULL;
	if (count == f.limit) {
		const char *raw = arena_printf(req->arena, "%lld.%s", rows[count - 1].created_us,
					       rows[count - 1].id);
		char *enc = raw ? arena_alloc(req->arena, base64url_encoded_len(strlen(raw)) + 1) : NULL;
		if (enc != NULL) {
			base64url_encode(enc, (const unsigned char *)raw, strlen(raw));
			next = json_object_new_string(enc);
		}
	}
	json_object_object_add(o, "nextCursor", next);
	response_public_1s(res);
	return response_json(res, 200, o);
}

enum rp_err handle_match_list(struct request *req, struct response *res)
{
	return list_matches(req, res, NULL);
}

/* The path's player must exist (and be active), as for /players/{id}. */
static enum rp_err existing_player(struct request *req)
{
	struct player p;
	enum rp_err e = validate_uuid(req->params[0])
				? player_by_id(req->app->db, req->arena, req->params[0], &p)
				: RP_ENOTFOUND;
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such player";
	return e;
}

enum rp_err handle_player_matches(struct request *req, struct response *res)
{
	enum rp_err e = existing_player(req);
	return e != RP_OK ? e : list_matches(req, res, req->params[0]);
}

/* Participant-or-admin guard for state changes. */
static enum rp_err guard(struct request *req, const struct principal *who, const struct match *m)
{
	if (who->is_admin || match_is_participant(m, who->claims.sub))
		return RP_OK;
	req->problem.detail = "only the players of this match or an admin may do this";
	return RP_EFORBIDDEN;
}

static enum rp_err transition(struct request *req, struct response *res, const char *const *from,
			      const char *to, const char *conflict)
{
	const char *id;
	struct principal who;
	enum rp_err e = match_and_caller(req, &id, &who);
	if (e != RP_OK)
		return e;
	struct match m;
	if ((e = begin_locked(req, id, &m)) != RP_OK)
		return e;
	if ((e = guard(req, &who, &m)) != RP_OK) {
		rollback(req->app->db);
		return e;
	}
	bool pending_result = m.has_result && strcmp(m.result.verification_status, "verified") != 0;
	if (!one_of(m.status, from) || (m.has_result && !pending_result)) {
		rollback(req->app->db);
		req->problem.detail = conflict;
		return RP_ECONFLICT;
	}
	if (pending_result) {
		/* cancelling a pending or disputed result: participants may withdraw a
		 * pending one; only an admin may reject a disputed one */
		bool disputed = strcmp(m.result.verification_status, "disputed") == 0;
		if (strcmp(to, "cancelled") != 0 || (disputed && !who.is_admin)) {
			rollback(req->app->db);
			req->problem.detail = disputed ? "a disputed result is resolved by an admin"
						       : conflict;
			return disputed ? RP_EFORBIDDEN : RP_ECONFLICT;
		}
		const char *params[] = {id, "rejected", who.claims.sub};
		e = db_command(req->app->db, STMT_RESULT_SET_STATUS, params);
		if (e != RP_OK) {
			rollback(req->app->db);
			return e;
		}
	}
	if ((e = match_set_status(req->app->db, id, to, NULL)) != RP_OK || (e = commit(req)) != RP_OK) {
		rollback(req->app->db);
		return e;
	}
	return respond_match(req, res, 200, id);
}

enum rp_err handle_match_start(struct request *req, struct response *res)
{
	static const char *const from[] = {"scheduled", NULL};
	return transition(req, res, from, "in_progress", "only a scheduled match can be started");
}

enum rp_err handle_match_cancel(struct request *req, struct response *res)
{
	static const char *const from[] = {"scheduled", "in_progress", NULL};
	return transition(req, res, from, "cancelled",
			  "only a scheduled or in-progress match can be cancelled");
}

/* --------------------------------------------------------------- results */

struct reported {
	int s1, s2;
	const char *type;          /* stored result_type */
	const char *match_status;  /* status after applying */
	enum rating_outcome outcome1;
	bool rated;
};

static enum rp_err read_result(struct request *req, const struct match *m, struct reported *r)
{
	static const struct field_spec spec[] = {
		{"player1Score", FIELD_INT, FIELD_REQUIRED, 0, 0, 1000, NULL},
		{"player2Score", FIELD_INT, FIELD_REQUIRED, 0, 0, 1000, NULL},
		{"resultType", FIELD_STRING, 0, 16, 0, 0, check_result_type},
	};
	struct field_value v[3];
	enum rp_err e = fields_parse(req, spec, 3, v);
	if (e != RP_OK)
		return e;
	r->s1 = (int)v[0].i;
	r->s2 = (int)v[1].i;
	const char *t = v[2].present ? v[2].str : (r->s1 == r->s2 ? "draw" : "win");
	bool decisive = r->s1 != r->s2;
	if ((strcmp(t, "draw") == 0 && decisive) ||
	    ((strcmp(t, "win") == 0 || strcmp(t, "forfeit") == 0 || strcmp(t, "no_show") == 0) &&
	     !decisive)) {
		request_field_error(req, "resultType",
				    strcmp(t, "draw") == 0 ? "a draw needs equal scores"
							   : "needs a higher score for the winner");
		req->problem.detail = "the result type does not match the scores";
		return RP_EINVAL;
	}
	r->type = t;
	r->outcome1 = !decisive ? RATING_DRAW : r->s1 > r->s2 ? RATING_WIN : RATING_LOSS;
	r->rated = strcmp(m->match_type, "ranked") == 0 && strcmp(t, "no_contest") != 0;
	r->match_status = strcmp(t, "forfeit") == 0   ? "forfeit"
			  : strcmp(t, "no_show") == 0 ? "no_show"
						      : "completed";
	return RP_OK;
}

static const char *winner_of(const struct match *m, const struct reported *r)
{
	if (strcmp(r->type, "no_contest") == 0 || r->outcome1 == RATING_DRAW)
		return NULL;
	return r->outcome1 == RATING_WIN ? m->player1_id : m->player2_id;
}

/* n numbers as decimal strings in the arena; false when out of memory */
static bool decimals(struct arena *a, const int *vals, const char **out, int n)
{
	for (int i = 0; i < n; i++)
		if ((out[i] = arena_printf(a, "%d", vals[i])) == NULL)
			return false;
	return true;
}

/*
 * Queue the insert of the match_results row; applied ratings (or unchanged
 * ones). With match_status (STMT_RESULT_RECORD) the same statement sets the
 * match's status and season and returns the match as it now stands (*row).
 */
static enum rp_err queue_result_insert(struct request *req, struct db_batch *b,
				       const struct match *m, const struct reported *r,
				       const struct applied_ratings *ar, const char *verification,
				       const char *reporter, const char *verifier,
				       const char *match_status, PGresult **row)
{
	const char *v[8];
	int vals[8] = {r->s1, r->s2, ar->all[0].before, ar->all[0].after, ar->all[1].before,
		       ar->all[1].after, ar->all[0].k, ar->all[1].k};
	if (!decimals(req->arena, vals, v, 8))
		return RP_ENOMEM;
	const char *params[] = {m->id, v[0], v[1], winner_of(m, r), r->type, v[2], v[3], v[4], v[5],
				v[6], v[7], verification, reporter, verifier,
				ar->has_season ? ar->season : NULL, result_season_json(req->arena, ar, m),
				match_status};
	const char *const *p = arena_params(req->arena, params, 17);
	if (p == NULL)
		return RP_ENOMEM;
	db_batch_add(b, match_status ? STMT_RESULT_RECORD : STMT_RESULT_INSERT, p, row);
	return RP_OK;
}

/* Queue the match's new status (and season). */
static enum rp_err queue_match_status(struct request *req, struct db_batch *b, const char *id,
				      const char *status, const struct applied_ratings *ar)
{
	const char *params[] = {id, status, ar->has_season ? ar->season : NULL};
	const char *const *p = arena_params(req->arena, params, 3);
	if (p == NULL)
		return RP_ENOMEM;
	db_batch_add(b, STMT_MATCH_SET_STATUS, p, NULL);
	return RP_OK;
}

/* Rated results move ratings (writes queued); others record the current ratings unchanged. */
static enum rp_err queue_apply(struct request *req, const struct match *m, const struct reported *r,
			       struct result_tx *tx, struct db_batch *b, struct applied_ratings *ar)
{
	if (r->rated) {
		const char *why = NULL;
		enum rp_err e = result_tx_rate(tx, b, req->arena, m, r->outcome1, ar, &why);
		if (e == RP_ECONFLICT)
			req->problem.detail = why;
		return e;
	}
	result_tx_unrated(tx, req->arena, m, ar);
	return RP_OK;
}

/* Post-commit: ranks in Redis and realtime events. Never fails the request. */
static void after_commit(struct request *req, const struct match *m, const struct reported *r,
			 const struct applied_ratings *ar)
{
	if (!r->rated)
		return;
	struct rank_seqs seqs;
	ranks_after_result(req->app, ar->ups, ar->has_season ? ar->season : NULL,
			   ar->has_season ? ar->season_ups : NULL, &seqs);
	publish_result(req, m, r->s1, r->s2, ar, &seqs);
}

/* Idempotency: request fingerprint over method, path and body. */
static const char *fingerprint(struct request *req)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)req->path, strlen(req->path));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	if (req->body != NULL)
		crypto_hash_sha256_update(&st, (const unsigned char *)req->body, req->body_len);
	crypto_hash_sha256_final(&st, h);
	char *hex = arena_alloc(req->arena, 65);
	if (hex != NULL)
		sodium_bin2hex(hex, 65, h, sizeof(h));
	return hex;
}

static bool idempotency_key_valid(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return false;
	return true;
}

/* STMT_IDEM_CLAIM's parameters for this request (arena), NULL when out of memory. */
static const char *const *claim_params(struct request *req, const char *who, const char *fp)
{
	const char *params[] = {who, req->idempotency_key, "POST /matches/{id}/result", fp};
	return fp != NULL ? arena_params(req->arena, params, 4) : NULL;
}

/*
 * Inside the open transaction, the key was not claimed (round trip 1): a
 * stored response is replayed (res filled), otherwise 409 (in progress) or
 * 422 (another request). The caller rolls back.
 */
static enum rp_err idempotency_replay(struct request *req, struct response *res, const char *who,
				      const char *fp)
{
	enum rp_err e;
	const char *gp[] = {who, req->idempotency_key};
	PGresult *r = db_query(req->app->db, STMT_IDEM_GET, gp, &e);
	if (r == NULL)
		return e;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 2)) {
		PQclear(r);
		req->problem.detail = "a request with this Idempotency-Key is still in progress";
		return RP_ECONFLICT;
	}
	if (strcmp(PQgetvalue(r, 0, 1), fp) != 0) {
		PQclear(r);
		request_field_error(req, "Idempotency-Key", "was already used for a different request");
		req->problem.detail = "Idempotency-Key reused with a different request";
		return RP_EINVAL;
	}
	res->status = atoi(PQgetvalue(r, 0, 2));
	buf_append(&res->body, PQgetvalue(r, 0, 3), (size_t)PQgetlength(r, 0, 3));
	PQclear(r);
	response_header(res, "Idempotent-Replayed", "true");
	response_header(res, "Cache-Control", "no-store");
	return RP_OK;
}

static enum rp_err store_response(struct request *req, const char *who, int status,
				  const struct buf *body)
{
	char st[8];
	snprintf(st, sizeof(st), "%d", status);
	const char *params[] = {who, req->idempotency_key, st, body->data};
	enum rp_err e;
	e = db_command(req->app->db, STMT_IDEM_STORE, params);
	return e;
}

/* Build the 200 body from the match as it now stands plus top-level ratingChanges. */
static enum rp_err result_body_of(struct response *res, const struct match *mp)
{
	struct match m = *mp;
	struct json_object *o = match_json(&m);
	struct json_object *result = json_object_object_get(o, "result");
	struct json_object *changes = result ? json_object_object_get(result, "ratingChanges") : NULL;
	json_object_object_add(o, "ratingChanges", changes ? json_object_get(changes) : NULL);
	struct json_object *season = NULL;
	if (m.has_result && m.result.season_changes != NULL) {
		const char *why;
		if (json_parse_strict(m.result.season_changes, strlen(m.result.season_changes),
				      &season, &why) != RP_OK)
			season = NULL;
	}
	json_object_object_add(o, "seasonChanges", season);
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, 200, o);
}

/* The 200 body from the match as stored now. */
static enum rp_err result_body(struct request *req, struct response *res, const char *id)
{
	struct match m;
	enum rp_err e = match_get(req->app->db, req->arena, id, &m);
	return e != RP_OK ? e : result_body_of(res, &m);
}

/* The 200 body from a STMT_MATCH_GET result that ran in a batch. */
static enum rp_err result_body_from(struct request *req, struct response *res, PGresult *row)
{
	struct match m;
	enum rp_err e = match_from_result(req->arena, row, &m, RP_EINTERNAL);
	return e != RP_OK ? e : result_body_of(res, &m);
}

/* RESULT_VERIFICATION=opponent: record the result as pending (ratings do not move). */
static enum rp_err record_pending(struct request *req, struct response *res, const struct match *m,
				  const struct reported *r, const char *who)
{
	struct applied_ratings ar;
	struct db_batch b;
	memset(&ar, 0, sizeof(ar));
	db_batch_init(&b);
	enum rp_err e = queue_result_insert(req, &b, m, r, &ar, "pending", who, NULL, NULL, NULL);
	if (e == RP_OK && (e = db_batch_run(req->app->db, &b)) == RP_OK)
		e = result_body(req, res, m->id);
	return e;
}

/*
 * Round trip 2 of an immediate result: the rating writes, then the
 * match_results row, the match status and the match as it now stands (one
 * statement), plus COMMIT when no Idempotency-Key response has to be stored
 * in the same transaction.
 */
static enum rp_err record_applied(struct request *req, struct response *res, const struct match *m,
				  const struct reported *r, const char *who, struct result_tx *tx,
				  struct applied_ratings *ar, bool *committed)
{
	struct db_batch b;
	PGresult *row = NULL;
	*committed = false;
	db_batch_init(&b);
	enum rp_err e = queue_apply(req, m, r, tx, &b, ar);
	if (e == RP_OK)
		e = queue_result_insert(req, &b, m, r, ar, "verified", who, NULL, r->match_status,
					&row);
	if (e != RP_OK)
		return e;
	if (req->idempotency_key == NULL)
		db_batch_sql(&b, "COMMIT");
	e = db_batch_run(req->app->db, &b);
	*committed = e == RP_OK && req->idempotency_key == NULL;
	if (e == RP_OK && r->rated)
		e = result_tx_finish(tx, ar);
	if (e == RP_OK)
		e = result_body_from(req, res, row);
	PQclear(row);
	return e;
}

enum rp_err handle_match_result(struct request *req, struct response *res)
{
	const char *id;
	struct principal who;
	enum rp_err e = match_and_caller(req, &id, &who);
	if (e != RP_OK)
		return e;
	if (req->idempotency_key != NULL && !idempotency_key_valid(req->idempotency_key)) {
		request_field_error(req, "Idempotency-Key", "must be 1-128 visible ASCII characters");
		req->problem.detail = "invalid Idempotency-Key header";
		return RP_EINVAL;
	}
	const char *const *claim = NULL;
	const char *fp = NULL;
	if (req->idempotency_key != NULL &&
	    ((fp = fingerprint(req)) == NULL || (claim = claim_params(req, who.claims.sub, fp)) == NULL))
		return RP_ENOMEM;
	struct db *db = req->app->db;
	bool pending = req->app->config->result_verification == VERIFY_OPPONENT, claimed;
	struct match m;
	struct result_tx tx;
	result_tx_init(&tx);
	if ((e = begin_result(req, id, claim, pending ? NULL : &tx, &m, &claimed)) != RP_OK)
		return e;
	struct reported r;
	struct applied_ratings ar;
	if (claim != NULL && !claimed)
		e = idempotency_replay(req, res, who.claims.sub, fp);
	else if ((e = guard(req, &who, &m)) == RP_OK && (e = read_result(req, &m, &r)) == RP_OK &&
		 (m.has_result ||
		  !(strcmp(m.status, "scheduled") == 0 || strcmp(m.status, "in_progress") == 0))) {
		req->problem.detail = m.has_result ? "a result was already reported for this match"
						   : "this match is closed";
		e = RP_ECONFLICT;
	}
	if (e != RP_OK || (claim != NULL && !claimed)) {
		result_tx_clear(&tx);
		rollback(db);
		return e;
	}
	bool committed = false;
	if (pending)
		e = record_pending(req, res, &m, &r, who.claims.sub);
	else
		e = record_applied(req, res, &m, &r, who.claims.sub, &tx, &ar, &committed);
	result_tx_clear(&tx);
	if (e == RP_OK && !committed && req->idempotency_key != NULL)
		e = store_response(req, who.claims.sub, res->status, &res->body);
	if (e == RP_OK && !committed)
		e = commit(req);
	if (e != RP_OK && !committed) {
		rollback(db);
		return e;
	}
	/* after a pipelined COMMIT only building the response can fail (out of memory) */
	if (!pending)
		after_commit(req, &m, &r, &ar);
	return e;
}

/* Reconstruct what was reported from the stored result. */
static void reported_from(const struct match *m, struct reported *r)
{
	r->s1 = m->result.player1_score;
	r->s2 = m->result.player2_score;
	r->type = m->result.result_type;
	r->outcome1 = r->s1 == r->s2 ? RATING_DRAW : r->s1 > r->s2 ? RATING_WIN : RATING_LOSS;
	r->rated = strcmp(m->match_type, "ranked") == 0 && strcmp(r->type, "no_contest") != 0;
	r->match_status = strcmp(r->type, "forfeit") == 0   ? "forfeit"
			  : strcmp(r->type, "no_show") == 0 ? "no_show"
							    : "completed";
}

/* Round trip 2 of a verification: the rating writes, the result row, the match status, COMMIT. */
static enum rp_err apply_verified(struct request *req, const struct match *m,
				  const struct reported *r, const char *verifier,
				  struct result_tx *tx, struct applied_ratings *ar)
{
	struct db_batch b;
	db_batch_init(&b);
	enum rp_err e = queue_apply(req, m, r, tx, &b, ar);
	if (e != RP_OK)
		return e;
	const char *v[6];
	int vals[6] = {ar->all[0].before, ar->all[0].after, ar->all[1].before, ar->all[1].after,
		       ar->all[0].k, ar->all[1].k};
	if (!decimals(req->arena, vals, v, 6))
		return RP_ENOMEM;
	const char *params[] = {m->id, v[0], v[1], v[2], v[3], v[4], v[5], verifier,
				ar->has_season ? ar->season : NULL, result_season_json(req->arena, ar, m)};
	const char *const *p = arena_params(req->arena, params, 10);
	if (p == NULL)
		return RP_ENOMEM;
	db_batch_add(&b, STMT_RESULT_APPLY, p, NULL);
	if ((e = queue_match_status(req, &b, m->id, r->match_status, ar)) != RP_OK)
		return e;
	db_batch_sql(&b, "COMMIT");
	if ((e = db_batch_run(req->app->db, &b)) == RP_OK && r->rated)
		e = result_tx_finish(tx, ar);
	return e;
}

/* verify (apply) or dispute a pending result */
static enum rp_err decide(struct request *req, struct response *res, bool verify)
{
	const char *id;
	struct principal who;
	enum rp_err e = match_and_caller(req, &id, &who);
	if (e != RP_OK)
		return e;
	struct db *db = req->app->db;
	struct match m;
	struct result_tx tx;
	bool claimed;
	result_tx_init(&tx);
	if ((e = begin_result(req, id, NULL, verify ? &tx : NULL, &m, &claimed)) != RP_OK)
		return e;
	const char *vs = m.has_result ? m.result.verification_status : NULL;
	bool is_pending = vs && strcmp(vs, "pending") == 0;
	bool is_disputed = vs && strcmp(vs, "disputed") == 0;
	bool opponent = m.has_result && match_is_participant(&m, who.claims.sub) &&
			(m.result.reported_by == NULL || strcmp(m.result.reported_by, who.claims.sub) != 0);
	if (!(is_pending || (verify && is_disputed))) {
		req->problem.detail = verify ? "there is no pending or disputed result to verify"
					     : "there is no pending result to dispute";
		e = RP_ECONFLICT;
	} else if (!(who.is_admin || (opponent && is_pending))) {
		req->problem.detail = is_disputed ? "a disputed result is resolved by an admin"
						  : "only the opponent of the reporter (or an admin) may do this";
		e = RP_EFORBIDDEN;
	}
	struct reported r;
	struct applied_ratings ar;
	if (e == RP_OK) {
		reported_from(&m, &r);
		if (!verify) {
			const char *params[] = {id, "disputed", NULL};
			if ((e = db_command(db, STMT_RESULT_SET_STATUS, params)) == RP_OK)
				e = commit(req);
		} else {
			e = apply_verified(req, &m, &r, who.claims.sub, &tx, &ar);
		}
	}
	result_tx_clear(&tx);
	if (e != RP_OK) {
		rollback(db);
		return e;
	}
	if (verify)
		after_commit(req, &m, &r, &ar);
	return verify ? result_body(req, res, id) : respond_match(req, res, 200, id);
}

enum rp_err handle_match_verify(struct request *req, struct response *res)
{
	return decide(req, res, true);
}

enum rp_err handle_match_dispute(struct request *req, struct response *res)
{
	return decide(req, res, false);
}

enum rp_err handle_rating_history(struct request *req, struct response *res)
{
	enum rp_err pe = existing_player(req);
	if (pe != RP_OK)
		return pe;
	enum rp_err e1, e2, e3;
	const char *season = request_query(req, "season", &e1);
	const char *limit_s = request_query(req, "limit", &e2);
	const char *before = request_query(req, "cursor", &e3);
	if (e1 || e2 || e3) {
		req->problem.detail = "malformed query string";
		return RP_EBADREQ;
	}
	long long limit = 50, b;
	if (limit_s != NULL && !query_long(limit_s, 1, MATCH_PAGE_MAX, &limit))
		request_field_error(req, "limit", "must be an integer from 1 to 100");
	if (before != NULL && !query_long(before, 1, 9000000000000000000LL, &b))
		request_field_error(req, "cursor", "is not a cursor returned by this endpoint");
	if (season != NULL && (strlen(season) > 64 || season[0] == '\0'))
		request_field_error(req, "season", "is not a season id");
	if (req->problem.nerrors > 0) {
		req->problem.detail = "invalid query parameters";
		return RP_EINVAL;
	}
	enum rp_err e;
	if (season != NULL && (e = season_find(req->app->db, season)) != RP_OK) {
		if (e == RP_ENOTFOUND)
			req->problem.detail = "no such season";
		return e;
	}
	char lim[24];
	snprintf(lim, sizeof(lim), "%lld", limit);
	const char *params[] = {req->params[0], season ? season : "all-time", before, lim};
	PGresult *r = db_query(req->app->db, STMT_RATING_HISTORY, params, &e);
	if (r == NULL)
		return e;
	struct json_object *list = json_object_new_array();
	int rows = PQntuples(r);
	for (int i = 0; i < rows; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "matchId", json_object_new_string(PQgetvalue(r, i, 1)));
		json_object_object_add(o, "before", json_object_new_int(atoi(PQgetvalue(r, i, 2))));
		json_object_object_add(o, "after", json_object_new_int(atoi(PQgetvalue(r, i, 3))));
		json_object_object_add(o, "delta", json_object_new_int(atoi(PQgetvalue(r, i, 4))));
		json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, i, 5)));
		json_object_array_add(list, o);
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "playerId", json_object_new_string(req->params[0]));
	json_object_object_add(o, "seasonId", json_object_new_string(season ? season : "all-time"));
	json_object_object_add(o, "events", list);
	json_object_object_add(o, "nextCursor",
			       rows == limit ? json_object_new_string(PQgetvalue(r, rows - 1, 0)) : NULL);
	PQclear(r);
	response_public_1s(res);
	return response_json(res, 200, o);
}
