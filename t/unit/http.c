/* t/unit/http.c — lib/http/http.c and lib/core: query parsing, methods, arena and buffer limits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/http.h"
#include "tap.h"

int main(void)
{
	struct arena *a = arena_new(1024);
	struct request req;
	enum rp_err err;

	request_init(&req, a);
	req.query = "limit=10&search=ab%20c&flag&x=a+b&empty=";
	is_str(request_query(&req, "limit", &err), "10", "plain value");
	is_str(request_query(&req, "search", &err), "ab c", "percent-decoded");
	is_str(request_query(&req, "x", &err), "a b", "plus is space");
	is_str(request_query(&req, "flag", &err), "", "key without value");
	is_str(request_query(&req, "empty", &err), "", "empty value");
	ok(request_query(&req, "missing", &err) == NULL && err == RP_OK, "missing key is NULL, no error");
	ok(request_query(&req, "lim", &err) == NULL, "key prefix does not match");
	req.query = "a=%zz";
	ok(request_query(&req, "a", &err) == NULL && err == RP_EBADREQ, "bad escape is RP_EBADREQ");
	req.query = "a=%4";
	ok(request_query(&req, "a", &err) == NULL && err == RP_EBADREQ, "truncated escape is RP_EBADREQ");
	req.query = "a=%00";
	ok(request_query(&req, "a", &err) == NULL && err == RP_EBADREQ, "NUL escape refused");

	is_int(http_method_parse("PATCH"), HTTP_PATCH, "method parse");
	is_int(http_method_parse("patch"), HTTP_METHOD_OTHER, "methods are case-sensitive");
	is_int(http_method_parse(NULL), HTTP_METHOD_OTHER, "NULL method");
	is_str(http_status_text(413), "Content Too Large", "status text");

	/* arena: alignment, reset, hard cap */
	void *p1 = arena_alloc(a, 3), *p2 = arena_alloc(a, 5);
	ok(((uintptr_t)p1 % 16) == 0 && ((uintptr_t)p2 % 16) == 0, "allocations are 16-byte aligned");
	ok(arena_alloc(a, ARENA_MAX_BYTES + 1) == NULL, "over-cap allocation fails");
	int failed = 0;
	for (int i = 0; i < 100 && !failed; i++)
		failed = arena_alloc(a, 1024 * 1024) == NULL;
	ok(failed, "arena stops growing at its cap");
	arena_reset(a);
	ok(arena_used(a) == 0, "reset releases everything");
	ok(arena_alloc(a, 100) != NULL, "usable after reset");
	is_str(arena_printf(a, "%d-%s", 7, "x"), "7-x", "arena_printf");

	struct buf b;
	buf_init(&b, a);
	buf_json_string(&b, "a\"b\\c\n\x01");
	is_str(b.data, "\"a\\\"b\\\\c\\n\\u0001\"", "JSON string escaping");
	buf_init(&b, a);
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "0123456789");
	is_int((long long)b.len, 10000, "buffer grows");
	ok(!b.failed, "no failure while within the cap");

	buf_init(&b, a);
	buf_json_string(&b, "plain text, UTF-8 \xc3\xa9, /slash/ \x7f");
	is_str(b.data, "\"plain text, UTF-8 \xc3\xa9, /slash/ \x7f\"", "only quotes, backslashes and controls are escaped");
	buf_init(&b, a);
	buf_json_string(&b, "\t\r\x1f\"");
	is_str(b.data, "\"\\t\\r\\u001f\\\"\"", "escapes at both ends");
	buf_init(&b, a);
	buf_json_string(&b, "");
	is_str(b.data, "\"\"", "empty string");

	/* fmt_ll: what "%lld" prints */
	char num[FMT_LL_MAX], want[FMT_LL_MAX];
	static const long long vals[] = {0, 7, -7, 10, 1234567890123LL, INT64_MAX, INT64_MIN};
	int bad = 0;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = fmt_ll(num, vals[i]);
		snprintf(want, sizeof(want), "%lld", vals[i]);
		if (strcmp(num, want) != 0 || n != strlen(want))
			bad++;
	}
	is_int(bad, 0, "fmt_ll equals %lld, extremes included");

	/* time_iso8601: the shape printf gave (2026-11-26T03:57:58.123Z) */
	char ts[32], ts2[32];
	time_iso8601(ts);
	ok(strlen(ts) == 24 && ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' &&
		   ts[16] == ':' && ts[19] == '.' && ts[23] == 'Z',
	   "ISO-8601 with milliseconds");
	for (int i = 0; i < 2; i++) { /* twice: the second call reuses the cached date part */
		time_t before = time(NULL);
		time_iso8601(ts);
		time_t after = time(NULL);
		struct tm tm;
		gmtime_r(&before, &tm);
		strftime(ts2, sizeof(ts2), "%Y-%m-%dT%H:%M:%S.", &tm);
		bool same = strncmp(ts, ts2, 20) == 0;
		gmtime_r(&after, &tm);
		strftime(ts2, sizeof(ts2), "%Y-%m-%dT%H:%M:%S.", &tm);
		ok(same || strncmp(ts, ts2, 20) == 0, "the current UTC date and time (call %d)", i + 1);
	}

	/* response headers without printf */
	struct response res;
	response_init(&res, a);
	response_public_1s(&res);
	is_int((long long)res.nheaders, 2, "public answer: two headers");
	is_str(res.headers[0].value, "public, max-age=1", "Cache-Control");
	ok(res.headers[1].value[0] == '@' && strtoll(res.headers[1].value + 1, NULL, 10) > 1700000000,
	   "X-Accel-Expires is @<unix second>");

	arena_free(a);
	return done_testing();
}
