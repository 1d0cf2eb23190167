/*
 * nchan.c — the publisher's kept-alive, pipelined connection
 * (lib/realtime/nchan.c) against a scripted fake publisher on a unix
 * socket (a forked child): a batch is answered in order on one connection,
 * the next batch reuses it, a "Connection: close" answer cuts a batch short
 * with the rest safe to resend, a connection closed while idle is replaced,
 * a publisher that never answers costs the deadline and no resend, and a
 * missing socket is "refused, resend". The child logs every request it
 * processed, so the test also sees that nothing was processed twice or out
 * of order.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "realtime/nchan.h"
#include "tap.h"

enum { CONN_CLOSE_ON_6TH, CONN_IDLE_CLOSE, CONN_HANG };

static char sock_path[108], log_path[128];

/* One request at the start of buf (len): its size, or 0 when incomplete. */
static size_t request_size(const char *buf, size_t len, char *channel, size_t chcap)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	const char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
	size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
	size_t total = (size_t)(end - buf) + 4 + body;
	if (total > len)
		return 0;
	if (sscanf(buf, "POST /pub/%63s HTTP/1.1", channel) != 1)
		snprintf(channel, chcap, "?");
	return total;
}

static void answer(int fd, int closing)
{
	static const char body[] = "queued messages: 1\n";
	char r[256];
	int n = snprintf(r, sizeof r,
			 "HTTP/1.1 202 Accepted\r\nServer: fake\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
			 strlen(body), closing ? "close" : "keep-alive", body);
	if (write(fd, r, (size_t)n) != n)
		_exit(3);
}

/* Serve one connection in the given mode; processed channels go to the log. */
static void serve(int fd, int mode, FILE *log)
{
	char buf[65536];
	size_t len = 0;
	int served = 0;
	for (;;) {
		char ch[64];
		size_t sz;
		while ((sz = request_size(buf, len, ch, sizeof ch)) > 0) {
			if (mode == CONN_HANG)
				break;
			served++;
			fprintf(log, "%s\n", ch);
			fflush(log);
			int closing = mode == CONN_CLOSE_ON_6TH && served == 6;
			answer(fd, closing);
			if (closing)
				return;
			memmove(buf, buf + sz, len - sz);
			len -= sz;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int idle_ms = mode == CONN_IDLE_CLOSE && len == 0 ? 100 : 5000;
		if (poll(&p, 1, idle_ms) <= 0)
			return; /* idle (or hanging long enough): close */
		ssize_t r = read(fd, buf + len, sizeof buf - len);
		if (r <= 0)
			return;
		len += (size_t)r;
	}
}

static pid_t start_server(void)
{
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 8) != 0) {
		perror("fake publisher");
		exit(2);
	}
	pid_t pid = fork();
	if (pid != 0) {
		close(ls);
		return pid;
	}
	FILE *log = fopen(log_path, "w");
	for (int conn = 0; log != NULL; conn++) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			_exit(0);
		serve(fd, conn == 0 ? CONN_CLOSE_ON_6TH : conn == 1 ? CONN_IDLE_CLOSE : CONN_HANG, log);
		close(fd);
	}
	_exit(1);
}

static size_t post(struct nchan_conn *c, struct nchan_post *p, size_t n, int timeout_ms, int *retry)
{
	return nchan_post_batch(c, p, n, timeout_ms, retry);
}

static void set(struct nchan_post *p, const char *const *channels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (struct nchan_post){channels[i], "{\"seq\":1}", 9, 0};
}

static void processed(char *out, size_t cap)
{
	FILE *f = fopen(log_path, "r");
	size_t n = f ? fread(out, 1, cap - 1, f) : 0;
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = ' ';
	if (f)
		fclose(f);
}

int main(void)
{
	char dir[] = "/tmp/rp-unit-nchan.XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(sock_path, sizeof sock_path, "%s/nchan.sock", dir);
	snprintf(log_path, sizeof log_path, "%s/log", dir);
	signal(SIGPIPE, SIG_IGN);
	pid_t server = start_server();

	struct nchan_target t;
	char url[128];
	snprintf(url, sizeof url, "unix:%s", sock_path);
	ok(nchan_target_parse(url, &t) == RP_OK, "target %s", url);
	struct nchan_conn c;
	nchan_conn_init(&c, &t);
	struct nchan_post p[NCHAN_BATCH_MAX];
	int retry = -1;

	static const char *const a[] = {"a1", "a2", "a3"};
	set(p, a, 3);
	is_int((int)post(&c, p, 3, 2000, &retry), 3, "batch of 3: every answer read");
	ok(p[0].status == 202 && p[1].status == 202 && p[2].status == 202, "each answered 202");
	int first_fd = c.fd;
	ok(first_fd >= 0, "the connection stays open");

	static const char *const b[] = {"b1", "b2"};
	set(p, b, 2);
	is_int((int)post(&c, p, 2, 2000, &retry), 2, "next batch: answered");
	is_int(c.fd, first_fd, "on the same connection");

	static const char *const cc[] = {"c1", "c2", "c3"};
	set(p, cc, 3);
	size_t got = post(&c, p, 3, 2000, &retry);
	is_int((int)got, 1, "\"Connection: close\" after c1: one answer");
	is_int(retry, 1, "the rest may be sent again");
	ok(p[1].status == 0 && p[2].status == 0, "c2, c3 unanswered");
	is_int(c.fd, -1, "connection closed");
	is_int((int)post(&c, p + 1, 2, 2000, &retry), 2, "c2, c3 sent again on a new connection");

	usleep(300 * 1000); /* the fake closes its idle connection after 100 ms */
	static const char *const d[] = {"d1"};
	set(p, d, 1);
	got = post(&c, p, 1, 300, &retry);
	is_int((int)got, 0, "a publisher that never answers: nothing answered");
	is_int(retry, 0, "after a timeout nothing is sent again");

	char log[512];
	processed(log, sizeof log);
	is_str(log, "a1 a2 a3 b1 b2 c1 c2 c3 ", "processed once each, in order");

	unlink(sock_path);
	got = post(&c, p, 1, 300, &retry);
	is_int((int)got, 0, "socket gone: nothing answered");
	is_int(retry, 1, "refused: safe to send again");

	nchan_conn_free(&c);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	unlink(log_path);
	rmdir(dir);
	return done_testing();
}
