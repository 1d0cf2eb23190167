/*
 * redis.h — a worker's one Redis connection (hiredis).
 *
 * Connect and command timeouts are REDIS_TIMEOUT_MS; after an error the
 * context is freed (hiredis contexts are unusable after an I/O error) and
 * re-created with back-off. Redis holds caches and counters only, so every
 * caller must have an answer for RP_EUNAVAIL.
 */
#ifndef RP_CACHE_REDIS_H
#define RP_CACHE_REDIS_H

#include <hiredis/hiredis.h>

#include "core/err.h"

#define REDIS_TIMEOUT_MS 1000

struct rcache;
struct metrics;
struct rp_config;

struct rcache *rcache_new(const struct rp_config *cfg, struct metrics *m);
void rcache_free(struct rcache *rc);
/*
 * Run one command (argv form: binary safe). Returns the reply (caller
 * freeReplyObject()s it) or NULL with *err = RP_EUNAVAIL. An error reply
 * (REDIS_REPLY_ERROR) is returned as a reply with *err = RP_EINTERNAL.
 */
redisReply *rcache_command(struct rcache *rc, enum rp_err *err, int argc, const char **argv,
			   const size_t *argvlen);
/*
 * Send n commands in one round trip (pipelining). replies[i] receives each
 * reply (caller frees them all with rcache_free_replies). Returns RP_OK when
 * every reply arrived (some may be REDIS_REPLY_ERROR), RP_EUNAVAIL otherwise
 * (replies are then all NULL).
 */
#define RCACHE_CMD_MAX_ARGS 16
struct rcache_cmd {
	int argc;
	const char *argv[RCACHE_CMD_MAX_ARGS];
	size_t argvlen[RCACHE_CMD_MAX_ARGS]; /* 0 = strlen */
};
enum rp_err rcache_pipeline(struct rcache *rc, size_t n, const struct rcache_cmd *cmds,
			    redisReply **replies) RP_MUSTCHECK;
void rcache_free_replies(size_t n, redisReply **replies);
/*
 * Run a Lua script by its SHA1 (EVALSHA, no keys: the scripts name their
 * keys themselves), loading it first and again after the server forgot it.
 * args are the script's ARGV. Same reply contract as rcache_command.
 */
#define RCACHE_EVAL_MAX_ARGS 9
struct rcache_script {
	const char *body;
	char sha[41]; /* "" until loaded */
};
redisReply *rcache_eval(struct rcache *rc, enum rp_err *err, struct rcache_script *script,
			int argc, const char **args);
/* PING; RP_OK or RP_EUNAVAIL. */
enum rp_err rcache_ping(struct rcache *rc) RP_MUSTCHECK;

#endif
