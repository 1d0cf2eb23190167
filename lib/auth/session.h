/*
 * session.h — issuing and rotating the token pair of a login.
 *
 * Access token: JWT HS256, ACCESS_TOKEN_TTL seconds. Refresh token:
 * "rt_" + 43 base64url chars (32 random bytes), 30 days, stored hashed,
 * rotated on every use (store/tokens.h explains reuse detection).
 */
#ifndef RP_AUTH_SESSION_H
#define RP_AUTH_SESSION_H

#include <stdbool.h>

#include "auth/jwt.h"
#include "core/err.h"
#include "http/http.h"

#define REFRESH_TOKEN_TTL_S (30u * 24u * 3600u)
#define REFRESH_TOKEN_LEN 46 /* "rt_" + 43 */

struct player;
struct json_object;

struct session {
	char access_token[JWT_MAX_TOKEN];
	char refresh_token[REFRESH_TOKEN_LEN + 1];
	unsigned expires_in;
};

/* Start a new session (new refresh-token family) for p. */
enum rp_err session_start(struct request *req, const struct player *p, struct session *s) RP_MUSTCHECK;
/*
 * Rotate refresh_token: on RP_OK, *p is the (active) player and s the new
 * pair. RP_EUNAUTH for unknown, expired, revoked or reused tokens (reuse
 * revokes the family first).
 */
enum rp_err session_refresh(struct request *req, const char *refresh_token, struct player *p,
			    struct session *s) RP_MUSTCHECK;
/* Revoke the refresh-token family (if given) and deny-list the access token. */
enum rp_err session_end(struct request *req, const struct jwt_claims *c,
			const char *refresh_token) RP_MUSTCHECK;
/* {token, tokenType, expiresIn, refreshToken, user} */
struct json_object *session_json(const struct session *s, const struct player *p);
bool refresh_token_wellformed(const char *t);

#endif
