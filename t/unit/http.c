/* t/unit/http.c — lib/http/http.c and lib/core: query parsing, methods, arena and buffer limits. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
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

	arena_free(a);
	return done_testing();
}
