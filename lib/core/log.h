/*
 * log.h — structured logging: one JSON object per line on stderr
 * (journald, docker logs and the stack's app.log all read stderr).
 * Callers must never pass secrets (passwords, tokens, JWT_SECRET, URLs with
 * passwords) to these functions.
 */
#ifndef RP_CORE_LOG_H
#define RP_CORE_LOG_H

enum log_level;

void log_set_level(int level);
/* Remember the pid for log lines; call after fork in each worker. */
void log_reset_pid(void);
int log_enabled(int level);
/* level: LOG_ERROR..LOG_DEBUG from config.h */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(0, __VA_ARGS__)
#define log_warn(...) log_msg(1, __VA_ARGS__)
#define log_info(...) log_msg(2, __VA_ARGS__)
#define log_debug(...) log_msg(3, __VA_ARGS__)

/* One access-log line per request. */
void log_request(const char *request_id, const char *method, const char *route,
		 int status, long long latency_us, const char *error_code);

/* Workers: batch request lines (≤ 4 KiB per write); log_flush() writes them out. */
void log_batch_requests(int on);
int log_pending(void);
void log_flush(void);

/* Format the current UTC time as ISO-8601 with milliseconds ("...Z"). */
void time_iso8601(char out[32]);
/* Monotonic clock in microseconds. */
long long clock_us(void);

#endif
