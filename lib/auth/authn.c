#include "auth/authn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/app.h"
#include "cache/redis.h"
#include "config/config.h"
#include "core/log.h"

static enum rp_err authenticate(struct request *req, struct principal *p)
{
	memset(p, 0, sizeof(*p));
	const char *h = req->authorization;
	if (h == NULL || h[0] == '\0') {
		req->problem.detail = "missing bearer token";
		return RP_EUNAUTH;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		req->problem.detail = "authorization scheme must be Bearer";
		return RP_EUNAUTH;
	}
	const char *token = h + 7;
	while (*token == ' ')
		token++;
	const struct rp_config *cfg = req->app->config;
	const char *why = NULL;
	if (jwt_verify(cfg->jwt_secret, cfg->jwt_secret_len, token, (long long)time(NULL),
		       &p->claims, &why) != RP_OK) {
		req->problem.detail = why ? why : "invalid token";
		return RP_EUNAUTH;
	}
	char k1[64], k2[64];
	snprintf(k1, sizeof(k1), "revoked:jti:%s", p->claims.jti);
	snprintf(k2, sizeof(k2), "revoked:player:%s", p->claims.sub);
	const char *argv[] = {"MGET", k1, k2};
	enum rp_err err;
	redisReply *r = rcache_command(req->app->redis, &err, 3, argv, NULL);
	if (r != NULL && err == RP_OK && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		bool revoked = r->element[0]->type == REDIS_REPLY_STRING;
		if (r->element[1]->type == REDIS_REPLY_STRING &&
		    atoll(r->element[1]->str) >= p->claims.iat)
			revoked = true;
		freeReplyObject(r);
		if (revoked) {
			req->problem.detail = "token has been revoked";
			return RP_EUNAUTH;
		}
	} else {
		if (r != NULL)
			freeReplyObject(r);
		log_debug("token revocation not checked: redis unavailable");
	}
	p->authenticated = true;
	p->is_admin = strcmp(p->claims.role, "admin") == 0;
	return RP_OK;
}

enum rp_err authn_require(struct request *req, struct principal *p)
{
	enum rp_err e = authenticate(req, p);
	if (e != RP_OK)
		memset(p, 0, sizeof(*p));
	return e;
}

void authn_optional(struct request *req, struct principal *p)
{
	const char *detail = req->problem.detail;
	if (authenticate(req, p) != RP_OK)
		memset(p, 0, sizeof(*p));
	req->problem.detail = detail;
}

static enum rp_err set_key(struct request *req, const char *key, const char *val, long long ttl)
{
	if (ttl < 1)
		ttl = 1;
	char ex[24];
	snprintf(ex, sizeof(ex), "%lld", ttl);
	const char *argv[] = {"SET", key, val, "EX", ex};
	enum rp_err err;
	redisReply *r = rcache_command(req->app->redis, &err, 5, argv, NULL);
	if (r != NULL)
		freeReplyObject(r);
	return err;
}

enum rp_err authn_revoke_token(struct request *req, const struct jwt_claims *c)
{
	char key[64];
	snprintf(key, sizeof(key), "revoked:jti:%s", c->jti);
	return set_key(req, key, "1", c->exp - (long long)time(NULL) + JWT_LEEWAY_S);
}

enum rp_err authn_revoke_player(struct request *req, const char *player_id)
{
	char key[80], now[24];
	snprintf(key, sizeof(key), "revoked:player:%s", player_id);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	return set_key(req, key, now, (long long)req->app->config->access_token_ttl + 2 * JWT_LEEWAY_S);
}

bool authn_may_act_for(const struct principal *p, const char *player_id)
{
	return p->authenticated && (p->is_admin || strcmp(p->claims.sub, player_id) == 0);
}
