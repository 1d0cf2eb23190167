/*
 * router.c — linear route matching.
 *
 * The table is small (tens of routes) and matching is a segment-by-segment
 * compare without allocation, so a linear scan costs well under a
 * microsecond; a trie would buy nothing measurable behind the FastCGI hop.
 * The optional "/api" prefix is stripped once; a single trailing slash is
 * ignored. Parameters are bounded (ROUTE_MAX_PARAM_LEN) and copied into
 * the request arena.
 */
#include "http/router.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"

struct segs {
	const char *p[ROUTE_MAX_SEGMENTS];
	size_t n[ROUTE_MAX_SEGMENTS];
	size_t count;
};

/* Split "/a/b/c" into segments; false if too many or an empty segment. */
static bool split_path(const char *path, size_t len, struct segs *s)
{
	s->count = 0;
	size_t i = 0;
	if (len == 0 || path[0] != '/')
		return false;
	if (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 1)
		return true; /* "/" */
	i = 1;
	while (i <= len) {
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == start || s->count == ROUTE_MAX_SEGMENTS)
			return false;
		s->p[s->count] = path + start;
		s->n[s->count] = i - start;
		s->count++;
		i++;
	}
	return true;
}

static bool pattern_matches(const char *pattern, const struct segs *path, const char **pv,
			    size_t *plen, size_t *np)
{
	struct segs pat;
	if (!split_path(pattern, strlen(pattern), &pat) || pat.count != path->count)
		return false;
	*np = 0;
	for (size_t i = 0; i < pat.count; i++) {
		if (pat.p[i][0] == '{') {
			if (path->n[i] > ROUTE_MAX_PARAM_LEN || *np == HTTP_MAX_PARAMS)
				return false;
			pv[*np] = path->p[i];
			plen[*np] = path->n[i];
			(*np)++;
		} else if (pat.n[i] != path->n[i] || memcmp(pat.p[i], path->p[i], pat.n[i]) != 0) {
			return false;
		}
	}
	return true;
}

enum rp_err router_match(const struct route_table *t, struct request *req)
{
	const char *path = req->path;
	size_t len = strlen(path);
	if (len > HTTP_MAX_PATH)
		return RP_ENOTFOUND;
	if (len >= 4 && memcmp(path, "/api", 4) == 0 && (len == 4 || path[4] == '/')) {
		path += 4;
		len -= 4;
		if (len == 0) {
			path = "/";
			len = 1;
		}
	}
	struct segs segs;
	if (!split_path(path, len, &segs))
		return RP_ENOTFOUND;

	enum http_method want = req->method == HTTP_HEAD ? HTTP_GET : req->method;
	bool allowed[HTTP_METHOD_MAX] = {false};
	bool any = false;
	for (size_t i = 0; i < t->nroutes; i++) {
		const struct route *r = &t->routes[i];
		const char *pv[HTTP_MAX_PARAMS];
		size_t plen[HTTP_MAX_PARAMS], np;
		if (!pattern_matches(r->pattern, &segs, pv, plen, &np))
			continue;
		if (r->method == want) {
			req->route = r;
			req->nparams = np;
			for (size_t k = 0; k < np; k++) {
				/* ids (UUIDs, season ids, country codes) are case-insensitive:
				 * handlers see them lower-cased */
				char *v = arena_strndup(req->arena, pv[k], plen[k]);
				if (v == NULL)
					return RP_ENOMEM;
				for (char *c = v; *c; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c + 32);
				req->params[k] = v;
			}
			return RP_OK;
		}
		allowed[r->method] = true;
		any = true;
	}
	if (!any)
		return RP_ENOTFOUND;

	struct buf allow;
	buf_init(&allow, req->arena);
	for (int m = 0; m < HTTP_METHOD_MAX; m++) {
		if (!allowed[m])
			continue;
		if (allow.len)
			buf_puts(&allow, ", ");
		buf_puts(&allow, http_method_name((enum http_method)m));
		if (m == HTTP_GET)
			buf_puts(&allow, ", HEAD");
	}
	req->problem.allow = allow.failed ? NULL : allow.data;
	return RP_EMETHOD;
}

int router_index(const struct route_table *t, const struct route *r)
{
	if (r == NULL || r < t->routes || r >= t->routes + t->nroutes)
		return -1;
	return (int)(r - t->routes);
}
