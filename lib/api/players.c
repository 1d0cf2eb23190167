/*
 * players.c — /players, /players/{id}, /players/{id}/stats.
 *
 * Reads are public; a deactivated or unknown id is 404 (ids that are not
 * UUIDs never reach the database). Email and lastActiveAt are shown to the
 * player themself and to admins only, and such responses are never
 * cacheable. Writes need a token of the player or of an admin.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/handlers.h"
#include "auth/authn.h"
#include "auth/base64url.h"
#include "core/arena.h"
#include "core/log.h"
#include "http/fields.h"
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

enum rp_err handle_player_stats(struct request *req, struct response *res)
{
	const char *id;
	struct player p;
	enum rp_err e = player_param(req, &id);
	if (e != RP_OK || (e = load_player(req, id, &p)) != RP_OK)
		return e;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "playerId", json_object_new_string(p.id));
	json_object_object_add(o, "username", json_object_new_string(p.username));
	json_object_object_add(o, "elo", json_object_new_int(p.elo));
	json_object_object_add(o, "peakElo", json_object_new_int(p.peak_elo));
	json_object_object_add(o, "lowestElo", json_object_new_int(p.lowest_elo));
	json_object_object_add(o, "gamesPlayed", json_object_new_int(p.games_played));
	json_object_object_add(o, "wins", json_object_new_int(p.wins));
	json_object_object_add(o, "losses", json_object_new_int(p.losses));
	json_object_object_add(o, "draws", json_object_new_int(p.draws));
	double rate = p.games_played > 0 ? (double)p.wins / p.games_played : 0.0;
	rate = round(rate * 10000.0) / 10000.0;
	char txt[16];
	snprintf(txt, sizeof(txt), "%.4g", rate);
	json_object_object_add(o, "winRate", json_object_new_double_s(rate, txt));
	json_object_object_add(o, "currentStreak", json_object_new_int(p.current_streak));
	json_object_object_add(o, "bestWinStreak", json_object_new_int(p.best_win_streak));
	long global_rank, country_rank;
	long long seq;
	leaderboard_player_ranks(req, p.id, p.country_code, &global_rank, &country_rank, &seq);
	json_object_object_add(o, "globalRank", global_rank > 0 ? json_object_new_int64(global_rank) : NULL);
	json_object_object_add(o, "countryRank", country_rank > 0 ? json_object_new_int64(country_rank) : NULL);
	cache_headers(res, false);
	/* ranks move with everybody's results: the ETag carries the board seq too */
	if (seq >= 0) {
		const char *etag = arena_printf(req->arena, "W/\"p-%s-%lld-%lld\"", p.id, p.version, seq);
		if (etag != NULL) {
			response_header(res, "ETag", etag);
			if (req->if_none_match != NULL && strstr(req->if_none_match, etag + 2) != NULL) {
				json_object_put(o);
				res->status = 304;
				return RP_OK;
			}
		}
	}
	return response_json(res, 200, o);
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
	if (patch.set_country_code)
		ranks_player_moved(req->app, NULL, p.country_code);
	else if (patch.set_display_name)
		ranks_touch(req->app, p.country_code);
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
