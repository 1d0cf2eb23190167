/*
 * jwt.c — HS256 access tokens on libsodium.
 *
 * An access token is a JWS in compact form, header.payload.signature, each
 * part unpadded base64url. We issue exactly one header,
 * {"alg":"HS256","typ":"JWT"}, and a payload of our own claims: sub (player
 * uuid), username, role, jti (deny-list handle for logout), iat, exp and
 * optionally nbf. The signature is HMAC-SHA256 (libsodium's
 * crypto_auth_hmacsha256_*, which takes a key of any length) over the exact
 * bytes "header.payload" as received — never over a re-serialisation.
 *
 * Why HS256 only: the same process issues and checks the tokens, so a
 * shared secret is all we need, and accepting a single algorithm removes
 * the classic JWT holes by construction: "alg":"none", HS/RS key confusion,
 * and header parameters that make the verifier fetch or trust keys (kid,
 * jku, jwk, x5u, crit ...). The header may hold "alg" (exactly "HS256") and
 * "typ" (exactly "JWT") and nothing else; any other header is reported as
 * "unsupported algorithm".
 *
 * Invariants of jwt_verify(), in the order they are checked:
 *   1. No work on tokens longer than JWT_MAX_TOKEN ("token too long");
 *      decoding uses fixed stack buffers of that size, nothing is allocated
 *      before the header parse.
 *   2. Exactly two dots; every part is strict, canonical base64url (see
 *      base64url.c) — otherwise "malformed token".
 *   3. The signature is 32 bytes and the header is a strict JSON object
 *      with alg HS256.
 *   4. The signature is compared in constant time (sodium_memcmp) BEFORE a
 *      single payload byte is interpreted, so unauthenticated input never
 *      reaches the claim parser.
 *   5. The payload is a strict JSON object (no duplicate keys: with
 *      duplicates, two parsers could read two different subjects) holding
 *      sub, username, role, jti, iat, exp with the exact types and shapes
 *      jwt_sign() produces; unknown claims are ignored. Anything else is
 *      "invalid claims".
 *   6. Time: now >= exp + leeway is expired; iat or nbf beyond now + leeway
 *      is refused; exp must be after iat. Timestamps are bounded to
 *      [1, JWT_MAX_TIME] so that none of this arithmetic can overflow,
 *      whatever now is.
 * Any failure is RP_EUNAUTH with a static reason; the caller's struct is
 * written only on success.
 */
#include "auth/jwt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth/base64url.h"
#include "http/json.h"

#define JWT_HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define JWT_SIG_LEN crypto_auth_hmacsha256_BYTES   /* 32 */
#define JWT_MAX_TIME 253402300799LL                /* 9999-12-31T23:59:59Z */
#define JWT_PAYLOAD_MAX 512                        /* our payload, as JSON */

static enum rp_err jwt_fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return RP_EUNAUTH;
}

/* HMAC-SHA256(key, data) into mac; the state is wiped afterwards. */
static void jwt_hmac(unsigned char mac[JWT_SIG_LEN], const unsigned char *key,
                     size_t keylen, const char *data, size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

static bool is_lower_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

/* Canonical uuid: 8-4-4-4-12 lowercase hex. */
static bool is_uuid(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !is_lower_hex(s[i]))
			return false;
	}
	return true;
}

static bool is_username(const char *s, size_t len)
{
	if (len < 3 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static bool is_role(const char *s, size_t len)
{
	return (len == 6 && memcmp(s, "player", 6) == 0) ||
	       (len == 5 && memcmp(s, "admin", 5) == 0);
}

static bool is_jti(const char *s, size_t len)
{
	if (len != 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

static bool is_time(long long t)
{
	return t >= 1 && t <= JWT_MAX_TIME;
}

/* The claim rules shared by sign and verify. Fields must be NUL-terminated
 * within their arrays. */
static bool claims_valid(const struct jwt_claims *c)
{
	size_t sub = strnlen(c->sub, sizeof c->sub);
	size_t user = strnlen(c->username, sizeof c->username);
	size_t role = strnlen(c->role, sizeof c->role);
	size_t jti = strnlen(c->jti, sizeof c->jti);

	return sub < sizeof c->sub && is_uuid(c->sub, sub) &&
	       user < sizeof c->username && is_username(c->username, user) &&
	       role < sizeof c->role && is_role(c->role, role) &&
	       jti < sizeof c->jti && is_jti(c->jti, jti) &&
	       is_time(c->iat) && is_time(c->exp) && c->exp > c->iat &&
	       (c->nbf == 0 || is_time(c->nbf));
}

enum rp_err jwt_sign(const unsigned char *key, size_t keylen,
                     const struct jwt_claims *c, char *out, size_t outlen)
{
	char payload[JWT_PAYLOAD_MAX];
	char tok[JWT_MAX_TOKEN + 1];
	unsigned char mac[JWT_SIG_LEN];
	char nbf[40] = "";
	size_t n;
	int plen;

	if (key == NULL || keylen == 0 || c == NULL || !claims_valid(c))
		return RP_EINVAL;
	if (out == NULL)
		return RP_ENOMEM;
	if (c->nbf != 0)
		snprintf(nbf, sizeof nbf, ",\"nbf\":%lld", c->nbf);
	/* Every string was validated to need no JSON escaping. */
	plen = snprintf(payload, sizeof payload,
	                "{\"sub\":\"%s\",\"username\":\"%s\",\"role\":\"%s\","
	                "\"jti\":\"%s\",\"iat\":%lld,\"exp\":%lld%s}",
	                c->sub, c->username, c->role, c->jti, c->iat, c->exp,
	                nbf);
	if (plen < 0 || (size_t)plen >= sizeof payload)
		return RP_EINTERNAL;   /* cannot happen with validated claims */

	n = base64url_encode(tok, (const unsigned char *)JWT_HEADER_JSON,
	                     sizeof JWT_HEADER_JSON - 1);
	tok[n++] = '.';
	n += base64url_encode(tok + n, (const unsigned char *)payload,
	                      (size_t)plen);
	jwt_hmac(mac, key, keylen, tok, n);
	tok[n++] = '.';
	n += base64url_encode(tok + n, mac, sizeof mac);
	sodium_memzero(mac, sizeof mac);

	if (n + 1 > outlen)
		return RP_ENOMEM;
	memcpy(out, tok, n + 1);
	return RP_OK;
}

/* Header rule: a JSON object with alg "HS256", optional typ "JWT", and no
 * other member. */
static bool header_acceptable(struct json_object *h)
{
	bool have_alg = false;

	json_object_object_foreach(h, k, v) {
		const char *want;

		if (strcmp(k, "alg") == 0) {
			want = "HS256";
			have_alg = true;
		} else if (strcmp(k, "typ") == 0) {
			want = "JWT";
		} else {
			return false;
		}
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) != strlen(want) ||
		    strcmp(json_object_get_string(v), want) != 0)
			return false;
	}
	return have_alg;
}

/* Copy string claim key from o into dst (size cap) if it passes valid. */
static bool claim_string(struct json_object *o, const char *key, char *dst,
                         size_t cap, bool (*valid)(const char *, size_t))
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len >= cap || strlen(s) != len || !valid(s, len))
		return false;
	memcpy(dst, s, len + 1);
	return true;
}

/* Integer time claim key. Absent: *t = 0 and returns !required. */
static bool claim_time(struct json_object *o, const char *key, long long *t,
                       bool required)
{
	struct json_object *v;

	*t = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return !required;
	if (!json_object_is_type(v, json_type_int))
		return false;
	/* get_int64 saturates values above INT64_MAX; is_time() rejects them. */
	*t = (long long)json_object_get_int64(v);
	return is_time(*t);
}

static bool parse_claims(const char *p, size_t len, struct jwt_claims *c)
{
	struct json_object *o = NULL;
	bool good;

	if (json_parse_strict(p, len, &o, NULL) != RP_OK)
		return false;
	good = o != NULL && json_object_is_type(o, json_type_object) &&
	       claim_string(o, "sub", c->sub, sizeof c->sub, is_uuid) &&
	       claim_string(o, "username", c->username, sizeof c->username,
	                    is_username) &&
	       claim_string(o, "role", c->role, sizeof c->role, is_role) &&
	       claim_string(o, "jti", c->jti, sizeof c->jti, is_jti) &&
	       claim_time(o, "iat", &c->iat, true) &&
	       claim_time(o, "exp", &c->exp, true) &&
	       claim_time(o, "nbf", &c->nbf, false) &&
	       c->exp > c->iat;
	json_object_put(o);
	return good;
}

enum rp_err jwt_verify(const unsigned char *key, size_t keylen,
                       const char *token, long long now,
                       struct jwt_claims *out, const char **why)
{
	unsigned char hdr[JWT_MAX_TOKEN], pay[JWT_MAX_TOKEN], sig[JWT_MAX_TOKEN];
	unsigned char mac[JWT_SIG_LEN];
	struct json_object *h = NULL;
	struct jwt_claims c;
	const char *d1, *d2;
	long hlen, plen, slen;
	size_t len;
	int diff;
	bool hdr_ok;

	if (token == NULL)
		return jwt_fail(why, "malformed token");
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN)
		return jwt_fail(why, "token too long");

	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return jwt_fail(why, "malformed token");

	hlen = base64url_decode(hdr, sizeof hdr, token, (size_t)(d1 - token));
	plen = base64url_decode(pay, sizeof pay, d1 + 1, (size_t)(d2 - d1 - 1));
	slen = base64url_decode(sig, sizeof sig, d2 + 1,
	                        len - (size_t)(d2 + 1 - token));
	if (hlen < 0 || plen < 0 || slen < 0)
		return jwt_fail(why, "malformed token");
	if (slen != JWT_SIG_LEN)
		return jwt_fail(why, "bad signature");

	if (json_parse_strict((const char *)hdr, (size_t)hlen, &h, NULL) != RP_OK ||
	    h == NULL || !json_object_is_type(h, json_type_object)) {
		json_object_put(h);
		return jwt_fail(why, "malformed token");
	}
	hdr_ok = header_acceptable(h);
	json_object_put(h);
	if (!hdr_ok)
		return jwt_fail(why, "unsupported algorithm");

	if (key == NULL || keylen == 0)
		return jwt_fail(why, "bad signature");
	jwt_hmac(mac, key, keylen, token, (size_t)(d2 - token));
	diff = sodium_memcmp(mac, sig, JWT_SIG_LEN);
	sodium_memzero(mac, sizeof mac);
	if (diff != 0)
		return jwt_fail(why, "bad signature");

	memset(&c, 0, sizeof c);
	if (!parse_claims((const char *)pay, (size_t)plen, &c))
		return jwt_fail(why, "invalid claims");
	if (now >= c.exp + JWT_LEEWAY_S)
		return jwt_fail(why, "token expired");
	if (c.iat - JWT_LEEWAY_S > now)
		return jwt_fail(why, "token issued in the future");
	if (c.nbf != 0 && c.nbf - JWT_LEEWAY_S > now)
		return jwt_fail(why, "token not yet valid");

	if (out)
		*out = c;
	if (why)
		*why = NULL;
	return RP_OK;
}

void jwt_new_jti(char jti[33])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof r);
	sodium_bin2hex(jti, 33, r, sizeof r);
}
