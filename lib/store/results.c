/*
 * results.c — rating application (see results.h).
 *
 * Lock order, everywhere: the match row, then the two player rows by id,
 * then the two current-season entries by player id. Two results that share
 * a player therefore queue on that player's row instead of deadlocking, and
 * the second one computes from the ratings the first one committed: no lost
 * update. The locks are taken by statements of the caller's first batch,
 * in that order, after the match lock; the writes go into its second batch.
 */
#include "store/results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/db.h"
#include "store/matches.h"

void result_tx_init(struct result_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
}

void result_tx_clear(struct result_tx *tx)
{
	PGresult **all[] = {&tx->players, &tx->season, &tx->versions, &tx->entries};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		PQclear(*all[i]);
		*all[i] = NULL;
	}
}

void result_tx_locks(struct result_tx *tx, struct db_batch *b, const char *const *match_param)
{
	db_batch_add(b, STMT_PLAYERS_LOCK_BY_MATCH, match_param, &tx->players);
	db_batch_add(b, STMT_SEASON_ENTRIES_LOCK_BY_MATCH, match_param, &tx->season);
}

/* The locked players; rec[0] = player1, rec[1] = player2. */
static enum rp_err read_players(PGresult *r, struct arena *a, const struct match *m,
				struct rating_record rec[2], const char *country[2],
				const char *username[2], const char *display[2], const char **why)
{
	int found = 0;
	enum rp_err err = RP_OK;
	for (int i = 0; r != NULL && i < PQntuples(r); i++) {
		int slot = strcmp(PQgetvalue(r, i, 0), m->player1_id) == 0 ? 0 : 1;
		if (PQgetvalue(r, i, 11)[0] != 't') {
			*why = "a participant's account is deactivated";
			err = RP_ECONFLICT;
		}
		rec[slot].elo = atoi(PQgetvalue(r, i, 1));
		rec[slot].peak_elo = atoi(PQgetvalue(r, i, 2));
		rec[slot].lowest_elo = atoi(PQgetvalue(r, i, 3));
		rec[slot].games_played = atoi(PQgetvalue(r, i, 4));
		rec[slot].wins = atoi(PQgetvalue(r, i, 5));
		rec[slot].losses = atoi(PQgetvalue(r, i, 6));
		rec[slot].draws = atoi(PQgetvalue(r, i, 7));
		rec[slot].current_streak = atoi(PQgetvalue(r, i, 8));
		rec[slot].best_win_streak = atoi(PQgetvalue(r, i, 9));
		country[slot] = db_text(a, r, i, 10);
		username[slot] = db_text(a, r, i, 12);
		display[slot] = db_text(a, r, i, 13);
		found++;
	}
	if (err == RP_OK && found != 2) {
		*why = "a participant no longer exists";
		err = RP_ECONFLICT;
	}
	return err;
}

/* Current season id (or none) and both players' entries in it. */
static void read_season(PGresult *r, const struct match *m, struct applied_ratings *out,
			struct rating_record rec[2])
{
	out->has_season = r != NULL && PQntuples(r) >= 1;
	if (!out->has_season)
		return;
	snprintf(out->season, sizeof(out->season), "%s", PQgetvalue(r, 0, 0));
	for (int i = 0; i < 2; i++) {
		memset(&rec[i], 0, sizeof(rec[i]));
		rec[i].elo = rec[i].peak_elo = rec[i].lowest_elo = RATING_START;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 1))
			continue;
		int slot = strcmp(PQgetvalue(r, i, 1), m->player1_id) == 0 ? 0 : 1;
		rec[slot].elo = rec[slot].peak_elo = rec[slot].lowest_elo = atoi(PQgetvalue(r, i, 2));
		rec[slot].games_played = atoi(PQgetvalue(r, i, 3));
		rec[slot].wins = atoi(PQgetvalue(r, i, 4));
		rec[slot].losses = atoi(PQgetvalue(r, i, 5));
		rec[slot].draws = atoi(PQgetvalue(r, i, 6));
	}
}

/*
 * The rows a result writes, per table, as PostgreSQL array literals (one
 * element per row, rows in order): players (2), leaderboard entries and
 * rating events (2, or 4 with a season: player1 all-time, player1 season,
 * player2 all-time, player2 season — the order of the former per-row writes).
 */
#define ROWS_MAX 4
struct rows {
	int n;
	const char *player[ROWS_MAX], *season[ROWS_MAX], *country[ROWS_MAX];
	int col[10][ROWS_MAX];
};

/* "{1,2}" */
static const char *int_array(struct arena *a, const int *v, int n)
{
	struct buf b;
	buf_init(&b, a);
	buf_puts(&b, "{");
	for (int i = 0; i < n; i++) {
		if (i)
			buf_puts(&b, ",");
		buf_json_int(&b, v[i]); /* a plain decimal integer, no printf */
	}
	buf_puts(&b, "}");
	return b.failed ? NULL : b.data;
}

/* {"a","b",NULL}: every element quoted (backslash and quote escaped) */
static const char *text_array(struct arena *a, const char *const *v, int n)
{
	struct buf b;
	buf_init(&b, a);
	buf_puts(&b, "{");
	for (int i = 0; i < n; i++) {
		buf_puts(&b, i ? "," : "");
		if (v[i] == NULL) {
			buf_puts(&b, "NULL");
			continue;
		}
		buf_puts(&b, "\"");
		const char *run = v[i], *p = v[i];
		for (; *p; p++)
			if (*p == '"' || *p == '\\') {
				buf_append(&b, run, (size_t)(p - run));
				buf_puts(&b, "\\");
				run = p; /* the character itself follows its backslash */
			}
		buf_append(&b, run, (size_t)(p - run));
		buf_puts(&b, "\"");
	}
	buf_puts(&b, "}");
	return b.failed ? NULL : b.data;
}

/* params[0..ntext) text arrays of the given columns, then ncols int arrays */
static const char *const *array_params(struct arena *a, const char *const *const *texts,
				       int ntext, const struct rows *r, int ncols)
{
	const char **p = arena_calloc(a, (size_t)(ntext + ncols), sizeof(*p));
	for (int i = 0; p != NULL && i < ntext; i++)
		if ((p[i] = text_array(a, texts[i], r->n)) == NULL)
			return NULL;
	for (int i = 0; p != NULL && i < ncols; i++)
		if ((p[ntext + i] = int_array(a, r->col[i], r->n)) == NULL)
			return NULL;
	return p;
}

static void add_player_row(struct rows *r, const char *id, const struct rating_record *rec)
{
	int v[9] = {rec->elo, rec->peak_elo, rec->lowest_elo, rec->games_played, rec->wins,
		    rec->losses, rec->draws, rec->current_streak, rec->best_win_streak};
	r->player[r->n] = id;
	for (int c = 0; c < 9; c++)
		r->col[c][r->n] = v[c];
	r->n++;
}

static void add_entry_row(struct rows *r, const char *season, const struct rank_update *u,
			  const struct rating_record *rec, int delta)
{
	int v[6] = {rec->elo, rec->games_played, rec->wins, rec->losses, rec->draws, delta};
	r->season[r->n] = season;
	r->player[r->n] = u->player_id;
	r->country[r->n] = u->country;
	for (int c = 0; c < 6; c++)
		r->col[c][r->n] = v[c];
	r->n++;
}

static void add_event_row(struct rows *r, const char *season, const char *player,
			  const struct rating_change *c)
{
	r->season[r->n] = season;
	r->player[r->n] = player;
	r->col[0][r->n] = c->before;
	r->col[1][r->n] = c->after;
	r->n++;
}

/* Queue the three statements (players, entries, events). */
static enum rp_err queue_writes(struct result_tx *tx, struct db_batch *b, struct arena *a,
				const struct match *m, const struct rows *players,
				const struct rows *entries, const struct rows *events)
{
	const char *const *pt[] = {players->player};
	const char *const *et[] = {entries->season, entries->player};
	const char *const *vt[] = {events->player, events->season};
	const char *const *pp = array_params(a, pt, 1, players, 9);
	const char *const *ep = array_params(a, et, 2, entries, 6);
	const char *const *vp = array_params(a, vt, 2, events, 2);
	const char **ep2 = arena_calloc(a, 9, sizeof(*ep2));
	const char **vp2 = arena_calloc(a, 5, sizeof(*vp2));
	const char *cc = text_array(a, entries->country, entries->n);
	if (pp == NULL || ep == NULL || vp == NULL || ep2 == NULL || vp2 == NULL || cc == NULL)
		return RP_ENOMEM;
	/* entries: season, player, elo, games, wins, losses, draws, country, delta */
	memcpy(ep2, ep, 7 * sizeof(*ep2));
	ep2[7] = cc;
	ep2[8] = ep[7];
	/* events: match, player, season, before, after */
	vp2[0] = m->id;
	memcpy(vp2 + 1, vp, 4 * sizeof(*vp2));
	db_batch_add(b, STMT_PLAYERS_APPLY, pp, &tx->versions);
	db_batch_add(b, STMT_ENTRIES_APPLY, ep2, &tx->entries);
	db_batch_add(b, STMT_EVENTS_INSERT, vp2, NULL);
	return RP_OK;
}

enum rp_err result_tx_rate(struct result_tx *tx, struct db_batch *b, struct arena *a,
			   const struct match *m, enum rating_outcome outcome1,
			   struct applied_ratings *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	struct rating_record rec[2], srec[2];
	const char *country[2] = {NULL, NULL}, *display[2] = {NULL, NULL};
	const char *ids[2] = {m->player1_id, m->player2_id};
	enum rating_outcome outcome[2] = {outcome1, rating_opposite(outcome1)};
	memset(rec, 0, sizeof(rec));
	enum rp_err err = read_players(tx->players, a, m, rec, country, out->usernames, display, why);
	if (err != RP_OK)
		return err;
	read_season(tx->season, m, out, srec);

	rating_compute(&rec[0], &rec[1], outcome1, &out->all[0], &out->all[1]);
	if (out->has_season)
		rating_compute(&srec[0], &srec[1], outcome1, &out->season_changes[0],
			       &out->season_changes[1]);
	struct rows players = {0}, entries = {0}, events = {0};
	for (int i = 0; i < 2; i++) {
		rating_record_apply(&rec[i], &out->all[i], outcome[i]);
		struct rank_update *u = &out->ups[i];
		u->player_id = ids[i];
		u->country = country[i];
		u->elo = rec[i].elo;
		u->username = out->usernames[i];
		u->display_name = display[i];
		u->rec = rec[i];
		u->change = out->all[i].delta;
		add_player_row(&players, ids[i], &rec[i]);
		add_entry_row(&entries, "all-time", u, &rec[i], out->all[i].delta);
		add_event_row(&events, "all-time", ids[i], &out->all[i]);
		if (!out->has_season)
			continue;
		rating_record_apply(&srec[i], &out->season_changes[i], outcome[i]);
		struct rank_update *su = &out->season_ups[i];
		*su = *u;
		su->elo = srec[i].elo;
		su->rec = srec[i];
		su->change = out->season_changes[i].delta;
		add_entry_row(&entries, out->season, su, &srec[i], out->season_changes[i].delta);
		add_event_row(&events, out->season, ids[i], &out->season_changes[i]);
	}
	return queue_writes(tx, b, a, m, &players, &entries, &events);
}

void result_tx_unrated(struct result_tx *tx, struct arena *a, const struct match *m,
		       struct applied_ratings *out)
{
	memset(out, 0, sizeof(*out));
	struct rating_record rec[2];
	const char *country[2] = {NULL, NULL}, *display[2] = {NULL, NULL};
	const char *why = NULL;
	memset(rec, 0, sizeof(rec));
	/* an unrated record does not need active players: a conflict is ignored */
	(void)read_players(tx->players, a, m, rec, country, out->usernames, display, &why);
	for (int i = 0; i < 2; i++) {
		out->all[i].before = out->all[i].after = rec[i].elo;
		out->all[i].k = 0;
	}
}

/* The bigint in column col of the row whose text columns match keys (ncols of them), or 0. */
static long long returned(PGresult *r, const char *const *keys, int nkeys, int col)
{
	for (int i = 0; r != NULL && i < PQntuples(r); i++) {
		int k = 0;
		while (k < nkeys && strcmp(PQgetvalue(r, i, k), keys[k]) == 0)
			k++;
		if (k == nkeys)
			return atoll(PQgetvalue(r, i, col));
	}
	return 0;
}

enum rp_err result_tx_finish(struct result_tx *tx, struct applied_ratings *out)
{
	for (int i = 0; i < 2; i++) {
		const char *id = out->ups[i].player_id;
		const char *all[] = {"all-time", id}, *season[] = {out->season, id};
		out->ups[i].version = returned(tx->versions, &id, 1, 1);
		out->ups[i].reached_ms = returned(tx->entries, all, 2, 2);
		if (out->ups[i].version <= 0)
			return RP_EINTERNAL;
		if (!out->has_season)
			continue;
		out->season_ups[i].version = out->ups[i].version;
		out->season_ups[i].reached_ms = returned(tx->entries, season, 2, 2);
	}
	return RP_OK;
}

const char *result_season_json(struct arena *a, const struct applied_ratings *r, const struct match *m)
{
	if (!r->has_season)
		return NULL;
	const struct rating_change *c = r->season_changes;
	return arena_printf(a,
			    "{\"seasonId\":\"%s\",\"changes\":[{\"playerId\":\"%s\",\"before\":%d,"
			    "\"after\":%d,\"delta\":%d,\"k\":%d},{\"playerId\":\"%s\",\"before\":%d,"
			    "\"after\":%d,\"delta\":%d,\"k\":%d}]}",
			    r->season, m->player1_id, c[0].before, c[0].after, c[0].delta, c[0].k,
			    m->player2_id, c[1].before, c[1].after, c[1].delta, c[1].k);
}
