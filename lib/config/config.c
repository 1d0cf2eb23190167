/*
 * config.c — the environment, read once, checked against hard limits.
 *
 * Love Rank Pulse is configured the 12-factor way: environment variables,
 * optionally loaded from a KEY=VALUE file (`--env-file`, systemd
 * EnvironmentFile=). This module is the only place that reads them. The
 * master process calls config_load() before it forks; the workers inherit
 * the resulting struct and never look at the environment again.
 *
 * Invariants
 *
 *   - Every variable is described by one row of the `vars` table below: its
 *     name, a byte limit, a default and a parser. A value over its limit, with
 *     a control character, or that the parser does not fully understand is an
 *     error. Nothing is silently truncated or guessed. An empty value means
 *     "unset", so `FOO=` in an env file selects the default.
 *   - config_load() either fills *c completely and returns RP_OK, or leaves
 *     *c untouched and returns RP_EINVAL with one line that starts with the
 *     variable name, so `rankpulse check-config` can print it as is.
 *   - Error messages never quote JWT_SECRET, DATABASE_URL or REDIS_URL (not
 *     even a host: a mis-encoded password can end up parsed as one). Other
 *     values are quoted back when that helps the operator.
 *   - The secret is wiped from the stack copy before returning.
 *
 * Trade-offs
 *
 *   DATABASE_URL is inspected, not parsed by libpq: this module must build
 *   without it, and we only need two facts — where the connection goes and
 *   with which sslmode. The inspection follows libpq's own rules closely
 *   (URI and key=value forms, percent-decoding, several hosts, host= and
 *   hostaddr= overriding the authority, PGHOST/PGHOSTADDR/PGSSLMODE applying
 *   when the URL says nothing) and is conservative where it cannot know: a
 *   service file (service=, PGSERVICE) may point anywhere, so it counts as
 *   remote. A production connection that leaves the machine must use
 *   sslmode=require or stronger; unix sockets and loopback need not.
 *
 *   REDIS_URL is parsed for real, because hiredis 0.14 takes host, port and
 *   path separately. It has no TLS, so rediss:// is refused with a pointer to
 *   the stunnel recipe rather than quietly connecting in clear text.
 *
 *   JWT_SECRET is the one value that protects every session. In production
 *   it must be at least 32 bytes, use at least 10 distinct byte values and
 *   not contain an obvious placeholder word. In development and test an unset
 *   secret is left empty (jwt_secret_len == 0) and the caller generates a
 *   random one per run, with a warning.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FIELD_MAX(f) (sizeof(((struct rp_config *)0)->f) - 1)

static const char stunnel_hint[] =
    "rediss:// (TLS) is not supported by hiredis 0.14; run stunnel as a local "
    "TLS client and point REDIS_URL at it \xe2\x80\x94 see conf/stunnel/redis-client.conf";

/* ---- small helpers --------------------------------------------------- */

static enum rp_err errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum rp_err errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return RP_EINVAL;
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static int has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void copy_span(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void lower_span(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[n] = '\0';
}

/* Strict unsigned decimal: digits only (no sign, no blanks), then strtol
 * with full consumption and a range check. */
static int parse_uint_span(const char *s, size_t n, long min, long max, long *out)
{
	char buf[16];
	char *end;
	long v;

	if (n == 0 || n >= sizeof buf)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	copy_span(buf, s, n);
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (NUL terminated). Fails on a malformed
 * escape, on %00 and when the result does not fit. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = hi * 16 + lo;
			if (ch == 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* Byte spans of passwords inside a URL, for redaction. */
#define MAX_SECRET_SPANS 8
struct secret_spans {
	struct {
		size_t off, len;
	} s[MAX_SECRET_SPANS];
	int n;
	int overflow;
};

static void spans_add(struct secret_spans *sp, size_t off, size_t len)
{
	if (sp->n == MAX_SECRET_SPANS) {
		sp->overflow = 1;
		return;
	}
	sp->s[sp->n].off = off;
	sp->s[sp->n].len = len;
	sp->n++;
}

/* localhost, 127.0.0.0/8, ::1 or ::ffff:127.x.y.z; brackets allowed. */
static int host_is_loopback(const char *h, size_t n)
{
	static const unsigned char lo6[16] = {[15] = 1};
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	unsigned char a[16];
	char buf[256];

	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof buf)
		return 0;
	copy_span(buf, h, n);
	if (strcasecmp(buf, "localhost") == 0 || strcasecmp(buf, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, buf, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return memcmp(a, lo6, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
	return 0;
}

/* As libpq sees a host: empty means the default unix socket, a leading '/'
 * a socket directory, a leading '@' a Linux abstract socket. */
static int host_is_local(const char *h, size_t n)
{
	if (n == 0 || h[0] == '/' || h[0] == '@')
		return 1;
	return host_is_loopback(h, n);
}

/* A comma separated host list is local when every entry is. */
static int host_list_is_local(const char *list)
{
	for (;;) {
		size_t n = strcspn(list, ",");

		if (!host_is_local(list, n))
			return 0;
		if (list[n] == '\0')
			return 1;
		list += n + 1;
	}
}

static int valid_hostname(const char *h, size_t n, int allow_underscore)
{
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)h[i];

		if (!(isalnum(ch) || ch == '-' || ch == '.' || (allow_underscore && ch == '_')))
			return 0;
	}
	return 1;
}

static int valid_ipv6_span(const char *h, size_t n)
{
	char buf[64];
	unsigned char a[16];

	if (n == 0 || n >= sizeof buf)
		return 0;
	copy_span(buf, h, n);
	return inet_pton(AF_INET6, buf, a) == 1;
}

/* scheme://host[:port] of an http(s) URL; host without brackets. */
struct origin {
	int https;
	const char *host;
	size_t hostlen;
	int port;        /* 0: none given */
	const char *end; /* first byte after the origin */
};

static int parse_http_origin(const char *s, struct origin *o)
{
	const char *p;
	long port;

	memset(o, 0, sizeof *o);
	if (has_prefix_ci(s, "https://")) {
		o->https = 1;
		p = s + 8;
	} else if (has_prefix_ci(s, "http://")) {
		p = s + 7;
	} else {
		return 0;
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (!close || !valid_ipv6_span(p + 1, (size_t)(close - p - 1)))
			return 0;
		o->host = p + 1;
		o->hostlen = (size_t)(close - p - 1);
		p = close + 1;
	} else {
		const char *h = p;

		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
			p++;
		if (!valid_hostname(h, (size_t)(p - h), 0))
			return 0;
		o->host = h;
		o->hostlen = (size_t)(p - h);
	}
	if (*p == ':') {
		const char *ps = ++p;

		while (isdigit((unsigned char)*p))
			p++;
		if (!parse_uint_span(ps, (size_t)(p - ps), 1, 65535, &port))
			return 0;
		o->port = (int)port;
	}
	o->end = p;
	return 1;
}

/* ---- DATABASE_URL inspection ----------------------------------------- */

struct pg_info {
	int host_set, host_local;         /* authority hosts or host= */
	int hostaddr_given;               /* hostaddr= present, even empty */
	int hostaddr_set, hostaddr_local; /* non-empty hostaddr= */
	int service_set;
	int sslmode_set;
	char sslmode[16];
	struct secret_spans secrets;
};

static const char *const sslmodes[] = {"disable",   "allow",       "prefer", "require",
                                       "verify-ca", "verify-full", NULL};

static int sslmode_known(const char *m)
{
	for (int i = 0; sslmodes[i]; i++)
		if (strcmp(m, sslmodes[i]) == 0)
			return 1;
	return 0;
}

static int sslmode_strong(const char *m)
{
	return strcmp(m, "require") == 0 || strcmp(m, "verify-ca") == 0 ||
	       strcmp(m, "verify-full") == 0;
}

static int pg_keyword_ok(const char *k, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)k[i]) || isdigit((unsigned char)k[i]) || k[i] == '_'))
			return 0;
	return 1;
}

/* One keyword=value, value already decoded. */
static int pg_param(struct pg_info *pi, const char *key, const char *val, const char **why)
{
	if (strcmp(key, "host") == 0) {
		pi->host_set = 1;
		pi->host_local = host_list_is_local(val);
	} else if (strcmp(key, "hostaddr") == 0) {
		pi->hostaddr_given = 1;
		pi->hostaddr_set = val[0] != '\0';
		pi->hostaddr_local = pi->hostaddr_set && host_list_is_local(val);
	} else if (strcmp(key, "service") == 0) {
		pi->service_set = val[0] != '\0';
	} else if (strcmp(key, "sslmode") == 0) {
		if (strlen(val) >= sizeof pi->sslmode || !sslmode_known(val)) {
			*why = "unknown sslmode (want disable, allow, prefer, require, verify-ca "
			       "or verify-full)";
			return -1;
		}
		pi->sslmode_set = 1;
		strcpy(pi->sslmode, val);
	}
	return 0;
}

/* postgresql://[user[:password]@][host][:port][,...][/dbname][?k=v&...] */
static int pg_inspect_uri(const char *url, size_t prefix, struct pg_info *pi, const char **why)
{
	const char *p = url + prefix, *q;
	char buf[1024], key[80];
	int any_host = 0, all_local = 1, commas = 0;
	long port;

	/* libpq looks ahead for '@' up to the first '/'. */
	for (q = p; *q && *q != '@' && *q != '/'; q++)
		;
	if (*q == '@') {
		const char *colon = memchr(p, ':', (size_t)(q - p));

		if (pct_decode(p, (size_t)(q - p), buf, sizeof buf) != 0) {
			*why = "bad percent-encoding in the user name or password";
			return -1;
		}
		if (colon)
			spans_add(&pi->secrets, (size_t)(colon + 1 - url), (size_t)(q - colon - 1));
		p = q + 1;
	}
	for (;;) {
		const char *h, *he;

		if (*p == '[') {
			h = p + 1;
			he = strchr(h, ']');
			if (!he || !valid_ipv6_span(h, (size_t)(he - h))) {
				*why = "malformed [IPv6] host";
				return -1;
			}
			p = he + 1;
		} else {
			h = p;
			while (*p && !strchr(":/?,", *p)) {
				if (*p == '@') {
					*why = "unexpected '@' in the host part (percent-encode "
					       "'@' in a password as %40)";
					return -1;
				}
				p++;
			}
			he = p;
		}
		if (*p == ':') {
			const char *ps = ++p;

			while (*p && !strchr("/?,", *p))
				p++;
			if (p > ps && !parse_uint_span(ps, (size_t)(p - ps), 1, 65535, &port)) {
				*why = "invalid port (want 1..65535)";
				return -1;
			}
		}
		if (pct_decode(h, (size_t)(he - h), buf, sizeof buf) != 0) {
			*why = "bad percent-encoding in a host";
			return -1;
		}
		if (buf[0])
			any_host = 1;
		if (!host_is_local(buf, strlen(buf)))
			all_local = 0;
		if (*p != ',')
			break;
		commas = 1;
		p++;
	}
	if (any_host || commas) {
		pi->host_set = 1;
		pi->host_local = all_local;
	}
	if (*p == '/')
		p += strcspn(p, "?");
	if (*p == '?') {
		p++;
		while (*p) {
			size_t n = strcspn(p, "&");
			const char *eq = memchr(p, '=', n);

			if (n == 0) {
				p++;
				continue;
			}
			if (!eq || pct_decode(p, (size_t)(eq - p), key, sizeof key) != 0 ||
			    !pg_keyword_ok(key, strlen(key))) {
				*why = "malformed query parameter (want keyword=value)";
				return -1;
			}
			if (pct_decode(eq + 1, (size_t)(p + n - eq - 1), buf, sizeof buf) != 0) {
				*why = "bad percent-encoding in a query parameter";
				return -1;
			}
			if (strcmp(key, "password") == 0)
				spans_add(&pi->secrets, (size_t)(eq + 1 - url),
				          (size_t)(p + n - eq - 1));
			if (pg_param(pi, key, buf, why) != 0)
				return -1;
			p += n;
			if (*p == '&')
				p++;
		}
	}
	return 0;
}

/* keyword = value ... with libpq's quoting: 'single quotes', backslash escapes. */
static int pg_inspect_conninfo(const char *s, struct pg_info *pi, const char **why)
{
	const char *p = s;
	char key[80], val[1024];

	for (;;) {
		const char *k, *vs;
		size_t kn, vn = 0;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		k = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=')
			p++;
		kn = (size_t)(p - k);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			*why = "conninfo: missing '=' after a keyword";
			return -1;
		}
		if (!pg_keyword_ok(k, kn)) {
			*why = "conninfo: invalid keyword";
			return -1;
		}
		copy_span(key, k, kn);
		p++;
		while (isspace((unsigned char)*p))
			p++;
		vs = p;
		if (*p == '\'') {
			p++;
			for (;;) {
				if (*p == '\\' && p[1])
					p++;
				else if (*p == '\'')
					break;
				if (!*p) {
					*why = "conninfo: unterminated quoted value";
					return -1;
				}
				val[vn++] = *p++;
			}
			p++;
		} else {
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				val[vn++] = *p++;
			}
		}
		val[vn] = '\0';
		if (strcmp(key, "password") == 0)
			spans_add(&pi->secrets, (size_t)(vs - s), (size_t)(p - vs));
		if (pg_param(pi, key, val, why) != 0)
			return -1;
	}
	return 0;
}

static int pg_inspect(const char *url, struct pg_info *pi, const char **why)
{
	const char *eq, *scheme;

	memset(pi, 0, sizeof *pi);
	if (strncmp(url, "postgresql://", 13) == 0)
		return pg_inspect_uri(url, 13, pi, why);
	if (strncmp(url, "postgres://", 11) == 0)
		return pg_inspect_uri(url, 11, pi, why);
	eq = strchr(url, '=');
	scheme = strstr(url, "://");
	if (scheme && (!eq || scheme < eq)) {
		*why = "unsupported scheme (want postgresql:// or postgres://)";
		return -1;
	}
	if (!eq) {
		*why = "not a postgresql:// URI or a key=value conninfo string";
		return -1;
	}
	return pg_inspect_conninfo(url, pi, why);
}

/* ---- REDIS_URL ------------------------------------------------------- */

struct redis_target {
	int is_unix;
	char path[CONFIG_UNIX_PATH_MAX];
	char host[256];
	int port;
	char user[256];
	char pass[256];
	int db;
	struct secret_spans secrets;
};

/* [user]:password in url[a..at) */
static int redis_userinfo(const char *url, const char *a, const char *at, struct redis_target *t,
                          const char **why)
{
	const char *colon = memchr(a, ':', (size_t)(at - a));

	if (!colon) {
		*why = "credentials must be :password@ or user:password@";
		return -1;
	}
	if (pct_decode(a, (size_t)(colon - a), t->user, sizeof t->user) != 0 ||
	    pct_decode(colon + 1, (size_t)(at - colon - 1), t->pass, sizeof t->pass) != 0) {
		*why =
		    "bad percent-encoding in the user name or password, or longer than 255 bytes";
		return -1;
	}
	spans_add(&t->secrets, (size_t)(colon + 1 - url), (size_t)(at - colon - 1));
	return 0;
}

static int redis_parse_tcp(const char *url, struct redis_target *t, const char **why)
{
	const char *a = url + 8, *ae, *at = NULL, *p;
	long v;

	ae = a + strcspn(a, "/?#");
	for (p = a; p < ae; p++)
		if (*p == '@')
			at = p;
	if (at) {
		if (redis_userinfo(url, a, at, t, why) != 0)
			return -1;
		a = at + 1;
	}
	p = a;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(ae - p));

		if (!close || !valid_ipv6_span(p + 1, (size_t)(close - p - 1))) {
			*why = "malformed [IPv6] host";
			return -1;
		}
		copy_span(t->host, p + 1, (size_t)(close - p - 1));
		p = close + 1;
	} else {
		while (p < ae && *p != ':')
			p++;
		if (p == a) {
			*why = "missing host";
			return -1;
		}
		if (!valid_hostname(a, (size_t)(p - a), 1)) {
			*why = "invalid host name";
			return -1;
		}
		copy_span(t->host, a, (size_t)(p - a));
	}
	if (p < ae && *p == ':') {
		p++;
		if (!parse_uint_span(p, (size_t)(ae - p), 1, 65535, &v)) {
			*why = "invalid port (want 1..65535)";
			return -1;
		}
		t->port = (int)v;
		p = ae;
	}
	if (p != ae) {
		*why = "malformed host[:port]";
		return -1;
	}
	if (*p == '/') {
		p++;
		if (*p && !parse_uint_span(p, strlen(p), 0, CONFIG_REDIS_DB_MAX, &v)) {
			*why = "invalid database number in the path (want /0 to /65535)";
			return -1;
		}
		if (*p)
			t->db = (int)v;
		return 0;
	}
	if (*p) {
		*why = "query strings are not supported with redis:// (put the db number in the "
		       "path: /N)";
		return -1;
	}
	return 0;
}

/* unix:///path[?db=N&password=P], unix://[user]:password@/path, unix:/path */
static int redis_parse_unix(const char *url, struct redis_target *t, const char **why)
{
	const char *p = url + 5;
	size_t n;
	int have_db = 0, have_pass = t->pass[0] != '\0';
	long v;

	t->is_unix = 1;
	if (p[0] == '/' && p[1] == '/') {
		const char *slash, *at = NULL;

		p += 2;
		slash = strchr(p, '/');
		for (const char *q = p; slash && q < slash; q++)
			if (*q == '@')
				at = q;
		if (at) {
			if (redis_userinfo(url, p, at, t, why) != 0)
				return -1;
			have_pass = 1;
			p = at + 1;
		}
	}
	if (*p != '/') {
		*why = "unix socket path must be absolute (unix:///path/to/redis.sock)";
		return -1;
	}
	n = strcspn(p, "?");
	if (n >= sizeof t->path) {
		*why = "unix socket path too long (max 107 bytes)";
		return -1;
	}
	copy_span(t->path, p, n);
	p += n;
	if (*p != '?')
		return 0;
	p++;
	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);

		if (eq && eq - p == 2 && strncmp(p, "db", 2) == 0 && !have_db) {
			if (!parse_uint_span(eq + 1, (size_t)(p + len - eq - 1), 0,
			                     CONFIG_REDIS_DB_MAX, &v)) {
				*why = "invalid db= (want 0..65535)";
				return -1;
			}
			t->db = (int)v;
			have_db = 1;
		} else if (eq && eq - p == 8 && strncmp(p, "password", 8) == 0 && !have_pass) {
			if (pct_decode(eq + 1, (size_t)(p + len - eq - 1), t->pass,
			               sizeof t->pass) != 0) {
				*why =
				    "bad percent-encoding in password=, or longer than 255 bytes";
				return -1;
			}
			spans_add(&t->secrets, (size_t)(eq + 1 - url), (size_t)(p + len - eq - 1));
			have_pass = 1;
		} else {
			*why = "unknown or repeated query parameter (supported: db=N, password=P)";
			return -1;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

static int redis_parse(const char *url, struct redis_target *t, const char **why)
{
	memset(t, 0, sizeof *t);
	t->port = 6379;
	if (has_prefix_ci(url, "rediss://")) {
		*why = stunnel_hint;
		return -1;
	}
	if (has_prefix_ci(url, "redis://"))
		return redis_parse_tcp(url, t, why);
	if (has_prefix_ci(url, "unix:"))
		return redis_parse_unix(url, t, why);
	*why = "unsupported scheme (want redis://host:port/db or unix:///path/to/sock)";
	return -1;
}

/* ---- the variable table ---------------------------------------------- */

struct loader {
	struct rp_config *c;
	config_get_fn get;
	void *ctx;
	const char *label; /* variable name for messages */
	char *err;
	size_t errlen;
};

static enum rp_err fail(struct loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum rp_err fail(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->err && l->errlen) {
		n = snprintf(l->err, l->errlen, "%s: ", l->label);
		if (n > 0 && (size_t)n < l->errlen) {
			va_start(ap, fmt);
			vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return RP_EINVAL;
}

/* The getter's value, with "" folded into NULL. */
static const char *get_var(const struct loader *l, const char *name)
{
	const char *v = l->get(name, l->ctx);

	return v && *v ? v : NULL;
}

static int word_index(const char *v, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcasecmp(v, words[i]) == 0)
			return i;
	return -1;
}

static const char *const env_names[] = {"development", "production", "test", NULL};
static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const verify_names[] = {"none", "opponent", NULL};

static enum rp_err parse_app_env(struct loader *l, const char *v)
{
	int i = word_index(v, env_names);

	if (i < 0)
		return fail(l, "unknown environment \"%s\" (want development, production or test)",
		            v);
	l->c->env = (enum app_env)i;
	return RP_OK;
}

static int production(const struct loader *l)
{
	return l->c->env == APP_ENV_PRODUCTION;
}

static enum rp_err parse_database_url(struct loader *l, const char *v)
{
	struct pg_info pi;
	const char *why = NULL, *mode, *env, *mode_from = "";
	int local;

	if (pg_inspect(v, &pi, &why) != 0)
		return fail(l, "%s", why);
	strcpy(l->c->database_url, v);
	if (!production(l))
		return RP_OK;

	if (pi.sslmode_set) {
		mode = pi.sslmode;
	} else if ((env = get_var(l, "PGSSLMODE")) != NULL) {
		if (!sslmode_known(env)) {
			l->label = "PGSSLMODE";
			return fail(l, "unknown sslmode (want disable, allow, prefer, require, "
			               "verify-ca or verify-full)");
		}
		mode = env;
		mode_from = " (from PGSSLMODE)";
	} else {
		mode = NULL;
	}
	if (mode && sslmode_strong(mode))
		return RP_OK;

	if (pi.hostaddr_set)
		local = pi.hostaddr_local;
	else if (pi.service_set || get_var(l, "PGSERVICE"))
		local = 0; /* a service file may point anywhere */
	else if (!pi.hostaddr_given && (env = get_var(l, "PGHOSTADDR")) != NULL)
		local = host_list_is_local(env);
	else if (pi.host_set)
		local = pi.host_local;
	else if ((env = get_var(l, "PGHOST")) != NULL)
		local = host_list_is_local(env);
	else
		local = 1; /* libpq's default unix socket */
	if (local)
		return RP_OK;
	if (!mode)
		return fail(
		    l, "no sslmode (libpq then uses prefer); production requires sslmode=require, "
		       "verify-ca or verify-full unless the host is a unix socket or loopback");
	return fail(l,
	            "sslmode=%s%s is weaker than require; production requires sslmode=require, "
	            "verify-ca or verify-full unless the host is a unix socket or loopback",
	            mode, mode_from);
}

static enum rp_err parse_redis_url(struct loader *l, const char *v)
{
	struct redis_target t;
	const char *why = NULL;
	struct rp_config *c = l->c;

	if (redis_parse(v, &t, &why) != 0) {
		wipe(&t, sizeof t);
		return fail(l, "%s", why);
	}
	strcpy(c->redis_url, v);
	c->redis_is_unix = t.is_unix;
	strcpy(c->redis_path, t.path);
	strcpy(c->redis_host, t.host);
	c->redis_port = t.is_unix ? 0 : t.port;
	strcpy(c->redis_username, t.user);
	strcpy(c->redis_password, t.pass);
	c->redis_db = t.db;
	wipe(&t, sizeof t);
	return RP_OK;
}

static int contains_ci(const unsigned char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++) {
		size_t j = 0;

		while (j < m && tolower(s[i + j]) == needle[j])
			j++;
		if (j == m)
			return 1;
	}
	return 0;
}

static enum rp_err parse_jwt_secret(struct loader *l, const char *v)
{
	static const char *const placeholders[] = {"changeme", "change-me",   "change_me", "secret",
	                                           "example",  "placeholder", "password",  NULL};
	const unsigned char *s = (const unsigned char *)v;
	size_t n = v ? strlen(v) : 0;
	unsigned char seen[256] = {0};
	unsigned distinct = 0;

	if (!v) {
		if (production(l))
			return fail(
			    l, "required in production (generate one with: openssl rand -hex 32)");
		l->c->jwt_secret_len = 0; /* the caller makes a per-process one */
		return RP_OK;
	}
	if (production(l)) {
		if (n < CONFIG_JWT_SECRET_MIN_PROD)
			return fail(l,
			            "too short for production (need at least %d bytes; "
			            "generate one with: openssl rand -hex 32)",
			            CONFIG_JWT_SECRET_MIN_PROD);
		for (int i = 0; placeholders[i]; i++)
			if (contains_ci(s, n, placeholders[i]))
				return fail(l, "looks like a placeholder; generate a real secret "
				               "with: openssl rand -hex 32");
		for (size_t i = 0; i < n; i++)
			if (!seen[s[i]]++)
				distinct++;
		if (distinct < 10)
			return fail(l, "too little entropy for production (fewer than 10 distinct "
			               "byte values); generate one with: openssl rand -hex 32");
	}
	memcpy(l->c->jwt_secret, s, n);
	l->c->jwt_secret_len = n;
	return RP_OK;
}

static enum rp_err parse_port(struct loader *l, const char *v)
{
	long n;

	if (!parse_uint_span(v, strlen(v), 1, 65535, &n))
		return fail(l, "must be an integer from 1 to 65535, got \"%s\"", v);
	l->c->port = (int)n;
	return RP_OK;
}

static enum rp_err parse_workers(struct loader *l, const char *v)
{
	long n;

	if (!v) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		if (n > 128)
			n = 128;
		l->c->workers = (int)(2 * n);
		return RP_OK;
	}
	if (!parse_uint_span(v, strlen(v), 1, 256, &n))
		return fail(l, "must be an integer from 1 to 256, got \"%s\"", v);
	l->c->workers = (int)n;
	return RP_OK;
}

static enum rp_err parse_log_level(struct loader *l, const char *v)
{
	int i = word_index(v, level_names);

	if (i < 0)
		return fail(l, "unknown level \"%s\" (want error, warn, info or debug)", v);
	l->c->log_level = (enum log_level)i;
	return RP_OK;
}

static enum rp_err parse_fcgi_socket(struct loader *l, const char *v)
{
	size_t n = strlen(v);

	if (v[0] != '/')
		return fail(l, "must be an absolute path, got \"%s\"", v);
	if (n >= CONFIG_UNIX_PATH_MAX)
		return fail(l, "path too long for a unix socket (max %d bytes)",
		            CONFIG_UNIX_PATH_MAX - 1);
	if (v[n - 1] == '/')
		return fail(l, "must name a socket file, not a directory");
	strcpy(l->c->fcgi_socket, v);
	return RP_OK;
}

static enum rp_err parse_nchan_url(struct loader *l, const char *v)
{
	struct rp_config *c = l->c;
	struct origin o;

	if (strchr(v, '@'))
		return fail(l, "must not contain '@' or credentials");
	if (strncmp(v, "unix:", 5) == 0) {
		const char *p = v + 5;

		if (p[0] == '/' && p[1] == '/')
			p += 2;
		if (p[0] != '/')
			return fail(l,
			            "unix socket path must be absolute (unix:/path/to/nchan.sock)");
		if (strlen(p) >= CONFIG_UNIX_PATH_MAX)
			return fail(l, "unix socket path too long (max %d bytes)",
			            CONFIG_UNIX_PATH_MAX - 1);
		c->nchan_is_unix = 1;
		strcpy(c->nchan_path, p);
	} else if (parse_http_origin(v, &o) && !o.https) {
		if (*o.end)
			return fail(l, "must be http://HOST:PORT without a path, got \"%s\"", v);
		if (!host_is_loopback(o.host, o.hostlen))
			return fail(
			    l,
			    "the publisher endpoint must be loopback (127.0.0.1, ::1 or "
			    "localhost) or a unix socket; it must never be reachable from outside");
		c->nchan_is_unix = 0;
		copy_span(c->nchan_host, o.host, o.hostlen);
		c->nchan_port = o.port ? o.port : 80;
	} else {
		return fail(l, "want unix:/path/to/nchan.sock or http://127.0.0.1:PORT, got \"%s\"",
		            v);
	}
	strcpy(c->nchan_publish_url, v);
	return RP_OK;
}

static enum rp_err parse_frontend_url(struct loader *l, const char *v)
{
	struct origin o;

	if (!v)
		return RP_OK;
	if (strchr(v, '@'))
		return fail(l, "must not contain '@' or credentials (user:password@)");
	if (!parse_http_origin(v, &o))
		return fail(l, "must be an http:// or https:// URL, got \"%s\"", v);
	if (*o.end && *o.end != '/')
		return fail(l, "malformed URL after the host, got \"%s\"", v);
	for (const char *p = o.end; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return fail(l, "URL contains a space or a non-ASCII byte");
	strcpy(l->c->frontend_url, v);
	lower_span(l->c->frontend_origin, v, (size_t)(o.end - v));
	return RP_OK;
}

static enum rp_err parse_allowed_origins(struct loader *l, const char *v)
{
	struct rp_config *c = l->c;
	char item[sizeof c->allowed_origins];
	size_t used = 0, idx = 0;
	const char *p = v;

	if (!v)
		return RP_OK;
	for (;;) {
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;
		struct origin o;

		idx++;
		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		n = (size_t)(e - s);
		if (n == 0)
			return fail(l, "entry %zu is empty (stray comma?)", idx);
		copy_span(item, s, n);
		if (strchr(item, '@'))
			return fail(l, "entry %zu contains '@'; an origin is scheme://host[:port]",
			            idx);
		if (strcmp(item, "*") == 0) {
			if (production(l))
				return fail(
				    l, "'*' is refused in production; list the allowed origins");
			c->allow_any_origin = true;
		} else if (!parse_http_origin(item, &o)) {
			return fail(
			    l,
			    "entry %zu \"%.200s\" is not an http(s) origin (scheme://host[:port])",
			    idx, item);
		} else if (strcmp(o.end, "/") == 0) {
			return fail(l,
			            "entry %zu \"%.200s\" has a trailing slash; an origin is "
			            "scheme://host[:port]",
			            idx, item);
		} else if (*o.end) {
			return fail(
			    l, "entry %zu \"%.200s\" has a path; an origin is scheme://host[:port]",
			    idx, item);
		}
		/* The normalised list is never longer than the input. */
		if (used)
			c->allowed_origins[used++] = ',';
		lower_span(c->allowed_origins + used, item, n);
		used += n;
		if (p[strcspn(p, ",")] == '\0')
			break;
		p += strcspn(p, ",") + 1;
	}
	return RP_OK;
}

static enum rp_err parse_token_ttl(struct loader *l, const char *v)
{
	long n;

	if (!parse_uint_span(v, strlen(v), 60, 86400, &n))
		return fail(l, "must be an integer number of seconds from 60 to 86400, got \"%s\"",
		            v);
	l->c->access_token_ttl = (unsigned)n;
	return RP_OK;
}

static enum rp_err parse_rate(struct loader *l, const char *v, struct rate_limit *r)
{
	const char *slash = strchr(v, '/');
	long count, secs;

	if (!slash || !parse_uint_span(v, (size_t)(slash - v), 1, 100000, &count) ||
	    !parse_uint_span(slash + 1, strlen(slash + 1), 1, 86400, &secs))
		return fail(l,
		            "must be N/SECONDS with 1 <= N <= 100000 and 1 <= SECONDS <= 86400 "
		            "(e.g. 5/900), got \"%s\"",
		            v);
	r->count = (unsigned)count;
	r->seconds = (unsigned)secs;
	return RP_OK;
}

static enum rp_err parse_login_limit(struct loader *l, const char *v)
{
	return parse_rate(l, v, &l->c->login_failure_limit);
}

static enum rp_err parse_register_limit(struct loader *l, const char *v)
{
	return parse_rate(l, v, &l->c->register_rate_limit);
}

static enum rp_err parse_verification(struct loader *l, const char *v)
{
	int i = word_index(v, verify_names);

	if (i < 0)
		return fail(l, "unknown mode \"%s\" (want none or opponent)", v);
	l->c->result_verification = (enum result_verification)i;
	return RP_OK;
}

enum {
	VAR_REQUIRED = 1, /* unset is an error */
	VAR_BINARY = 2,   /* any byte allowed (the secret) */
};

struct var_spec {
	const char *name;
	const char *alias; /* read when name is unset */
	size_t maxlen;     /* bytes */
	const char *def;   /* when unset; NULL: the parser sees NULL */
	unsigned flags;
	enum rp_err (*parse)(struct loader *l, const char *v);
};

/* APP_ENV comes first: later rules depend on it. */
static const struct var_spec vars[] = {
    {"APP_ENV", "NODE_ENV", 32, "development", 0, parse_app_env},
    {"DATABASE_URL", NULL, FIELD_MAX(database_url), NULL, VAR_REQUIRED, parse_database_url},
    {"REDIS_URL", NULL, FIELD_MAX(redis_url), "redis://127.0.0.1:6379", 0, parse_redis_url},
    {"JWT_SECRET", NULL, CONFIG_JWT_SECRET_MAX, NULL, VAR_BINARY, parse_jwt_secret},
    {"PORT", NULL, 16, "8080", 0, parse_port},
    {"WORKERS", NULL, 16, NULL, 0, parse_workers},
    {"LOG_LEVEL", NULL, 16, "info", 0, parse_log_level},
    {"FCGI_SOCKET", NULL, FIELD_MAX(fcgi_socket), "/run/rankpulse/rankpulse.sock", 0,
     parse_fcgi_socket},
    {"NCHAN_PUBLISH_URL", NULL, FIELD_MAX(nchan_publish_url), "unix:/run/rankpulse/nchan.sock", 0,
     parse_nchan_url},
    {"FRONTEND_URL", NULL, FIELD_MAX(frontend_url), NULL, 0, parse_frontend_url},
    {"ALLOWED_ORIGINS", NULL, FIELD_MAX(allowed_origins), NULL, 0, parse_allowed_origins},
    {"ACCESS_TOKEN_TTL", NULL, 16, "900", 0, parse_token_ttl},
    {"LOGIN_FAILURE_LIMIT", NULL, 32, "5/900", 0, parse_login_limit},
    {"REGISTER_RATE_LIMIT", NULL, 32, "10/60", 0, parse_register_limit},
    {"RESULT_VERIFICATION", NULL, 16, "none", 0, parse_verification},
};

static enum rp_err load_var(struct loader *l, const struct var_spec *spec)
{
	const char *v = get_var(l, spec->name);
	size_t n;

	l->label = spec->name;
	if (!v && spec->alias && (v = get_var(l, spec->alias)) != NULL)
		l->label = "APP_ENV (from NODE_ENV)";
	if (!v)
		v = spec->def;
	if (!v) {
		if (spec->flags & VAR_REQUIRED)
			return fail(l, "required but not set");
		return spec->parse(l, NULL);
	}
	n = strlen(v);
	if (n > spec->maxlen)
		return fail(l, "too long (max %zu bytes)", spec->maxlen);
	if (!(spec->flags & VAR_BINARY))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				return fail(l, "contains a control character");
	return spec->parse(l, v);
}

const char *config_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

enum rp_err config_load(struct rp_config *c, config_get_fn get, void *ctx, char *err, size_t errlen)
{
	struct rp_config tmp;
	struct loader l = {&tmp, get, ctx, "config", err, errlen};
	enum rp_err rc = RP_OK;

	if (err && errlen)
		err[0] = '\0';
	if (!c || !get)
		return fail(&l, "config_load: no config or getter");
	memset(&tmp, 0, sizeof tmp);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0] && rc == RP_OK; i++)
		rc = load_var(&l, &vars[i]);
	if (rc == RP_OK)
		memcpy(c, &tmp, sizeof tmp);
	wipe(&tmp, sizeof tmp);
	return rc;
}

/* ---- env files ------------------------------------------------------- */

struct env_entry {
	char *key;
	char *val;
	int apply;
};

static int valid_env_key(const char *k, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)k[i]) || k[i] == '_'))
			return 0;
	return 1;
}

static char *skip_blanks(char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* Split one line in place. NULL on success (*key NULL for blank lines and
 * comments), otherwise the reason. */
static const char *env_parse_line(char *line, char **key, char **val)
{
	char *p = skip_blanks(line), *eq, *ke, *v, *e;

	*key = *val = NULL;
	if (*p == '\0' || *p == '#')
		return NULL;
	if (strncmp(p, "export", 6) == 0 && is_blank(p[6]))
		p = skip_blanks(p + 6);
	eq = strchr(p, '=');
	if (!eq)
		return "missing '=' (want KEY=VALUE)";
	for (ke = eq; ke > p && is_blank(ke[-1]); ke--)
		;
	if (!valid_env_key(p, (size_t)(ke - p)))
		return "invalid key name (want [A-Za-z_][A-Za-z0-9_]*)";
	*ke = '\0';
	v = skip_blanks(eq + 1);
	if (*v == '"' || *v == '\'') {
		char *close = strchr(v + 1, *v), *rest;

		if (!close)
			return "unterminated quote";
		*close = '\0';
		rest = skip_blanks(close + 1);
		if (*rest && *rest != '#')
			return "unexpected text after the closing quote";
		*key = p;
		*val = v + 1;
		return NULL;
	}
	/* Unquoted: a '#' after a blank starts a comment; trailing blanks go. */
	for (e = v; *e && !(*e == '#' && is_blank(e[-1])); e++)
		;
	while (e > v && is_blank(e[-1]))
		e--;
	*e = '\0';
	*key = p;
	*val = v;
	return NULL;
}

static void env_entries_free(struct env_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ents[i].key);
		if (ents[i].val) {
			wipe(ents[i].val, strlen(ents[i].val));
			free(ents[i].val);
		}
	}
	free(ents);
}

static enum rp_err load_env_file(const char *path, bool file_wins, char *err, size_t errlen);

enum rp_err config_load_env_file(const char *path, char *err, size_t errlen)
{
	return load_env_file(path, false, err, errlen);
}

enum rp_err config_reload_env_file(const char *path, char *err, size_t errlen)
{
	return load_env_file(path, true, err, errlen);
}

static enum rp_err load_env_file(const char *path, bool file_wins, char *err, size_t errlen)
{
	char line[CONFIG_ENV_LINE_MAX + 2];
	struct env_entry *ents = NULL;
	size_t n = 0, cap = 0;
	unsigned long lineno = 0;
	enum rp_err rc = RP_OK;
	FILE *f;

	if (err && errlen)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	for (;;) {
		size_t len = 0;
		int ch, nul = 0, toolong = 0;
		char *key, *val;
		const char *why;

		while ((ch = getc(f)) != EOF && ch != '\n') {
			if (ch == '\0')
				nul = 1;
			if (len < CONFIG_ENV_LINE_MAX + 1)
				line[len++] = (char)ch;
			else
				toolong = 1;
		}
		if (ch == EOF && ferror(f)) {
			rc = errf(err, errlen, "%s: read error: %s", path, strerror(errno));
			break;
		}
		if (ch == EOF && len == 0)
			break;
		lineno++;
		if (len && line[len - 1] == '\r')
			len--;
		if (toolong || len > CONFIG_ENV_LINE_MAX) {
			rc = errf(err, errlen, "%s:%lu: line too long (max %d bytes)", path, lineno,
			          CONFIG_ENV_LINE_MAX);
			break;
		}
		line[len] = '\0';
		if (nul) {
			rc = errf(err, errlen, "%s:%lu: NUL byte in line", path, lineno);
			break;
		}
		why = env_parse_line(line, &key, &val);
		if (why) {
			rc = errf(err, errlen, "%s:%lu: %s", path, lineno, why);
			break;
		}
		if (key) {
			if (n == cap) {
				size_t ncap = cap ? 2 * cap : 16;
				struct env_entry *ne = realloc(ents, ncap * sizeof *ne);

				if (!ne) {
					rc = RP_ENOMEM;
					errf(err, errlen, "%s: out of memory", path);
					break;
				}
				ents = ne;
				cap = ncap;
			}
			ents[n].key = strdup(key);
			ents[n].val = strdup(val);
			ents[n].apply = 0;
			n++;
			if (!ents[n - 1].key || !ents[n - 1].val) {
				rc = RP_ENOMEM;
				errf(err, errlen, "%s: out of memory", path);
				break;
			}
		}
		if (ch == EOF)
			break;
	}
	wipe(line, sizeof line);
	fclose(f);

	if (rc == RP_OK) {
		/* Decide for every entry before setting any, so a key repeated in
		 * the file is not mistaken for one from the real environment. */
		for (size_t i = 0; i < n; i++)
			ents[i].apply = file_wins || getenv(ents[i].key) == NULL;
		for (size_t i = 0; i < n && rc == RP_OK; i++) {
			if (ents[i].apply && setenv(ents[i].key, ents[i].val, 1) != 0) {
				rc = errno == ENOMEM ? RP_ENOMEM : RP_EINVAL;
				errf(err, errlen, "%s: setenv %s: %s", path, ents[i].key,
				     strerror(errno));
			}
		}
	}
	env_entries_free(ents, n);
	return rc;
}

/* ---- describe -------------------------------------------------------- */

static void print_redacted(FILE *out, const char *s, const struct secret_spans *sp)
{
	size_t at = 0;

	if (sp->overflow) {
		fputs("(redacted)", out);
		return;
	}
	for (int i = 0; i < sp->n; i++) {
		if (sp->s[i].off < at) { /* never happens: spans are in order */
			fputs("(redacted)", out);
			return;
		}
		fwrite(s + at, 1, sp->s[i].off - at, out);
		fputs("***", out);
		at = sp->s[i].off + sp->s[i].len;
	}
	fputs(s + at, out);
}

void config_describe(const struct rp_config *c, FILE *out)
{
	struct pg_info pi;
	struct redis_target t;
	const char *why;

	fprintf(out, "APP_ENV=%s\n", app_env_name(c->env));

	fputs("DATABASE_URL=", out);
	if (pg_inspect(c->database_url, &pi, &why) == 0)
		print_redacted(out, c->database_url, &pi.secrets);
	else
		fputs("(invalid, redacted)", out);
	fputc('\n', out);

	fputs("REDIS_URL=", out);
	if (redis_parse(c->redis_url, &t, &why) == 0)
		print_redacted(out, c->redis_url, &t.secrets);
	else
		fputs("(invalid, redacted)", out);
	wipe(&t, sizeof t);
	if (c->redis_is_unix)
		fprintf(out, "  # unix socket %s, db %d", c->redis_path, c->redis_db);
	else
		fprintf(out, "  # tcp %s port %d, db %d", c->redis_host, c->redis_port,
		        c->redis_db);
	fprintf(out, ", %s\n", c->redis_password[0] ? "password set" : "no password");

	if (c->jwt_secret_len)
		fprintf(out, "JWT_SECRET=(set, %zu bytes)\n", c->jwt_secret_len);
	else
		fputs("JWT_SECRET=(unset; a random per-process secret will be generated)\n", out);
	fprintf(out, "PORT=%d\n", c->port);
	fprintf(out, "WORKERS=%d\n", c->workers);
	fprintf(out, "LOG_LEVEL=%s\n", log_level_name(c->log_level));
	fprintf(out, "FCGI_SOCKET=%s\n", c->fcgi_socket);
	fprintf(out, "NCHAN_PUBLISH_URL=%s\n", c->nchan_publish_url);
	fprintf(out, "FRONTEND_URL=%s\n", c->frontend_url[0] ? c->frontend_url : "(unset)");
	fprintf(out, "ALLOWED_ORIGINS=%s\n",
	        c->allowed_origins[0] ? c->allowed_origins : "(unset)");
	fprintf(out, "ACCESS_TOKEN_TTL=%u\n", c->access_token_ttl);
	fprintf(out, "LOGIN_FAILURE_LIMIT=%u/%u\n", c->login_failure_limit.count,
	        c->login_failure_limit.seconds);
	fprintf(out, "REGISTER_RATE_LIMIT=%u/%u\n", c->register_rate_limit.count,
	        c->register_rate_limit.seconds);
	fprintf(out, "RESULT_VERIFICATION=%s\n",
	        c->result_verification == VERIFY_OPPONENT ? "opponent" : "none");
}

bool config_origin_allowed(const struct rp_config *c, const char *origin, size_t len)
{
	const char *p = c->allowed_origins;

	if (!origin || len == 0)
		return false;
	if (c->allow_any_origin)
		return true;
	if (c->frontend_origin[0] && strlen(c->frontend_origin) == len &&
	    strncasecmp(c->frontend_origin, origin, len) == 0)
		return true;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == len && strncasecmp(p, origin, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

const char *app_env_name(enum app_env e)
{
	return (unsigned)e < APP_ENV_MAX ? env_names[e] : "unknown";
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < LOG_LEVEL_MAX ? level_names[l] : "unknown";
}
