/*
 * t/unit/json.c — edge cases of the strict request-body parser.
 *
 * Every table input is copied into a malloc'd buffer of exactly its length
 * (no terminating NUL), so under ASan any read past the body is caught.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/json.h"
#include "tap.h"

#define ACCEPT 1
#define REJECT 0
/* A string literal and its length, embedded NULs included. */
#define S(lit) lit, sizeof(lit) - 1

struct json_case {
	const char *in;
	size_t len;
	int accept;
	const char *why;   /* expected reason when rejected; NULL: any */
};

static const struct json_case cases[] = {
	/* Valid values of every type, at top level and nested. */
	{ S("{}"), ACCEPT, NULL },
	{ S("[]"), ACCEPT, NULL },
	{ S("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}"), ACCEPT, NULL },
	{ S("\"str\""), ACCEPT, NULL },
	{ S("\"\""), ACCEPT, NULL },
	{ S("0"), ACCEPT, NULL },
	{ S("-0"), ACCEPT, NULL },
	{ S("1e5"), ACCEPT, NULL },
	{ S("1.5E-3"), ACCEPT, NULL },
	{ S("-12.5e+10"), ACCEPT, NULL },
	{ S("0.0"), ACCEPT, NULL },
	{ S("1E+0"), ACCEPT, NULL },
	{ S("true"), ACCEPT, NULL },
	{ S("false"), ACCEPT, NULL },
	{ S("null"), ACCEPT, NULL },
	{ S(" \t\r\n{ \"a\" : [ 1 , 2 ] } \t\r\n"), ACCEPT, NULL },
	{ S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), ACCEPT, NULL },
	{ S("\"\\u00e9\\ud83d\\ude00\\u20AC\""), ACCEPT, NULL },
	{ S("\"\\uDBFF\\uDFFF\""), ACCEPT, NULL },
	{ S("\"\\uFFFF\\u007f\""), ACCEPT, NULL },
	{ S("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""), ACCEPT, NULL },
	{ S("\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\x7f\""), ACCEPT, NULL },
	{ S("{\"\":1}"), ACCEPT, NULL },
	{ S("{\"a\":{\"a\":1}}"), ACCEPT, NULL },
	{ S("[{\"a\":1},{\"a\":2}]"), ACCEPT, NULL },
	{ S("{\"x\":{\"a\":1},\"y\":{\"a\":2}}"), ACCEPT, NULL },
	{ S("{\"a\":1,\"A\":2,\"a \":3}"), ACCEPT, NULL },
	{ S("9223372036854775807"), ACCEPT, NULL },
	{ S("-9223372036854775808"), ACCEPT, NULL },
	{ S("18446744073709551615"), ACCEPT, NULL },
	{ S("1e-400"), ACCEPT, NULL },
	{ S("1.7976931348623157e308"), ACCEPT, NULL },

	/* Nothing, or more than one value. */
	{ S(""), REJECT, "empty body" },
	{ S("   \t\r\n"), REJECT, "empty body" },
	{ S("{}x"), REJECT, "trailing data after JSON value" },
	{ S("{} {}"), REJECT, "trailing data after JSON value" },
	{ S("[][]"), REJECT, "trailing data after JSON value" },
	{ S("1 2"), REJECT, "trailing data after JSON value" },
	{ S("\"a\"\"b\""), REJECT, "trailing data after JSON value" },
	{ S("[1]]"), REJECT, "trailing data after JSON value" },
	{ S("\xef\xbb\xbf{}"), REJECT, NULL },          /* BOM */
	{ S("\f{}"), REJECT, NULL },                    /* not JSON whitespace */
	{ S("\v{}"), REJECT, NULL },
	{ S("\xc2\xa0{}"), REJECT, NULL },              /* NBSP */
	{ S("/* c */ {}"), REJECT, NULL },
	{ S("{} // c"), REJECT, NULL },

	/* Structure. */
	{ S("["), REJECT, "unexpected end of input" },
	{ S("{"), REJECT, "unexpected end of input" },
	{ S("{\"a\""), REJECT, "unexpected end of input" },
	{ S("{\"a\":"), REJECT, "unexpected end of input" },
	{ S("[1,"), REJECT, "unexpected end of input" },
	{ S("]"), REJECT, NULL },
	{ S("}"), REJECT, NULL },
	{ S(","), REJECT, NULL },
	{ S("[1,]"), REJECT, NULL },
	{ S("[,1]"), REJECT, NULL },
	{ S("[1,,2]"), REJECT, NULL },
	{ S("[1 2]"), REJECT, NULL },
	{ S("{\"a\":1,}"), REJECT, NULL },
	{ S("{,}"), REJECT, NULL },
	{ S("{\"a\" 1}"), REJECT, NULL },
	{ S("{\"a\":}"), REJECT, NULL },
	{ S("{\"a\"::1}"), REJECT, NULL },
	{ S("{a:1}"), REJECT, NULL },
	{ S("{'a':1}"), REJECT, NULL },
	{ S("{1:1}"), REJECT, NULL },
	{ S("[}"), REJECT, NULL },
	{ S("{]"), REJECT, NULL },
	{ S("['a']"), REJECT, NULL },
	{ S("\"abc"), REJECT, NULL },
	{ S("tru"), REJECT, "unexpected end of input" },
	{ S("nul"), REJECT, "unexpected end of input" },
	{ S("True"), REJECT, NULL },
	{ S("nulll"), REJECT, NULL },
	{ S("fals"), REJECT, NULL },
	{ S("trUe"), REJECT, "invalid literal" },
	{ S("undefined"), REJECT, NULL },

	/* Duplicate keys, compared after decoding. */
	{ S("{\"a\":1,\"a\":2}"), REJECT, "duplicate object key" },
	{ S("{\"a\":1,\"b\":2,\"a\":3}"), REJECT, "duplicate object key" },
	{ S("{\"a\":1,\"\\u0061\":2}"), REJECT, "duplicate object key" },
	{ S("{\"\\u0061\":1,\"\\u0061\":2}"), REJECT, "duplicate object key" },
	{ S("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), REJECT, "duplicate object key" },
	{ S("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}"), REJECT, "duplicate object key" },
	{ S("{\"/\":1,\"\\/\":2}"), REJECT, "duplicate object key" },
	{ S("{\"\":1,\"\":2}"), REJECT, "duplicate object key" },
	{ S("{\"x\":{\"a\":1},\"y\":{\"b\":1,\"b\":2}}"), REJECT, "duplicate object key" },
	{ S("{\"a\":{\"b\":1},\"a\":2}"), REJECT, "duplicate object key" },

	/* Numbers. */
	{ S("01"), REJECT, "leading zero in number" },
	{ S("-01"), REJECT, "leading zero in number" },
	{ S("00"), REJECT, "leading zero in number" },
	{ S("[01]"), REJECT, "leading zero in number" },
	{ S("1."), REJECT, "invalid number" },
	{ S("1.e5"), REJECT, "invalid number" },
	{ S(".5"), REJECT, "invalid number" },
	{ S("-"), REJECT, "invalid number" },
	{ S("-a"), REJECT, "invalid number" },
	{ S("1e"), REJECT, "invalid number" },
	{ S("1e+"), REJECT, "invalid number" },
	{ S("1E-"), REJECT, "invalid number" },
	{ S("+1"), REJECT, "invalid number" },
	{ S("NaN"), REJECT, NULL },
	{ S("Infinity"), REJECT, NULL },
	{ S("-Infinity"), REJECT, "invalid number" },
	{ S("0x10"), REJECT, NULL },
	{ S("1_000"), REJECT, NULL },
	{ S("18446744073709551616"), REJECT, "number out of range" },
	{ S("-9223372036854775809"), REJECT, "number out of range" },
	{ S("123456789012345678901234567890"), REJECT, "number out of range" },
	{ S("1e400"), REJECT, "number out of range" },
	{ S("-1e400"), REJECT, "number out of range" },

	/* Escapes and surrogates. */
	{ S("\"\\x41\""), REJECT, "invalid escape in string" },
	{ S("\"\\'\""), REJECT, "invalid escape in string" },
	{ S("\"\\U0041\""), REJECT, "invalid escape in string" },
	{ S("\"\\u12\""), REJECT, "invalid \\u escape in string" },
	{ S("\"\\u12G4\""), REJECT, "invalid \\u escape in string" },
	{ S("\"\\u12"), REJECT, "invalid \\u escape in string" },
	{ S("\"\\"), REJECT, NULL },
	{ S("\"\\ud800\""), REJECT, "unpaired UTF-16 surrogate in string" },
	{ S("\"\\udc00\""), REJECT, "unpaired UTF-16 surrogate in string" },
	{ S("\"\\ud800\\u0041\""), REJECT, "unpaired UTF-16 surrogate in string" },
	{ S("\"\\ud800x\""), REJECT, "unpaired UTF-16 surrogate in string" },
	{ S("\"\\udc00\\ud800\""), REJECT, "unpaired UTF-16 surrogate in string" },
	{ S("\"\\ud800\\ud800\""), REJECT, "unpaired UTF-16 surrogate in string" },
	{ S("\"\\ud800"), REJECT, NULL },
	{ S("\"\\u0000\""), REJECT, NULL },
	{ S("{\"a\\u0000b\":1,\"a\":2}"), REJECT, NULL },

	/* UTF-8. */
	{ S("\"\xc0\x80\""), REJECT, "invalid UTF-8 in string" },      /* overlong NUL */
	{ S("\"\xc0\xaf\""), REJECT, "invalid UTF-8 in string" },      /* overlong '/' */
	{ S("\"\xc1\xbf\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xe0\x80\xaf\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xe0\x9f\xbf\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xf0\x80\x80\xaf\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xf0\x8f\xbf\xbf\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xed\xa0\x80\""), REJECT, "invalid UTF-8 in string" },  /* U+D800 */
	{ S("\"\xed\xbf\xbf\""), REJECT, "invalid UTF-8 in string" },  /* U+DFFF */
	{ S("\"\xf4\x90\x80\x80\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xf5\x80\x80\x80\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xff\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xfe\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\x80\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xbf\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xe2\x82\""), REJECT, "invalid UTF-8 in string" },      /* truncated */
	{ S("\"\xe2\x82"), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xc3\""), REJECT, "invalid UTF-8 in string" },
	{ S("\"\xc3\x28\""), REJECT, "invalid UTF-8 in string" },
	{ S("{\"\xc3\xa9\":1,\"\xc3\":2}"), REJECT, "invalid UTF-8 in string" },
	{ S("\xc3\xa9"), REJECT, "unexpected character" },

	/* Control characters and NUL. */
	{ S("\"a\nb\""), REJECT, "control character in string" },
	{ S("\"a\tb\""), REJECT, "control character in string" },
	{ S("\"\x01\""), REJECT, "control character in string" },
	{ S("\"\x1f\""), REJECT, "control character in string" },
	{ S("{\"a\rb\":1}"), REJECT, "control character in string" },
	{ S("\"a\0b\""), REJECT, "NUL byte in input" },
	{ S("{}\0"), REJECT, "NUL byte in input" },
	{ S("\0{}"), REJECT, "NUL byte in input" },
	{ S("[1,\0 2]"), REJECT, "NUL byte in input" },
	{ S("\0"), REJECT, "NUL byte in input" },
};

#define N_CASES (sizeof cases / sizeof cases[0])

/* Printable rendering of a test input for the TAP line. */
static const char *render(const char *in, size_t len)
{
	static char buf[96];
	size_t o = 0;

	for (size_t i = 0; i < len && o < sizeof buf - 8; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '#')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
	}
	if (o >= sizeof buf - 8)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "...");
	buf[o] = '\0';
	return buf;
}

/* Parse in[0..len) from an exact-size heap copy; out/why as the API. */
static enum rp_err parse_exact(const char *in, size_t len,
                               struct json_object **out, const char **why)
{
	char *copy = malloc(len ? len : 1);
	enum rp_err rc;

	if (!copy) {
		perror("malloc");
		exit(2);
	}
	if (len)
		memcpy(copy, in, len);
	rc = json_parse_strict(copy, len, out, why);
	free(copy);
	return rc;
}

static void run_case(const struct json_case *c)
{
	struct json_object *o = (struct json_object *)&o;   /* poison */
	const char *why = NULL;
	enum rp_err rc = parse_exact(c->in, c->len, &o, &why);
	const char *shown = render(c->in, c->len);

	if (c->accept) {
		if (!ok(rc == RP_OK, "accepts %s", shown))
			diag("rc=%d why=%s", rc, why ? why : "(null)");
		json_object_put(rc == RP_OK ? o : NULL);
		return;
	}
	int pass = rc == RP_EBADJSON && o == NULL && why != NULL && *why != '\0';
	if (pass && c->why)
		pass = strcmp(why, c->why) == 0;
	if (!ok(pass, "rejects %s", shown))
		diag("rc=%d why=%s expected=%s", rc, why ? why : "(null)",
		     c->why ? c->why : "(any)");
	if (rc == RP_OK)
		json_object_put(o);
}

/* depth nested arrays, or objects {"k":...}, around 1. Caller frees. */
static char *nested(int depth, int objects, size_t *len)
{
	size_t cap = (size_t)depth * 8 + 8;
	char *b = malloc(cap);
	size_t o = 0;

	if (!b)
		exit(2);
	for (int d = 0; d < depth; d++) {
		if (objects) {
			memcpy(b + o, "{\"k\":", 5);
			o += 5;
		} else {
			b[o++] = '[';
		}
	}
	b[o++] = '1';
	for (int d = 0; d < depth; d++)
		b[o++] = objects ? '}' : ']';
	*len = o;
	return b;
}

static void expect(const char *in, size_t len, enum rp_err want,
                   const char *want_why, const char *name)
{
	struct json_object *o = NULL;
	const char *why = NULL;
	enum rp_err rc = parse_exact(in, len, &o, &why);
	int pass = rc == want;

	if (pass && want != RP_OK)
		pass = why != NULL && (want_why == NULL || strcmp(why, want_why) == 0);
	if (!ok(pass, "%s", name))
		diag("rc=%d why=%s", rc, why ? why : "(null)");
	if (rc == RP_OK)
		json_object_put(o);
}

static void test_depth(void)
{
	size_t len;
	char *b;

	b = nested(JSON_MAX_DEPTH, 0, &len);
	expect(b, len, RP_OK, NULL, "16 nested arrays accepted");
	free(b);
	b = nested(JSON_MAX_DEPTH + 1, 0, &len);
	expect(b, len, RP_EBADJSON, "nesting deeper than 16", "17 nested arrays rejected");
	free(b);
	b = nested(JSON_MAX_DEPTH, 1, &len);
	expect(b, len, RP_OK, NULL, "16 nested objects accepted");
	free(b);
	b = nested(JSON_MAX_DEPTH + 1, 1, &len);
	expect(b, len, RP_EBADJSON, "nesting deeper than 16", "17 nested objects rejected");
	free(b);
	b = nested(100000, 0, &len);
	expect(b, len, RP_EBADJSON, "nesting deeper than 16", "100000 nested arrays rejected");
	free(b);
	/* Unclosed: the depth error must come before end of input. */
	expect("[[[[[[[[[[[[[[[[[", 17, RP_EBADJSON, "nesting deeper than 16",
	       "17 unclosed arrays rejected for depth");

	/* Depth is per path: a sibling at depth 16 after a closed one is fine. */
	char buf[256];
	size_t o = 0;
	buf[o++] = '[';
	for (int k = 0; k < 2; k++) {
		if (k)
			buf[o++] = ',';
		for (int d = 1; d < JSON_MAX_DEPTH; d++)
			buf[o++] = '[';
		for (int d = 1; d < JSON_MAX_DEPTH; d++)
			buf[o++] = ']';
	}
	buf[o++] = ']';
	expect(buf, o, RP_OK, NULL, "two sibling branches of depth 16 accepted");
	o--;                            /* reopen the outer array */
	buf[o++] = ',';
	for (int d = 0; d < JSON_MAX_DEPTH; d++)
		buf[o++] = '[';
	for (int d = 0; d < JSON_MAX_DEPTH; d++)
		buf[o++] = ']';
	buf[o++] = ']';
	expect(buf, o, RP_EBADJSON, "nesting deeper than 16",
	       "third branch of depth 17 rejected");
}

/* {"k0":0,"k1":1,...} with n keys; the last key is dup_of's name if >= 0. */
static char *many_keys(int n, int dup_of, size_t *len)
{
	size_t cap = (size_t)n * 24 + 8;
	char *b = malloc(cap);
	size_t o = 0;

	if (!b)
		exit(2);
	b[o++] = '{';
	for (int k = 0; k < n; k++) {
		int name = (k == n - 1 && dup_of >= 0) ? dup_of : k;
		o += (size_t)snprintf(b + o, cap - o, "%s\"k%d\":%d",
		                      k ? "," : "", name, k);
	}
	b[o++] = '}';
	*len = o;
	return b;
}

static void test_key_limits(void)
{
	size_t len;
	char *b;

	b = many_keys(JSON_MAX_KEYS_PER_OBJECT, -1, &len);
	expect(b, len, RP_OK, NULL, "256 keys in one object accepted");
	free(b);
	b = many_keys(JSON_MAX_KEYS_PER_OBJECT + 1, -1, &len);
	expect(b, len, RP_EBADJSON, NULL, "257 keys in one object rejected");
	free(b);
	b = many_keys(JSON_MAX_KEYS_PER_OBJECT, 0, &len);
	expect(b, len, RP_EBADJSON, "duplicate object key",
	       "duplicate as 256th key rejected");
	free(b);

	/* 8 nested objects of 200 keys each: the key stack must hold all. */
	size_t cap = 8 * 200 * 32 + 64;
	char *d = malloc(cap);
	size_t o = 0;
	if (!d)
		exit(2);
	for (int lvl = 0; lvl < 8; lvl++) {
		d[o++] = '{';
		for (int k = 0; k < 200; k++)
			o += (size_t)snprintf(d + o, cap - o, "\"k%d\":%d,", k, k);
		o += (size_t)snprintf(d + o, cap - o, "\"in\":");
	}
	d[o++] = '0';
	for (int lvl = 0; lvl < 8; lvl++)
		d[o++] = '}';
	expect(d, o, RP_OK, NULL, "8 nested objects of 201 keys accepted");
	/* Same again, but the innermost repeats its own first key. */
	memcpy(d + o - 9, "0,\"k0\":1}}}}}}}}", 16);    /* was "0}}}}}}}}" */
	expect(d, o + 7, RP_EBADJSON, "duplicate object key",
	       "duplicate in innermost of nested key stacks rejected");
	free(d);
}

/*
 * About 64 KiB of legal data: an array of records, each nested 12 deep,
 * with escapes and UTF-8. It must parse, and survive a round trip.
 */
static void test_big(void)
{
	size_t cap = 80 * 1024;
	char *b = malloc(cap);
	size_t o = 0;
	int n = 0;

	if (!b)
		exit(2);
	b[o++] = '[';
	while (o < 64 * 1024) {
		o += (size_t)snprintf(b + o, cap - o,
			"%s{\"id\":%d,\"name\":\"pl\\u00e9yer \xe2\x98\x85 %d\","
			"\"elo\":%d.5e0,\"tags\":[true,false,null],"
			"\"d\":[[[[[[[[[[{\"x\":\"\\ud83d\\ude00\"}]]]]]]]]]]}",
			n ? "," : "", n, n, 1000 + n);
		n++;
	}
	b[o++] = ']';

	struct json_object *v = NULL, *w = NULL;
	const char *why = NULL;
	enum rp_err rc = parse_exact(b, o, &v, &why);
	if (!ok(rc == RP_OK && json_object_array_length(v) == (size_t)n,
	        "%zu bytes of nested legal data accepted (%d records)", o, n))
		diag("rc=%d why=%s", rc, why ? why : "(null)");

	size_t tlen = 0;
	const char *text = rc == RP_OK ? json_to_text(v, &tlen) : "";
	rc = parse_exact(text, tlen, &w, &why);
	ok(rc == RP_OK && json_object_equal(v, w), "big document round-trips");
	json_object_put(v);
	json_object_put(w);
	free(b);
}

static void test_api(void)
{
	struct json_object *o = NULL;
	const char *why = "unchanged";
	enum rp_err rc;
	size_t n = 0;

	rc = json_parse_strict(NULL, 0, &o, &why);
	ok(rc == RP_EBADJSON && o == NULL && why && strcmp(why, "empty body") == 0,
	   "NULL body with len 0 rejected as empty");

	rc = json_parse_strict("{}x", 3, &o, NULL);
	ok(rc == RP_EBADJSON && o == NULL, "why may be NULL");

	why = NULL;
	rc = json_parse_strict("[1,2]xyz", 5, &o, &why);
	ok(rc == RP_OK && json_object_array_length(o) == 2,
	   "only len bytes are read (no NUL needed)");
	json_object_put(o);
	o = NULL;

	rc = json_parse_strict("123", 2, &o, &why);
	ok(rc == RP_OK && json_object_get_int(o) == 12, "number ending at len");
	json_object_put(o);
	o = NULL;

	rc = json_parse_strict("null", 4, &o, &why);
	ok(rc == RP_OK && o == NULL, "top-level null gives RP_OK and NULL");
	is_str(json_to_text(NULL, &n), "null", "json_to_text(NULL) is null");

	const char *secret = "{\"hunter2secret\":1,\"hunter2secret\":2}";
	why = NULL;
	rc = json_parse_strict(secret, strlen(secret), &o, &why);
	ok(rc == RP_EBADJSON && why && !strstr(why, "hunter2"),
	   "reason does not echo input bytes");

	const char *in = "{ \"url\" : \"a/b\", \"n\" : [1.5E-3, -0, 7],"
	                 " \"s\" : \"\\u00e9\\n\" }";
	rc = json_parse_strict(in, strlen(in), &o, &why);
	ok(rc == RP_OK, "serialization input parses");
	const char *t = json_to_text(o, &n);
	is_str(t, "{\"url\":\"a/b\",\"n\":[1.5E-3,0,7],\"s\":\"\xc3\xa9\\n\"}",
	       "json_to_text is plain, slashes unescaped");
	is_int((long long)n, (long long)strlen(t), "json_to_text length");
	json_object_put(o);
}

#define N_EXTRA (8 + 5 + 2 + 10)

int main(void)
{
	plan((int)(N_CASES + N_EXTRA));
	for (size_t i = 0; i < N_CASES; i++)
		run_case(&cases[i]);
	test_depth();
	test_key_limits();
	test_big();
	test_api();
	return done_testing();
}
