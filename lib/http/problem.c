/*
 * problem.c — the error table.
 *
 * Each rp_err has exactly one status, one problem type and one title.
 * Handlers add a client-safe detail and field errors through
 * req->problem; 5xx responses always use the generic detail so no
 * database message, path or stack detail ever reaches a client.
 */
#include "http/problem.h"

#include <stdio.h>

#include "core/arena.h"
#include "core/buf.h"

static const struct problem_kind kinds[RP_ERR_MAX] = {
	[RP_OK] = {200, "ok", "OK"},
	[RP_EBADJSON] = {400, "malformed-json", "Malformed JSON body"},
	[RP_EBADREQ] = {400, "bad-request", "Bad request"},
	[RP_EUNAUTH] = {401, "unauthorized", "Authentication required"},
	[RP_EFORBIDDEN] = {403, "forbidden", "Forbidden"},
	[RP_ENOTFOUND] = {404, "not-found", "Not found"},
	[RP_EMETHOD] = {405, "method-not-allowed", "Method not allowed"},
	[RP_ECONFLICT] = {409, "conflict", "Conflict"},
	[RP_ETOOLARGE] = {413, "payload-too-large", "Payload too large"},
	[RP_EMEDIATYPE] = {415, "unsupported-media-type", "Unsupported media type"},
	[RP_EINVAL] = {422, "validation-failed", "Validation failed"},
	[RP_ERATELIMIT] = {429, "rate-limited", "Too many requests"},
	[RP_EINTERNAL] = {500, "internal-error", "Internal server error"},
	[RP_EUNAVAIL] = {503, "service-unavailable", "Service unavailable"},
	[RP_ENOMEM] = {500, "internal-error", "Internal server error"},
};

const struct problem_kind *problem_kind_of(enum rp_err e)
{
	if ((unsigned)e >= RP_ERR_MAX || e == RP_OK)
		return &kinds[RP_EINTERNAL];
	return &kinds[e];
}

int problem_status(enum rp_err e)
{
	return problem_kind_of(e)->status;
}

void problem_render(const struct request *req, struct response *res, enum rp_err e)
{
	const struct problem_kind *k = problem_kind_of(e);
	const struct problem *p = &req->problem;
	const char *detail = p->detail;
	if (k->status >= 500 && e != RP_EUNAVAIL)
		detail = NULL;
	if (detail == NULL)
		detail = e == RP_EUNAVAIL ? "a dependency is unavailable, retry later" : k->title;

	struct buf *b = &res->body;
	b->len = 0;
	b->failed = false;
	buf_printf(b, "{\"type\":\"%s%s\",\"title\":", PROBLEM_TYPE_BASE, k->slug);
	buf_json_string(b, k->title);
	buf_printf(b, ",\"status\":%d,\"detail\":", k->status);
	buf_json_string(b, detail);
	if (req->path != NULL) {
		buf_puts(b, ",\"instance\":");
		buf_json_string(b, req->path);
	}
	if (req->request_id != NULL) {
		buf_puts(b, ",\"requestId\":");
		buf_json_string(b, req->request_id);
	}
	buf_puts(b, ",\"errors\":[");
	for (size_t i = 0; i < p->nerrors; i++) {
		buf_puts(b, i ? ",{\"field\":" : "{\"field\":");
		buf_json_string(b, p->errors[i].field);
		buf_puts(b, ",\"message\":");
		buf_json_string(b, p->errors[i].message);
		buf_puts(b, "}");
	}
	buf_puts(b, "]}");
	res->status = k->status;
	res->content_type = "application/problem+json";
	res->nheaders = 0;
	if (e == RP_EMETHOD && p->allow != NULL)
		response_header(res, "Allow", p->allow);
	if (e == RP_EUNAUTH)
		response_header(res, "WWW-Authenticate", "Bearer");
	unsigned retry = p->retry_after;
	if (e == RP_EUNAVAIL && retry == 0)
		retry = 5; /* dependencies reconnect with back-off within seconds */
	if ((e == RP_ERATELIMIT || e == RP_EUNAVAIL) && retry > 0) {
		char *v = arena_printf(b->arena, "%u", retry);
		if (v != NULL)
			response_header(res, "Retry-After", v);
	}
	if (b->failed) {
		/* Out of arena: fall back to a static body. */
		static const char fallback[] =
			"{\"type\":\"" PROBLEM_TYPE_BASE "internal-error\",\"title\":\"Internal server error\","
			"\"status\":500,\"detail\":\"Internal server error\",\"errors\":[]}";
		b->data = (char *)fallback;
		b->len = sizeof(fallback) - 1;
		b->failed = false;
		res->status = 500;
	}
}
