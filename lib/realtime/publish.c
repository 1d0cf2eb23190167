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
#include "realtime/outbox.h"
#include "store/matches.h"
#include "store/results.h"

#define MAX_MESSAGES 12

struct batch {
	struct outbox_msg msgs[MAX_MESSAGES];
	size_t n;
};

static void queue(struct batch *b, const char *channel, const char *type, const char *data)
{
	if (channel == NULL || data == NULL || b->n == MAX_MESSAGES)
		return;
	b->msgs[b->n++] = (struct outbox_msg){channel, type, data};
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
	struct batch b = {.n = 0};
	const char *ids[2] = {m->player1_id, m->player2_id};
	const char *match_chan = arena_printf(a, "matches/%s", m->id);
	const char *player_chan[2], *me_chan[2];
	for (int i = 0; i < 2; i++) {
		player_chan[i] = arena_printf(a, "players/%s", ids[i]);
		me_chan[i] = arena_printf(a, "me/%s", ids[i]);
	}

	/* match_completed: the match channel and both player channels */
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
	const char *completed = d.failed ? NULL : d.data;
	queue(&b, match_chan, "match_completed", completed);
	for (int i = 0; i < 2; i++)
		queue(&b, player_chan[i], "match_completed", completed);

	/* rating_changed: each player's public and private channel */
	for (int i = 0; i < 2; i++) {
		struct buf c;
		buf_init(&c, a);
		buf_puts(&c, "{\"matchId\":");
		buf_json_string(&c, m->id);
		buf_puts(&c, ",\"change\":");
		change_json(&c, ids[i], ar->usernames[i], &ar->all[i]);
		rank_or_null(&c, "globalRank", seqs->rank_after[RANK_BOARD_GLOBAL][i]);
		buf_puts(&c, "}");
		const char *changed = c.failed ? NULL : c.data;
		queue(&b, player_chan[i], "rating_changed", changed);
		queue(&b, me_chan[i], "rating_changed", changed);
	}

	/* leaderboard_update: global, the countries involved, the season */
	static const int both[2] = {0, 1};
	queue(&b, "leaderboard", "leaderboard_update",
	      board_data(req, m, ar, seqs, RANK_BOARD_GLOBAL, both, 2));
	for (int i = 0; i < 2; i++) {
		const char *cc = ar->ups[i].country;
		if (cc == NULL || (i == 1 && ar->ups[0].country && strcmp(ar->ups[0].country, cc) == 0))
			continue;
		int on[2], n = 0;
		for (int k = 0; k < 2; k++)
			if (ar->ups[k].country && strcmp(ar->ups[k].country, cc) == 0)
				on[n++] = k;
		queue(&b, arena_printf(a, "leaderboard/%s", cc), "leaderboard_update",
		      board_data(req, m, ar, seqs, RANK_BOARD_COUNTRY, on, n));
	}
	if (ar->has_season)
		queue(&b, arena_printf(a, "leaderboard/season/%s", ar->season), "leaderboard_update",
		      board_data(req, m, ar, seqs, RANK_BOARD_SEASON, both, 2));
	outbox_send(req->app, a, b.msgs, b.n);
}
