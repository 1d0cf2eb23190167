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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
