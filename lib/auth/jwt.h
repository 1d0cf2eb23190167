/*
 * jwt.h — HS256 JSON Web Tokens for access tokens (RFC 7519 / RFC 7515).
 *
 * jwt_sign() produces header.payload.signature with the fixed header
 * {"alg":"HS256","typ":"JWT"}; jwt_verify() accepts nothing but such
 * tokens, signed with the same key, carrying our claims, and valid at the
 * given time (± JWT_LEEWAY_S of clock skew). See jwt.c for the rules.
 *
 * libsodium must be initialised (sodium_init()) before any call.
 */
#ifndef RP_AUTH_JWT_H
#define RP_AUTH_JWT_H

#include <stddef.h>

#include "core/err.h"

#define JWT_MAX_TOKEN 2048          /* longer tokens are rejected before any work */
#define JWT_LEEWAY_S 30

struct jwt_claims {
	char sub[37];       /* player uuid (canonical 36-char form) */
	char username[33];  /* 3..32 */
	char role[8];       /* "player" or "admin" */
	char jti[33];       /* 32 lowercase hex chars */
	long long iat;
	long long exp;
	long long nbf;      /* 0 = absent */
};

/*
 * Sign claims into out (outlen bytes, NUL-terminated) as
 * header.payload.signature with header exactly {"alg":"HS256","typ":"JWT"}.
 * RP_EINVAL if the key is empty or the claims are malformed (sub not a
 * lowercase canonical uuid, username not 3..32 of [A-Za-z0-9_-], role not
 * "player"/"admin", jti not 32 lowercase hex, iat/exp/nbf out of range or
 * exp <= iat); RP_ENOMEM if out is too small. On failure out is untouched.
 */
enum rp_err jwt_sign(const unsigned char *key, size_t keylen,
                     const struct jwt_claims *c, char *out,
                     size_t outlen) RP_MUSTCHECK;

/*
 * Verify token (NUL-terminated, may be NULL) at time now (unix seconds).
 * RP_OK fills *out (if non-NULL) and sets *why to NULL. Any failure returns
 * RP_EUNAUTH, leaves *out untouched and sets *why (if non-NULL) to a static
 * short reason: "malformed token", "unsupported algorithm", "bad signature",
 * "token expired", "token not yet valid", "token issued in the future",
 * "invalid claims", "token too long". Reasons never contain token bytes.
 */
enum rp_err jwt_verify(const unsigned char *key, size_t keylen,
                       const char *token, long long now,
                       struct jwt_claims *out, const char **why) RP_MUSTCHECK;

/* Fill jti with 32 random lowercase hex chars + NUL (randombytes_buf). */
void jwt_new_jti(char jti[33]);

#endif
