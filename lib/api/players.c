/*
 * players.c — /players, /players/{id}, /players/{id}/stats.
 *
 * Reads are public; a deactivated or unknown id is 404 (ids that are not
 * UUIDs never reach the database). Email and lastActiveAt are shown to the
 * player themself and to admins only, and such responses are never
 * cacheable. Writes need a token of the player or of an admin.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/handlers.h"
#include "auth/authn.h"
#include "auth/base64url.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/fields.h"
#include "leaderboard/board.h"
#include "leaderboard/ranks.h"
#include "store/players.h"
#include "validate/country.h"
#include "validate/validate.h"

#define PLAYER_PAGE_DEFAULT 20
#define PLAYER_PAGE_MAX 100

/* req->params[0] as a player id, or RP_ENOTFOUND. */
static enum rp_err player_param(struct request *req, const char **id)
{
	*id = req->params[0];
	if (!validate_uuid(*id)) {
		req->problem.detail = "no such player";
		return RP_ENOTFOUND;
	}
	return RP_OK;
}

static enum rp_err load_player(struct request *req, const char *id, struct player *p)
{
	enum rp_err e = player_by_id(req->app->db, req->arena, id, p);
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such player";
	return e;
}

static void cache_headers(struct response *res, bool private_view)
{
	if (private_view)
		response_header(res, "Cache-Control", "private, no-store");
	else
		response_public_1s(res);
	if (!private_view)
		response_header(res, "Vary", "Authorization");
}

enum rp_err handle_player_get(struct request *req, struct response *res)
{
	const char *id;
	struct player p;
	enum rp_err e = player_param(req, &id);
	if (e != RP_OK || (e = load_player(req, id, &p)) != RP_OK)
		return e;
	struct principal who;
	authn_optional(req, &who);
	bool priv = authn_may_act_for(&who, p.id);
	cache_headers(res, priv);
	return response_json(res, 200, player_profile_json(&p, priv));
}

/* The stats of a player read from PostgreSQL, ranks from the boards. */
static enum rp_err stats_from_db(struct request *req, const char *id, struct board_entry *e,
				 long *global_rank, long *country_rank, long long *seq)
{
	struct player p;
	enum rp_err err = load_player(req, id, &p);
	if (err != RP_OK)
		return err;
	*e = (struct board_entry){.player_id = p.id, .username = p.username, .elo = p.elo,
				  .games = p.games_played, .wins = p.wins, .losses = p.losses,
				  .draws = p.draws, .peak_elo = p.peak_elo, .lowest_elo = p.lowest_elo,
				  .current_streak = p.current_streak, .best_win_streak = p.best_win_streak,
				  .version = p.version};
	leaderboard_player_ranks(req, p.id, p.country_code, global_rank, country_rank, seq);
	return RP_OK;
}

/* The stats body; ranks ≤ 0 are null. */
static enum rp_err stats_respond(struct response *res, const struct board_entry *p,
				 long global_rank, long country_rank)
{
	struct buf *b = &res->body;
	char rate[16];
	board_win_rate(rate, sizeof(rate), p->wins, p->games);
	b->len = 0;
	buf_puts(b, "{\"playerId\":");
	buf_json_string(b, p->player_id);
	buf_puts(b, ",\"username\":");
	buf_json_string(b, p->username);
	buf_json_field_int(b, ",\"elo\":", p->elo);
	buf_json_field_int(b, ",\"peakElo\":", p->peak_elo);
	buf_json_field_int(b, ",\"lowestElo\":", p->lowest_elo);
	buf_json_field_int(b, ",\"gamesPlayed\":", p->games);
	buf_json_field_int(b, ",\"wins\":", p->wins);
	buf_json_field_int(b, ",\"losses\":", p->losses);
	buf_json_field_int(b, ",\"draws\":", p->draws);
	buf_puts(b, ",\"winRate\":");
	buf_puts(b, rate);
	buf_json_field_int(b, ",\"currentStreak\":", p->current_streak);
	buf_json_field_int(b, ",\"bestWinStreak\":", p->best_win_streak);
	if (global_rank > 0)
		buf_json_field_int(b, ",\"globalRank\":", global_rank);
	else
		buf_puts(b, ",\"globalRank\":null");
	if (country_rank > 0)
		buf_json_field_int(b, ",\"countryRank\":", country_rank);
	else
		buf_puts(b, ",\"countryRank\":null");
	buf_puts(b, "}");
	return response_json_written(res, 200);
}

/*
 * Stats are answered by Redis alone (the player's all-time entry and both
 * ranks, one round trip) while the boards are built; PostgreSQL otherwise,
 * and for anyone not on the board (unknown or deactivated: 404).
 */
enum rp_err handle_player_stats(struct request *req, struct response *res)
{
	const char *id;
	enum rp_err e = player_param(req, &id);
	if (e != RP_OK)
		return e;
	struct board_entry p;
	long global_rank = -1, country_rank = -1;
	long long seq = -1;
	if (ranks_read_player(req->app, req->arena, id, &p, &global_rank, &country_rank, &seq) != RP_OK &&
	    (e = stats_from_db(req, id, &p, &global_rank, &country_rank, &seq)) != RP_OK)
		return e;
	cache_headers(res, false);
	/* ranks move with everybody's results: the ETag carries the board seq too */
	if (seq >= 0) {
		const char *etag = arena_printf(req->arena, "W/\"p-%s-%lld-%lld\"", p.player_id, p.version, seq);
		if (etag != NULL) {
			response_header(res, "ETag", etag);
			if (req->if_none_match != NULL && strstr(req->if_none_match, etag + 2) != NULL) {
				res->status = 304;
				return RP_OK;
			}
		}
	}
	return stats_respond(res, &p, global_rank, country_rank);
}

/* Writes: the path's player, acted on by that player or an admin. */
static enum rp_err writable_player(struct request *req, const char **id, const char *refusal)
{
	enum rp_err e = player_param(req, id);
	struct principal who;
	if (e != RP_OK || (e = authn_require(req, &who)) != RP_OK)
		return e;
	if (!authn_may_act_for(&who, *id)) {
		req->problem.detail = refusal;
		return RP_EFORBIDDEN;
	}
	return RP_OK;
}

enum rp_err handle_player_patch(struct request *req, struct response *res)
{
	const char *id;
	enum rp_err e = writable_player(req, &id, "you may only change your own profile");
	if (e != RP_OK)
		return e;
	static const struct field_spec spec[] = {
		{"displayName", FIELD_STRING, FIELD_NULLABLE, 256, 0, 0, validate_display_name},
		{"countryCode", FIELD_STRING, FIELD_NULLABLE, 8, 0, 0, check_country},
		{"bio", FIELD_STRING, FIELD_NULLABLE, 2000, 0, 0, validate_bio},
		{"avatarUrl", FIELD_STRING, FIELD_NULLABLE, 2048, 0, 0, validate_avatar_url},
	};
	struct field_value v[4];
	if ((e = fields_parse(req, spec, 4, v)) != RP_OK)
		return e;
	if (!v[0].present && !v[1].present && !v[2].present && !v[3].present) {
		request_field_error(req, "", "no updatable field given (displayName, countryCode, bio, avatarUrl)");
		req->problem.detail = "nothing to update";
		return RP_EINVAL;
	}
	char cc[3];
	struct player_patch patch = {
		.set_display_name = v[0].present, .display_name = v[0].is_null ? NULL : v[0].str,
		.set_country_code = v[1].present, .country_code = NULL,
		.set_bio = v[2].present, .bio = v[2].is_null ? NULL : v[2].str,
		.set_avatar_url = v[3].present, .avatar_url = v[3].is_null ? NULL : v[3].str,
	};
	if (v[1].present && !v[1].is_null && country_normalize(v[1].str, cc))
		patch.country_code = cc;
	struct player p;
	e = player_update(req->app->db, req->arena, id, &patch, &p);
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such player";
	if (e != RP_OK)
		return e;
	/* boards show names and countries: keep their caches and ETags honest */
	if (patch.set_country_code || patch.set_display_name)
		ranks_player_changed(req->app, p.id);
	cache_headers(res, true);
	return response_json(res, 200, player_profile_json(&p, true));
}

enum rp_err handle_player_delete(struct request *req, struct response *res)
{
	const char *id;
	enum rp_err e = writable_player(req, &id, "you may only deactivate your own account");
	if (e != RP_OK)
		return e;
	e = player_deactivate(req->app->db, id);
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such player";
	if (e != RP_OK)
		return e;
	ranks_player_removed(req->app, id, NULL);
	if (authn_revoke_player(req, id) != RP_OK)
		log_warn("access tokens of deactivated player %s not revoked: redis unavailable", id);
	log_info("player deactivated: %s", id);
	res->status = 204;
	response_header(res, "Cache-Control", "no-store");
	return RP_OK;
}

/* Search prefix: [A-Za-z0-9_-]{0,32}, lower-cased into the arena. */
static const char *search_prefix(struct request *req, const char *s)
{
	size_t n = strlen(s);
	if (n > 32)
		return NULL;
	char *out = arena_strndup(req->arena, s, n);
	for (size_t i = 0; out != NULL && i < n; i++) {
		char c = out[i];
		if (c >= 'A' && c <= 'Z')
			out[i] = (char)(c + 32);
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return NULL;
	}
	return out;
}

enum rp_err handle_player_list(struct request *req, struct response *res)
{
	enum rp_err e1, e2, e3;
	const char *search = request_query(req, "search", &e1);
	const char *limit_s = request_query(req, "limit", &e2);
	const char *cursor_s = request_query(req, "cursor", &e3);
	if (e1 != RP_OK || e2 != RP_OK || e3 != RP_OK) {
		req->problem.detail = "malformed query string";
		return RP_EBADREQ;
	}
	const char *prefix = search_prefix(req, search ? search : "");
	if (prefix == NULL)
		request_field_error(req, "search", "must be up to 32 characters of A-Z, a-z, 0-9, _ or -");
	long long limit = PLAYER_PAGE_DEFAULT;
	if (limit_s != NULL && !query_long(limit_s, 1, PLAYER_PAGE_MAX, &limit))
		request_field_error(req, "limit", "must be an integer from 1 to 100");
	const char *cursor = "";
	if (cursor_s != NULL) {
		unsigned char raw[40];
		long n = base64url_decode(raw, sizeof(raw) - 1, cursor_s, strlen(cursor_s));
		const char *c = NULL;
		if (n > 0) {
			raw[n] = '\0';
			c = search_prefix(req, (const char *)raw);
		}
		if (c == NULL || (size_t)n != strlen(c))
			request_field_error(req, "cursor", "is not a cursor returned by this endpoint");
		else
			cursor = c;
	}
	if (req->problem.nerrors > 0) {
		req->problem.detail = "invalid query parameters";
		return RP_EINVAL;
	}
	struct player *rows;
	int count;
	enum rp_err e = player_search(req->app->db, req->arena, prefix, cursor, (int)limit, &rows, &count);
	if (e != RP_OK)
		return e;
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < count; i++)
		json_object_array_add(list, player_profile_json(&rows[i], false));
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "players", list);
	struct json_object *next = NULL;
	if (count == limit) {
		const char *last = search_prefix(req, rows[count - 1].username);
		char *enc = last ? arena_alloc(req->arena, base64url_encoded_len(strlen(last)) + 1) : NULL;
		if (enc != NULL) {
			base64url_encode(enc, (const unsigned char *)last, strlen(last));
			next = json_object_new_string(enc);
		}
	}
	json_object_object_add(o, "nextCursor", next);
	cache_headers(res, false);
	return response_json(res, 200, o);
}
