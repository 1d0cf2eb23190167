/*
 * nchan.c — minimal HTTP/1.0 client for the nchan publisher (see nchan.h).
 * Non-blocking connect and poll-bounded I/O: a wedged nginx can cost a
 * request at most the deadline, never a hang.
 */
#define _DEFAULT_SOURCE
#include "realtime/nchan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"

enum rp_err nchan_target_parse(const char *url, struct nchan_target *t)
{
	memset(t, 0, sizeof(*t));
	if (strncmp(url, "unix:", 5) == 0) {
		const char *p = url + 5;
		if (strncmp(p, "//", 2) == 0)
			p += 2;
		if (p[0] != '/' || strlen(p) >= sizeof(t->path))
			return RP_EINVAL;
		t->is_unix = 1;
		snprintf(t->path, sizeof(t->path), "%s", p);
		return RP_OK;
	}
	if (strncmp(url, "http://", 7) == 0) {
		const char *h = url + 7;
		const char *colon = strrchr(h, ':');
		if (colon == NULL || (size_t)(colon - h) >= sizeof(t->host) || colon == h)
			return RP_EINVAL;
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (port < 1 || port > 65535 || (*end != '\0' && *end != '/'))
			return RP_EINVAL;
		memcpy(t->host, h, (size_t)(colon - h));
		t->host[colon - h] = '\0';
		t->port = (int)port;
		return RP_OK;
	}
	return RP_EINVAL;
}

static int wait_fd(int fd, short ev, long long deadline_us)
{
	for (;;) {
		long long left = deadline_us - clock_us();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = ev};
		int r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int open_conn(const struct nchan_target *t, long long deadline_us)
{
	int fd;
	int rc;
	if (t->is_unix) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
		if (inet_pton(AF_INET, strcmp(t->host, "localhost") == 0 ? "127.0.0.1" : t->host,
			      &sa.sin_addr) != 1)
			return -1;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (rc < 0 && errno != EINPROGRESS && errno != EAGAIN) {
		close(fd);
		return -1;
	}
	if (rc < 0) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (wait_fd(fd, POLLOUT, deadline_us) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n, long long deadline_us)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline_us) <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

enum rp_err nchan_http(const struct nchan_target *t, const char *method, const char *path,
		       const char *body, size_t len, int timeout_ms, int *status)
{
	return nchan_exchange(t, method, path, body, len, timeout_ms, status, NULL, 0);
}

enum rp_err nchan_exchange(const struct nchan_target *t, const char *method, const char *path,
			   const char *body, size_t len, int timeout_ms, int *status, char *out,
			   size_t outcap)
{
	long long deadline = clock_us() + (long long)timeout_ms * 1000;
	int fd = open_conn(t, deadline);
	if (fd < 0)
		return RP_EUNAVAIL;
	char head[512];
	int hn = snprintf(head, sizeof(head),
			  "%s %s HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			  "Accept: text/json\r\nContent-Length: %lu\r\n\r\n",
			  method, path, (unsigned long)(body ? len : 0));
	if (hn < 0 || (size_t)hn >= sizeof(head) || send_all(fd, head, (size_t)hn, deadline) < 0 ||
	    (body != NULL && send_all(fd, body, len, deadline) < 0)) {
		close(fd);
		return RP_EUNAVAIL;
	}
	/* Read until EOF; only the status line matters. */
	char resp[4096];
	size_t got = 0;
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			close(fd);
			return RP_EUNAVAIL;
		}
		char tmp[1024];
		ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		size_t take = (size_t)r;
		if (got + take > sizeof(resp) - 1)
			take = sizeof(resp) - 1 - got;
		memcpy(resp + got, tmp, take);
		got += take;
	}
	close(fd);
	resp[got] = '\0';
	int code = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
		return RP_EUNAVAIL;
	*status = code;
	if (out != NULL && outcap > 0) {
		const char *b = strstr(resp, "\r\n\r\n");
		snprintf(out, outcap, "%s", b ? b + 4 : "");
	}
	return RP_OK;
}

enum rp_err nchan_check(const struct nchan_target *t)
{
	int status = 0;
	enum rp_err e = nchan_http(t, "GET", "/nchan_status", NULL, 0, NCHAN_TIMEOUT_MS, &status);
	return e == RP_OK && status == 200 ? RP_OK : RP_EUNAVAIL;
}

/* ------------------------------------------------ kept-alive publisher connection */

void nchan_conn_init(struct nchan_conn *c, const struct nchan_target *t)
{
	memset(c, 0, sizeof(*c));
	c->target = *t;
	c->fd = -1;
}

void nchan_conn_close(struct nchan_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->sock_dev = c->sock_ino = 0;
	c->in_len = 0;
	c->in[0] = '\0';
}

void nchan_conn_free(struct nchan_conn *c)
{
	nchan_conn_close(c);
	free(c->out);
	c->out = NULL;
	c->out_cap = 0;
}

/* Whether path still names the socket file c connected to (0 dev/ino: record it). */
static bool same_socket(struct nchan_conn *c)
{
	struct stat st;
	if (!c->target.is_unix)
		return true;
	if (stat(c->target.path, &st) != 0)
		return false;
	if (c->sock_ino == 0 && c->sock_dev == 0) {
		c->sock_dev = (unsigned long long)st.st_dev;
		c->sock_ino = (unsigned long long)st.st_ino;
	}
	return c->sock_dev == (unsigned long long)st.st_dev &&
	       c->sock_ino == (unsigned long long)st.st_ino;
}

/*
 * Drop a kept-alive connection that nginx closed while idle (it reads as
 * EOF), or whose socket file was removed or replaced (the publisher was
 * taken away, or a new nginx listens there): the batch then connects anew,
 * exactly as a fresh connection per message would.
 */
static void drop_if_stale(struct nchan_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (c->fd >= 0 && (poll(&p, 1, 0) != 0 || !same_socket(c)))
		nchan_conn_close(c);
}

static bool out_append(struct nchan_conn *c, size_t *len, const char *p, size_t n)
{
	if (*len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 16384;
		while (cap < *len + n)
			cap *= 2;
		char *o = realloc(c->out, cap);
		if (o == NULL)
			return false;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + *len, p, n);
	*len += n;
	return true;
}

/* Every request of the batch, back to back, in c->out. */
static bool build_requests(struct nchan_conn *c, const struct nchan_post *posts, size_t n,
			   size_t *len)
{
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		char head[512];
		int hn = snprintf(head, sizeof(head),
				  "POST /pub/%s HTTP/1.1\r\nHost: localhost\r\n"
				  "Content-Type: application/json\r\nAccept: text/json\r\n"
				  "Content-Length: %lu\r\n\r\n",
				  posts[i].channel, (unsigned long)posts[i].len);
		if (hn < 0 || (size_t)hn >= sizeof(head) || !out_append(c, len, head, (size_t)hn) ||
		    !out_append(c, len, posts[i].body, posts[i].len))
			return false;
	}
	return true;
}

/* The value of header `name` (with the colon) in the header block, or NULL. */
static const char *header_value(const char *head, const char *end, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l != NULL && l < end; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, n) == 0) {
			const char *v = l + 2 + n;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

/*
 * One complete response at the start of c->in: 1 (consumed; *status,
 * *closing set), 0 (incomplete), -1 (not something this client reads:
 * chunked, oversized, garbage).
 */
static int parse_response(struct nchan_conn *c, int *status, bool *closing)
{
	char *end = strstr(c->in, "\r\n\r\n");
	if (end == NULL)
		return c->in_len >= sizeof(c->in) - 1 ? -1 : 0;
	size_t head_len = (size_t)(end - c->in) + 4;
	if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1 ||
	    header_value(c->in, end, "Transfer-Encoding:") != NULL)
		return -1;
	const char *cl = header_value(c->in, end, "Content-Length:");
	const char *conn = header_value(c->in, end, "Connection:");
	long body = cl != NULL ? strtol(cl, NULL, 10) : 0;
	*closing = conn != NULL && strncasecmp(conn, "close", 5) == 0;
	if (body < 0 || head_len + (size_t)body > sizeof(c->in) - 1)
		return -1;
	if (head_len + (size_t)body > c->in_len)
		return 0;
	c->in_len -= head_len + (size_t)body;
	memmove(c->in, c->in + head_len + (size_t)body, c->in_len);
	c->in[c->in_len] = '\0';
	return 1;
}

/*
 * Read the answers of posts[0..n); returns how many arrived (see
 * nchan_post_batch). The deadline is per answer: nginx fans a message out
 * to its subscribers before answering, so a batch to a busy channel takes
 * as long as its messages together.
 */
static size_t read_answers(struct nchan_conn *c, struct nchan_post *posts, size_t n,
			   int timeout_ms, int *retry)
{
	size_t answered = 0;
	long long deadline = clock_us() + (long long)timeout_ms * 1000;
	while (answered < n) {
		bool closing = false;
		int pr = parse_response(c, &posts[answered].status, &closing);
		if (pr < 0)
			break; /* unknown state: no retry */
		if (pr > 0) {
			answered++;
			deadline = clock_us() + (long long)timeout_ms * 1000;
			if (closing) {
				*retry = 1; /* nginx stops reading after "Connection: close" */
				break;
			}
			continue;
		}
		posts[answered].status = 0;
		if (wait_fd(c->fd, POLLIN, deadline) <= 0)
			break; /* timeout: the rest may still be processed, no retry */
		ssize_t r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			*retry = 1; /* closed between requests: the rest was not read */
			break;
		}
		c->in_len += (size_t)r;
		c->in[c->in_len] = '\0';
	}
	if (answered < n)
		nchan_conn_close(c);
	return answered;
}

size_t nchan_post_batch(struct nchan_conn *c, struct nchan_post *posts, size_t n, int timeout_ms,
			int *retry)
{
	long long deadline = clock_us() + (long long)timeout_ms * 1000;
	size_t len;
	*retry = 0;
	for (size_t i = 0; i < n; i++)
		posts[i].status = 0;
	if (n == 0 || n > NCHAN_BATCH_MAX || !build_requests(c, posts, n, &len))
		return 0;
	drop_if_stale(c);
	if (c->fd < 0) {
		if ((c->fd = open_conn(&c->target, deadline)) < 0) {
			*retry = 1; /* nothing was sent */
			return 0;
		}
		(void)same_socket(c); /* remember which socket file this is */
	}
	/* a failed send still leaves the answers to what nginx did read */
	(void)send_all(c->fd, c->out, len, deadline);
	return read_answers(c, posts, n, timeout_ms, retry);
}
