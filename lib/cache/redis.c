/*
 * redis.c — bounded hiredis access (see redis.h).
 */
#include "cache/redis.h"

#include <errno.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config/config.h"
#include "core/backoff.h"
#include "core/log.h"
#include "metrics/metrics.h"

struct rcache {
	const struct rp_config *cfg;
	redisContext *ctx;
	struct backoff backoff;
	struct metrics *metrics;
};

struct rcache *rcache_new(const struct rp_config *cfg, struct metrics *m)
{
	struct rcache *rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return NULL;
	rc->cfg = cfg;
	rc->metrics = m;
	backoff_init(&rc->backoff, 100000, 2000000);
	return rc;
}

static void rcache_drop(struct rcache *rc)
{
	if (rc->ctx != NULL)
		redisFree(rc->ctx);
	rc->ctx = NULL;
}

void rcache_free(struct rcache *rc)
{
	if (rc == NULL)
		return;
	rcache_drop(rc);
	free(rc);
}

static bool simple_ok(redisContext *c, const char *what, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	bool ok = r != NULL && r->type != REDIS_REPLY_ERROR;
	if (!ok)
		log_warn("redis %s failed", what);
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static void failed(struct rcache *rc, const char *why)
{
	log_warn("redis unavailable: %s", why);
	rcache_drop(rc);
	backoff_failed(&rc->backoff, clock_us());
	metrics_count(rc->metrics, MC_REDIS_ERRORS);
}

/*
 * A command failed on an established connection. When the server had
 * closed it (a Redis restart while this worker was idle), the next command
 * connects again at once: backing off would fail every other Redis call of
 * the request in hand (unnumbered realtime messages, a needless cache
 * rebuild). Timeouts and other errors back off as connect failures do.
 */
static void command_failed(struct rcache *rc)
{
	int e = errno;
	bool closed = rc->ctx->err == REDIS_ERR_EOF ||
		      (rc->ctx->err == REDIS_ERR_IO && (e == EPIPE || e == ECONNRESET));
	failed(rc, rc->ctx->errstr[0] ? rc->ctx->errstr : "I/O error");
	if (closed)
		backoff_succeeded(&rc->backoff);
}

static enum rp_err rcache_ensure(struct rcache *rc)
{
	if (rc->ctx != NULL)
		return RP_OK;
	if (!backoff_ready(&rc->backoff, clock_us()))
		return RP_EUNAVAIL;
	struct timeval tv = {REDIS_TIMEOUT_MS / 1000, (REDIS_TIMEOUT_MS % 1000) * 1000};
	const struct rp_config *c = rc->cfg;
	rc->ctx = c->redis_is_unix ? redisConnectUnixWithTimeout(c->redis_path, tv)
				   : redisConnectWithTimeout(c->redis_host, c->redis_port, tv);
	if (rc->ctx == NULL || rc->ctx->err) {
		failed(rc, rc->ctx ? rc->ctx->errstr : "out of memory");
		return RP_EUNAVAIL;
	}
	if (redisSetTimeout(rc->ctx, tv) != REDIS_OK) {
		failed(rc, "cannot set timeout");
		return RP_EUNAVAIL;
	}
	if (c->redis_password[0] != '\0') {
		const char *argv[] = {"AUTH", c->redis_username, c->redis_password};
		bool with_user = c->redis_username[0] != '\0';
		if (!with_user) {
			argv[1] = c->redis_password;
		}
		if (!simple_ok(rc->ctx, "AUTH", with_user ? 3 : 2, argv)) {
			failed(rc, "AUTH rejected");
			return RP_EUNAVAIL;
		}
	}
	if (c->redis_db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", c->redis_db);
		const char *argv[] = {"SELECT", db};
		if (!simple_ok(rc->ctx, "SELECT", 2, argv)) {
			failed(rc, "SELECT rejected");
			return RP_EUNAVAIL;
		}
	}
	backoff_succeeded(&rc->backoff);
	metrics_count(rc->metrics, MC_REDIS_RECONNECTS);
	return RP_OK;
}

redisReply *rcache_command(struct rcache *rc, enum rp_err *err, int argc, const char **argv,
			   const size_t *argvlen)
{
	if ((*err = rcache_ensure(rc)) != RP_OK)
		return NULL;
	redisReply *r = redisCommandArgv(rc->ctx, argc, argv, argvlen);
	if (r == NULL) {
		command_failed(rc);
		*err = RP_EUNAVAIL;
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		metrics_count(rc->metrics, MC_REDIS_ERRORS);
		*err = RP_EINTERNAL;
	}
	return r;
}

redisReply *rcache_eval(struct rcache *rc, enum rp_err *err, struct rcache_script *script,
			int argc, const char **args)
{
	const char *argv[RCACHE_EVAL_MAX_ARGS + 3];
	if (argc < 0 || argc > RCACHE_EVAL_MAX_ARGS) {
		*err = RP_EINTERNAL;
		return NULL;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (script->sha[0] == '\0') {
			const char *load[] = {"SCRIPT", "LOAD", script->body};
			redisReply *r = rcache_command(rc, err, 3, load, NULL);
			if (r == NULL)
				return NULL;
			if (r->type != REDIS_REPLY_STRING || r->len != 40)
				return r; /* the error, to the caller */
			memcpy(script->sha, r->str, 41);
			freeReplyObject(r);
		}
		argv[0] = "EVALSHA";
		argv[1] = script->sha;
		argv[2] = "0";
		for (int i = 0; i < argc; i++)
			argv[3 + i] = args[i];
		redisReply *r = rcache_command(rc, err, argc + 3, argv, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
			return r;
		freeReplyObject(r); /* the server lost its script cache (restart, SCRIPT FLUSH) */
		script->sha[0] = '\0';
	}
	*err = RP_EINTERNAL;
	return NULL;
}

void rcache_free_replies(size_t n, redisReply **replies)
{
	for (size_t i = 0; i < n; i++) {
		if (replies[i] != NULL)
			freeReplyObject(replies[i]);
		replies[i] = NULL;
	}
}

enum rp_err rcache_pipeline(struct rcache *rc, size_t n, const struct rcache_cmd *cmds,
			    redisReply **replies)
{
	for (size_t i = 0; i < n; i++)
		replies[i] = NULL;
	enum rp_err err = rcache_ensure(rc);
	if (err != RP_OK)
		return err;
	for (size_t i = 0; i < n; i++) {
		size_t lens[RCACHE_CMD_MAX_ARGS];
		const char *argv[RCACHE_CMD_MAX_ARGS];
		for (int k = 0; k < cmds[i].argc && k < RCACHE_CMD_MAX_ARGS; k++) {
			argv[k] = cmds[i].argv[k];
			lens[k] = cmds[i].argvlen[k] ? cmds[i].argvlen[k] : strlen(argv[k]);
		}
		if (redisAppendCommandArgv(rc->ctx, cmds[i].argc, argv, lens) != REDIS_OK) {
			failed(rc, "cannot queue command");
			return RP_EUNAVAIL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		void *r = NULL;
		if (redisGetReply(rc->ctx, &r) != REDIS_OK || r == NULL) {
			command_failed(rc); /* first: it reads errno */
			rcache_free_replies(i, replies);
			return RP_EUNAVAIL;
		}
		replies[i] = r;
		if (replies[i]->type == REDIS_REPLY_ERROR)
			metrics_count(rc->metrics, MC_REDIS_ERRORS);
	}
	return RP_OK;
}

enum rp_err rcache_ping(struct rcache *rc)
{
	const char *argv[] = {"PING"};
	enum rp_err err;
	redisReply *r = rcache_command(rc, &err, 1, argv, NULL);
	if (r != NULL)
		freeReplyObject(r);
	return err == RP_OK ? RP_OK : RP_EUNAVAIL;
}
