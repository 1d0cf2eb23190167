/*
 * auth.c — /auth/register, /auth/login, /auth/refresh, /auth/logout, /auth/me.
 *
 * Abuse limits (both in Redis, see auth/ratelimit.h):
 *   registrations per client IP  REGISTER_RATE_LIMIT (default 10/60), counted
 *                                for well-formed requests only (they are the
 *                                ones that cost an argon2id hash and a row);
 *   failed logins per account+IP LOGIN_FAILURE_LIMIT (default 5/900); the
 *                                next attempt after the limit is 429 with
 *                                Retry-After, whatever the password.
 * Login failures all read "invalid credentials" and an unknown account
 * costs the same hash time as a known one, so the endpoint does not reveal
 * which accounts exist. Registration does name a taken username or email
 * (409): a sign-up form has to.
 */
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/handlers.h"
#include "auth/authn.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/session.h"
#include "leaderboard/ranks.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/log.h"
#include "http/fields.h"
#include "store/players.h"
#include "validate/country.h"
#include "validate/validate.h"

/* Per-worker budgets used while Redis is unavailable. */
static struct local_budget login_budget, register_budget;

static bool check_password(const char *s, const char **why)
{
	return validate_password(s, strlen(s), why);
}

bool check_country(const char *s, const char **why)
{
	char cc[3];
	if (country_normalize(s, cc))
		return true;
	*why = "must be an ISO 3166-1 alpha-2 country code";
	return false;
}

/* Apply a Redis limiter, falling back to the worker budget; fills the 429 problem. */
static enum rp_err limit(struct request *req, const char *key, struct rate_limit lim, bool count,
			 struct local_budget *fallback)
{
	unsigned retry = 0;
	enum rp_err e = count ? ratelimit_hit(req->app->redis, key, lim, &retry)
			      : ratelimit_check(req->app->redis, key, lim, &retry);
	if (e == RP_EUNAVAIL) {
		if (ratelimit_local_take(fallback))
			return RP_OK;
		retry = 60;
		e = RP_ERATELIMIT;
	}
	if (e == RP_ERATELIMIT) {
		req->problem.retry_after = retry;
		req->problem.detail = "too many attempts; retry later";
	}
	return e;
}

static const char *client_key(struct request *req, const char *prefix, const char *account)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	if (account != NULL) {
		for (const char *p = account; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c + 32);
			crypto_hash_sha256_update(&st, &c, 1);
		}
		crypto_hash_sha256_update(&st, (const unsigned char *)"|", 1);
	}
	crypto_hash_sha256_update(&st, (const unsigned char *)req->remote_addr,
				  strlen(req->remote_addr));
	crypto_hash_sha256_final(&st, h);
	char hex[33];
	sodium_bin2hex(hex, sizeof(hex), h, 16);
	return arena_printf(req->arena, "rl:%s:%s", prefix, hex);
}

static enum rp_err respond_session(struct response *res, int status,
				   const struct session *s, const struct player *p)
{
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, status, session_json(s, p));
}

enum rp_err handle_register(struct request *req, struct response *res)
{
	static const struct field_spec spec[] = {
		{"username", FIELD_STRING, FIELD_REQUIRED, 32, 0, 0, validate_username},
		{"email", FIELD_STRING, FIELD_REQUIRED, 254, 0, 0, validate_email},
		{"password", FIELD_STRING, FIELD_REQUIRED, 128, 0, 0, check_password},
		{"countryCode", FIELD_STRING, FIELD_NULLABLE, 8, 0, 0, check_country},
		{"displayName", FIELD_STRING, FIELD_NULLABLE, 256, 0, 0, validate_display_name},
	};
	struct field_value v[5];
	enum rp_err e = fields_parse(req, spec, 5, v);
	if (e != RP_OK)
		return e;
	const char *key = client_key(req, "register", NULL);
	if (key == NULL)
		return RP_ENOMEM;
	if ((e = limit(req, key, req->app->config->register_rate_limit, true, &register_budget)) != RP_OK)
		return e;

	char cc[3];
	struct player_new n = {.username = v[0].str, .email = v[1].str,
			       .display_name = v[4].is_null ? NULL : v[4].str};
	if (v[3].present && !v[3].is_null && country_normalize(v[3].str, cc))
		n.country_code = cc;
	char hash[PASSWORD_HASH_MAX];
	if ((e = password_hash(v[2].str, v[2].len, hash)) != RP_OK)
		return e;
	n.password_hash = hash;
	struct player p;
	const char *field = NULL;
	e = player_insert(req->app->db, req->arena, &n, &p, &field);
	sodium_memzero(hash, sizeof(hash));
	if (e == RP_ECONFLICT) {
		request_field_error(req, field, "is already taken");
		req->problem.detail = strcmp(field, "email") == 0 ? "email is already registered"
								  : "username is already taken";
		return e;
	}
	if (e != RP_OK)
		return e;
	struct rank_update ru = {.player_id = p.id, .country = p.country_code, .elo = p.elo,
				 .reached_ms = p.created_ms, .version = p.version,
				 .username = p.username, .display_name = p.display_name,
				 .rec = {p.elo, p.peak_elo, p.lowest_elo, p.games_played, p.wins,
					 p.losses, p.draws, p.current_streak, p.best_win_streak}};
	ranks_player_added(req->app, &ru);
	struct session s;
	if ((e = session_start(req, &p, &s)) != RP_OK)
		return e;
	log_info("player registered: %s", p.id);
	return respond_session(res, 201, &s, &p);
}

enum rp_err handle_login(struct request *req, struct response *res)
{
	static const struct field_spec spec[] = {
		{"login", FIELD_STRING, 0, 254, 0, 0, NULL},
		{"email", FIELD_STRING, 0, 254, 0, 0, NULL},
		{"username", FIELD_STRING, 0, 254, 0, 0, NULL},
		{"password", FIELD_STRING, FIELD_REQUIRED, 128, 0, 0, NULL},
	};
	struct field_value v[4];
	enum rp_err e = fields_parse(req, spec, 4, v);
	if (e != RP_OK)
		return e;
	const char *login = NULL;
	int given = 0;
	for (int i = 0; i < 3; i++)
		if (v[i].present) {
			login = v[i].str;
			given++;
		}
	if (given != 1 || login == NULL || login[0] == '\0') {
		request_field_error(req, "login", "provide exactly one of login, email or username");
		req->problem.detail = "one or more fields are invalid";
		return RP_EINVAL;
	}
	struct player p;
	e = player_by_login(req->app->db, req->arena, login, &p);
	if (e != RP_OK && e != RP_ENOTFOUND)
		return e;
	/* the failure window belongs to the account (whichever name was typed);
	 * for names that match no account, to the name itself */
	const struct rate_limit lim = req->app->config->login_failure_limit;
	const char *account = e == RP_OK ? arena_printf(req->arena, "id:%s", p.id)
					 : arena_printf(req->arena, "name:%s", login);
	const char *key = account ? client_key(req, "login", account) : NULL;
	if (key == NULL)
		return RP_ENOMEM;
	enum rp_err found = e;
	if ((e = limit(req, key, lim, false, &login_budget)) != RP_OK)
		return e;
	e = found;
	bool good;
	if (e == RP_ENOTFOUND) {
		password_verify_unknown(v[3].str, v[3].len);
		good = false;
	} else {
		good = password_verify(p.password_hash, v[3].str, v[3].len);
	}
	if (!good) {
		unsigned retry;
		if (ratelimit_hit(req->app->redis, key, lim, &retry) == RP_EUNAVAIL)
			log_debug("login failure not counted: redis unavailable");
		req->problem.detail = "invalid credentials";
		return RP_EUNAUTH;
	}
	if (ratelimit_clear(req->app->redis, key) != RP_OK)
		log_debug("login limiter not cleared: redis unavailable");
	if (password_needs_rehash(p.password_hash)) {
		char hash[PASSWORD_HASH_MAX];
		if (password_hash(v[3].str, v[3].len, hash) == RP_OK &&
		    player_set_password(req->app->db, p.id, hash) != RP_OK)
			log_warn("password rehash not stored");
		sodium_memzero(hash, sizeof(hash));
	}
	if (player_touch(req->app->db, p.id) != RP_OK)
		log_warn("last_active_at not updated");
	struct session s;
	if ((e = session_start(req, &p, &s)) != RP_OK)
		return e;
	return respond_session(res, 200, &s, &p);
}

static const struct field_spec refresh_spec[] = {
	{"refreshToken", FIELD_STRING, FIELD_REQUIRED, 128, 0, 0, NULL},
};

enum rp_err handle_refresh(struct request *req, struct response *res)
{
	struct field_value v[1];
	enum rp_err e = fields_parse(req, refresh_spec, 1, v);
	if (e != RP_OK)
		return e;
	if (!refresh_token_wellformed(v[0].str)) {
		req->problem.detail = "unknown refresh token";
		return RP_EUNAUTH;
	}
	struct player p;
	struct session s;
	if ((e = session_refresh(req, v[0].str, &p, &s)) != RP_OK)
		return e;
	return respond_session(res, 200, &s, &p);
}

enum rp_err handle_logout(struct request *req, struct response *res)
{
	struct principal who;
	enum rp_err e = authn_require(req, &who);
	if (e != RP_OK)
		return e;
	const char *refresh = NULL;
	if (req->body_len > 0) {
		static const struct field_spec spec[] = {
			{"refreshToken", FIELD_STRING, 0, 128, 0, 0, NULL},
		};
		struct field_value v[1];
		if ((e = fields_parse(req, spec, 1, v)) != RP_OK)
			return e;
		if (v[0].present) {
			if (!refresh_token_wellformed(v[0].str)) {
				request_field_error(req, "refreshToken", "is not a refresh token");
				req->problem.detail = "one or more fields are invalid";
				return RP_EINVAL;
			}
			refresh = v[0].str;
		}
	}
	if ((e = session_end(req, &who.claims, refresh)) != RP_OK)
		return e;
	res->status = 204;
	response_header(res, "Cache-Control", "no-store");
	return RP_OK;
}

enum rp_err handle_me(struct request *req, struct response *res)
{
	struct principal who;
	enum rp_err e = authn_require(req, &who);
	if (e != RP_OK)
		return e;
	struct player p;
	e = player_by_id(req->app->db, req->arena, who.claims.sub, &p);
	if (e == RP_ENOTFOUND) {
		req->problem.detail = "account no longer exists";
		return RP_EUNAUTH;
	}
	if (e != RP_OK)
		return e;
	response_header(res, "Cache-Control", "no-store");
	return response_json(res, 200, player_profile_json(&p, true));
}
