/*
 * log.c — JSON-lines logger. Each line is built in a stack buffer and
 * written with one write(2) so lines from concurrent workers never
 * interleave (stderr writes below PIPE_BUF are atomic on pipes).
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"

static int log_threshold = 2; /* info */
static long cached_pid;       /* 0 = ask the kernel (reset in every new worker) */

void log_reset_pid(void)
{
	cached_pid = (long)getpid();
}
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(int level)
{
	if (level >= 0 && level <= 3)
		log_threshold = level;
}

int log_enabled(int level)
{
	return level <= log_threshold;
}

/* n digits of v, zero-padded, at p; returns p + n */
static char *put_digits(char *p, long v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void time_iso8601(char out[32])
{
	/* every response and log line asks: no snprintf, and gmtime_r only
	 * when the second has changed */
	static time_t last_sec = -1;
	static char prefix[24]; /* "YYYY-MM-DDTHH:MM:SS." */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		char *p = put_digits(prefix, (tm.tm_year + 1900) % 10000, 4);
		*p++ = '-';
		p = put_digits(p, tm.tm_mon + 1, 2);
		*p++ = '-';
		p = put_digits(p, tm.tm_mday, 2);
		*p++ = 'T';
		p = put_digits(p, tm.tm_hour, 2);
		*p++ = ':';
		p = put_digits(p, tm.tm_min, 2);
		*p++ = ':';
		p = put_digits(p, tm.tm_sec, 2);
		*p++ = '.';
		*p = '\0';
		last_sec = ts.tv_sec;
	}
	memcpy(out, prefix, 20);
	char *p = put_digits(out + 20, ts.tv_nsec / 1000000, 3);
	*p++ = 'Z';
	*p = '\0';
}

long long clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Append s JSON-escaped into out[*pos..cap), truncating safely. */
static void put_escaped(char *out, size_t cap, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[7];
		size_t n = 0;
		if (*p == '"' || *p == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = (char)*p;
		} else if (*p < 0x20) {
			tmp[n++] = '\\'; tmp[n++] = 'u'; tmp[n++] = '0'; tmp[n++] = '0';
			tmp[n++] = hex[*p >> 4]; tmp[n++] = hex[*p & 15];
		} else {
			tmp[n++] = (char)*p;
		}
		if (*pos + n + 8 >= cap)
			return;
		memcpy(out + *pos, tmp, n);
		*pos += n;
	}
}

static void put_raw(char *out, size_t cap, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	if (*pos + n + 2 >= cap)
		n = cap - *pos - 2;
	memcpy(out + *pos, s, n);
	*pos += n;
}

static void line_begin(char *line, size_t cap, size_t *pos, int level)
{
	char ts[32];
	time_iso8601(ts);
	*pos = 0;
	put_raw(line, cap, pos, "{\"ts\":\"");
	put_raw(line, cap, pos, ts);
	put_raw(line, cap, pos, "\",\"level\":\"");
	put_raw(line, cap, pos, level_names[level]);
	char pid[FMT_LL_MAX];
	fmt_ll(pid, cached_pid ? cached_pid : (long)getpid());
	put_raw(line, cap, pos, "\",\"pid\":");
	put_raw(line, cap, pos, pid);
}

static void line_close(char *line, size_t cap, size_t *pos)
{
	put_raw(line, cap, pos, "}");
	line[(*pos)++] = '\n';
}

static void line_end(char *line, size_t cap, size_t *pos)
{
	line_close(line, cap, pos);
	log_flush(); /* keep the order of lines */
	ssize_t w = write(STDERR_FILENO, line, *pos);
	(void)w;
}

/*
 * Batched request lines (workers only): whole lines collected up to
 * PIPE_BUF bytes and written with one write(2), which is still atomic on a
 * pipe, so batches from concurrent workers never interleave. The worker
 * flushes whenever it would wait for a connection longer than a few
 * milliseconds, and before it exits; any other log line flushes first.
 */
#define REQ_BUF_MAX 4096
static char req_buf[REQ_BUF_MAX];
static size_t req_len;
static int req_batching;

void log_batch_requests(int on)
{
	log_flush();
	req_batching = on;
}

int log_pending(void)
{
	return req_len > 0;
}

void log_flush(void)
{
	if (req_len == 0)
		return;
	ssize_t w = write(STDERR_FILENO, req_buf, req_len);
	(void)w;
	req_len = 0;
}

static void request_line_end(char *line, size_t cap, size_t *pos)
{
	if (!req_batching) {
		line_end(line, cap, pos);
		return;
	}
	line_close(line, cap, pos);
	if (req_len + *pos > REQ_BUF_MAX) /* a request line is < 1 KiB: it always fits after a flush */
		log_flush();
	memcpy(req_buf + req_len, line, *pos);
	req_len += *pos;
}

void log_msg(int level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char line[1400];
	size_t pos;
	line_begin(line, sizeof(line), &pos, level);
	put_raw(line, sizeof(line), &pos, ",\"msg\":\"");
	put_escaped(line, sizeof(line), &pos, msg);
	put_raw(line, sizeof(line), &pos, "\"");
	line_end(line, sizeof(line), &pos);
}

void log_request(const char *request_id, const char *method, const char *route,
		 int status, long long latency_us, const char *error_code)
{
	if (!log_enabled(2))
		return;
	char line[1024];
	size_t pos;
	line_begin(line, sizeof(line), &pos, 2);
	put_raw(line, sizeof(line), &pos, ",\"msg\":\"request\",\"request_id\":\"");
	put_escaped(line, sizeof(line), &pos, request_id);
	put_raw(line, sizeof(line), &pos, "\",\"method\":\"");
	put_escaped(line, sizeof(line), &pos, method);
	put_raw(line, sizeof(line), &pos, "\",\"route\":\"");
	put_escaped(line, sizeof(line), &pos, route);
	char num[FMT_LL_MAX];
	put_raw(line, sizeof(line), &pos, "\",\"status\":");
	fmt_ll(num, status);
	put_raw(line, sizeof(line), &pos, num);
	put_raw(line, sizeof(line), &pos, ",\"latency_us\":");
	fmt_ll(num, latency_us);
	put_raw(line, sizeof(line), &pos, num);
	if (error_code != NULL) {
		put_raw(line, sizeof(line), &pos, ",\"error\":\"");
		put_escaped(line, sizeof(line), &pos, error_code);
		put_raw(line, sizeof(line), &pos, "\"");
	}
	request_line_end(line, sizeof(line), &pos);
}
