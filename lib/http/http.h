/*
 * http.h — the plain request/response pair the whole of lib/ works with.
 *
 * fcgi/adaptor.c fills a struct request from FastCGI params and writes a
 * struct response back; unit tests build them in memory. Nothing here knows
 * about FastCGI. All strings point into the request arena (or are static)
 * and live exactly as long as the request.
 */
#ifndef RP_HTTP_HTTP_H
#define RP_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

struct arena;
struct json_object;
struct route;
struct app;

#define HTTP_MAX_BODY (64u * 1024u)
#define HTTP_MAX_QUERY 4096u
#define HTTP_MAX_PATH 2048u
#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 16
#define HTTP_MAX_FIELD_ERRORS 16

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_METHOD_OTHER,
	HTTP_METHOD_MAX
};

struct field_error {
	const char *field;
	const char *message;
};

/* What a handler reports besides its rp_err, rendered by problem.c. */
struct problem {
	const char *detail;          /* client-safe sentence; NULL = the title */
	struct field_error errors[HTTP_MAX_FIELD_ERRORS];
	size_t nerrors;
	unsigned retry_after;        /* seconds, for 429/503; 0 = none */
	const char *allow;           /* for 405 */
	const char *code;            /* short internal reason for the access log */
};

struct request {
	struct arena *arena;
	struct app *app;             /* worker-scoped context; NULL in unit tests */
	enum http_method method;
	const char *method_name;
	const char *path;            /* decoded path, no query */
	const char *query;           /* raw query string, "" when none */
	const char *content_type;    /* NULL when absent */
	long long content_length;    /* -1 when absent */
	const char *body;            /* NULL when none was read */
	size_t body_len;
	bool body_too_large;         /* adaptor refused to read an oversized body */
	const char *remote_addr;
	const char *request_id;      /* never NULL after pipeline start */
	const char *authorization;
	const char *if_none_match;
	const char *idempotency_key;
	const char *last_event_id;   /* EventSource reconnects */
	/* set by the router */
	const struct route *route;
	const char *params[HTTP_MAX_PARAMS];
	size_t nparams;
	/* set by the pipeline when a JSON body was present and valid */
	struct json_object *json;
	struct problem problem;
	long long started_us;
};

struct header {
	const char *name;
	const char *value;
};

struct response {
	int status;
	const char *content_type;
	struct buf body;
	struct header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
};

const char *http_method_name(enum http_method m);
enum http_method http_method_parse(const char *s);
const char *http_status_text(int status);

void request_init(struct request *req, struct arena *a);
void response_init(struct response *res, struct arena *a);
/* Adds a header; silently drops it past HTTP_MAX_HEADERS (a bug, logged). */
void response_header(struct response *res, const char *name, const char *value);
/*
 * Mark a public answer cacheable for one second: Cache-Control for clients,
 * and X-Accel-Expires "@<this second>" for the nginx microcache — nginx
 * counts cache lifetimes in whole seconds, so an absolute expiry at the end
 * of the current second keeps its staleness under one second (a relative
 * 1 s could reach almost 2 s). nginx strips the header from the answer.
 */
void response_public_1s(struct response *res);
/* Serialize o (json-c) as the response body with the given status; takes
 * ownership of o (json_object_put). Content-Type application/json. */
enum rp_err response_json(struct response *res, int status, struct json_object *o) RP_MUSTCHECK;
/* The handler wrote a JSON body into res->body itself (hot paths: no json-c tree). */
enum rp_err response_json_written(struct response *res, int status) RP_MUSTCHECK;
/* Record a field error for a 422 (stops at HTTP_MAX_FIELD_ERRORS). */
void request_field_error(struct request *req, const char *field, const char *message);
/* Return the value of query parameter name (percent-decoded, arena copy) or
 * NULL. Returns RP_EBADREQ through *err on malformed encoding. */
const char *request_query(struct request *req, const char *name, enum rp_err *err);
/* A query value as a decimal integer in [min, max]: digits only, no sign, no
 * spaces, no overflow. */
bool query_long(const char *s, long long min, long long max, long long *out);

#endif
