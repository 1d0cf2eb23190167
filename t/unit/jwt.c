/*
 * t/unit/jwt.c — base64url and HS256 access tokens.
 *
 * The primitives are pinned to published vectors (RFC 4648 §10, RFC 4231
 * test case 2, RFC 7515 Appendix A.1); everything else builds tokens by
 * hand — correctly signed with the test key unless the case is about the
 * signature — so each rejection is proved to come from the rule under test
 * and not from an earlier one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "tap.h"

#define NOW 1700000000LL
#define HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SUB "0b7e4c52-3f1a-4d6e-9c2b-8a1f5e7d9c30"
#define JTI "0123456789abcdef0123456789abcdef"
#define BIG 8192

static const unsigned char KEY[] = "test-key-0123456789-abcdefghijklmnopqrstuvwxyz";
#define KEYLEN (sizeof KEY - 1)

/* ---- helpers ----------------------------------------------------------- */

static void hmac(unsigned char mac[32], const unsigned char *key, size_t keylen,
                 const char *data, size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
	crypto_auth_hmacsha256_final(&st, mac);
}

/* b64(hdr).b64(pay).b64(HMAC(key, those two)) into out (BIG bytes). */
static char *make_token_key(char *out, const unsigned char *key, size_t keylen,
                            const char *hdr, const char *pay)
{
	unsigned char mac[32];
	size_t n;

	n = base64url_encode(out, (const unsigned char *)hdr, strlen(hdr));
	out[n++] = '.';
	n += base64url_encode(out + n, (const unsigned char *)pay, strlen(pay));
	hmac(mac, key, keylen, out, n);
	out[n++] = '.';
	base64url_encode(out + n, mac, sizeof mac);
	return out;
}

static char *make_token(char *out, const char *hdr, const char *pay)
{
	return make_token_key(out, KEY, KEYLEN, hdr, pay);
}

/* Our standard claims with the given times and extra members (",..."). */
static const char *payload(char *buf, long long iat, long long exp,
                           const char *extra)
{
	int n = snprintf(buf, BIG,
	                 "{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\","
	                 "\"jti\":\"" JTI "\",\"iat\":%lld,\"exp\":%lld%s}",
	                 iat, exp, extra ? extra : "");

	if (n < 0 || n >= BIG)
		diag("payload() truncated");
	return buf;
}

static void expect_reject(const char *tok, long long now, const char *want,
                          const char *name)
{
	struct jwt_claims out;
	const char *why = "(unset)";
	enum rp_err e;

	memset(&out, 0x5a, sizeof out);
	e = jwt_verify(KEY, KEYLEN, tok, now, &out, &why);
	unsigned char sentinel[sizeof out];
	memset(sentinel, 0x5a, sizeof sentinel);
	if (!ok(e == RP_EUNAUTH && why != NULL &&
	        (want == NULL || strcmp(why, want) == 0) &&
	        memcmp(&out, sentinel, sizeof out) == 0,
	        "rejects %s", name))
		diag("rc %d, why \"%s\", want \"%s\"", (int)e, why ? why : "NULL",
		     want ? want : "(any)");
}

static void expect_accept(const char *tok, long long now, const char *name)
{
	struct jwt_claims out;
	const char *why = "(unset)";
	enum rp_err e = jwt_verify(KEY, KEYLEN, tok, now, &out, &why);

	if (!ok(e == RP_OK && why == NULL, "accepts %s", name))
		diag("rc %d, why \"%s\"", (int)e, why ? why : "NULL");
}

/* Reject payload pay (correctly signed under the standard header). */
static void reject_payload(const char *pay, const char *want, const char *name)
{
	char tok[BIG];

	expect_reject(make_token(tok, HDR, pay), NOW, want, name);
}

static void reject_header(const char *hdr, const char *want, const char *name)
{
	char tok[BIG], pay[BIG];

	make_token(tok, hdr, payload(pay, NOW, NOW + 900, NULL));
	expect_reject(tok, NOW, want, name);
}

static struct jwt_claims std_claims(void)
{
	struct jwt_claims c;

	memset(&c, 0, sizeof c);
	strcpy(c.sub, SUB);
	strcpy(c.username, "alice_01");
	strcpy(c.role, "player");
	strcpy(c.jti, JTI);
	c.iat = NOW;
	c.exp = NOW + 900;
	return c;
}

/* ---- base64url --------------------------------------------------------- */

static void test_base64url_roundtrip(void)
{
	unsigned char in[64], back[64];
	char enc[100];

	for (size_t n = 0; n <= 64; n++) {
		size_t elen;
		long dlen;
		int good;

		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)(i * 37 + n * 11 + 0xf0);
		elen = base64url_encode(enc, in, n);
		dlen = base64url_decode(back, n, enc, elen);
		good = elen == base64url_encoded_len(n) && enc[elen] == '\0' &&
		       strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == elen &&
		       dlen == (long)n && memcmp(in, back, n) == 0;
		/* One byte of room short must fail (except for n == 0). */
		if (n > 0)
			good = good && base64url_decode(back, n - 1, enc, elen) == -1;
		ok(good, "base64url round trip, %zu bytes", n);
	}
}

static void test_base64url_vectors(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	char enc[16];
	unsigned char dec[16];

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		size_t n = strlen(vec[i][0]);
		long d;

		base64url_encode(enc, (const unsigned char *)vec[i][0], n);
		is_str(enc, vec[i][1], "RFC 4648 encode");
		d = base64url_decode(dec, sizeof dec, vec[i][1], strlen(vec[i][1]));
		ok(d == (long)n && memcmp(dec, vec[i][0], n) == 0,
		   "RFC 4648 decode \"%s\"", vec[i][1]);
	}
	/* The url alphabet: 0xfb 0xff -> "-_8" (standard base64: "+/8"). */
	base64url_encode(enc, (const unsigned char *)"\xfb\xff", 2);
	is_str(enc, "-_8", "encodes 62/63 as '-' and '_'");
}

static void test_base64url_rejects(void)
{
	static const char *const bad[] = {
		"Zg==", "Zg=", "Zm9v=", "=", "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v\t",
		"Zm+v", "Zm/v", "+/8", "Z", "Zm9vY", "Zm9vYmFyZ", "Zh", "Zm9",
		"Zm9vYmF", "Zm9vYh", "Zm9v.", "Zm9*", "Zm\xc3\xa9",
	};
	unsigned char out[32];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(base64url_decode(out, sizeof out, bad[i], strlen(bad[i])) == -1,
		   "base64url rejects \"%s\"", bad[i]);
	ok(base64url_decode(out, sizeof out, "Zm\0v", 4) == -1,
	   "base64url rejects an embedded NUL");
	ok(base64url_decode(out, 2, "Zm9v", 4) == -1,
	   "base64url refuses an output buffer too small");
	ok(base64url_decode(out, 0, "", 0) == 0, "empty input decodes to 0 bytes");
}

/* ---- the primitive ----------------------------------------------------- */

static void test_hmac_rfc4231(void)
{
	static const char data[] = "what do ya want for nothing?";
	unsigned char mac[32];
	char hex[65];

	hmac(mac, (const unsigned char *)"Jefe", 4, data, sizeof data - 1);
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	       "HMAC-SHA256 RFC 4231 test case 2");
}

static void test_rfc7515_a1(void)
{
	static const char k[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	static const char tok[] =
		"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	unsigned char key[64], mac[32];
	char sig[64];
	const char *d2 = strrchr(tok, '.');
	struct jwt_claims out;
	const char *why = NULL;
	long keylen = base64url_decode(key, sizeof key, k, strlen(k));
	enum rp_err e;

	is_int(keylen, 64, "RFC 7515 A.1 key decodes to 64 bytes");
	hmac(mac, key, (size_t)keylen, tok, (size_t)(d2 - tok));
	base64url_encode(sig, mac, sizeof mac);
	is_str(sig, d2 + 1, "RFC 7515 A.1 signature = HMAC-SHA256(key, header.payload)");

	e = jwt_verify(key, (size_t)keylen, tok, 1300819380 - 60, &out, &why);
	ok(e == RP_EUNAUTH, "RFC 7515 A.1 token is refused by jwt_verify");
	is_str(why, "invalid claims",
	       "... past the signature check, for its claims (no sub etc.)");
	e = jwt_verify(KEY, KEYLEN, tok, 1300819380 - 60, &out, &why);
	ok(e == RP_EUNAUTH && why && strcmp(why, "bad signature") == 0,
	   "RFC 7515 A.1 token under another key: bad signature");
}

/* ---- sign / verify ----------------------------------------------------- */

static void test_roundtrip(void)
{
	struct jwt_claims c = std_claims(), out;
	char tok[JWT_MAX_TOKEN + 1], hdr[64];
	const char *why = "(unset)";
	long hl;

	is_int(jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok), RP_OK, "sign");
	hl = base64url_decode((unsigned char *)hdr, sizeof hdr - 1, tok,
	                      (size_t)(strchr(tok, '.') - tok));
	ok(hl > 0, "header part decodes");
	hdr[hl > 0 ? hl : 0] = '\0';
	is_str(hdr, HDR, "header is exactly {\"alg\":\"HS256\",\"typ\":\"JWT\"}");

	memset(&out, 0, sizeof out);
	is_int(jwt_verify(KEY, KEYLEN, tok, NOW, &out, &why), RP_OK, "verify own token");
	is_str(why, NULL, "why is NULL on success");
	ok(strcmp(out.sub, c.sub) == 0 && strcmp(out.username, c.username) == 0 &&
	   strcmp(out.role, c.role) == 0 && strcmp(out.jti, c.jti) == 0 &&
	   out.iat == c.iat && out.exp == c.exp && out.nbf == 0,
	   "claims survive the round trip");
	is_int(jwt_verify(KEY, KEYLEN, tok, NOW, NULL, NULL), RP_OK,
	       "out and why may be NULL");

	c = std_claims();
	strcpy(c.role, "admin");
	strcpy(c.username, "Root-Admin_9");
	c.nbf = NOW + 10;
	is_int(jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok), RP_OK, "sign admin with nbf");
	is_int(jwt_verify(KEY, KEYLEN, tok, NOW, &out, &why), RP_OK, "verify admin with nbf");
	ok(strcmp(out.role, "admin") == 0 && out.nbf == NOW + 10 &&
	   strcmp(out.username, "Root-Admin_9") == 0, "admin claims and nbf survive");

	/* A different but legal header spelling: the signed bytes are what
	 * the verifier hashes, not a re-serialisation. */
	{
		char t2[BIG], pay[BIG];

		expect_accept(make_token(t2, "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
		                         payload(pay, NOW, NOW + 900, NULL)),
		              NOW, "header with members reordered");
		expect_accept(make_token(t2, " {\"alg\" : \"HS256\"}\r\n",
		                         payload(pay, NOW, NOW + 900, NULL)),
		              NOW, "header without typ, with whitespace");
		expect_accept(make_token(t2, HDR, payload(pay, NOW, NOW + 900,
		              ",\"iss\":\"x\",\"aud\":[1,{\"a\":null}],\"sub2\":5")),
		              NOW, "unknown claims are ignored");
	}
}

static void test_sign_errors(void)
{
	struct jwt_claims c;
	char tok[JWT_MAX_TOKEN + 1], small[64];
	size_t need;

#define SIGN_BAD(stmt, name)                                                   \
	do {                                                                   \
		c = std_claims();                                              \
		stmt;                                                          \
		is_int(jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok), RP_EINVAL, \
		       "sign refuses " name);                                  \
	} while (0)
	SIGN_BAD(c.sub[0] = '\0', "empty sub");
	SIGN_BAD(c.sub[8] = 'x', "sub not a uuid");
	SIGN_BAD(c.sub[0] = 'A', "uppercase sub");
	SIGN_BAD(strcpy(c.username, "al"), "2-char username");
	SIGN_BAD(strcpy(c.username, "al ice"), "username with space");
	SIGN_BAD(strcpy(c.username, "al\"ice"), "username with quote");
	SIGN_BAD(memset(c.username, 'a', sizeof c.username), "unterminated username");
	SIGN_BAD(strcpy(c.role, "root"), "role root");
	SIGN_BAD(strcpy(c.role, "Admin"), "role Admin");
	SIGN_BAD(c.role[0] = '\0', "empty role");
	SIGN_BAD(c.jti[31] = '\0', "31-char jti");
	SIGN_BAD(c.jti[0] = 'A', "uppercase jti");
	SIGN_BAD(c.iat = 0, "iat 0");
	SIGN_BAD(c.exp = c.iat, "exp == iat");
	SIGN_BAD(c.exp = -1, "negative exp");
	SIGN_BAD(c.nbf = -5, "negative nbf");
#undef SIGN_BAD
	c = std_claims();
	is_int(jwt_sign(NULL, 0, &c, tok, sizeof tok), RP_EINVAL, "sign refuses no key");
	is_int(jwt_sign(KEY, KEYLEN, NULL, tok, sizeof tok), RP_EINVAL, "sign refuses NULL claims");

	memset(small, 'Q', sizeof small);
	is_int(jwt_sign(KEY, KEYLEN, &c, small, sizeof small), RP_ENOMEM,
	       "sign: out too small is RP_ENOMEM");
	ok(small[0] == 'Q' && small[sizeof small - 1] == 'Q',
	   "... and out is untouched");
	if (jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok) != RP_OK)
		diag("unexpected sign failure");
	need = strlen(tok) + 1;
	{
		char *exact = malloc(need);

		is_int(jwt_sign(KEY, KEYLEN, &c, exact, need), RP_OK,
		       "sign into an exactly sized buffer");
		is_int(jwt_sign(KEY, KEYLEN, &c, exact, need - 1), RP_ENOMEM,
		       "sign into a buffer one byte short");
		free(exact);
	}
}

static void test_tamper(void)
{
	struct jwt_claims c = std_claims();
	char tok[JWT_MAX_TOKEN + 1], t[JWT_MAX_TOKEN + 1];
	char *d1, *d2;

	if (jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok) != RP_OK)
		diag("unexpected sign failure");
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');

	strcpy(t, tok);
	t[(d1 - tok) + 10] = t[(d1 - tok) + 10] == 'x' ? 'y' : 'x';
	expect_reject(t, NOW, "bad signature", "tampered payload byte");

	strcpy(t, tok);
	t[(d2 - tok) + 5] = t[(d2 - tok) + 5] == 'x' ? 'y' : 'x';
	expect_reject(t, NOW, "bad signature", "tampered signature byte");

	strcpy(t, tok);
	t[5] = t[5] == 'x' ? 'y' : 'x';
	expect_reject(t, NOW, NULL, "tampered header byte");

	strcpy(t, tok);
	t[strlen(t) - 1] = '\0';
	expect_reject(t, NOW, NULL, "signature missing its last char");
	strcpy(t, tok);
	t[strlen(t) - 3] = '\0';
	expect_reject(t, NOW, "bad signature", "signature cut to 40 chars (30 bytes)");
	strcpy(t, tok);
	t[(d2 - tok) + 1] = '\0';
	expect_reject(t, NOW, "bad signature", "empty signature");
	strcpy(t, tok);
	strcat(t, "AAAA");
	expect_reject(t, NOW, "bad signature", "signature with 3 extra bytes");

	{
		static const unsigned char other[] = "test-key-0123456789-abcdefghijklmnopqrstuvwxyZ";

		ok(jwt_verify(other, sizeof other - 1, tok, NOW, NULL, NULL) == RP_EUNAUTH,
		   "rejects wrong key (last byte differs)");
		ok(jwt_verify(KEY, KEYLEN - 1, tok, NOW, NULL, NULL) == RP_EUNAUTH,
		   "rejects key prefix");
		ok(jwt_verify(NULL, 0, tok, NOW, NULL, NULL) == RP_EUNAUTH,
		   "rejects NULL key");
	}
}

static void test_headers(void)
{
	char tok[BIG], pay[BIG];
	size_t n;

	/* alg none, unsigned, as attackers send it. */
	n = base64url_encode(tok, (const unsigned char *)"{\"alg\":\"none\",\"typ\":\"JWT\"}", 26);
	tok[n++] = '.';
	n += base64url_encode(tok + n, (const unsigned char *)payload(pay, NOW, NOW + 900, NULL),
	                      strlen(pay));
	strcpy(tok + n, ".");
	expect_reject(tok, NOW, NULL, "alg none with empty signature");

	reject_header("{\"alg\":\"none\",\"typ\":\"JWT\"}", "unsupported algorithm",
	              "alg none with a valid HMAC");
	reject_header("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "unsupported algorithm", "alg HS512");
	reject_header("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", "unsupported algorithm", "alg hs256");
	reject_header("{\"alg\":\"HS256 \",\"typ\":\"JWT\"}", "unsupported algorithm", "alg 'HS256 '");
	reject_header("{\"alg\":\"RS256\"}", "unsupported algorithm", "alg RS256");
	reject_header("{\"typ\":\"JWT\"}", "unsupported algorithm", "missing alg");
	reject_header("{}", "unsupported algorithm", "empty header");
	reject_header("{\"alg\":null}", "unsupported algorithm", "alg null");
	reject_header("{\"alg\":[\"HS256\"]}", "unsupported algorithm", "alg array");
	reject_header("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", "unsupported algorithm", "typ jwt");
	reject_header("{\"alg\":\"HS256\",\"typ\":1}", "unsupported algorithm", "typ number");
	reject_header("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"1\"}",
	              "unsupported algorithm", "extra header kid");
	reject_header("{\"alg\":\"HS256\",\"jku\":\"http://x/\"}", "unsupported algorithm",
	              "extra header jku");
	reject_header("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "unsupported algorithm",
	              "extra header crit");
	reject_header("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "malformed token",
	              "duplicate alg in header");
	reject_header("{\"alg\":\"none\",\"alg\":\"HS256\"}", "malformed token",
	              "duplicate alg none/HS256 in header");
	reject_header("[\"HS256\"]", "malformed token", "header array");
	reject_header("\"HS256\"", "malformed token", "header string");
	reject_header("null", "malformed token", "header null");
	reject_header("", "malformed token", "empty header part");
	reject_header("{\"alg\":\"HS256\"", "malformed token", "truncated header JSON");
	reject_header("{\"alg\":\"HS256\"}x", "malformed token", "header with trailing garbage");
}

static void test_times(void)
{
	char tok[BIG], pay[BIG];

	expect_reject(make_token(tok, HDR, payload(pay, NOW - 1000, NOW - 31, NULL)),
	              NOW, "token expired", "exp = now - 31");
	expect_reject(make_token(tok, HDR, payload(pay, NOW - 1000, NOW - 30, NULL)),
	              NOW, "token expired", "exp = now - 30 (boundary)");
	expect_accept(make_token(tok, HDR, payload(pay, NOW - 1000, NOW - 29, NULL)),
	              NOW, "exp = now - 29 (within leeway)");
	expect_reject(make_token(tok, HDR, payload(pay, NOW + 31, NOW + 900, NULL)),
	              NOW, "token issued in the future", "iat = now + 31");
	expect_accept(make_token(tok, HDR, payload(pay, NOW + 30, NOW + 900, NULL)),
	              NOW, "iat = now + 30 (within leeway)");
	expect_reject(make_token(tok, HDR, payload(pay, NOW, NOW + 900, ",\"nbf\":1700000031")),
	              NOW, "token not yet valid", "nbf = now + 31");
	expect_accept(make_token(tok, HDR, payload(pay, NOW, NOW + 900, ",\"nbf\":1700000030")),
	              NOW, "nbf = now + 30 (within leeway)");
	expect_accept(make_token(tok, HDR, payload(pay, NOW, NOW + 900, ",\"nbf\":1600000000")),
	              NOW, "nbf in the past");
	expect_reject(make_token(tok, HDR, payload(pay, NOW, NOW, NULL)),
	              NOW, "invalid claims", "exp == iat");
	expect_reject(make_token(tok, HDR, payload(pay, NOW, NOW - 1, NULL)),
	              NOW, "invalid claims", "exp < iat");
	/* Extreme clocks must not overflow (UBSan would trap). */
	make_token(tok, HDR, payload(pay, NOW, NOW + 900, NULL));
	expect_reject(tok, INT64_MAX, "token expired", "now = INT64_MAX");
	expect_reject(tok, INT64_MIN, "token issued in the future", "now = INT64_MIN");
}

static void test_claims(void)
{
	char pay[BIG];

	reject_payload("[]", "invalid claims", "payload array");
	reject_payload("\"sub\"", "invalid claims", "payload string");
	reject_payload("null", "invalid claims", "payload null");
	reject_payload("42", "invalid claims", "payload number");
	reject_payload("", "invalid claims", "payload empty");
	reject_payload("{\"sub\":1}x", "invalid claims", "payload trailing garbage");
	reject_payload("{\"sub\":12345,\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":1700000900}",
	               "invalid claims", "sub as number");
	reject_payload(payload(pay, NOW, NOW + 900, ",\"role\":\"admin\""), "invalid claims",
	               "duplicate role (player then admin)");
	reject_payload(payload(pay, NOW, NOW + 900, ",\"s\\u0075b\":\"" SUB "\""), "invalid claims",
	               "duplicate sub via escape");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":\"1700000000\",\"exp\":1700000900}",
	               "invalid claims", "iat as string");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000.0,\"exp\":1700000900}",
	               "invalid claims", "iat as float");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":18446744073709551615}",
	               "invalid claims", "exp above INT64_MAX");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":9223372036854775807}",
	               "invalid claims", "exp INT64_MAX");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":-5,\"exp\":1700000900}",
	               "invalid claims", "negative iat");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":true}",
	               "invalid claims", "exp as boolean");
	reject_payload(payload(pay, NOW, NOW + 900, ",\"nbf\":\"soon\""), "invalid claims",
	               "nbf as string");
	reject_payload(payload(pay, NOW, NOW + 900, ",\"nbf\":0"), "invalid claims", "nbf 0");
	reject_payload("{\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":1700000900}",
	               "invalid claims", "missing sub");
	reject_payload("{\"sub\":\"" SUB "\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":1700000900}",
	               "invalid claims", "missing username");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":1700000900}",
	               "invalid claims", "missing role");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\""
	               ",\"iat\":1700000000,\"exp\":1700000900}",
	               "invalid claims", "missing jti");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"exp\":1700000900}",
	               "invalid claims", "missing iat");
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"player\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000}",
	               "invalid claims", "missing exp");

	/* Shapes of the string claims (each replaces one field). */
	{
		static const char *const bad[][3] = {
			{ "sub", "0B7E4C52-3F1A-4D6E-9C2B-8A1F5E7D9C30", "uppercase uuid" },
			{ "sub", "0b7e4c523f1a4d6e9c2b8a1f5e7d9c30", "uuid without dashes" },
			{ "sub", "0b7e4c52-3f1a-4d6e-9c2b-8a1f5e7d9c3", "35-char uuid" },
			{ "sub", "0b7e4c52-3f1a-4d6e-9c2b-8a1f5e7d9c300", "37-char uuid" },
			{ "sub", "0b7e4c52-3f1a-4d6e-9c2b-8a1f5e7d9c3g", "uuid with g" },
			{ "sub", "", "empty sub" },
			{ "username", "al", "2-char username" },
			{ "username", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "33-char username" },
			{ "username", "ali ce", "username with space" },
			{ "username", "ali\\u00e9", "username non-ascii" },
			{ "role", "Admin", "role Admin" },
			{ "role", "root", "role root" },
			{ "role", "admin ", "role 'admin '" },
			{ "jti", "0123456789ABCDEF0123456789abcdef", "uppercase jti" },
			{ "jti", "0123456789abcdef0123456789abcde", "31-char jti" },
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			const char *sub = SUB, *user = "alice_01", *role = "player", *jti = JTI;
			char name[96];

			if (strcmp(bad[i][0], "sub") == 0)
				sub = bad[i][1];
			else if (strcmp(bad[i][0], "username") == 0)
				user = bad[i][1];
			else if (strcmp(bad[i][0], "role") == 0)
				role = bad[i][1];
			else
				jti = bad[i][1];
			snprintf(pay, sizeof pay,
			         "{\"sub\":\"%s\",\"username\":\"%s\",\"role\":\"%s\",\"jti\":\"%s\","
			         "\"iat\":1700000000,\"exp\":1700000900}", sub, user, role, jti);
			snprintf(name, sizeof name, "%s", bad[i][2]);
			reject_payload(pay, "invalid claims", name);
		}
	}
	reject_payload("{\"sub\":\"" SUB "\",\"username\":\"alice_01\",\"role\":\"adm\\u0000in\",\"jti\":\"" JTI
	               "\",\"iat\":1700000000,\"exp\":1700000900}",
	               "invalid claims", "role with \\u0000");
	{
		char tok[BIG];

		expect_accept(make_token(tok, HDR,
		              "{\"sub\":\"" SUB "\",\"username\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		              "\"role\":\"admin\",\"jti\":\"" JTI "\",\"iat\":1,\"exp\":253402300799}"),
		              NOW, "32-char username, extreme but legal times");
	}
}

static void test_structure(void)
{
	struct jwt_claims c = std_claims();
	char tok[JWT_MAX_TOKEN + 1], t[BIG], pay[BIG];
	const char *why = NULL;
	enum rp_err rc;
	char *d1, *d2;
	size_t len, hl, pl;

	if (jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok) != RP_OK)
		diag("unexpected sign failure");
	len = strlen(tok);
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');
	hl = (size_t)(d1 - tok);
	pl = (size_t)(d2 - d1 - 1);

	/* Bad base64url in each part (a char that keeps the dots intact). */
	static const char badch[] = { '=', '+', '/', ' ', '*' };
	for (size_t i = 0; i < sizeof badch; i++) {
		char name[64];

		strcpy(t, tok);
		t[hl / 2] = badch[i];
		snprintf(name, sizeof name, "'%c' in header", badch[i]);
		expect_reject(t, NOW, "malformed token", name);
		strcpy(t, tok);
		t[hl + 1 + pl / 2] = badch[i];
		snprintf(name, sizeof name, "'%c' in payload", badch[i]);
		expect_reject(t, NOW, "malformed token", name);
		strcpy(t, tok);
		t[len - 10] = badch[i];
		snprintf(name, sizeof name, "'%c' in signature", badch[i]);
		expect_reject(t, NOW, "malformed token", name);
	}
	strcpy(t, tok);
	strcat(t, "=");
	expect_reject(t, NOW, "malformed token", "padded signature");
	/* Non-canonical last char of the 43-char signature: low 2 bits set. */
	{
		static const char *const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int v = (int)(strchr(b64, tok[len - 1]) - b64);

		strcpy(t, tok);
		t[len - 1] = b64[v | 1];
		expect_reject(t, NOW, "malformed token", "non-canonical signature encoding");
	}

	/* Dot counts. */
	snprintf(t, sizeof t, "%s.", tok);
	expect_reject(t, NOW, "malformed token", "3 dots (trailing)");
	snprintf(t, sizeof t, "%s.AAAA", tok);
	expect_reject(t, NOW, "malformed token", "3 dots (4 parts)");
	snprintf(t, sizeof t, "%.*s%s", (int)hl, tok, d1 + 1);   /* drop dot 1 */
	expect_reject(t, NOW, "malformed token", "1 dot");
	snprintf(t, sizeof t, "%.*s", (int)(d2 - tok), tok);
	expect_reject(t, NOW, "malformed token", "1 dot (no signature part)");
	expect_reject("", NOW, "malformed token", "empty string");
	expect_reject("..", NOW, NULL, "two dots only");
	expect_reject("abc", NOW, "malformed token", "no dot");
	expect_reject(NULL, NOW, "malformed token", "NULL token");
	ok(jwt_verify(KEY, KEYLEN, NULL, NOW, NULL, NULL) == RP_EUNAUTH,
	   "NULL token with NULL out and why");

	/* Length cap. */
	memset(t, 'a', JWT_MAX_TOKEN + 1);
	t[JWT_MAX_TOKEN + 1] = '\0';
	expect_reject(t, NOW, "token too long", "JWT_MAX_TOKEN + 1 chars of junk");
	t[JWT_MAX_TOKEN] = '\0';
	rc = jwt_verify(KEY, KEYLEN, t, NOW, NULL, &why);
	ok(rc == RP_EUNAUTH && why && strcmp(why, "token too long") != 0,
	   "JWT_MAX_TOKEN chars is not 'too long' (%s)", why ? why : "NULL");
	{
		/* A correctly signed token just over / at the cap. */
		char padv[BIG / 2], extra[BIG / 2 + 16];
		size_t base, target;

		make_token(t, HDR, payload(pay, NOW, NOW + 900, ",\"p\":\"\""));
		base = strlen(t);
		/* 3 payload chars per 4 token chars; pad to reach > cap. */
		target = (JWT_MAX_TOKEN - base) / 4 * 3 + 6;
		memset(padv, 'x', target);
		padv[target] = '\0';
		snprintf(extra, sizeof extra, ",\"p\":\"%s\"", padv);
		make_token(t, HDR, payload(pay, NOW, NOW + 900, extra));
		ok(strlen(t) > JWT_MAX_TOKEN, "padded token is %zu chars", strlen(t));
		expect_reject(t, NOW, "token too long", "correctly signed token over the cap");
		while (strlen(t) > JWT_MAX_TOKEN) {
			padv[--target] = '\0';
			snprintf(extra, sizeof extra, ",\"p\":\"%s\"", padv);
			make_token(t, HDR, payload(pay, NOW, NOW + 900, extra));
		}
		expect_accept(t, NOW, "correctly signed token at or under the cap");
	}
}

/* Every mutation of a valid token must be refused, and none may crash. */
static void test_mutations(void)
{
	struct jwt_claims c = std_claims();
	char tok[JWT_MAX_TOKEN + 1], t[JWT_MAX_TOKEN + 1];
	size_t len;
	int accepted = 0, wrong_rc = 0;
	uint32_t rng = 12345;

	if (jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok) != RP_OK)
		diag("unexpected sign failure");
	len = strlen(tok);
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(t, tok, cut);
		t[cut] = '\0';
		if (jwt_verify(KEY, KEYLEN, t, NOW, NULL, NULL) != RP_EUNAUTH)
			accepted++;
	}
	ok(accepted == 0, "no proper prefix of a token verifies (%d did)", accepted);

	accepted = 0;
	for (int i = 0; i < 20000; i++) {
		size_t pos;
		unsigned char ch;
		enum rp_err e;

		rng = rng * 1103515245u + 12345u;
		pos = (rng >> 8) % len;
		rng = rng * 1103515245u + 12345u;
		ch = (unsigned char)((rng >> 16) % 255 + 1);
		if (ch == (unsigned char)tok[pos])
			continue;
		strcpy(t, tok);
		t[pos] = (char)ch;
		e = jwt_verify(KEY, KEYLEN, t, NOW, NULL, NULL);
		if (e == RP_OK)
			accepted++;
		else if (e != RP_EUNAUTH)
			wrong_rc++;
	}
	ok(accepted == 0 && wrong_rc == 0,
	   "20000 single-byte mutations: none verifies (%d), all RP_EUNAUTH (%d other)",
	   accepted, wrong_rc);
}

static void test_jti(void)
{
	char a[33], b[33];
	struct jwt_claims c = std_claims();
	char tok[JWT_MAX_TOKEN + 1];

	memset(a, 'Z', sizeof a);
	jwt_new_jti(a);
	jwt_new_jti(b);
	ok(strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32,
	   "jwt_new_jti: 32 lowercase hex + NUL");
	ok(strcmp(a, b) != 0, "two jtis differ");
	strcpy(c.jti, a);
	is_int(jwt_sign(KEY, KEYLEN, &c, tok, sizeof tok), RP_OK, "a fresh jti signs");
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("1..0 # SKIP libsodium init failed\n");
		return 1;
	}
	test_base64url_roundtrip();
	test_base64url_vectors();
	test_base64url_rejects();
	test_hmac_rfc4231();
	test_rfc7515_a1();
	test_roundtrip();
	test_sign_errors();
	test_tamper();
	test_headers();
	test_times();
	test_claims();
	test_structure();
	test_mutations();
	test_jti();
	return done_testing();
}
