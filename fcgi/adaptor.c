/*
 * adaptor.c — turns FastCGI params into a struct request and a struct
 * response into CGI-style output (Status: header, headers, body).
 *
 * The body is read only when its declared length is within the limit; an
 * oversized or undeclared-but-oversized body is flagged and left unread,
 * which libfcgi discards when the request is finished.
 */
#include "fcgi/adaptor.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"

static const char *param(FCGX_Request *fr, const char *name)
{
	return FCGX_GetParam(name, fr->envp);
}

/* Path from DOCUMENT_URI (nginx: decoded, normalised), else REQUEST_URI. */
static const char *request_path(FCGX_Request *fr, struct arena *a)
{
	const char *p = param(fr, "DOCUMENT_URI");
	if (p != NULL && p[0] == '/')
		return p;
	p = param(fr, "REQUEST_URI");
	if (p == NULL || p[0] != '/')
		return "/";
	const char *q = strchr(p, '?');
	return q ? arena_strndup(a, p, (size_t)(q - p)) : p;
}

void adaptor_read(FCGX_Request *fr, struct request *req)
{
	struct arena *a = req->arena;
	req->method_name = param(fr, "REQUEST_METHOD");
	if (req->method_name == NULL)
		req->method_name = "GET";
	req->method = http_method_parse(req->method_name);
	if (req->method == HTTP_METHOD_OTHER)
		req->method_name = "OTHER"; /* never log client-chosen bytes */
	const char *path = request_path(fr, a);
	req->path = path ? path : "/";
	const char *q = param(fr, "QUERY_STRING");
	req->query = q ? q : "";
	req->content_type = param(fr, "CONTENT_TYPE");
	const char *ra = param(fr, "REMOTE_ADDR");
	req->remote_addr = ra ? ra : "";
	req->request_id = param(fr, "REQUEST_ID");
	req->authorization = param(fr, "HTTP_AUTHORIZATION");
	req->if_none_match = param(fr, "HTTP_IF_NONE_MATCH");
	req->idempotency_key = param(fr, "HTTP_IDEMPOTENCY_KEY");
	req->last_event_id = param(fr, "HTTP_LAST_EVENT_ID");

	const char *cl = param(fr, "CONTENT_LENGTH");
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

void adaptor_write(FCGX_Request *fr, const struct request *req, const struct response *res)
{
	FCGX_FPrintF(fr->out, "Status: %d %s\r\nContent-Type: %s\r\n", res->status,
		     http_status_text(res->status), res->content_type);
	for (size_t i = 0; i < res->nheaders; i++)
		FCGX_FPrintF(fr->out, "%s: %s\r\n", res->headers[i].name, res->headers[i].value);
	bool body = req->method != HTTP_HEAD && res->status != 204 && res->status != 304;
	FCGX_FPrintF(fr->out, "Content-Length: %lu\r\n\r\n", body ? (unsigned long)res->body.len : 0UL);
	if (body && res->body.len > 0)
		FCGX_PutStr(res->body.data, (int)res->body.len, fr->out);
}
