/*
 * authn.h — who is calling: Bearer access tokens on requests.
 *
 * A token is accepted when its signature and times verify (jwt.c) and it
 * is not revoked. Revocations live in Redis: "revoked:jti:<jti>" for a
 * logged-out token (TTL = its remaining life) and "revoked:player:<id>" =
 * unix time, which rejects every token of that player issued at or before
 * it (deactivation). Both are read with one MGET. With Redis down,
 * revocation cannot be checked and tokens are accepted until they expire
 * (≤ ACCESS_TOKEN_TTL) — see docs/decisions.md.
 */
#ifndef RP_AUTH_AUTHN_H
#define RP_AUTH_AUTHN_H

#include <stdbool.h>

#include "auth/jwt.h"
#include "core/err.h"
#include "http/http.h"

struct principal {
	bool authenticated;
	bool is_admin;
	struct jwt_claims claims; /* sub = player id */
};

/* 401 (RP_EUNAUTH, with a detail) unless a valid, unrevoked token is presented. */
enum rp_err authn_require(struct request *req, struct principal *p) RP_MUSTCHECK;
/* Like authn_require but an absent or invalid token just means anonymous. */
void authn_optional(struct request *req, struct principal *p);
/* Deny-list the token's jti until it expires. */
enum rp_err authn_revoke_token(struct request *req, const struct jwt_claims *c) RP_MUSTCHECK;
/* Reject all tokens of a player issued up to now. */
enum rp_err authn_revoke_player(struct request *req, const char *player_id) RP_MUSTCHECK;
/* True when p may act on player_id: it is the caller, or the caller is an admin. */
bool authn_may_act_for(const struct principal *p, const char *player_id);

#endif
