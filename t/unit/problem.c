/* t/unit/problem.c — lib/http/problem.c: every rp_err maps once to a status and a problem document. */
#include <json-c/json.h>
#include <string.h>

#include "core/arena.h"
#include "http/json.h"
#include "http/problem.h"
#include "tap.h"

static struct json_object *render(struct arena *a, struct request *req, enum rp_err e,
				  struct response *res)
{
	response_init(res, a);
	problem_render(req, res, e);
	struct json_object *o = NULL;
	const char *why;
	if (json_parse_strict(res->body.data, res->body.len, &o, &why) != RP_OK)
		return NULL;
	return o;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static const char *header(const struct response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

int main(void)
{
	struct arena *a = arena_new(8192);
	static const struct {
		enum rp_err e;
		int status;
	} want[] = {
		{RP_EBADJSON, 400}, {RP_EBADREQ, 400},   {RP_EUNAUTH, 401},    {RP_EFORBIDDEN, 403},
		{RP_ENOTFOUND, 404}, {RP_EMETHOD, 405},  {RP_ECONFLICT, 409},  {RP_ETOOLARGE, 413},
		{RP_EMEDIATYPE, 415}, {RP_EINVAL, 422},  {RP_ERATELIMIT, 429}, {RP_EINTERNAL, 500},
		{RP_EUNAVAIL, 503},  {RP_ENOMEM, 500},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_int(problem_status(want[i].e), want[i].status, problem_kind_of(want[i].e)->slug);
	for (int e = 1; e < RP_ERR_MAX; e++)
		ok(problem_kind_of((enum rp_err)e)->title != NULL && problem_kind_of((enum rp_err)e)->slug != NULL,
		   "error %d has a title and a type", e);
	is_int(problem_status((enum rp_err)999), 500, "out-of-range code is 500");
	is_int(problem_status(RP_OK), 500, "RP_OK is never rendered as a problem");

	struct request req;
	struct response res;
	request_init(&req, a);
	req.path = "/players/x";
	req.request_id = "rid-1";
	req.problem.detail = "bad fields";
	request_field_error(&req, "username", "must be 3-32 characters");
	request_field_error(&req, "email", "is not a valid \"address\"");
	struct json_object *o = render(a, &req, RP_EINVAL, &res);
	ok(o != NULL, "422 body is valid JSON");
	is_int(res.status, 422, "status 422");
	is_str(res.content_type, "application/problem+json", "problem content type");
	is_str(get_str(o, "type"), PROBLEM_TYPE_BASE "validation-failed", "type URI");
	is_str(get_str(o, "title"), "Validation failed", "title");
	is_str(get_str(o, "detail"), "bad fields", "detail kept for 4xx");
	is_str(get_str(o, "requestId"), "rid-1", "request id in body");
	struct json_object *errs;
	ok(json_object_object_get_ex(o, "errors", &errs) && json_object_array_length(errs) == 2,
	   "two field errors");
	is_str(get_str(json_object_array_get_idx(errs, 1), "message"), "is not a valid \"address\"",
	       "field message escaped correctly");
	json_object_put(o);

	request_init(&req, a);
	req.problem.detail = "PQexec: relation \"secret\" does not exist at /srv/x.c:12";
	o = render(a, &req, RP_EINTERNAL, &res);
	is_str(get_str(o, "detail"), "Internal server error", "500 never leaks the detail");
	json_object_put(o);

	request_init(&req, a);
	req.problem.allow = "GET, HEAD";
	o = render(a, &req, RP_EMETHOD, &res);
	is_str(header(&res, "Allow"), "GET, HEAD", "405 carries Allow");
	json_object_put(o);

	request_init(&req, a);
	req.problem.retry_after = 42;
	o = render(a, &req, RP_ERATELIMIT, &res);
	is_str(header(&res, "Retry-After"), "42", "429 carries Retry-After");
	struct json_object *e2;
	ok(json_object_object_get_ex(o, "errors", &e2) && json_object_array_length(e2) == 0,
	   "errors is an empty array when there are none");
	json_object_put(o);

	request_init(&req, a);
	o = render(a, &req, RP_EUNAVAIL, &res);
	is_int(res.status, 503, "503 for unavailable dependency");
	ok(strstr(get_str(o, "detail"), "unavailable") != NULL, "503 detail is generic");
	json_object_put(o);

	arena_free(a);
	return done_testing();
}
