/*
 * realtime.c — subscriber admission for /rt/... (SPEC §7).
 *
 * nginx sends every /rt/ request here first. The app checks the channel
 * (known shape, existing match or player, a valid token for /rt/me) and
 * answers with X-Accel-Redirect to the internal nchan subscriber location
 * /_sub/<channel>; a refused subscription is an ordinary problem+json and
 * never reaches nchan. This replaces nchan_authorize_request, which
 * crashes nchan 1.3.6 with the stock fastcgi params (hazard 1).
 *
 * Replay ids (hazard 2): a client's Last-Event-ID / last_event_id is only
 * passed on (as ?lid=, the only id source the subscriber location reads)
 * when nchan still holds messages on that channel and the id is not newer
 * than the last of them. A stale id on an empty channel — after an nginx
 * restart, say — is dropped and the client simply starts from new
 * messages (and refetches the snapshot when it sees a seq gap).
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
#include "core/log.h"
#include "http/json.h"
#include "store/db.h"
#include "store/matches.h"
#include "store/players.h"
#include "store/seasons.h"
#include "validate/country.h"
#include "validate/validate.h"

/* "<time>:<tag>" with small decimal parts. */
static bool parse_msg_id(const char *s, long long *t, long *tag)
{
	if (s == NULL || strlen(s) > 24)
		return false;
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return false;
	*t = strtoll(s, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	*tag = strtol(end + 1, &end, 10);
	return *end == '\0' && *t >= 0 && *tag >= 0;
}

/* The id to forward to nchan, or NULL. */
static const char *valid_last_id(struct request *req, const char *channel, const char *presented)
{
	long long t, last_t;
	long tag, last_tag;
	if (!parse_msg_id(presented, &t, &tag))
		return NULL;
	char info[1024];
	int status = 0;
	const char *path = arena_printf(req->arena, "/pub/%s", channel);
	if (path == NULL || nchan_exchange(&req->app->nchan, "GET", path, NULL, 0, NCHAN_TIMEOUT_MS,
					   &status, info, sizeof(info)) != RP_OK || status != 200)
		return NULL; /* no such channel (empty) or nchan unreachable: drop the id */
	struct json_object *o = NULL;
	const char *why;
	if (json_parse_strict(info, strlen(info), &o, &why) != RP_OK || o == NULL)
		return NULL;
	struct json_object *messages, *last;
	bool ok = json_object_object_get_ex(o, "messages", &messages) &&
		  json_object_get_int64(messages) > 0 &&
		  json_object_object_get_ex(o, "last_message_id", &last) &&
		  parse_msg_id(json_object_get_string(last), &last_t, &last_tag) &&
		  (t < last_t || (t == last_t && tag <= last_tag));
	json_object_put(o);
	return ok ? presented : NULL;
}

static enum rp_err admit(struct request *req, struct response *res, const char *channel)
{
	enum rp_err e;
	const char *presented = req->last_event_id;
	if (presented == NULL) {
		presented = request_query(req, "last_event_id", &e);
		if (e != RP_OK) {
			req->problem.detail = "malformed query string";
			return RP_EBADREQ;
		}
	}
	const char *lid = presented ? valid_last_id(req, channel, presented) : NULL;
	if (presented != NULL && lid == NULL)
		log_debug("dropped a stale or malformed last event id for %s", channel);
	const char *target = lid ? arena_printf(req->arena, "/_sub/%s?lid=%s", channel, lid)
				 : arena_printf(req->arena, "/_sub/%s", channel);
	if (target == NULL)
		return RP_ENOMEM;
	response_header(res, "X-Accel-Redirect", target);
	response_header(res, "Cache-Control", "no-store");
	res->status = 200;
	return RP_OK;
}

enum rp_err handle_rt_leaderboard(struct request *req, struct response *res)
{
	return admit(req, res, "leaderboard");
}

enum rp_err handle_rt_leaderboard_country(struct request *req, struct response *res)
{
	char cc[3];
	if (!country_normalize(req->params[0], cc)) {
		req->problem.detail = "no such channel";
		return RP_ENOTFOUND;
	}
	return admit(req, res, arena_printf(req->arena, "leaderboard/%s", cc));
}

enum rp_err handle_rt_leaderboard_season(struct request *req, struct response *res)
{
	const char *id = req->params[0];
	size_t n = strlen(id);
	bool ok = n > 0 && n <= 64;
	for (size_t i = 0; ok && i < n; i++)
		ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-';
	if (!ok) {
		req->problem.detail = "no such channel";
		return RP_ENOTFOUND;
	}
	enum rp_err e = season_find(req->app->db, id);
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such season";
	if (e != RP_OK)
		return e;
	return admit(req, res, arena_printf(req->arena, "leaderboard/season/%s", id));
}

enum rp_err handle_rt_match(struct request *req, struct response *res)
{
	struct match m;
	enum rp_err e = validate_uuid(req->params[0])
				? match_get(req->app->db, req->arena, req->params[0], &m)
				: RP_ENOTFOUND;
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such match";
	if (e != RP_OK)
		return e;
	return admit(req, res, arena_printf(req->arena, "matches/%s", m.id));
}

enum rp_err handle_rt_player(struct request *req, struct response *res)
{
	struct player p;
	enum rp_err e = validate_uuid(req->params[0])
				? player_by_id(req->app->db, req->arena, req->params[0], &p)
				: RP_ENOTFOUND;
	if (e == RP_ENOTFOUND)
		req->problem.detail = "no such player";
	if (e != RP_OK)
		return e;
	return admit(req, res, arena_printf(req->arena, "players/%s", p.id));
}

enum rp_err handle_rt_me(struct request *req, struct response *res)
{
	/* browsers cannot set headers on WebSocket/EventSource: accept ?access_token= too */
	if (req->authorization == NULL) {
		enum rp_err e;
		const char *t = request_query(req, "access_token", &e);
		if (e != RP_OK) {
			req->problem.detail = "malformed query string";
			return RP_EBADREQ;
		}
		if (t != NULL)
			req->authorization = arena_printf(req->arena, "Bearer %s", t);
	}
	struct principal who;
	enum rp_err e = authn_require(req, &who);
	if (e != RP_OK)
		return e;
	return admit(req, res, arena_printf(req->arena, "me/%s", who.claims.sub));
}
