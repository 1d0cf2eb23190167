/*
 * realtime.c — WebSocket fan-out load generator for bench/realtime.sh.
 *
 * Opens SUBS WebSocket subscriptions to one channel (through nginx, the app's
 * admission and nchan), waits until the caller has sampled nginx's memory,
 * then reports COUNT match results at RATE per second over a few keep-alive
 * HTTP connections (POST /api/matches/{id}/result, bearer token) and
 * measures, for every message every subscriber receives:
 *
 *   ts latency    receive time minus the envelope's "ts" (set by the worker
 *                 when it publishes; ISO-8601 with milliseconds, so this
 *                 figure is accurate to 1 ms and biased up by 0.5 ms on
 *                 average): publish -> nchan -> nginx -> subscriber;
 *   post latency  receive time minus the time the POST was sent: the whole
 *                 path, including the result's transaction.
 *
 * and whether every subscriber received every message: the channel's seq
 * must run SEQ0+1 .. SEQ0+COUNT on every subscription (missing messages,
 * duplicates, messages outside that range and messages that arrive after a
 * later seq — what a client sees as a gap — are counted).  SEQ0 is required.  Same-machine clocks
 * (CLOCK_REALTIME), so the differences are meaningful.
 *
 *   realtime -p PORT -n SUBS -r RATE -c COUNT -m MATCH_IDS_FILE -k TOKEN
 *            [-h 127.0.0.1] [-u /rt/leaderboard] [-t THREADS] [-s SEQ0]
 *            [-P PUBLISH_CONNS] [-R READY_FILE] [-w SETTLE_TIMEOUT_S]
 *            [-d DRAIN_TIMEOUT_S] [-i INFLIGHT_HANDSHAKES]
 *
 * Protocol: when every subscription is open (or has failed) the program
 * creates READY_FILE and waits (at most SETTLE_TIMEOUT_S) until the caller
 * deletes it; then it publishes.  Results are printed as key=value lines on
 * stdout, progress on stderr.  Exit 0 when it could run (whatever the
 * numbers), 2 on bad usage or setup errors.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -pthread -o realtime bench/realtime.c
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_DEAD };
enum { HIST_US = 50, HIST_BUCKETS = 600000 }; /* 50 µs buckets up to 30 s */
enum { MAX_THREADS = 16, MAX_PUB = 64 };

struct sub {
	int fd;
	int state;
	char *buf;
	size_t len, cap;
	long long max_seq;
	unsigned char *seen; /* bitmap over seq0+1 .. seq0+count_total */
	int count;           /* distinct messages with seq in that range */
	int dups, reorders, extra;
};

struct worker {
	pthread_t tid;
	int ep;
	struct sub *subs;
	int nsubs;
	int next_connect, inflight, open, failed, closed;
	uint32_t *hist_ts, *hist_post;
	long long nts, npost, neg_ts;
	long long max_ts_us, max_post_us;
	char fail_status[64];
};

/* configuration */
static const char *host = "127.0.0.1";
static int port;
static const char *path = "/rt/leaderboard";
static int nsubs_total;
static int nthreads = 2;
static double rate;
static int count_total;
static const char *ids_file;
static const char *token;
static long long seq0 = -1;
static int pub_conns = 8;
static const char *ready_file;
static double settle_timeout = 120;
static double drain_timeout = 30;
static int max_inflight = 128;

static struct sockaddr_in addr;
static atomic_int stop_flag;
static atomic_int connect_done;

/* match ids and their send times */
static char (*match_ids)[40];
static _Atomic long long *send_us;
static int *hash_tab;
static int hash_size;

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "realtime: %s: %s\n", what, strerror(errno));
	exit(2);
}

static unsigned hash_str(const char *s, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void hash_put(int idx)
{
	unsigned h = hash_str(match_ids[idx], strlen(match_ids[idx])) & (unsigned)(hash_size - 1);
	while (hash_tab[h] >= 0)
		h = (h + 1) & (unsigned)(hash_size - 1);
	hash_tab[h] = idx;
}

static int hash_get(const char *s, size_t n)
{
	unsigned h = hash_str(s, n) & (unsigned)(hash_size - 1);
	while (hash_tab[h] >= 0) {
		const char *m = match_ids[hash_tab[h]];
		if (strlen(m) == n && memcmp(m, s, n) == 0)
			return hash_tab[h];
		h = (h + 1) & (unsigned)(hash_size - 1);
	}
	return -1;
}

static void load_ids(void)
{
	FILE *f = fopen(ids_file, "r");
	if (!f)
		die(ids_file);
	match_ids = calloc((size_t)count_total, sizeof(*match_ids));
	send_us = calloc((size_t)count_total, sizeof(*send_us));
	if (!match_ids || !send_us)
		die("calloc");
	char line[128];
	int n = 0;
	while (n < count_total && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) != 36)
			continue;
		memcpy(match_ids[n++], line, 37);
	}
	fclose(f);
	if (n < count_total) {
		fprintf(stderr, "realtime: %s has %d match ids, %d needed\n", ids_file, n, count_total);
		exit(2);
	}
	hash_size = 1;
	while (hash_size < 2 * count_total)
		hash_size <<= 1;
	hash_tab = malloc(sizeof(int) * (size_t)hash_size);
	if (!hash_tab)
		die("malloc");
	for (int i = 0; i < hash_size; i++)
		hash_tab[i] = -1;
	for (int i = 0; i < count_total; i++)
		hash_put(i);
}

static int open_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) { /* tiny writes: the buffer is never full; spin briefly */
				struct timespec ts = {0, 100000};
				nanosleep(&ts, NULL);
				continue;
			}
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* --------------------------------------------------------------- subscribers */

static void hist_add(uint32_t *h, long long us)
{
	if (us < 0)
		us = 0;
	long long b = us / HIST_US;
	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	h[b]++;
}

static long long parse_ts_ms_slow(const char *p)
{
	/* 2026-11-25T21:09:17.447Z */
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int ms = 0;
	if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000LL + ms;
}

/*
 * Every subscriber gets the same message: remember the last ts parsed by
 * this thread (the client shares the 2 cores with what it measures, so its
 * CPU per frame matters).
 */
static _Thread_local char ts_last[24];
static _Thread_local long long ts_last_ms;

static long long parse_ts_ms(const char *p)
{
	if (ts_last_ms > 0 && memcmp(p, ts_last, sizeof ts_last) == 0)
		return ts_last_ms;
	long long ms = parse_ts_ms_slow(p);
	if (ms > 0 && memchr(p, '"', sizeof ts_last) == NULL) {
		memcpy(ts_last, p, sizeof ts_last);
		ts_last_ms = ms;
	}
	return ms;
}

/* user + system CPU seconds of this process so far */
static double cpu_secs(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static const char *find(const char *s, size_t n, const char *needle)
{
	const char *p = memmem(s, n, needle, strlen(needle));
	return p ? p + strlen(needle) : NULL;
}

static void on_message(struct worker *w, struct sub *s, const char *msg, size_t n, long long t)
{
	const char *p = find(msg, n, "\"seq\":");
	long long seq = p ? strtoll(p, NULL, 10) : -1;
	if (seq <= seq0 || seq > seq0 + count_total) {
		s->extra++;
		return;
	}
	long long k = seq - seq0 - 1;
	if (s->seen == NULL && (s->seen = calloc((size_t)count_total / 8 + 1, 1)) == NULL)
		die("calloc");
	if (s->seen[k / 8] & (1u << (k % 8))) {
		s->dups++;
		return;
	}
	s->seen[k / 8] |= (unsigned char)(1u << (k % 8));
	if (seq < s->max_seq)
		s->reorders++; /* arrived after a later seq: a gap the client would see */
	else
		s->max_seq = seq;
	s->count++;
	p = find(msg, n, "\"ts\":\"");
	if (p) {
		long long ts = parse_ts_ms(p);
		if (ts > 0) {
			long long d = t - ts * 1000;
			if (d < 0)
				w->neg_ts++;
			hist_add(w->hist_ts, d);
			w->nts++;
			if (d > w->max_ts_us)
				w->max_ts_us = d;
		}
	}
	p = find(msg, n, "\"matchId\":\"");
	if (p && (size_t)(msg + n - p) >= 36) {
		int idx = hash_get(p, 36);
		if (idx >= 0) {
			long long sent = atomic_load_explicit(&send_us[idx], memory_order_acquire);
			if (sent > 0) {
				long long d = t - sent;
				hist_add(w->hist_post, d);
				w->npost++;
				if (d > w->max_post_us)
					w->max_post_us = d;
			}
		}
	}
}

static void send_pong(int fd, const unsigned char *payload, size_t n)
{
	unsigned char f[2 + 4 + 125];
	if (n > 125)
		n = 125;
	f[0] = 0x8A;
	f[1] = (unsigned char)(0x80 | n);
	unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		f[6 + i] = payload[i] ^ mask[i % 4];
	write_all(fd, (const char *)f, 6 + n);
}

static void sub_close(struct worker *w, struct sub *s)
{
	if (s->fd >= 0) {
		epoll_ctl(w->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
		s->fd = -1;
	}
	if (s->state == ST_OPEN)
		w->closed++;
	else if (s->state != ST_DEAD) {
		w->failed++;
		w->inflight--;
	}
	s->state = ST_DEAD;
}

/* Parse complete frames out of s->buf. */
static void frames(struct worker *w, struct sub *s, long long t)
{
	size_t off = 0;
	const unsigned char *b = (const unsigned char *)s->buf;
	while (s->len - off >= 2) {
		unsigned op = b[off] & 0x0f;
		unsigned long long plen = b[off + 1] & 0x7f;
		size_t hl = 2;
		if (plen == 126) {
			if (s->len - off < 4)
				break;
			plen = ((unsigned)b[off + 2] << 8) | b[off + 3];
			hl = 4;
		} else if (plen == 127) {
			if (s->len - off < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | b[off + 2 + i];
			hl = 10;
		}
		if (b[off + 1] & 0x80)
			hl += 4; /* masked server frame: not expected */
		if (s->len - off < hl + plen)
			break;
		const char *payload = s->buf + off + hl;
		if (op == 1 || op == 2 || op == 0)
			on_message(w, s, payload, (size_t)plen, t);
		else if (op == 9)
			send_pong(s->fd, (const unsigned char *)payload, (size_t)plen);
		else if (op == 8) {
			sub_close(w, s);
			return;
		}
		off += hl + plen;
	}
	if (off > 0) {
		memmove(s->buf, s->buf + off, s->len - off);
		s->len -= off;
	}
}

static void sub_read(struct worker *w, struct sub *s)
{
	for (;;) {
		if (s->cap - s->len < 4096) {
			size_t nc = s->cap ? s->cap * 2 : 8192;
			char *nb = realloc(s->buf, nc);
			if (!nb)
				die("realloc");
			s->buf = nb;
			s->cap = nc;
		}
		size_t room = s->cap - s->len;
		ssize_t r = read(s->fd, s->buf + s->len, room);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				sub_close(w, s);
			return;
		}
		if (r == 0) {
			sub_close(w, s);
			return;
		}
		long long t = now_us();
		s->len += (size_t)r;
		if (s->state == ST_HANDSHAKE) {
			char *end = memmem(s->buf, s->len, "\r\n\r\n", 4);
			if (!end)
				continue;
			if (s->len < 12 || memcmp(s->buf + 9, "101", 3) != 0) {
				if (w->fail_status[0] == '\0' && s->len >= 12)
					snprintf(w->fail_status, sizeof w->fail_status, "%.3s", s->buf + 9);
				sub_close(w, s);
				return;
			}
			size_t hl = (size_t)(end + 4 - s->buf);
			memmove(s->buf, s->buf + hl, s->len - hl);
			s->len -= hl;
			s->state = ST_OPEN;
			w->inflight--;
			w->open++;
		}
		if (s->state == ST_OPEN)
			frames(w, s, t);
		if (s->state == ST_DEAD)
			return;
		/* a short read drained the socket: epoll (level-triggered) reports
		 * what arrives later; saves the read that would say EAGAIN */
		if (s->state == ST_OPEN && (size_t)r < room)
			return;
	}
}

static void start_connects(struct worker *w)
{
	while (w->next_connect < w->nsubs && w->inflight < max_inflight) {
		struct sub *s = &w->subs[w->next_connect];
		s->max_seq = -1;
		s->fd = open_socket();
		if (s->fd < 0) {
			s->state = ST_DEAD;
			w->failed++;
			if (w->fail_status[0] == '\0')
				snprintf(w->fail_status, sizeof w->fail_status, "socket: %s", strerror(errno));
			w->next_connect++;
			continue;
		}
		s->state = ST_CONNECTING;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = s};
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
			die("epoll_ctl");
		w->inflight++;
		w->next_connect++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char req[512];
	int rl = snprintf(req, sizeof req,
			  "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			  "Sec-WebSocket-Version: 13\r\n\r\n",
			  path, host, port);
	struct epoll_event evs[256];
	int reported = 0;
	while (!atomic_load(&stop_flag)) {
		start_connects(w);
		if (!reported && w->next_connect >= w->nsubs && w->inflight == 0) {
			reported = 1;
			atomic_fetch_add(&connect_done, 1);
		}
		int n = epoll_wait(w->ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct sub *s = evs[i].data.ptr;
			if (s->state == ST_DEAD)
				continue;
			if (s->state == ST_CONNECTING) {
				if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
					if (w->fail_status[0] == '\0')
						snprintf(w->fail_status, sizeof w->fail_status, "connect failed");
					sub_close(w, s);
					continue;
				}
				if (evs[i].events & EPOLLOUT) {
					struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
					epoll_ctl(w->ep, EPOLL_CTL_MOD, s->fd, &ev);
					s->state = ST_HANDSHAKE;
					write_all(s->fd, req, (size_t)rl);
				}
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				sub_read(w, s);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ publisher */

struct pconn {
	int fd;
	int busy; /* index of the request in flight, or -1 */
	char buf[8192];
	size_t len;
};

static long long *resp_us;
static int *resp_status;

static void pconn_open(struct pconn *c, int ep)
{
	c->fd = open_socket();
	if (c->fd < 0)
		die("publisher socket");
	c->busy = -1;
	c->len = 0;
	/* wait for the connection (loopback: immediate) */
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	struct epoll_event out;
	if (epoll_wait(ep, &out, 1, 5000) != 1)
		die("publisher connect");
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static const char *scores[3] = {"{\"player1Score\":1,\"player2Score\":0}",
				"{\"player1Score\":0,\"player2Score\":1}",
				"{\"player1Score\":1,\"player2Score\":1}"};

static void pconn_send(struct pconn *c, int idx)
{
	char req[1024];
	const char *body = scores[idx % 3];
	int n = snprintf(req, sizeof req,
			 "POST /api/matches/%s/result HTTP/1.1\r\nHost: %s:%d\r\n"
			 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 match_ids[idx], host, port, token, strlen(body), body);
	c->busy = idx;
	atomic_store_explicit(&send_us[idx], now_us(), memory_order_release);
	write_all(c->fd, req, (size_t)n);
}

/* A complete response in c->buf? Returns its length, or 0. */
static size_t response_len(struct pconn *c, int *status)
{
	char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!end)
		return 0;
	size_t hl = (size_t)(end + 4 - c->buf);
	long cl = 0;
	const char *p = c->buf;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (!eol)
			break;
		if (eol - p > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
			cl = strtol(p + 15, NULL, 10);
		p = eol + 2;
	}
	if (c->len < hl + (size_t)cl)
		return 0;
	*status = c->len >= 12 ? atoi(c->buf + 9) : 0;
	return hl + (size_t)cl;
}

static double pct_us(const uint32_t *h, long long total, double q)
{
	if (total <= 0)
		return -1;
	long long want = (long long)(q * (double)total);
	if (want >= total)
		want = total - 1;
	long long acc = 0;
	for (int b = 0; b < HIST_BUCKETS; b++) {
		acc += h[b];
		if (acc > want)
			return (b + 0.5) * HIST_US;
	}
	return (HIST_BUCKETS - 0.5) * HIST_US;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fputs("usage: realtime -p PORT -n SUBS -r RATE -c COUNT -m MATCH_IDS -k TOKEN [-h HOST]\n"
	      "       [-u PATH] [-t THREADS] [-s SEQ0] [-P CONNS] [-R READY_FILE] [-w SETTLE_S]\n"
	      "       [-d DRAIN_S] [-i INFLIGHT]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "h:p:u:n:t:r:c:m:k:s:P:R:w:d:i:")) != -1) {
		switch (opt) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'u': path = optarg; break;
		case 'n': nsubs_total = atoi(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'c': count_total = atoi(optarg); break;
		case 'm': ids_file = optarg; break;
		case 'k': token = optarg; break;
		case 's': seq0 = atoll(optarg); break;
		case 'P': pub_conns = atoi(optarg); break;
		case 'R': ready_file = optarg; break;
		case 'w': settle_timeout = atof(optarg); break;
		case 'd': drain_timeout = atof(optarg); break;
		case 'i': max_inflight = atoi(optarg); break;
		default: usage();
		}
	}
	if (port <= 0 || nsubs_total < 0 || nthreads < 1 || nthreads > MAX_THREADS || rate <= 0 ||
	    count_total < 0 || (count_total > 0 && (!ids_file || !token || seq0 < 0)) || pub_conns < 1 ||
	    pub_conns > MAX_PUB || max_inflight < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "realtime: %s: not an IPv4 address\n", host);
		exit(2);
	}
	if (count_total > 0)
		load_ids();

	/* subscribers */
	struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
	if (!ws)
		die("calloc");
	double t_conn = mono();
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &ws[i];
		w->nsubs = nsubs_total / nthreads + (i < nsubs_total % nthreads);
		w->subs = calloc((size_t)(w->nsubs ? w->nsubs : 1), sizeof(struct sub));
		w->hist_ts = calloc(HIST_BUCKETS, sizeof(uint32_t));
		w->hist_post = calloc(HIST_BUCKETS, sizeof(uint32_t));
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (!w->subs || !w->hist_ts || !w->hist_post || w->ep < 0)
			die("worker setup");
		for (int k = 0; k < w->nsubs; k++)
			w->subs[k].fd = -1;
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
			die("pthread_create");
	}
	while (atomic_load(&connect_done) < nthreads) {
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	double connect_secs = mono() - t_conn;
	int nopen = 0, failed = 0;
	for (int i = 0; i < nthreads; i++) {
		nopen += ws[i].open;
		failed += ws[i].failed;
	}
	fprintf(stderr, "realtime: %d of %d subscriptions open in %.1f s (%d failed)\n", nopen,
		nsubs_total, connect_secs, failed);

	if (ready_file) {
		int fd = open(ready_file, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0)
			die(ready_file);
		close(fd);
		double t = mono();
		struct stat st;
		while (stat(ready_file, &st) == 0 && mono() - t < settle_timeout) {
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
		}
	}

	double cpu0 = cpu_secs(); /* the client's own CPU from here on (publish + receive) */

	/* publisher */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct pconn *pc = calloc((size_t)pub_conns, sizeof *pc);
	resp_us = calloc((size_t)(count_total ? count_total : 1), sizeof(long long));
	resp_status = calloc((size_t)(count_total ? count_total : 1), sizeof(int));
	if (!pc || !resp_us || !resp_status)
		die("calloc");
	for (int i = 0; i < pub_conns; i++)
		pconn_open(&pc[i], ep);
	int sent = 0, done = 0, late = 0, reconnects = 0;
	double t0 = mono();
	while (done < count_total) {
		double now = mono();
		while (sent < count_total && now >= t0 + sent / rate) {
			int k;
			for (k = 0; k < pub_conns && pc[k].busy >= 0; k++)
				;
			if (k == pub_conns)
				break; /* every connection busy: send as soon as one is free */
			if (now > t0 + sent / rate + 0.005)
				late++;
			pconn_send(&pc[k], sent++);
		}
		double next = sent < count_total ? t0 + sent / rate : now + 0.05;
		int timeout = (int)((next - now) * 1000.0);
		if (timeout < 0)
			timeout = 0;
		if (timeout > 50)
			timeout = 50;
		struct epoll_event evs[MAX_PUB];
		int n = epoll_wait(ep, evs, MAX_PUB, timeout);
		for (int i = 0; i < n; i++) {
			struct pconn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1);
			if (r <= 0) {
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				/* connection closed: the request in flight failed */
				if (c->busy >= 0) {
					resp_status[c->busy] = -1;
					resp_us[c->busy] = now_us();
					done++;
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				pconn_open(c, ep);
				reconnects++;
				continue;
			}
			c->len += (size_t)r;
			int status;
			size_t rl = response_len(c, &status);
			if (rl > 0 && c->busy >= 0) {
				resp_us[c->busy] = now_us();
				resp_status[c->busy] = status;
				done++;
				c->busy = -1;
				memmove(c->buf, c->buf + rl, c->len - rl);
				c->len -= rl;
			}
		}
	}
	double pub_secs = mono() - t0;

	/* drain: wait until every open subscriber has every message, or timeout */
	double td = mono();
	for (;;) {
		long long have = 0, want = 0;
		for (int i = 0; i < nthreads; i++)
			for (int k = 0; k < ws[i].nsubs; k++)
				if (ws[i].subs[k].state == ST_OPEN) {
					have += ws[i].subs[k].count;
					want += count_total;
				}
		if (have >= want || mono() - td > drain_timeout)
			break;
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	double drain_secs = mono() - td;
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(ws[i].tid, NULL);

	/* merge */
	uint32_t *hts = calloc(HIST_BUCKETS, sizeof(uint32_t));
	uint32_t *hpost = calloc(HIST_BUCKETS, sizeof(uint32_t));
	if (!hts || !hpost)
		die("calloc");
	long long nts = 0, npost = 0, neg = 0, maxts = 0, maxpost = 0, received = 0, dups = 0,
		  reorders = 0, extra = 0, reordered_subs = 0;
	int complete = 0, still_open = 0, closed = 0;
	char fail_status[64] = "";
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &ws[i];
		for (int b = 0; b < HIST_BUCKETS; b++) {
			hts[b] += w->hist_ts[b];
			hpost[b] += w->hist_post[b];
		}
		nts += w->nts;
		npost += w->npost;
		neg += w->neg_ts;
		if (w->max_ts_us > maxts)
			maxts = w->max_ts_us;
		if (w->max_post_us > maxpost)
			maxpost = w->max_post_us;
		closed += w->closed;
		if (!fail_status[0] && w->fail_status[0])
			snprintf(fail_status, sizeof fail_status, "%s", w->fail_status);
		for (int k = 0; k < w->nsubs; k++) {
			struct sub *s = &w->subs[k];
			received += s->count;
			dups += s->dups;
			reorders += s->reorders;
			reordered_subs += s->reorders > 0;
			extra += s->extra;
			if (s->state == ST_OPEN)
				still_open++;
			if (s->count == count_total)
				complete++;
		}
	}
	int post_ok = 0, post_fail = 0;
	long long *rl = malloc(sizeof(long long) * (size_t)(count_total ? count_total : 1));
	if (!rl)
		die("malloc");
	int nrl = 0;
	char first_bad[32] = "";
	for (int i = 0; i < count_total; i++) {
		if (resp_status[i] >= 200 && resp_status[i] < 300)
			post_ok++;
		else {
			post_fail++;
			if (!first_bad[0])
				snprintf(first_bad, sizeof first_bad, "%d", resp_status[i]);
		}
		if (resp_us[i] > 0 && send_us[i] > 0)
			rl[nrl++] = resp_us[i] - send_us[i];
	}
	qsort(rl, (size_t)nrl, sizeof *rl, cmp_ll);

	printf("client_cpu_secs=%.3f\n", cpu_secs() - cpu0);
	printf("subs_requested=%d\n", nsubs_total);
	printf("subs_open=%d\n", nopen);
	printf("subs_failed=%d\n", failed);
	printf("subs_fail_reason=%s\n", fail_status[0] ? fail_status : "-");
	printf("connect_secs=%.1f\n", connect_secs);
	printf("published=%d\n", count_total);
	printf("post_ok=%d\n", post_ok);
	printf("post_fail=%d\n", post_fail);
	printf("post_first_bad_status=%s\n", first_bad[0] ? first_bad : "-");
	printf("post_late=%d\n", late);
	printf("post_reconnects=%d\n", reconnects);
	printf("publish_secs=%.2f\n", pub_secs);
	printf("publish_rate=%.1f\n", pub_secs > 0 ? count_total / pub_secs : 0);
	printf("post_resp_p50_ms=%.2f\n", nrl ? rl[nrl / 2] / 1000.0 : -1);
	printf("post_resp_p99_ms=%.2f\n", nrl ? rl[(long)(nrl * 0.99) < nrl ? (long)(nrl * 0.99) : nrl - 1] / 1000.0 : -1);
	printf("msgs_expected=%lld\n", (long long)nopen * count_total);
	printf("msgs_received=%lld\n", received);
	printf("subs_complete=%d\n", complete);
	printf("subs_still_open=%d\n", still_open);
	printf("subs_closed_by_server=%d\n", closed);
	printf("reorders=%lld\n", reorders);
	printf("reordered_subs=%lld\n", reordered_subs);
	printf("dups=%lld\n", dups);
	printf("extra=%lld\n", extra);
	printf("drain_secs=%.2f\n", drain_secs);
	printf("ts_samples=%lld\n", nts);
	printf("ts_negative=%lld\n", neg);
	printf("lat_ts_p50_ms=%.2f\n", pct_us(hts, nts, 0.50) / 1000.0);
	printf("lat_ts_p90_ms=%.2f\n", pct_us(hts, nts, 0.90) / 1000.0);
	printf("lat_ts_p99_ms=%.2f\n", pct_us(hts, nts, 0.99) / 1000.0);
	printf("lat_ts_max_ms=%.2f\n", maxts / 1000.0);
	printf("post_samples=%lld\n", npost);
	printf("lat_post_p50_ms=%.2f\n", pct_us(hpost, npost, 0.50) / 1000.0);
	printf("lat_post_p90_ms=%.2f\n", pct_us(hpost, npost, 0.90) / 1000.0);
	printf("lat_post_p99_ms=%.2f\n", pct_us(hpost, npost, 0.99) / 1000.0);
	printf("lat_post_max_ms=%.2f\n", maxpost / 1000.0);
	fflush(stdout);
	return 0;
}
