/*
 * leaderboards.c — /leaderboards (+ /around/{id}, /me), the /leaderboard/... aliases,
 * aliases, and /seasons.
 *
 * Board reads are public and cacheable for one second (nginx microcaches
 * them; see docs/caching.md): they carry Cache-Control: public, max-age=1
 * and an ETag made of the board's realtime seq and the query, answered with
 * 304 on If-None-Match. /leaderboards/me is private and never cached.
 */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/handlers.h"
#include "auth/authn.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/fields.h"
#include "leaderboard/board.h"
#include "leaderboard/ranks.h"
#include "store/db.h"
#include "store/seasons.h"
#include "validate/country.h"
#include "validate/validate.h"

#define BOARD_LIMIT_DEFAULT 10
#define BOARD_LIMIT_MAX 100
#define BOARD_OFFSET_MAX 10000000L
#define AROUND_RADIUS_DEFAULT 5
#define AROUND_RADIUS_MAX 50

struct board_query {
	struct board_id board;
	const char *scope;
	long offset;
	int limit;
	const char *cursor;
	int radius;
};

static enum rp_err current_season(struct request *req, char out[72])
{
	enum rp_err err;
	PGresult *r = db_query(req->app->db, STMT_SEASON_CURRENT, NULL, &err);
	if (r == NULL)
		return err;
	err = PQntuples(r) == 1 ? RP_OK : RP_ENOTFOUND;
	if (err == RP_OK)
		snprintf(out, 72, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return err;
}

/*
 * Parse scope/country/period/season/limit/offset/cursor/radius.
 * forced_scope / forced_country come from the alias paths.
 */
static enum rp_err parse_query(struct request *req, struct board_query *q, const char *forced_country,
			       bool forced_global)
{
	enum rp_err e[8];
	const char *scope = request_query(req, "scope", &e[0]);
	const char *country = request_query(req, "country", &e[1]);
	const char *period = request_query(req, "period", &e[2]);
	const char *season = request_query(req, "season", &e[3]);
	const char *limit = request_query(req, "limit", &e[4]);
	const char *offset = request_query(req, "offset", &e[5]);
	const char *cursor = request_query(req, "cursor", &e[6]);
	const char *radius = request_query(req, "radius", &e[7]);
	for (int i = 0; i < 8; i++)
		if (e[i] != RP_OK) {
			req->problem.detail = "malformed query string";
			return RP_EBADREQ;
		}
	memset(q, 0, sizeof(*q));
	if (forced_country != NULL) {
		country = forced_country;
		scope = "country";
	} else if (forced_global) {
		scope = "global";
		country = NULL;
	}
	if (scope == NULL)
		scope = country != NULL ? "country" : "global";
	char cc[3] = "";
	if (strcmp(scope, "global") != 0 && strcmp(scope, "country") != 0)
		request_field_error(req, "scope", "must be global or country");
	else if (strcmp(scope, "country") == 0) {
		if (country == NULL)
			request_field_error(req, "country", "is required when scope is country");
		else if (!country_normalize(country, cc))
			request_field_error(req, "country", "must be an ISO 3166-1 alpha-2 country code");
	} else if (country != NULL) {
		request_field_error(req, "country", "is only allowed with scope=country");
	}
	q->scope = scope;
	enum board_period p = season != NULL ? PERIOD_SEASON : PERIOD_ALL;
	if (period != NULL && !board_period_parse(period, &p))
		request_field_error(req, "period", "must be all, season, day, week or month");
	if (season != NULL && p != PERIOD_SEASON)
		request_field_error(req, "season", "is only allowed with period=season");
	if (season != NULL && (strlen(season) > 64 || season[0] == '\0'))
		request_field_error(req, "season", "is not a season id");
	long long l = BOARD_LIMIT_DEFAULT, off = 0, rad = AROUND_RADIUS_DEFAULT;
	if (limit != NULL && !query_long(limit, 1, BOARD_LIMIT_MAX, &l))
		request_field_error(req, "limit", "must be an integer from 1 to 100");
	if (offset != NULL && !query_long(offset, 0, BOARD_OFFSET_MAX, &off))
		request_field_error(req, "offset", "must be an integer from 0 to 10000000");
	if (offset != NULL && cursor != NULL)
		request_field_error(req, "cursor", "cannot be combined with offset");
	if (cursor != NULL && (strlen(cursor) > 200 || cursor[0] == '\0'))
		request_field_error(req, "cursor", "is not a cursor returned by this endpoint");
	if (radius != NULL && !query_long(radius, 0, AROUND_RADIUS_MAX, &rad))
		request_field_error(req, "radius", "must be an integer from 0 to 50");
	if (req->problem.nerrors > 0) {
		req->problem.detail = "invalid query parameters";
		return RP_EINVAL;
	}
	char sid[72] = "";
	if (p == PERIOD_SEASON) {
		enum rp_err err = RP_OK;
		if (season != NULL) {
			if ((err = season_find(req->app->db, season)) != RP_OK) {
				if (err == RP_ENOTFOUND)
					req->problem.detail = "no such season";
				return err;
			}
			snprintf(sid, sizeof(sid), "%s", season);
		} else if ((err = current_season(req, sid)) != RP_OK) {
			if (err == RP_ENOTFOUND)
				req->problem.detail = "there is no current season";
			return err;
		}
	}
	board_id_init(&q->board, p, sid, cc[0] ? cc : NULL);
	q->limit = (int)l;
	q->offset = (long)off;
	q->cursor = cursor;
	q->radius = (int)rad;
	return RP_OK;
}

/* ETag for a public board answer; NULL when the board seq is unknown. */
static const char *board_etag(struct request *req, long long seq)
{
	if (seq < 0)
		return NULL;
	unsigned long h = 5381;
	for (const char *p = req->path; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = req->query; *p; p++)
		h = h * 33 + (unsigned char)*p;
	/* W/"lb-<seq>-<h in hex>", as "%lx" wrote it, without printf (every board read) */
	char hex[2 * sizeof(h)], *x = hex + sizeof(hex);
	do {
		*--x = "0123456789abcdef"[h & 15];
		h >>= 4;
	} while (h != 0);
	size_t nhex = (size_t)(hex + sizeof(hex) - x);
	char *etag = arena_alloc(req->arena, 6 + FMT_LL_MAX + 1 + sizeof(hex) + 2);
	if (etag == NULL)
		return NULL;
	memcpy(etag, "W/\"lb-", 6);
	char *p = etag + 6 + fmt_ll(etag + 6, seq);
	*p++ = '-';
	memcpy(p, x, nhex);
	p += nhex;
	memcpy(p, "\"", 2);
	return etag;
}

/* 304 when If-None-Match names etag. */
static bool not_modified(struct request *req, struct response *res, const char *etag)
{
	if (etag == NULL)
		return false;
	response_header(res, "ETag", etag);
	const char *inm = req->if_none_match;
	if (inm == NULL || strstr(inm, etag + 2) == NULL) /* compare the opaque part */
		return false;
	res->status = 304;
	return true;
}

/* The page as the response body; player (around-me) is appended when given. */
static enum rp_err page_respond(struct response *res, const struct board_query *q,
				const struct board_page *page, struct arena *a, bool with_cursor,
				const struct board_entry *player)
{
	struct buf *b = &res->body;
	const struct board_id *board = &q->board;
	b->len = 0;
	buf_puts(b, "{\"scope\":");
	buf_json_string(b, q->scope);
	buf_puts(b, ",\"country\":");
	buf_json_string_or_null(b, board->country[0] ? board->country : NULL);
	buf_puts(b, ",\"period\":");
	buf_json_string(b, board_period_name(board->period));
	buf_puts(b, ",\"season\":");
	buf_json_string_or_null(b, board->period == PERIOD_SEASON || board->period == PERIOD_ALL
					   ? board->season
					   : NULL);
	if (board->period >= PERIOD_DAY) {
		buf_puts(b, ",\"windowStart\":");
		buf_json_string(b, board->window_start);
	}
	buf_json_field_int(b, ",\"total\":", page->total);
	buf_puts(b, ",\"entries\":[");
	for (int i = 0; i < page->count; i++) {
		if (i > 0)
			buf_puts(b, ",");
		board_entry_write(b, &page->entries[i]);
	}
	const char *next = NULL;
	if (with_cursor && page->count == q->limit && page->count > 0 &&
	    page->entries[page->count - 1].rank < page->total)
		next = board_cursor_encode(a, board, &page->entries[page->count - 1]);
	buf_puts(b, "],\"nextCursor\":");
	buf_json_string_or_null(b, next);
	buf_puts(b, ",\"seq\":");
	if (page->seq >= 0)
		buf_json_int(b, page->seq);
	else
		buf_puts(b, "null");
	char ts[32];
	time_iso8601(ts);
	buf_puts(b, ",\"generatedAt\":");
	buf_json_string(b, ts);
	if (player != NULL) {
		buf_puts(b, ",\"player\":");
		board_entry_write(b, player);
	}
	buf_puts(b, "}");
	return response_json_written(res, 200);
}

static enum rp_err serve_board(struct request *req, struct response *res, const char *country,
			       bool global)
{
	struct board_query q;
	enum rp_err e = parse_query(req, &q, country, global);
	if (e != RP_OK)
		return e;
	struct board_page page;
	if (q.cursor != NULL)
		e = board_page_after(req->app, req->arena, &q.board, q.cursor, q.limit, &page);
	else
		e = board_page_offset(req->app, req->arena, &q.board, q.offset, q.limit, &page);
	if (e == RP_EINVAL) {
		request_field_error(req, "cursor", "is not a cursor returned by this endpoint");
		req->problem.detail = "invalid query parameters";
	}
	if (e != RP_OK)
		return e;
	response_public_1s(res);
	if (not_modified(req, res, board_etag(req, page.seq)))
		return RP_OK;
	return page_respond(res, &q, &page, req->arena, true, NULL);
}

enum rp_err handle_leaderboards(struct request *req, struct response *res)
{
	return serve_board(req, res, NULL, false);
}

enum rp_err handle_leaderboard_global(struct request *req, struct response *res)
{
	return serve_board(req, res, NULL, true);
}

enum rp_err handle_leaderboard_country(struct request *req, struct response *res)
{
	char cc[3];
	if (!country_normalize(req->params[0], cc)) {
		req->problem.detail = "no such country board";
		return RP_ENOTFOUND;
	}
	return serve_board(req, res, arena_strdup(req->arena, cc), false);
}

static enum rp_err around(struct request *req, struct response *res, const char *player, bool priv)
{
	struct board_query q;
	enum rp_err e = parse_query(req, &q, NULL, false);
	if (e != RP_OK)
		return e;
	struct board_entry me;
	struct board_page page;
	e = board_around(req->app, req->arena, &q.board, player, q.radius, &page, &me);
	if (e == RP_ENOTFOUND)
		req->problem.detail = "the player is not on this leaderboard";
	if (e != RP_OK)
		return e;
	if (priv)
		response_header(res, "Cache-Control", "private, no-store");
	else
		response_public_1s(res);
	if (!priv && not_modified(req, res, board_etag(req, page.seq)))
		return RP_OK;
	return page_respond(res, &q, &page, req->arena, false, &me);
}

enum rp_err handle_leaderboard_around(struct request *req, struct response *res)
{
	if (!validate_uuid(req->params[0])) {
		req->problem.detail = "no such player";
		return RP_ENOTFOUND;
	}
	return around(req, res, req->params[0], false);
}

enum rp_err handle_leaderboard_me(struct request *req, struct response *res)
{
	struct principal who;
	enum rp_err e = authn_require(req, &who);
	if (e != RP_OK)
		return e;
	return around(req, res, who.claims.sub, true);
}

/* Ranks for /players/{id}/stats: -1 when not ranked. */
void leaderboard_player_ranks(struct request *req, const char *player, const char *country,
			      long *global_rank, long *country_rank, long long *seq)
{
	struct board_id b;
	struct board_entry e;
	*global_rank = *country_rank = -1;
	board_id_init(&b, PERIOD_ALL, NULL, NULL);
	if (board_rank_of(req->app, req->arena, &b, player, &e) == RP_OK)
		*global_rank = e.rank;
	if (country != NULL) {
		board_id_init(&b, PERIOD_ALL, NULL, country);
		if (board_rank_of(req->app, req->arena, &b, player, &e) == RP_OK)
			*country_rank = e.rank;
	}
	*seq = ranks_seq(req->app, "leaderboard");
}

/* ------------------------------------------------------------------ seasons */

static struct json_object *season_json(PGresult *r, int row)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, row, 0)));
	json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, row, 1)));
	json_object_object_add(o, "startsAt", json_object_new_string(PQgetvalue(r, row, 2)));
	json_object_object_add(o, "endsAt", PQgetisnull(r, row, 3) ? NULL : json_object_new_string(PQgetvalue(r, row, 3)));
	json_object_object_add(o, "isActive", json_object_new_boolean(PQgetvalue(r, row, 4)[0] == 't'));
	return o;
}

enum rp_err handle_season_list(struct request *req, struct response *res)
{
	enum rp_err e;
	PGresult *r = db_query(req->app->db, STMT_SEASON_LIST, NULL, &e);
	if (r == NULL)
		return e;
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_object_array_add(list, season_json(r, i));
	PQclear(r);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "seasons", list);
	response_public_1s(res);
	return response_json(res, 200, o);
}

static bool check_season_id(const char *s, const char **why)
{
	*why = "must be 1-64 characters of a-z, 0-9 and -, starting with a letter or digit";
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '-' || strcmp(s, "all-time") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool check_season_name(const char *s, const char **why)
{
	return validate_display_name(s, why) || (*why = "must be 1-64 printable characters", false);
}

static enum rp_err require_admin(struct request *req, struct principal *who)
{
	enum rp_err e = authn_require(req, who);
	if (e != RP_OK)
		return e;
	if (!who->is_admin) {
		req->problem.detail = "seasons are managed by admins";
		return RP_EFORBIDDEN;
	}
	return RP_OK;
}

enum rp_err handle_season_create(struct request *req, struct response *res)
{
	struct principal who;
	enum rp_err e = require_admin(req, &who);
	if (e != RP_OK)
		return e;
	static const struct field_spec spec[] = {
		{"id", FIELD_STRING, FIELD_REQUIRED, 64, 0, 0, check_season_id},
		{"name", FIELD_STRING, FIELD_REQUIRED, 256, 0, 0, check_season_name},
		{"startsAt", FIELD_STRING, FIELD_NULLABLE, 40, 0, 0, check_timestamp_field},
		{"endsAt", FIELD_STRING, FIELD_NULLABLE, 40, 0, 0, check_timestamp_field},
	};
	struct field_value v[4];
	if ((e = fields_parse(req, spec, 4, v)) != RP_OK)
		return e;
	const char *params[] = {v[0].str, v[1].str, v[2].present && !v[2].is_null ? v[2].str : NULL,
				v[3].present && !v[3].is_null ? v[3].str : NULL};
	PGresult *r = db_query(req->app->db, STMT_SEASON_INSERT, params, &e);
	if (e == RP_ECONFLICT) {
		req->problem.detail = "a season with this id exists, or another season is still open";
		return e;
	}
	if (r == NULL) {
		if (e == RP_EINTERNAL && strncmp(db_sqlstate(req->app->db), "23", 2) == 0) {
			request_field_error(req, "endsAt", "must be after startsAt");
			req->problem.detail = "one or more fields are invalid";
			return RP_EINVAL;
		}
		return e;
	}
	struct json_object *o = season_json(r, 0);
	PQclear(r);
	log_info("season %s created", v[0].str);
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, 201, o);
}

enum rp_err handle_season_close(struct request *req, struct response *res)
{
	struct principal who;
	enum rp_err e = require_admin(req, &who);
	if (e != RP_OK)
		return e;
	const char *id = req->params[0];
	const char *why;
	if (!check_season_id(id, &why)) {
		req->problem.detail = strcmp(id, "all-time") == 0 ? "the all-time season never closes"
								  : "no such season";
		return strcmp(id, "all-time") == 0 ? RP_ECONFLICT : RP_ENOTFOUND;
	}
	const char *params[] = {id};
	PGresult *r = db_query(req->app->db, STMT_SEASON_CLOSE, params, &e);
	if (r == NULL)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		if ((e = season_find(req->app->db, id)) != RP_OK && e != RP_ENOTFOUND)
			return e;
		bool exists = e == RP_OK;
		req->problem.detail = exists ? "the season is already closed" : "no such season";
		return exists ? RP_ECONFLICT : RP_ENOTFOUND;
	}
	struct json_object *o = season_json(r, 0);
	PQclear(r);
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, 200, o);
}
