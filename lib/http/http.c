/*
 * http.c — helpers around struct request / struct response: method and
 * status names, headers, JSON bodies, field errors and query parameters.
 */
#include "http/http.h"

#include <json-c/json.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"

static const char *const method_names[HTTP_METHOD_MAX] = {
	[HTTP_GET] = "GET",       [HTTP_HEAD] = "HEAD",       [HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT",       [HTTP_PATCH] = "PATCH",     [HTTP_DELETE] = "DELETE",
	[HTTP_OPTIONS] = "OPTIONS", [HTTP_METHOD_OTHER] = "OTHER",
};

const char *http_method_name(enum http_method m)
{
	return (unsigned)m < HTTP_METHOD_MAX ? method_names[m] : "OTHER";
}

enum http_method http_method_parse(const char *s)
{
	for (int m = 0; m < HTTP_METHOD_OTHER; m++)
		if (s != NULL && strcmp(s, method_names[m]) == 0)
			return (enum http_method)m;
	return HTTP_METHOD_OTHER;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void request_init(struct request *req, struct arena *a)
{
	memset(req, 0, sizeof(*req));
	req->arena = a;
	req->method = HTTP_METHOD_OTHER;
	req->method_name = "OTHER";
	req->path = "/";
	req->query = "";
	req->content_length = -1;
	req->remote_addr = "";
}

void response_init(struct response *res, struct arena *a)
{
	memset(res, 0, sizeof(*res));
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	buf_init(&res->body, a);
}

void response_header(struct response *res, const char *name, const char *value)
{
	if (res->nheaders == HTTP_MAX_HEADERS) {
		log_error("response header table full, dropped %s", name);
		return;
	}
	res->headers[res->nheaders].name = name;
	res->headers[res->nheaders].value = value;
	res->nheaders++;
}

void response_public_1s(struct response *res)
{
	response_header(res, "Cache-Control", "public, max-age=1");
	char *v = arena_alloc(res->body.arena, FMT_LL_MAX + 1);
	if (v == NULL)
		return;
	v[0] = '@';
	fmt_ll(v + 1, (long long)time(NULL));
	response_header(res, "X-Accel-Expires", v);
}

enum rp_err response_json(struct response *res, int status, struct json_object *o)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	res->body.len = 0;
	if (s != NULL)
		buf_append(&res->body, s, len);
	json_object_put(o);
	if (s == NULL)
		return RP_ENOMEM;
	return response_json_written(res, status);
}

enum rp_err response_json_written(struct response *res, int status)
{
	if (res->body.failed)
		return RP_ENOMEM;
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	return RP_OK;
}

void request_field_error(struct request *req, const char *field, const char *message)
{
	struct problem *p = &req->problem;
	if (p->nerrors == HTTP_MAX_FIELD_ERRORS)
		return;
	p->errors[p->nerrors].field = field;
	p->errors[p->nerrors].message = message;
	p->nerrors++;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into the arena; '+' means space. NULL on bad input. */
static char *query_decode(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			int c = hi * 16 + lo;
			if (c == 0)
				return NULL;
			out[o++] = (char)c;
			i += 2;
		} else if (s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

const char *request_query(struct request *req, const char *name, enum rp_err *err)
{
	*err = RP_OK;
	const char *q = req->query;
	size_t nlen = strlen(name);
	while (q != NULL && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t klen = eq ? (size_t)(eq - q) : len;
		if (klen == nlen && memcmp(q, name, nlen) == 0) {
			const char *v = eq ? eq + 1 : q + len;
			size_t vlen = (size_t)(q + len - v);
			char *d = query_decode(req->arena, v, vlen);
			if (d == NULL)
				*err = RP_EBADREQ;
			return d;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

bool query_long(const char *s, long long min, long long max, long long *out)
{
	if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) > 18)
		return false;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}
