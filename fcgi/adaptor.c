/*
 * adaptor.c — turns FastCGI params into a struct request and a struct
 * response into CGI-style output (Status: header, headers, body).
 *
 * The body is read only when its declared length is within the limit; an
 * oversized or undeclared-but-oversized body is flagged and left unread,
 * which libfcgi discards when the request is finished.
 */
#include "fcgi/adaptor.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"

/* The params we read, gathered in one pass over the environment. */
struct params {
	const char *document_uri, *request_uri, *method, *query, *content_type, *content_length;
	const char *remote_addr, *request_id, *authorization, *if_none_match, *idempotency_key;
	const char *last_event_id;
};

static void gather(FCGX_Request *fr, struct params *p)
{
	static const struct {
		const char *name;
		size_t len;
		size_t offset;
	} wanted[] = {
#define W(n, f) {n "=", sizeof(n), offsetof(struct params, f)}
		W("DOCUMENT_URI", document_uri),
		W("REQUEST_URI", request_uri),
		W("REQUEST_METHOD", method),
		W("QUERY_STRING", query),
		W("CONTENT_TYPE", content_type),
		W("CONTENT_LENGTH", content_length),
		W("REMOTE_ADDR", remote_addr),
		W("REQUEST_ID", request_id),
		W("HTTP_AUTHORIZATION", authorization),
		W("HTTP_IF_NONE_MATCH", if_none_match),
		W("HTTP_IDEMPOTENCY_KEY", idempotency_key),
		W("HTTP_LAST_EVENT_ID", last_event_id),
#undef W
	};
	memset(p, 0, sizeof(*p));
	for (char **e = fr->envp; e != NULL && *e != NULL; e++) {
		const char *kv = *e;
		for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
			if (kv[0] == wanted[i].name[0] && strncmp(kv, wanted[i].name, wanted[i].len) == 0) {
				*(const char **)((char *)p + wanted[i].offset) = kv + wanted[i].len;
				break;
			}
		}
	}
}

/* Path from DOCUMENT_URI (nginx: decoded, normalised), else REQUEST_URI. */
static const char *request_path(const struct params *p, struct arena *a)
{
	if (p->document_uri != NULL && p->document_uri[0] == '/')
		return p->document_uri;
	const char *u = p->request_uri;
	if (u == NULL || u[0] != '/')
		return "/";
	const char *q = strchr(u, '?');
	return q ? arena_strndup(a, u, (size_t)(q - u)) : u;
}

void adaptor_read(FCGX_Request *fr, struct request *req)
{
	struct arena *a = req->arena;
	struct params p;
	gather(fr, &p);
	req->method_name = p.method ? p.method : "GET";
	req->method = http_method_parse(req->method_name);
	if (req->method == HTTP_METHOD_OTHER)
		req->method_name = "OTHER"; /* never log client-chosen bytes */
	const char *path = request_path(&p, a);
	req->path = path ? path : "/";
	req->query = p.query ? p.query : "";
	req->content_type = p.content_type;
	req->remote_addr = p.remote_addr ? p.remote_addr : "";
	req->request_id = p.request_id;
	req->authorization = p.authorization;
	req->if_none_match = p.if_none_match;
	req->idempotency_key = p.idempotency_key;
	req->last_event_id = p.last_event_id;

	const char *cl = p.content_length;
	if (cl != NULL && cl[0] != '\0') {
		char *end;
		long long v = strtoll(cl, &end, 10);
		req->content_length = (*end == '\0' && v >= 0) ? v : (long long)HTTP_MAX_BODY + 1;
	}
	if (req->content_length <= 0)
		return;
	if (req->content_length > (long long)HTTP_MAX_BODY) {
		req->body_too_large = true;
		return;
	}
	size_t want = (size_t)req->content_length;
	char *body = arena_alloc(a, want + 1);
	if (body == NULL) {
		req->body_too_large = true;
		return;
	}
	size_t got = 0;
	while (got < want) {
		int n = FCGX_GetStr(body + got, (int)(want - got), fr->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	body[got] = '\0';
	req->body = body;
	req->body_len = got;
}

/* "name: value\r\n" */
static void put_header(struct buf *h, const char *name, const char *value)
{
	buf_puts(h, name);
	buf_append(h, ": ", 2);
	buf_puts(h, value ? value : "");
	buf_append(h, "\r\n", 2);
}

void adaptor_write(FCGX_Request *fr, const struct request *req, const struct response *res)
{
	/* headers are assembled in the arena and written with one call (no
	 * printf: this runs for every response) */
	struct buf h;
	char num[FMT_LL_MAX];
	buf_init(&h, req->arena);
	bool no_body = res->status == 204 || res->status == 304;
	buf_puts(&h, "Status: ");
	buf_json_int(&h, res->status); /* a plain decimal, no printf */
	buf_append(&h, " ", 1);
	buf_puts(&h, http_status_text(res->status));
	buf_append(&h, "\r\n", 2);
	if (!no_body)
		put_header(&h, "Content-Type", res->content_type);
	for (size_t i = 0; i < res->nheaders; i++)
		put_header(&h, res->headers[i].name, res->headers[i].value);
	bool body = req->method != HTTP_HEAD && !no_body;
	/* HEAD announces the length GET would send */
	fmt_ll(num, no_body ? 0 : (long long)res->body.len);
	put_header(&h, "Content-Length", num);
	buf_append(&h, "\r\n", 2);
	if (h.failed) {
		FCGX_FPrintF(fr->out, "Status: 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	FCGX_PutStr(h.data, (int)h.len, fr->out);
	if (body && res->body.len > 0)
		FCGX_PutStr(res->body.data, (int)res->body.len, fr->out);
}
