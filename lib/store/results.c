/*
 * results.c — rating application (see results.h).
 *
 * Lock order, everywhere: the match row, then the two player rows by id,
 * then the two current-season entries by player id. Two results that share
 * a player therefore queue on that player's row instead of deadlocking, and
 * the second one computes from the ratings the first one committed: no lost
 * update.
 */
#include "store/results.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/db.h"
#include "store/matches.h"

static void itoa_(char *buf, size_t n, long long v)
{
	snprintf(buf, n, "%lld", v);
}

/* Lock the two players; rec[0] = player1, rec[1] = player2. */
static enum rp_err lock_players(struct db *db, struct arena *a, const struct match *m,
				struct rating_record rec[2], const char *country[2],
				const char *username[2], const char **why)
{
	const char *params[] = {m->player1_id, m->player2_id};
	enum rp_err err;
	PGresult *r = db_query(db, STMT_PLAYERS_LOCK_PAIR, params, &err);
	if (r == NULL)
		return err;
	int found = 0;
	err = RP_OK;
	for (int i = 0; i < PQntuples(r); i++) {
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
		found++;
	}
	PQclear(r);
	if (err == RP_OK && found != 2) {
		*why = "a participant no longer exists";
		err = RP_ECONFLICT;
	}
	return err;
}

static enum rp_err write_player(struct db *db, const char *id, const struct rating_record *r,
				long long *version)
{
	char v[9][16];
	int vals[9] = {r->elo, r->peak_elo, r->lowest_elo, r->games_played, r->wins,
		       r->losses, r->draws, r->current_streak, r->best_win_streak};
	for (int i = 0; i < 9; i++)
		itoa_(v[i], sizeof(v[i]), vals[i]);
	const char *params[] = {id, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
	enum rp_err err;
	PGresult *res = db_query(db, STMT_PLAYER_APPLY, params, &err);
	if (res == NULL)
		return err;
	*version = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return *version > 0 ? RP_OK : RP_EINTERNAL;
}

static enum rp_err write_entry(struct db *db, const char *season, const char *id,
			       const struct rating_record *r, const char *country, int delta,
			       long long *reached_ms)
{
	char v[6][16];
	int vals[6] = {r->elo, r->games_played, r->wins, r->losses, r->draws, delta};
	for (int i = 0; i < 6; i++)
		itoa_(v[i], sizeof(v[i]), vals[i]);
	const char *params[] = {season, id, v[0], v[1], v[2], v[3], v[4], country, v[5]};
	enum rp_err err;
	PGresult *res = db_query(db, STMT_ENTRY_APPLY, params, &err);
	if (res == NULL)
		return err;
	*reached_ms = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return RP_OK;
}

static enum rp_err write_event(struct db *db, const char *player, const char *match,
			       const char *season, const struct rating_change *c)
{
	char before[16], after[16];
	itoa_(before, sizeof(before), c->before);
	itoa_(after, sizeof(after), c->after);
	const char *params[] = {player, match, season, before, after};
	return db_command(db, STMT_EVENT_INSERT, params);
}

/* Current season id (or none) and both players' entries in it. */
static enum rp_err season_records(struct db *db, const struct match *m,
				  struct applied_ratings *out, struct rating_record rec[2])
{
	enum rp_err err;
	PGresult *r = db_query(db, STMT_SEASON_CURRENT, NULL, &err);
	if (r == NULL)
		return err;
	out->has_season = PQntuples(r) == 1;
	if (out->has_season)
		snprintf(out->season, sizeof(out->season), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!out->has_season)
		return RP_OK;
	for (int i = 0; i < 2; i++) {
		memset(&rec[i], 0, sizeof(rec[i]));
		rec[i].elo = rec[i].peak_elo = rec[i].lowest_elo = RATING_START;
	}
	const char *params[] = {out->season, m->player1_id, m->player2_id};
	r = db_query(db, STMT_ENTRIES_LOCK_PAIR, params, &err);
	if (r == NULL)
		return err;
	for (int i = 0; i < PQntuples(r); i++) {
		int slot = strcmp(PQgetvalue(r, i, 0), m->player1_id) == 0 ? 0 : 1;
		rec[slot].elo = rec[slot].peak_elo = rec[slot].lowest_elo = atoi(PQgetvalue(r, i, 1));
		rec[slot].games_played = atoi(PQgetvalue(r, i, 2));
		rec[slot].wins = atoi(PQgetvalue(r, i, 3));
		rec[slot].losses = atoi(PQgetvalue(r, i, 4));
		rec[slot].draws = atoi(PQgetvalue(r, i, 5));
	}
	PQclear(r);
	return RP_OK;
}

enum rp_err result_apply_ratings(struct db *db, struct arena *a, const struct match *m,
				 enum rating_outcome outcome1, struct applied_ratings *out,
				 const char **why)
{
	memset(out, 0, sizeof(*out));
	struct rating_record rec[2], srec[2];
	const char *country[2] = {NULL, NULL};
	const char *ids[2] = {m->player1_id, m->player2_id};
	enum rating_outcome outcome[2] = {outcome1, rating_opposite(outcome1)};
	memset(rec, 0, sizeof(rec));
	enum rp_err err = lock_players(db, a, m, rec, country, out->usernames, why);
	if (err != RP_OK)
		return err;
	if ((err = season_records(db, m, out, srec)) != RP_OK)
		return err;

	rating_compute(&rec[0], &rec[1], outcome1, &out->all[0], &out->all[1]);
	if (out->has_season)
		rating_compute(&srec[0], &srec[1], outcome1, &out->season_changes[0],
			       &out->season_changes[1]);
	for (int i = 0; i < 2; i++) {
		rating_record_apply(&rec[i], &out->all[i], outcome[i]);
		struct rank_update *u = &out->ups[i];
		u->player_id = ids[i];
		u->country = country[i];
		u->elo = rec[i].elo;
		if ((err = write_player(db, ids[i], &rec[i], &u->version)) != RP_OK ||
		    (err = write_entry(db, "all-time", ids[i], &rec[i], country[i], out->all[i].delta,
				       &u->reached_ms)) != RP_OK ||
		    (err = write_event(db, ids[i], m->id, "all-time", &out->all[i])) != RP_OK)
			return err;
		if (!out->has_season)
			continue;
		rating_record_apply(&srec[i], &out->season_changes[i], outcome[i]);
		struct rank_update *su = &out->season_ups[i];
		*su = *u;
		su->elo = srec[i].elo;
		if ((err = write_entry(db, out->season, ids[i], &srec[i], country[i],
				       out->season_changes[i].delta, &su->reached_ms)) != RP_OK ||
		    (err = write_event(db, ids[i], m->id, out->season, &out->season_changes[i])) != RP_OK)
			return err;
	}
	return RP_OK;
}

enum rp_err result_current_ratings(struct db *db, struct arena *a, const struct match *m,
				   struct applied_ratings *out)
{
	memset(out, 0, sizeof(*out));
	struct rating_record rec[2];
	const char *country[2] = {NULL, NULL};
	const char *why = NULL;
	memset(rec, 0, sizeof(rec));
	enum rp_err err = lock_players(db, a, m, rec, country, out->usernames, &why);
	if (err == RP_ECONFLICT)
		err = RP_OK; /* an unrated record does not need active players */
	for (int i = 0; i < 2; i++) {
		out->all[i].before = out->all[i].after = rec[i].elo;
		out->all[i].k = 0;
	}
	return err;
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
