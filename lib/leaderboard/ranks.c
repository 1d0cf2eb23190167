/*
 * ranks.c — Redis sorted-set ranks (see ranks.h for keys and scores).
 *
 * Ordering of concurrent updates: two results for the same player may
 * commit in one order and reach Redis in the other. Updates go through a
 * Lua script that compares players.version with the last version applied
 * for that season, so an older update never overwrites a newer one.
 *
 * Window boards (day/week/month) are not kept here: they are aggregates of
 * rating_events and are answered by PostgreSQL (see board.c).
 *
 * Rebuild writes members with ZADD NX into the live key while the group is
 * not marked ready, so a concurrent update (plain ZADD) always wins over the
 * snapshot the rebuild is copying.
 */
#include "leaderboard/ranks.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "cache/redis.h"
#include "core/arena.h"
#include "core/log.h"
#include "leaderboard/entry.h"
#include "store/db.h"

#define RANK_MS_BASE 1704067200000LL /* 2024-01-01T00:00:00Z */
#define RANK_MS_BITS 40
#define REBUILD_BATCH 5000
#define REBUILD_LOCK_S "120"

static long long cached_epoch = -1;
/* set when an update could not be applied: the next successful contact bumps the epoch */
static int cache_dirty;

/*
 * One player's entry on one season's boards, guarded by players.version.
 * KEYS: ver hash, entries hash, then the zsets to add to (global, country).
 * ARGV: player, version, score, packed entry, the season's country zset
 * prefix, the new country ("" = none). A player whose country changed
 * leaves the old country's zset. Returns 0 when a newer version was
 * already applied, else "=<old country>".
 */
static const char update_script[] =
	"local v = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') "
	"if v >= tonumber(ARGV[2]) then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"local old = redis.call('HGET', KEYS[2], ARGV[1]) "
	"local occ = old and string.match(old, '^([^\\31]*)') or '' "
	"if occ ~= '' and occ ~= ARGV[6] then redis.call('ZREM', ARGV[5] .. occ, ARGV[1]) end "
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[4]) "
	"for i = 3, #KEYS do redis.call('ZADD', KEYS[i], ARGV[3], ARGV[1]) end "
	"return '=' .. occ";

/* rebuild: entries that a concurrent update has not written yet */
static const char fill_script[] =
	"for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end "
	"return 1";

static double elo_score(int elo, long long ms)
{
	long long e = elo + 1000;
	if (e < 0)
		e = 0;
	if (e > 8191)
		e = 8191;
	long long t = ms - RANK_MS_BASE;
	if (t < 0)
		t = 0;
	if (t > (1LL << RANK_MS_BITS) - 1)
		t = (1LL << RANK_MS_BITS) - 1;
	return (double)(((8191 - e) << RANK_MS_BITS) | t);
}

static void group_name(const struct board_id *b, char *buf, size_t n)
{
	snprintf(buf, n, "%s", b->season);
}

static void zkey(char *buf, size_t n, long long epoch, const struct board_id *b, const char *cc)
{
	char scope[16];
	if (cc != NULL && cc[0] != '\0')
		snprintf(scope, sizeof(scope), "cc:%s", cc);
	else
		snprintf(scope, sizeof(scope), "global");
	snprintf(buf, n, "lb:%lld:z:%s:%s", epoch, b->season, scope);
}

/* the group's entries hash: player id → packed entry (entry.h) */
static void ekey(char *buf, size_t n, long long epoch, const char *season)
{
	snprintf(buf, n, "lb:%lld:e:%s", epoch, season);
}

/* Season boards show the season's record only: the all-time extras stay 0. */
static bool pack_for(char *buf, size_t n, const char *season, struct board_entry *e)
{
	if (strcmp(season, "all-time") != 0)
		e->peak_elo = e->lowest_elo = e->current_streak = e->best_win_streak = 0;
	return entry_pack(buf, n, e);
}

static void group_key(char *buf, size_t n, long long epoch, const char *what,
		      const struct board_id *b)
{
	char g[96];
	group_name(b, g, sizeof(g));
	snprintf(buf, n, "lb:%lld:%s:%s", epoch, what, g);
}

static long long reply_int(const redisReply *r)
{
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return atoll(r->str);
	return r->type == REDIS_REPLY_NIL ? 0 : -1;
}

/* Read (and cache) the epoch; bump it first when a previous update failed. */
static enum rp_err epoch_get(struct app *app, long long *epoch)
{
	enum rp_err err;
	if (cache_dirty) {
		const char *argv[] = {"INCR", "lb:epoch"};
		redisReply *r = rcache_command(app->redis, &err, 2, argv, NULL);
		if (r == NULL)
			return RP_EUNAVAIL;
		cached_epoch = reply_int(r);
		freeReplyObject(r);
		cache_dirty = 0;
		log_warn("leaderboard cache invalidated after a failed update (epoch %lld)", cached_epoch);
	}
	if (cached_epoch < 0) {
		const char *argv[] = {"GET", "lb:epoch"};
		redisReply *r = rcache_command(app->redis, &err, 2, argv, NULL);
		if (r == NULL)
			return RP_EUNAVAIL;
		cached_epoch = reply_int(r);
		freeReplyObject(r);
	}
	*epoch = cached_epoch < 0 ? 0 : cached_epoch;
	return RP_OK;
}

/* ------------------------------------------------------------------ rebuild */

struct zadd_batch {
	char key[128];
	const char **argv;
	size_t *lens;
	int argc;
};

static struct zadd_batch *batch_for(struct arena *a, struct zadd_batch *batches, int *nb, int max,
				    const char *key, int cap)
{
	for (int i = 0; i < *nb; i++)
		if (strcmp(batches[i].key, key) == 0)
			return &batches[i];
	if (*nb == max)
		return NULL;
	struct zadd_batch *b = &batches[(*nb)++];
	snprintf(b->key, sizeof(b->key), "%s", key);
	b->argv = arena_calloc(a, (size_t)cap * 2 + 3, sizeof(char *));
	b->lens = arena_calloc(a, (size_t)cap * 2 + 3, sizeof(size_t));
	if (b->argv == NULL || b->lens == NULL)
		return NULL;
	b->argv[0] = "ZADD";
	b->argv[1] = b->key;
	b->argv[2] = "NX";
	b->argc = 3;
	return b;
}

static enum rp_err flush_batches(struct app *app, struct zadd_batch *batches, int nb,
				 struct arena *a, const char *boards_key)
{
	for (int i = 0; i < nb; i++) {
		if (batches[i].argc <= 3)
			continue;
		for (int k = 0; k < batches[i].argc; k++)
			batches[i].lens[k] = strlen(batches[i].argv[k]);
		enum rp_err err;
		redisReply *r = rcache_command(app->redis, &err, batches[i].argc, batches[i].argv,
					       batches[i].lens);
		if (r != NULL)
			freeReplyObject(r);
		if (err != RP_OK)
			return RP_EUNAVAIL;
		const char *argv[] = {"SADD", boards_key, batches[i].key};
		r = rcache_command(app->redis, &err, 3, argv, NULL);
		if (r != NULL)
			freeReplyObject(r);
		if (err != RP_OK)
			return RP_EUNAVAIL;
		batches[i].argc = 3;
	}
	(void)a;
	return RP_OK;
}

/* Delete the zsets of a group (listed in its boards set) and its entries. */
static enum rp_err drop_group(struct app *app, long long epoch, const struct board_id *b,
			      const char *boards_key)
{
	enum rp_err err;
	char entries[160];
	ekey(entries, sizeof(entries), epoch, b->season);
	const char *unlink_e[] = {"UNLINK", entries};
	redisReply *ue = rcache_command(app->redis, &err, 2, unlink_e, NULL);
	if (ue != NULL)
		freeReplyObject(ue);
	const char *argv[] = {"SMEMBERS", boards_key};
	redisReply *r = rcache_command(app->redis, &err, 2, argv, NULL);
	if (r == NULL)
		return RP_EUNAVAIL;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const char *del[] = {"UNLINK", r->element[i]->str};
		redisReply *d = rcache_command(app->redis, &err, 2, del, NULL);
		if (d != NULL)
			freeReplyObject(d);
	}
	freeReplyObject(r);
	const char *del[] = {"UNLINK", boards_key};
	r = rcache_command(app->redis, &err, 2, del, NULL);
	if (r != NULL)
		freeReplyObject(r);
	return err == RP_OK ? RP_OK : RP_EUNAVAIL;
}

#define MAX_BATCHES 300

static enum rp_err rebuild_elo_group(struct app *app, long long epoch, const struct board_id *b,
				     const char *boards_key)
{
	struct arena *a = arena_new(1 << 20);
	if (a == NULL)
		return RP_ENOMEM;
	enum rp_err err = RP_OK;
	char after[40] = "00000000-0000-0000-0000-000000000000";
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", REBUILD_BATCH);
	for (;;) {
		arena_reset(a);
		const char *params[] = {b->season, after, lim};
		PGresult *r = db_query(app->db, STMT_BOARD_ALL, params, &err);
		if (r == NULL)
			break;
		int rows = PQntuples(r);
		struct zadd_batch *batches = arena_calloc(a, MAX_BATCHES, sizeof(*batches));
		int nb = 0;
		if (batches == NULL) {
			PQclear(r);
			err = RP_ENOMEM;
			break;
		}
		char gk[128];
		zkey(gk, sizeof(gk), epoch, b, NULL);
		/* EVAL fill_script 1 <entries> id entry id entry ... */
		const char **fill = arena_calloc(a, (size_t)rows * 2 + 4, sizeof(char *));
		size_t *fill_len = arena_calloc(a, (size_t)rows * 2 + 4, sizeof(size_t));
		char ek[160];
		ekey(ek, sizeof(ek), epoch, b->season);
		int nfill = 0;
		if (fill == NULL || fill_len == NULL)
			err = RP_ENOMEM;
		else {
			fill[nfill++] = "EVAL";
			fill[nfill++] = fill_script;
			fill[nfill++] = "1";
			fill[nfill++] = ek;
		}
		for (int i = 0; i < rows && err == RP_OK; i++) {
			struct board_entry e;
			board_entry_from_row(a, r, i, &e);
			char *packed = arena_alloc(a, ENTRY_TEXT_MAX);
			const char *id = e.player_id;
			double s = elo_score(e.elo, e.reached_ms);
			const char *score = arena_printf(a, "%.17g", s);
			const char *cc = e.country_code;
			char ck[128];
			struct zadd_batch *g = batch_for(a, batches, &nb, MAX_BATCHES, gk, rows);
			struct zadd_batch *c = NULL;
			if (cc != NULL) {
				zkey(ck, sizeof(ck), epoch, b, cc);
				c = batch_for(a, batches, &nb, MAX_BATCHES, ck, rows);
			}
			if (g == NULL || id == NULL || score == NULL || packed == NULL ||
			    (cc != NULL && c == NULL)) {
				err = RP_ENOMEM;
				break;
			}
			if (!pack_for(packed, ENTRY_TEXT_MAX, b->season, &e)) {
				log_error("leaderboard rebuild: entry of %s cannot be packed", id);
				err = RP_EINTERNAL;
				break;
			}
			g->argv[g->argc++] = score;
			g->argv[g->argc++] = id;
			if (c != NULL) {
				c->argv[c->argc++] = score;
				c->argv[c->argc++] = id;
			}
			fill[nfill++] = id;
			fill[nfill++] = packed;
		}
		if (err == RP_OK && nfill > 4) {
			for (int k = 0; k < nfill; k++)
				fill_len[k] = strlen(fill[k]);
			redisReply *fr = rcache_command(app->redis, &err, nfill, fill, fill_len);
			if (fr != NULL)
				freeReplyObject(fr);
			if (err != RP_OK)
				err = RP_EUNAVAIL;
		}
		if (rows > 0)
			snprintf(after, sizeof(after), "%s", PQgetvalue(r, rows - 1, 0));
		PQclear(r);
		if (err == RP_OK)
			err = flush_batches(app, batches, nb, a, boards_key);
		if (err != RP_OK || rows < REBUILD_BATCH)
			break;
	}
	arena_free(a);
	return err;
}

/*
 * Build the group of board b unless someone else is. RP_OK when built,
 * RP_EUNAVAIL when not possible now (caller uses PostgreSQL).
 */
static enum rp_err ensure_built(struct app *app, long long epoch, const struct board_id *b)
{
	char lock[160], ready[160], boards[160];
	group_key(lock, sizeof(lock), epoch, "build", b);
	group_key(ready, sizeof(ready), epoch, "ready", b);
	group_key(boards, sizeof(boards), epoch, "boards", b);
	enum rp_err err;
	const char *argv[] = {"SET", lock, "1", "NX", "EX", REBUILD_LOCK_S};
	redisReply *r = rcache_command(app->redis, &err, 6, argv, NULL);
	bool got = r != NULL && r->type == REDIS_REPLY_STATUS;
	if (r != NULL)
		freeReplyObject(r);
	if (!got)
		return RP_EUNAVAIL;
	/* Another worker may have finished building it since this one asked:
	 * rebuilding a ready group would drop keys that readers are using. */
	const char *exists[] = {"EXISTS", ready};
	r = rcache_command(app->redis, &err, 2, exists, NULL);
	bool built = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	if (r != NULL)
		freeReplyObject(r);
	if (built || err != RP_OK) {
		const char *del[] = {"DEL", lock};
		redisReply *d = rcache_command(app->redis, &err, 2, del, NULL);
		if (d != NULL)
			freeReplyObject(d);
		return built ? RP_OK : RP_EUNAVAIL;
	}
	long long t0 = clock_us();
	err = drop_group(app, epoch, b, boards);
	if (err == RP_OK)
		err = rebuild_elo_group(app, epoch, b, boards);
	if (err == RP_OK) {
		struct rcache_cmd cmds[3] = {
			{2, {"SET", ready}, {0}},
			{3, {"SADD", "lb:groups", NULL}, {0}},
			{2, {"DEL", lock}, {0}},
		};
		char member[200];
		snprintf(member, sizeof(member), "%lld|%s", epoch, ready);
		cmds[1].argv[2] = member;
		cmds[0].argc = 3;
		cmds[0].argv[2] = "1";
		redisReply *rep[3];
		err = rcache_pipeline(app->redis, 3, cmds, rep);
		rcache_free_replies(3, rep);
		log_info("leaderboard group %s rebuilt in %lld ms", ready, (clock_us() - t0) / 1000);
	} else {
		const char *del[] = {"DEL", lock};
		redisReply *d = rcache_command(app->redis, &err, 2, del, NULL);
		if (d != NULL)
			freeReplyObject(d);
		err = RP_EUNAVAIL;
	}
	return err;
}

/*
 * A reader that finds a group missing does not build it while its client
 * waits (a million-player board takes seconds): it answers from PostgreSQL
 * and leaves the build for after the response (ranks_after_response).
 */
static struct {
	bool pending;
	long long epoch;
	struct board_id board;
} build_request;

static void schedule_build(long long epoch, const struct board_id *b)
{
	if (build_request.pending)
		return;
	build_request.pending = true;
	build_request.epoch = epoch;
	build_request.board = *b;
}

void ranks_after_response(struct app *app)
{
	if (!build_request.pending)
		return;
	build_request.pending = false;
	if (ensure_built(app, build_request.epoch, &build_request.board) != RP_OK)
		log_debug("leaderboard build skipped (another worker is building, or redis is away)");
}

/* --------------------------------------------------------------------- reads */

static enum rp_err ready_epoch(struct app *app, const struct board_id *b, long long *epoch)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (epoch_get(app, epoch) != RP_OK)
			return RP_EUNAVAIL;
		char ready[160];
		group_key(ready, sizeof(ready), *epoch, "ready", b);
		struct rcache_cmd cmds[2] = {{2, {"GET", "lb:epoch"}, {0}}, {2, {"EXISTS", ready}, {0}}};
		redisReply *rep[2];
		if (rcache_pipeline(app->redis, 2, cmds, rep) != RP_OK)
			return RP_EUNAVAIL;
		long long e = reply_int(rep[0]);
		bool is_ready = reply_int(rep[1]) == 1;
		rcache_free_replies(2, rep);
		if ((e < 0 ? 0 : e) != *epoch) {
			cached_epoch = e;
			continue;
		}
		if (is_ready)
			return RP_OK;
		schedule_build(*epoch, b);
		return RP_EUNAVAIL;
	}
	return RP_EUNAVAIL;
}

enum rp_err ranks_position_of(struct app *app, const struct board_id *b, const char *player_id,
			      long *pos)
{
	long long epoch;
	if (ready_epoch(app, b, &epoch) != RP_OK)
		return RP_EUNAVAIL;
	char z[160];
	zkey(z, sizeof(z), epoch, b, b->country);
	const char *argv[] = {"ZRANK", z, player_id};
	enum rp_err err;
	redisReply *r = rcache_command(app->redis, &err, 3, argv, NULL);
	if (r == NULL)
		return RP_EUNAVAIL;
	err = r->type == REDIS_REPLY_INTEGER ? RP_OK : RP_ENOTFOUND;
	*pos = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
	freeReplyObject(r);
	return err;
}

enum rp_err ranks_position_after(struct app *app, const struct board_id *b, int value,
				 long long ms, const char *id, long *pos)
{
	long long epoch;
	if (ready_epoch(app, b, &epoch) != RP_OK)
		return RP_EUNAVAIL;
	char z[160], excl[40], incl[40];
	zkey(z, sizeof(z), epoch, b, b->country);
	double s = elo_score(value, ms);
	snprintf(excl, sizeof(excl), "(%.17g", s);
	snprintf(incl, sizeof(incl), "%.17g", s);
	/* members strictly ahead by score, then equal scores ordered by member */
	struct rcache_cmd cmds[2] = {
		{4, {"ZCOUNT", z, "-inf", excl}, {0}},
		{8, {"ZRANGE", z, incl, incl, "BYSCORE", "LIMIT", "0", "10000"}, {0}},
	};
	redisReply *rep[2];
	if (rcache_pipeline(app->redis, 2, cmds, rep) != RP_OK)
		return RP_EUNAVAIL;
	long p = (long)reply_int(rep[0]);
	for (size_t i = 0; rep[1]->type == REDIS_REPLY_ARRAY && i < rep[1]->elements; i++)
		if (strcmp(rep[1]->element[i]->str, id) <= 0)
			p++;
	rcache_free_replies(2, rep);
	*pos = p;
	return RP_OK;
}

/*
 * Reads answered by Redis alone, each in one round trip: a Lua script
 * finds the epoch, checks the group is ready and returns ranks, entries,
 * the board's size and seq together. Reply: {epoch, ready, ...}.
 */
#define READ_PROLOGUE                                                   \
	"local e = redis.call('GET', 'lb:epoch') or '0' "               \
	"local p = 'lb:' .. e .. ':' "                                  \
	"if redis.call('EXISTS', p .. 'ready:' .. ARGV[1]) == 0 then return {e, 0} end " \
	"local z = p .. 'z:' .. ARGV[1] .. ':' .. ARGV[2] "

/* ARGV: season, scope, start, stop, seq key → {e, 1, total, seq, id, entry, ...} */
static const char page_lua[] =
	READ_PROLOGUE
	"local ids = redis.call('ZRANGE', z, ARGV[3], ARGV[4]) "
	"local out = {e, 1, redis.call('ZCARD', z), redis.call('GET', ARGV[5]) or ''} "
	"if #ids > 0 then "
	"  local ents = redis.call('HMGET', p .. 'e:' .. ARGV[1], unpack(ids)) "
	"  for i = 1, #ids do out[#out + 1] = ids[i]; out[#out + 1] = ents[i] or '' end "
	"end "
	"return out";

/* ARGV: season, scope, player, radius, seq key → {e, 1, total, seq, first, id, entry, ...}:
 * 2·radius+1 entries from rank−radius (or the top); first is -1 when the
 * player is not on the board. */
static const char around_lua[] =
	READ_PROLOGUE
	"local out = {e, 1, redis.call('ZCARD', z), redis.call('GET', ARGV[5]) or '', -1} "
	"local r = redis.call('ZRANK', z, ARGV[3]) "
	"if not r then return out end "
	"local first = r - tonumber(ARGV[4]) "
	"if first < 0 then first = 0 end "
	"out[5] = first "
	"local ids = redis.call('ZRANGE', z, first, first + 2 * tonumber(ARGV[4])) "
	"local ents = redis.call('HMGET', p .. 'e:' .. ARGV[1], unpack(ids)) "
	"for i = 1, #ids do out[#out + 1] = ids[i]; out[#out + 1] = ents[i] or '' end "
	"return out";

/* ARGV: "all-time", "global", player, seq key → {e, 1, entry, global rank, country rank, seq};
 * ranks are -1 when absent, entry '' when the player has none. */
static const char player_lua[] =
	READ_PROLOGUE
	"local ent = redis.call('HGET', p .. 'e:' .. ARGV[1], ARGV[3]) "
	"if not ent then return {e, 1, ''} end "
	"local g = redis.call('ZRANK', z, ARGV[3]) "
	"local cc = string.match(ent, '^([^\\31]*)') "
	"local c = false "
	"if cc ~= '' then c = redis.call('ZRANK', p .. 'z:' .. ARGV[1] .. ':cc:' .. cc, ARGV[3]) end "
	"return {e, 1, ent, g or -1, c or -1, redis.call('GET', ARGV[4]) or ''}";

/* Loaded once per worker, then called by SHA1 (rcache_eval). */
static struct rcache_script page_script = {page_lua, ""};
static struct rcache_script around_script = {around_lua, ""};
static struct rcache_script player_script = {player_lua, ""};

/* The board's scope and seq key, as the page and around scripts take them. */
struct board_args {
	char scope[16];
	char seqkey[160];
};

static void board_args_of(const struct board_id *b, struct board_args *k)
{
	char chan[120];
	if (b->country[0])
		snprintf(k->scope, sizeof(k->scope), "cc:%s", b->country);
	else
		snprintf(k->scope, sizeof(k->scope), "global");
	snprintf(k->seqkey, sizeof(k->seqkey), "seq:%s", board_channel(b, chan, sizeof(chan)));
}

/*
 * Run a read script. RP_OK with *reply (at least 3 elements) when the
 * group is ready; RP_EUNAVAIL when Redis cannot answer or the group is
 * missing (its build is scheduled) — the caller falls back to PostgreSQL.
 */
static enum rp_err read_script(struct app *app, const struct board_id *b,
			       struct rcache_script *script, int argc, const char **args,
			       redisReply **reply)
{
	enum rp_err err;
	redisReply *r = rcache_eval(app->redis, &err, script, argc, args);
	if (r == NULL)
		return RP_EUNAVAIL;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
		log_error("leaderboard read script failed: %s",
			  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return RP_EUNAVAIL;
	}
	long long epoch = reply_int(r->element[0]);
	cached_epoch = epoch < 0 ? 0 : epoch;
	if (reply_int(r->element[1]) != 1) {
		freeReplyObject(r);
		schedule_build(cached_epoch, b);
		return RP_EUNAVAIL;
	}
	*reply = r;
	return RP_OK;
}

/*
 * A page script's reply ({e, 1, total, seq, ...}): the (id, entry) pairs from
 * element k, ranked from first_rank, with the board's total and seq (a seq
 * of '' — no message yet — reads as 0). RP_ECONFLICT when an entry is missing.
 */
static enum rp_err reply_to_page(struct arena *a, const redisReply *r, size_t k, long first_rank,
				 struct board_page *out)
{
	size_t n = (r->elements - k) / 2;
	out->count = 0;
	out->entries = arena_calloc(a, n ? n : 1, sizeof(struct board_entry));
	if (out->entries == NULL)
		return RP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const redisReply *id = r->element[k + 2 * i], *ent = r->element[k + 2 * i + 1];
		struct board_entry *e = &out->entries[i];
		e->player_id = arena_strndup(a, id->str, id->len);
		e->rank = first_rank + (long)i;
		if (e->player_id == NULL || ent->type != REDIS_REPLY_STRING ||
		    !entry_unpack(a, ent->str, ent->len, e))
			return RP_ECONFLICT; /* Redis lost an entry: answer from PostgreSQL */
		out->count++;
	}
	out->total = reply_int(r->element[2]);
	out->seq = reply_int(r->element[3]);
	out->cached = true;
	return RP_OK;
}

enum rp_err ranks_read_page(struct app *app, struct arena *a, const struct board_id *b,
			    long offset, int limit, struct board_page *out)
{
	struct board_args k;
	char start[24], stop[24];
	board_args_of(b, &k);
	snprintf(start, sizeof(start), "%ld", offset);
	snprintf(stop, sizeof(stop), "%ld", offset + limit - 1);
	const char *args[] = {b->season, k.scope, start, stop, k.seqkey};
	redisReply *r;
	enum rp_err err = read_script(app, b, &page_script, 5, args, &r);
	if (err != RP_OK)
		return err;
	err = r->elements >= 4 ? reply_to_page(a, r, 4, offset + 1, out) : RP_EUNAVAIL;
	freeReplyObject(r);
	return err;
}

enum rp_err ranks_read_around(struct app *app, struct arena *a, const struct board_id *b,
			      const char *player_id, int radius, struct board_page *out,
			      struct board_entry *me)
{
	struct board_args k;
	char rad[16];
	board_args_of(b, &k);
	snprintf(rad, sizeof(rad), "%d", radius);
	const char *args[] = {b->season, k.scope, player_id, rad, k.seqkey};
	redisReply *r;
	enum rp_err err = read_script(app, b, &around_script, 5, args, &r);
	if (err != RP_OK)
		return err;
	long long first = r->elements >= 5 ? reply_int(r->element[4]) : -2;
	if (first == -2)
		err = RP_EUNAVAIL;
	else if (first < 0)
		err = RP_ENOTFOUND;
	else
		err = reply_to_page(a, r, 5, (long)first + 1, out);
	if (err == RP_OK) {
		err = RP_ECONFLICT;
		for (int i = 0; i < out->count; i++)
			if (strcmp(out->entries[i].player_id, player_id) == 0) {
				*me = out->entries[i];
				err = RP_OK;
			}
	}
	freeReplyObject(r);
	return err;
}

enum rp_err ranks_read_player(struct app *app, struct arena *a, const char *player_id,
			      struct board_entry *e, long *global_rank, long *country_rank,
			      long long *seq)
{
	struct board_id b;
	board_id_init(&b, PERIOD_ALL, NULL, NULL);
	const char *args[] = {b.season, "global", player_id, "seq:leaderboard"};
	redisReply *r;
	enum rp_err err = read_script(app, &b, &player_script, 4, args, &r);
	if (err != RP_OK)
		return err;
	memset(e, 0, sizeof(*e));
	e->player_id = player_id;
	if (r->elements != 6 || r->element[2]->type != REDIS_REPLY_STRING ||
	    !entry_unpack(a, r->element[2]->str, r->element[2]->len, e))
		err = RP_ENOTFOUND; /* not on the board: the caller asks PostgreSQL */
	else {
		long long g = reply_int(r->element[3]), c = reply_int(r->element[4]);
		*global_rank = g >= 0 ? (long)g + 1 : -1;
		*country_rank = c >= 0 ? (long)c + 1 : -1;
		*seq = reply_int(r->element[5]); /* '' (no message yet) reads as 0 */
	}
	freeReplyObject(r);
	return err;
}

long long ranks_seq(struct app *app, const char *channel)
{
	char key[160];
	snprintf(key, sizeof(key), "seq:%s", channel);
	const char *argv[] = {"GET", key};
	enum rp_err err;
	redisReply *r = rcache_command(app->redis, &err, 2, argv, NULL);
	long long v = r != NULL && err == RP_OK ? reply_int(r) : -1;
	if (r != NULL)
		freeReplyObject(r);
	return v;
}

/* -------------------------------------------------------------------- writes */

#define MAX_UPDATE_CMDS 32

/* A pipeline whose arguments are copied into fixed storage. */
struct cmdbuf {
	struct rcache_cmd cmds[MAX_UPDATE_CMDS];
	char text[MAX_UPDATE_CMDS][RCACHE_CMD_MAX_ARGS][160];
	char entry[MAX_UPDATE_CMDS][ENTRY_TEXT_MAX]; /* packed entries (update_script) */
	size_t n;
};

/* The worker's one command buffer (large: kept off the stack). */
static struct cmdbuf *cmdbuf_take(void)
{
	static struct cmdbuf cb;
	cb.n = 0;
	return &cb;
}

static struct rcache_cmd *cmd_begin(struct cmdbuf *cb)
{
	if (cb->n == MAX_UPDATE_CMDS)
		return NULL;
	struct rcache_cmd *c = &cb->cmds[cb->n++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* Append one argument; long strings (scripts) must be static and are not copied. */
static void cmd_arg(struct cmdbuf *cb, struct rcache_cmd *c, const char *arg, bool is_static)
{
	if (c == NULL)
		return;
	if (c->argc == RCACHE_CMD_MAX_ARGS) {
		/* a programming error: the command would run without this argument */
		log_error("leaderboard: redis command over %d arguments", RCACHE_CMD_MAX_ARGS);
		cache_dirty = 1;
		return;
	}
	if (is_static) {
		c->argv[c->argc++] = arg;
		return;
	}
	char *slot = cb->text[c - cb->cmds][c->argc];
	size_t n = strnlen(arg, sizeof(cb->text[0][0]) - 1);
	memcpy(slot, arg, n);
	slot[n] = '\0';
	c->argv[c->argc++] = slot;
}

/* The entry a rank_update describes. */
static void update_entry(const struct rank_update *u, struct board_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->player_id = u->player_id;
	e->username = u->username;
	e->display_name = u->display_name;
	e->country_code = u->country;
	e->elo = u->elo;
	e->games = u->rec.games_played;
	e->wins = u->rec.wins;
	e->losses = u->rec.losses;
	e->draws = u->rec.draws;
	e->change = u->change;
	e->reached_ms = u->reached_ms;
	e->version = u->version;
	e->peak_elo = u->rec.peak_elo;
	e->lowest_elo = u->rec.lowest_elo;
	e->current_streak = u->rec.current_streak;
	e->best_win_streak = u->rec.best_win_streak;
}

/* The guarded update of one player's entry and ranks on one season's boards. */
static void add_entry_update(struct cmdbuf *cb, long long epoch, const char *season,
			     const struct board_entry *entry, long long version)
{
	struct board_id b;
	board_id_init(&b, strcmp(season, "all-time") == 0 ? PERIOD_ALL : PERIOD_SEASON, season, NULL);
	char buf[160];
	struct board_entry e = *entry;
	char *packed = cb->entry[cb->n];
	struct rcache_cmd *c = cmd_begin(cb);
	if (c == NULL || !pack_for(packed, ENTRY_TEXT_MAX, season, &e)) {
		if (c != NULL)
			cb->n--;
		cache_dirty = 1; /* the boards would miss this player: rebuild them */
		return;
	}
	const char *cc = entry->country_code;
	cmd_arg(cb, c, "EVAL", true);
	cmd_arg(cb, c, update_script, true);
	cmd_arg(cb, c, cc ? "4" : "3", true);
	snprintf(buf, sizeof(buf), "lb:%lld:ver:%s", epoch, season);
	cmd_arg(cb, c, buf, false);
	ekey(buf, sizeof(buf), epoch, season);
	cmd_arg(cb, c, buf, false);
	zkey(buf, sizeof(buf), epoch, &b, NULL);
	cmd_arg(cb, c, buf, false);
	if (cc != NULL) {
		zkey(buf, sizeof(buf), epoch, &b, cc);
		cmd_arg(cb, c, buf, false);
	}
	cmd_arg(cb, c, entry->player_id, false);
	snprintf(buf, sizeof(buf), "%lld", version);
	cmd_arg(cb, c, buf, false);
	snprintf(buf, sizeof(buf), "%.17g", elo_score(entry->elo, entry->reached_ms));
	cmd_arg(cb, c, buf, false);
	cmd_arg(cb, c, packed, true);
	snprintf(buf, sizeof(buf), "lb:%lld:z:%s:cc:", epoch, season);
	cmd_arg(cb, c, buf, false);
	cmd_arg(cb, c, cc ? cc : "", false);
}

static void add_elo_update(struct cmdbuf *cb, long long epoch, const char *season,
			   const struct rank_update *u)
{
	struct board_entry e;
	update_entry(u, &e);
	add_entry_update(cb, epoch, season, &e, u->version);
}

static void add_zrank(struct cmdbuf *cb, long long epoch, const char *season, const char *cc,
		      const char *player)
{
	struct board_id b;
	board_id_init(&b, strcmp(season, "all-time") == 0 ? PERIOD_ALL : PERIOD_SEASON, season, NULL);
	char key[160];
	zkey(key, sizeof(key), epoch, &b, cc);
	struct rcache_cmd *c = cmd_begin(cb);
	cmd_arg(cb, c, "ZRANK", true);
	cmd_arg(cb, c, key, false);
	cmd_arg(cb, c, player, false);
}

/* ZRANK of both players on global, country and season boards (6 commands). */
static void add_rank_probes(struct cmdbuf *cb, long long epoch, const struct rank_update ups[2],
			    const char *season)
{
	for (int i = 0; i < 2; i++) {
		add_zrank(cb, epoch, "all-time", NULL, ups[i].player_id);
		add_zrank(cb, epoch, "all-time", ups[i].country ? ups[i].country : "--", ups[i].player_id);
		add_zrank(cb, epoch, season ? season : "--", NULL, ups[i].player_id);
	}
}

static void read_rank_probes(redisReply *const *rep, long (*ranks)[2])
{
	for (int i = 0; i < 2; i++)
		for (int b = 0; b < RANK_BOARDS; b++) {
			redisReply *r = rep[i * RANK_BOARDS + b];
			ranks[b][i] = r != NULL && r->type == REDIS_REPLY_INTEGER ? (long)r->integer + 1 : -1;
		}
}

static void add_incr(struct cmdbuf *cb, const char *channel)
{
	char key[160];
	snprintf(key, sizeof(key), "seq:%s", channel);
	struct rcache_cmd *c = cmd_begin(cb);
	cmd_arg(cb, c, "INCR", true);
	cmd_arg(cb, c, key, false);
}

void ranks_after_result(struct app *app, const struct rank_update ups[2],
			const char *season, const struct rank_update season_ups[2],
			struct rank_seqs *seqs)
{
	for (int b = 0; b < RANK_BOARDS; b++)
		for (int i = 0; i < 2; i++)
			seqs->rank_before[b][i] = seqs->rank_after[b][i] = -1;
	long long epoch;
	cached_epoch = -1; /* writes must target the current epoch: re-read it */
	if (epoch_get(app, &epoch) != RP_OK) {
		cache_dirty = 1;
		return;
	}
	struct cmdbuf *cb = cmdbuf_take();
	/* ranks are only meaningful on complete (ready) groups */
	char ready[160];
	struct rcache_cmd *c = cmd_begin(cb);
	snprintf(ready, sizeof(ready), "lb:%lld:ready:all-time", epoch);
	cmd_arg(cb, c, "EXISTS", true);
	cmd_arg(cb, c, ready, false);
	c = cmd_begin(cb);
	snprintf(ready, sizeof(ready), "lb:%lld:ready:%s", epoch, season ? season : "--");
	cmd_arg(cb, c, "EXISTS", true);
	cmd_arg(cb, c, ready, false);
	size_t first_probe = cb->n;
	add_rank_probes(cb, epoch, ups, season);
	size_t first_update = cb->n;
	for (int i = 0; i < 2; i++) {
		add_elo_update(cb, epoch, "all-time", &ups[i]);
		if (season != NULL && season_ups != NULL)
			add_elo_update(cb, epoch, season, &season_ups[i]);
	}
	size_t probes_after = cb->n;
	add_rank_probes(cb, epoch, ups, season);
	redisReply *rep[MAX_UPDATE_CMDS];
	if (rcache_pipeline(app->redis, cb->n, cb->cmds, rep) != RP_OK) {
		cache_dirty = 1;
		log_warn("leaderboard ranks not updated (redis unavailable); cache will be rebuilt");
		return;
	}
	bool all_ready = reply_int(rep[0]) == 1, season_ready = reply_int(rep[1]) == 1;
	read_rank_probes(rep + first_probe, seqs->rank_before);
	read_rank_probes(rep + probes_after, seqs->rank_after);
	for (int i = 0; i < 2; i++) {
		if (!all_ready)
			seqs->rank_before[RANK_BOARD_GLOBAL][i] = seqs->rank_after[RANK_BOARD_GLOBAL][i] =
				seqs->rank_before[RANK_BOARD_COUNTRY][i] =
					seqs->rank_after[RANK_BOARD_COUNTRY][i] = -1;
		if (!season_ready)
			seqs->rank_before[RANK_BOARD_SEASON][i] = seqs->rank_after[RANK_BOARD_SEASON][i] = -1;
	}
	for (size_t i = first_update; i < probes_after; i++)
		if (rep[i] == NULL || rep[i]->type == REDIS_REPLY_ERROR) {
			cache_dirty = 1;
			log_error("leaderboard rank update failed: %s",
				  rep[i] && rep[i]->str ? rep[i]->str : "no reply");
			break;
		}
	rcache_free_replies(cb->n, rep);
}

void ranks_player_added(struct app *app, const struct rank_update *u)
{
	long long epoch;
	cached_epoch = -1;
	if (epoch_get(app, &epoch) != RP_OK) {
		cache_dirty = 1;
		return;
	}
	struct cmdbuf *cb = cmdbuf_take();
	add_elo_update(cb, epoch, "all-time", u);
	redisReply *rep[1];
	if (cb->n == 0)
		return;
	if (rcache_pipeline(app->redis, cb->n, cb->cmds, rep) != RP_OK) {
		cache_dirty = 1;
		return;
	}
	if (rep[0] == NULL || rep[0]->type == REDIS_REPLY_ERROR)
		cache_dirty = 1;
	rcache_free_replies(cb->n, rep);
	ranks_touch(app, u->country);
}

/* ZREM player from every zset of every ready group of the current epoch. */
void ranks_player_removed(struct app *app, const char *player_id, const char *country)
{
	long long epoch;
	enum rp_err err;
	cached_epoch = -1;
	if (epoch_get(app, &epoch) != RP_OK) {
		cache_dirty = 1;
		return;
	}
	const char *argv[] = {"SMEMBERS", "lb:groups"};
	redisReply *groups = rcache_command(app->redis, &err, 2, argv, NULL);
	if (groups == NULL) {
		cache_dirty = 1;
		return;
	}
	char prefix[32];
	int plen = snprintf(prefix, sizeof(prefix), "%lld|", epoch);
	for (size_t i = 0; groups->type == REDIS_REPLY_ARRAY && i < groups->elements; i++) {
		const char *g = groups->element[i]->str;
		if (strncmp(g, prefix, (size_t)plen) != 0)
			continue;
		/* g = "<epoch>|lb:<epoch>:ready:<group>"  →  boards key lb:<epoch>:boards:<group> */
		const char *ready = strstr(g, ":ready:");
		if (ready == NULL)
			continue;
		char boards[200];
		snprintf(boards, sizeof(boards), "lb:%lld:boards:%s", epoch, ready + 7);
		const char *sm[] = {"SMEMBERS", boards};
		redisReply *keys = rcache_command(app->redis, &err, 2, sm, NULL);
		for (size_t k = 0; keys != NULL && keys->type == REDIS_REPLY_ARRAY && k < keys->elements; k++) {
			const char *zr[] = {"ZREM", keys->element[k]->str, player_id};
			redisReply *x = rcache_command(app->redis, &err, 3, zr, NULL);
			if (x != NULL)
				freeReplyObject(x);
		}
		if (keys != NULL)
			freeReplyObject(keys);
		char entries[200];
		ekey(entries, sizeof(entries), epoch, ready + 7);
		const char *hd[] = {"HDEL", entries, player_id};
		redisReply *x = rcache_command(app->redis, &err, 3, hd, NULL);
		if (x != NULL)
			freeReplyObject(x);
	}
	freeReplyObject(groups);
	ranks_touch(app, country);
}

#define PLAYER_ENTRIES_SEASON_COL 16 /* STMT_PLAYER_ENTRIES: after ENTRY_COLS + ENTRY_RECORD_COLS */

void ranks_player_changed(struct app *app, const char *player_id)
{
	long long epoch;
	cached_epoch = -1;
	if (epoch_get(app, &epoch) != RP_OK) {
		cache_dirty = 1;
		return;
	}
	struct arena *a = arena_new(16384);
	enum rp_err err = RP_ENOMEM;
	const char *params[] = {player_id};
	PGresult *r = a != NULL ? db_query(app->db, STMT_PLAYER_ENTRIES, params, &err) : NULL;
	if (r == NULL || PQntuples(r) > MAX_UPDATE_CMDS) {
		cache_dirty = 1; /* the boards may show the old profile: rebuild them */
		if (r != NULL)
			PQclear(r);
		arena_free(a);
		return;
	}
	struct cmdbuf *cb = cmdbuf_take();
	const char *new_cc = NULL;
	for (int i = 0; i < PQntuples(r); i++) {
		struct board_entry e;
		board_entry_from_row(a, r, i, &e);
		add_entry_update(cb, epoch, PQgetvalue(r, i, PLAYER_ENTRIES_SEASON_COL), &e, e.version);
		new_cc = e.country_code;
	}
	PQclear(r);
	redisReply *rep[MAX_UPDATE_CMDS];
	char old_cc[3] = "";
	if (cb->n > 0 && rcache_pipeline(app->redis, cb->n, cb->cmds, rep) == RP_OK) {
		for (size_t i = 0; i < cb->n; i++) {
			if (rep[i] == NULL || rep[i]->type == REDIS_REPLY_ERROR)
				cache_dirty = 1;
			else if (rep[i]->type == REDIS_REPLY_STRING && rep[i]->len == 3)
				snprintf(old_cc, sizeof(old_cc), "%s", rep[i]->str + 1);
		}
		rcache_free_replies(cb->n, rep);
	} else if (cb->n > 0) {
		cache_dirty = 1;
	}
	/* both country boards changed (ETags and snapshots) */
	ranks_touch(app, new_cc);
	if (old_cc[0] != '\0' && (new_cc == NULL || strcmp(old_cc, new_cc) != 0))
		ranks_touch(app, old_cc);
	arena_free(a);
}

void ranks_touch(struct app *app, const char *country)
{
	struct cmdbuf *cb = cmdbuf_take();
	char chan[64];
	add_incr(cb, "leaderboard");
	if (country != NULL) {
		snprintf(chan, sizeof(chan), "leaderboard/%s", country);
		add_incr(cb, chan);
	}
	redisReply *rep[2];
	if (rcache_pipeline(app->redis, cb->n, cb->cmds, rep) == RP_OK)
		rcache_free_replies(cb->n, rep);
}

enum rp_err ranks_rebuild_all(struct app *app, FILE *out)
{
	enum rp_err err;
	const char *argv[] = {"INCR", "lb:epoch"};
	redisReply *r = rcache_command(app->redis, &err, 2, argv, NULL);
	if (r == NULL) {
		fprintf(out, "rebuild-cache: redis unavailable\n");
		return RP_EUNAVAIL;
	}
	long long epoch = reply_int(r);
	freeReplyObject(r);
	cached_epoch = epoch;
	fprintf(out, "rebuild-cache: new epoch %lld\n", epoch);

	/* build all-time and the current season */
	PGresult *cur = db_query(app->db, STMT_SEASON_CURRENT, NULL, &err);
	if (cur == NULL) {
		fprintf(out, "rebuild-cache: database unavailable\n");
		return err;
	}
	char season[72] = "";
	if (PQntuples(cur) == 1)
		snprintf(season, sizeof(season), "%s", PQgetvalue(cur, 0, 0));
	PQclear(cur);
	struct board_id boards[2];
	int nb = 0;
	board_id_init(&boards[nb++], PERIOD_ALL, "all-time", NULL);
	if (season[0] != '\0')
		board_id_init(&boards[nb++], PERIOD_SEASON, season, NULL);
	for (int i = 0; i < nb; i++) {
		long long t0 = clock_us();
		if ((err = ensure_built(app, epoch, &boards[i])) != RP_OK) {
			fprintf(out, "rebuild-cache: could not build %s\n", boards[i].season);
			return err;
		}
		char g[96];
		group_name(&boards[i], g, sizeof(g));
		fprintf(out, "rebuild-cache: built %s in %lld ms\n", g, (clock_us() - t0) / 1000);
	}
	/* drop the keys of older epochs */
	char cursor[32] = "0";
	long dropped = 0;
	do {
		const char *scan[] = {"SCAN", cursor, "MATCH", "lb:*", "COUNT", "1000"};
		r = rcache_command(app->redis, &err, 6, scan, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r != NULL)
				freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		redisReply *keys = r->element[1];
		for (size_t i = 0; i < keys->elements; i++) {
			const char *k = keys->element[i]->str;
			long long e = strncmp(k, "lb:", 3) == 0 ? atoll(k + 3) : epoch;
			if (strcmp(k, "lb:epoch") == 0 || strcmp(k, "lb:groups") == 0 || e >= epoch)
				continue;
			const char *del[] = {"UNLINK", k};
			redisReply *d = rcache_command(app->redis, &err, 2, del, NULL);
			if (d != NULL)
				freeReplyObject(d);
			dropped++;
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	fprintf(out, "rebuild-cache: dropped %ld keys of older epochs\n", dropped);
	return RP_OK;
}
