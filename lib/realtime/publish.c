/*
 * publish.c — building and sending the realtime messages (see publish.h).
 */
#include "realtime/publish.h"

#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "cache/redis.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "leaderboard/ranks.h"
#include "metrics/metrics.h"
#include "realtime/nchan.h"
#include "store/matches.h"
#include "store/results.h"

#define MAX_CHANNELS 8

/* INCR seq:<channel> for n channels in one round trip; -1 where unknown. */
static void next_seqs(struct app *app, const char *const *channels, size_t n, long long *out)
{
	struct rcache_cmd cmds[MAX_CHANNELS];
	char keys[MAX_CHANNELS][128];
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "seq:%s", channels[i]);
		cmds[i] = (struct rcache_cmd){2, {"INCR", keys[i]}, {0}};
		out[i] = -1;
	}
	redisReply *rep[MAX_CHANNELS];
	if (rcache_pipeline(app->redis, n, cmds, rep) != RP_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (rep[i] != NULL && rep[i]->type == REDIS_REPLY_INTEGER)
			out[i] = rep[i]->integer;
	rcache_free_replies(n, rep);
}

static void send_message(struct request *req, const char *channel, const char *type,
			 long long seq, const char *data)
{
	struct buf b;
	buf_init(&b, req->arena);
	char ts[32];
	time_iso8601(ts);
	buf_printf(&b, "{\"type\":\"%s\",\"channel\":", type);
	buf_json_string(&b, channel);
	if (seq >= 0)
		buf_printf(&b, ",\"seq\":%lld", seq);
	else
		buf_puts(&b, ",\"seq\":null");
	buf_printf(&b, ",\"ts\":\"%s\",\"data\":%s}", ts, data);
	const char *path = arena_printf(req->arena, "/pub/%s", channel);
	int status = 0;
	if (b.failed || path == NULL ||
	    nchan_http(&req->app->nchan, "POST", path, b.data, b.len, NCHAN_TIMEOUT_MS, &status) != RP_OK ||
	    (status != 201 && status != 202)) {
		metrics_count(req->app->metrics, MC_NCHAN_PUBLISH_FAILURES);
		log_warn("realtime publish to %s failed (status %d)", channel, status);
	}
}

static void change_json(struct buf *b, const char *player, const char *username,
			const struct rating_change *c)
{
	buf_puts(b, "{\"playerId\":");
	buf_json_string(b, player);
	buf_puts(b, ",\"username\":");
	buf_json_string(b, username ? username : "");
	buf_printf(b, ",\"before\":%d,\"after\":%d,\"delta\":%d}", c->before, c->after, c->delta);
}

static void rank_or_null(struct buf *b, const char *name, long v)
{
	if (v > 0)
		buf_printf(b, ",\"%s\":%ld", name, v);
	else
		buf_printf(b, ",\"%s\":null", name);
}

/* leaderboard_update data for board index bi and the players shown on it */
static const char *board_data(struct request *req, const struct match *m,
			      const struct applied_ratings *ar, const struct rank_seqs *s, int bi,
			      const int *players, int np)
{
	struct buf b;
	buf_init(&b, req->arena);
	buf_puts(&b, "{\"matchId\":");
	buf_json_string(&b, m->id);
	buf_puts(&b, ",\"entries\":[");
	for (int k = 0; k < np; k++) {
		int i = players[k];
		const struct rating_change *c = bi == RANK_BOARD_SEASON ? &ar->season_changes[i] : &ar->all[i];
		if (k)
			buf_puts(&b, ",");
		buf_puts(&b, "{\"playerId\":");
		buf_json_string(&b, ar->ups[i].player_id);
		buf_puts(&b, ",\"username\":");
		buf_json_string(&b, ar->usernames[i] ? ar->usernames[i] : "");
		buf_printf(&b, ",\"elo\":%d,\"delta\":%d", c->after, c->delta);
		rank_or_null(&b, "rank", s->rank_after[bi][i]);
		rank_or_null(&b, "previousRank", s->rank_before[bi][i]);
		buf_puts(&b, "}");
	}
	buf_puts(&b, "]}");
	return b.failed ? NULL : b.data;
}

void publish_result(struct request *req, const struct match *m, int s1, int s2,
		    const struct applied_ratings *ar, const struct rank_seqs *seqs)
{
	struct arena *a = req->arena;
	const char *ids[2] = {m->player1_id, m->player2_id};
	/* match_completed: match channel and both player channels; rating_changed: player + me */
	const char *chans[7];
	chans[0] = arena_printf(a, "matches/%s", m->id);
	for (int i = 0; i < 2; i++) {
		chans[1 + i] = arena_printf(a, "players/%s", ids[i]);
		chans[3 + i] = arena_printf(a, "me/%s", ids[i]);
	}
	for (int i = 0; i < 5; i++)
		if (chans[i] == NULL)
			return;
	/* player channels carry two messages each: reserve two seqs */
	const char *seq_chans[7] = {chans[0], chans[1], chans[2], chans[1], chans[2], chans[3], chans[4]};
	long long seq[7];
	next_seqs(req->app, seq_chans, 7, seq);

	struct buf d;
	buf_init(&d, a);
	buf_puts(&d, "{\"matchId\":");
	buf_json_string(&d, m->id);
	buf_printf(&d, ",\"player1Score\":%d,\"player2Score\":%d,\"winnerId\":", s1, s2);
	if (s1 == s2)
		buf_puts(&d, "null");
	else
		buf_json_string(&d, s1 > s2 ? ids[0] : ids[1]);
	buf_puts(&d, ",\"ratingChanges\":[");
	change_json(&d, ids[0], ar->usernames[0], &ar->all[0]);
	buf_puts(&d, ",");
	change_json(&d, ids[1], ar->usernames[1], &ar->all[1]);
	buf_puts(&d, "]}");
	if (d.failed)
		return;
	send_message(req, chans[0], "match_completed", seq[0], d.data);
	for (int i = 0; i < 2; i++)
		send_message(req, chans[1 + i], "match_completed", seq[1 + i], d.data);
	for (int i = 0; i < 2; i++) {
		struct buf c;
		buf_init(&c, a);
		buf_puts(&c, "{\"matchId\":");
		buf_json_string(&c, m->id);
		buf_puts(&c, ",\"change\":");
		change_json(&c, ids[i], ar->usernames[i], &ar->all[i]);
		rank_or_null(&c, "globalRank", seqs->rank_after[RANK_BOARD_GLOBAL][i]);
		buf_puts(&c, "}");
		if (c.failed)
			continue;
		send_message(req, chans[1 + i], "rating_changed", seq[3 + i], c.data);
		send_message(req, chans[3 + i], "rating_changed", seq[5 + i], c.data);
	}
	/* leaderboard_update: global, the countries involved, the season */
	static const int both[2] = {0, 1};
	const char *data = board_data(req, m, ar, seqs, RANK_BOARD_GLOBAL, both, 2);
	if (data != NULL)
		send_message(req, "leaderboard", "leaderboard_update", seqs->global, data);
	for (int i = 0; i < 2; i++) {
		const char *cc = ar->ups[i].country;
		if (cc == NULL || (i == 1 && ar->ups[0].country && strcmp(ar->ups[0].country, cc) == 0))
			continue;
		int on[2], n = 0;
		for (int k = 0; k < 2; k++)
			if (ar->ups[k].country && strcmp(ar->ups[k].country, cc) == 0)
				on[n++] = k;
		data = board_data(req, m, ar, seqs, RANK_BOARD_COUNTRY, on, n);
		const char *chan = arena_printf(a, "leaderboard/%s", cc);
		if (data != NULL && chan != NULL)
			send_message(req, chan, "leaderboard_update", seqs->country[i], data);
	}
	if (ar->has_season) {
		data = board_data(req, m, ar, seqs, RANK_BOARD_SEASON, both, 2);
		const char *chan = arena_printf(a, "leaderboard/season/%s", ar->season);
		if (data != NULL && chan != NULL)
			send_message(req, chan, "leaderboard_update", seqs->season, data);
	}
}
