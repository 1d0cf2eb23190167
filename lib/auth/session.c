/*
 * session.c — token pairs (see session.h).
 */
#include "auth/session.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "auth/authn.h"
#include "auth/base64url.h"
#include "config/config.h"
#include "core/log.h"
#include "store/db.h"
#include "store/players.h"
#include "store/tokens.h"

bool refresh_token_wellformed(const char *t)
{
	if (t == NULL || strlen(t) != REFRESH_TOKEN_LEN || strncmp(t, "rt_", 3) != 0)
		return false;
	unsigned char raw[32];
	return base64url_decode(raw, sizeof(raw), t + 3, REFRESH_TOKEN_LEN - 3) == 32;
}

static void token_hash_hex(const char *t, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)t, strlen(t));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static enum rp_err sign_access(struct request *req, const struct player *p, struct session *s)
{
	const struct rp_config *cfg = req->app->config;
	struct jwt_claims c;
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "%s", p->id);
	snprintf(c.username, sizeof(c.username), "%s", p->username);
	snprintf(c.role, sizeof(c.role), "%s", p->role);
	jwt_new_jti(c.jti);
	c.iat = (long long)time(NULL);
	c.exp = c.iat + cfg->access_token_ttl;
	s->expires_in = cfg->access_token_ttl;
	return jwt_sign(cfg->jwt_secret, cfg->jwt_secret_len, &c, s->access_token,
			sizeof(s->access_token));
}

/* New refresh token in family (NULL = new family); returns its row id in id_out. */
static enum rp_err new_refresh(struct request *req, const char *player_id, const char *family,
			       struct session *s, char id_out[37])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	memcpy(s->refresh_token, "rt_", 3);
	base64url_encode(s->refresh_token + 3, raw, sizeof(raw));
	char hash[65], fam[37];
	token_hash_hex(s->refresh_token, hash);
	return token_insert(req->app->db, player_id, family, hash, REFRESH_TOKEN_TTL_S, NULL, id_out,
			    fam);
}

enum rp_err session_start(struct request *req, const struct player *p, struct session *s)
{
	char id[37];
	enum rp_err e = new_refresh(req, p->id, NULL, s, id);
	if (e != RP_OK)
		return e;
	return sign_access(req, p, s);
}

static void rollback(struct db *db)
{
	if (db_exec(db, "ROLLBACK") != RP_OK)
		log_warn("rollback failed");
}

enum rp_err session_refresh(struct request *req, const char *refresh_token, struct player *p,
			    struct session *s)
{
	struct db *db = req->app->db;
	char hash[65];
	token_hash_hex(refresh_token, hash);
	enum rp_err e = db_exec(db, "BEGIN");
	if (e != RP_OK)
		return e;
	struct token_row row;
	if ((e = token_lock(db, hash, &row)) != RP_OK) {
		rollback(db);
		if (e == RP_ENOTFOUND) {
			req->problem.detail = "unknown refresh token";
			return RP_EUNAUTH;
		}
		return e;
	}
	if (row.rotated && !row.revoked) {
		/* reuse of a rotated token: revoke every token of the family */
		e = token_revoke_family(db, row.family_id);
		if (e == RP_OK)
			e = db_exec(db, "COMMIT");
		if (e != RP_OK) {
			rollback(db);
			return e;
		}
		log_warn("refresh token reuse detected; family revoked");
		req->problem.detail = "refresh token reuse detected; all sessions of this login are revoked";
		return RP_EUNAUTH;
	}
	if (row.revoked || row.rotated || row.expired || !row.player_active) {
		rollback(db);
		req->problem.detail = row.expired ? "refresh token expired" : "refresh token revoked";
		return RP_EUNAUTH;
	}
	char new_id[37];
	if ((e = new_refresh(req, row.player_id, row.family_id, s, new_id)) != RP_OK ||
	    (e = token_mark_rotated(db, row.id, new_id)) != RP_OK ||
	    (e = player_by_id(db, req->arena, row.player_id, p)) != RP_OK ||
	    (e = db_exec(db, "COMMIT")) != RP_OK) {
		rollback(db);
		return e == RP_ENOTFOUND ? RP_EUNAUTH : e;
	}
	return sign_access(req, p, s);
}

enum rp_err session_end(struct request *req, const struct jwt_claims *c, const char *refresh_token)
{
	if (refresh_token != NULL) {
		char hash[65];
		token_hash_hex(refresh_token, hash);
		enum rp_err e = token_revoke_by_hash(req->app->db, hash, c->sub);
		if (e != RP_OK)
			return e;
	}
	if (authn_revoke_token(req, c) != RP_OK)
		log_warn("access token not deny-listed: redis unavailable (it expires by itself)");
	return RP_OK;
}

struct json_object *session_json(const struct session *s, const struct player *p)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(s->access_token));
	json_object_object_add(o, "tokenType", json_object_new_string("Bearer"));
	json_object_object_add(o, "expiresIn", json_object_new_int((int)s->expires_in));
	json_object_object_add(o, "refreshToken", json_object_new_string(s->refresh_token));
	json_object_object_add(o, "user", player_user_json(p));
	return o;
}
