/*
 * board.c — leaderboard reads: Redis ranks first, PostgreSQL when Redis
 * cannot answer (see board.h). Entries always come from PostgreSQL (names,
 * records); Redis only decides which players are on the page and in what
 * order, so both paths render identical entries.
 */
#include "leaderboard/board.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "auth/base64url.h"
#include "core/arena.h"
#include "core/buf.h"
#include "leaderboard/ranks.h"
#include "store/db.h"

/* hard limits on what a cursor may carry */
#define BOARD_RANK_MAX 100000000L
#define BOARD_MS_MAX 32503680000000LL /* year 3000 */

static const char *const period_names[PERIOD_MAX] = {"all", "season", "day", "week", "month"};

const char *board_period_name(enum board_period p)
{
	return (unsigned)p < PERIOD_MAX ? period_names[p] : "all";
}

bool board_period_parse(const char *s, enum board_period *p)
{
	for (int i = 0; i < PERIOD_MAX; i++)
		if (strcmp(s, period_names[i]) == 0) {
			*p = (enum board_period)i;
			return true;
		}
	return false;
}

static bool is_window(const struct board_id *b)
{
	return b->period >= PERIOD_DAY;
}

void board_id_init(struct board_id *b, enum board_period p, const char *season, const char *country)
{
	memset(b, 0, sizeof(*b));
	b->period = p;
	if (country != NULL)
		snprintf(b->country, sizeof(b->country), "%s", country);
	if (p == PERIOD_ALL)
		snprintf(b->season, sizeof(b->season), "all-time");
	else if (p == PERIOD_SEASON)
		snprintf(b->season, sizeof(b->season), "%s", season ? season : "");
	if (p < PERIOD_DAY)
		return;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (p == PERIOD_WEEK) {
		int since_monday = (tm.tm_wday + 6) % 7;
		time_t t = now - (time_t)since_monday * 86400;
		gmtime_r(&t, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	} else if (p == PERIOD_MONTH) {
		tm.tm_mday = 1;
	}
	snprintf(b->window_start, sizeof(b->window_start), "%04d-%02d-%02dT00:00:00.000Z",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
	snprintf(b->window_key, sizeof(b->window_key), "%04d%02d%02d", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
}

const char *board_channel(const struct board_id *b, char *buf, size_t len)
{
	if (b->period == PERIOD_SEASON)
		snprintf(buf, len, "leaderboard/season/%s%s%s", b->season, b->country[0] ? "/" : "",
			 b->country);
	else
		snprintf(buf, len, "leaderboard%s%s", b->country[0] ? "/" : "", b->country);
	return buf;
}

/* ------------------------------------------------------------- row decoding */

enum { E_ID, E_USERNAME, E_DISPLAY, E_COUNTRY, E_ELO, E_GAMES, E_WINS, E_LOSSES, E_DRAWS,
       E_CHANGE, E_REACHED, E_COUNT };

static void decode(struct arena *a, PGresult *r, int row, struct board_entry *e)
{
	board_entry_from_row(a, r, row, e);
}

void board_entry_from_row(struct arena *a, struct pg_result *r, int row, struct board_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->player_id = db_text(a, r, row, E_ID);
	e->username = db_text(a, r, row, E_USERNAME);
	e->display_name = db_text(a, r, row, E_DISPLAY);
	e->country_code = db_text(a, r, row, E_COUNTRY);
	e->elo = atoi(PQgetvalue(r, row, E_ELO));
	e->games = atoi(PQgetvalue(r, row, E_GAMES));
	e->wins = atoi(PQgetvalue(r, row, E_WINS));
	e->losses = atoi(PQgetvalue(r, row, E_LOSSES));
	e->draws = atoi(PQgetvalue(r, row, E_DRAWS));
	e->change = atoi(PQgetvalue(r, row, E_CHANGE));
	e->reached_ms = atoll(PQgetvalue(r, row, E_REACHED));
	if (PQnfields(r) < E_COUNT + 5)
		return;
	/* ENTRY_RECORD_COLS */
	e->version = atoll(PQgetvalue(r, row, E_COUNT));
	e->peak_elo = atoi(PQgetvalue(r, row, E_COUNT + 1));
	e->lowest_elo = atoi(PQgetvalue(r, row, E_COUNT + 2));
	e->current_streak = atoi(PQgetvalue(r, row, E_COUNT + 3));
	e->best_win_streak = atoi(PQgetvalue(r, row, E_COUNT + 4));
}

static enum rp_err rows_to_page(struct arena *a, PGresult *r, long first_rank,
				struct board_page *out)
{
	int rows = PQntuples(r);
	if (PQnfields(r) != E_COUNT)
		return RP_EINTERNAL;
	out->entries = arena_calloc(a, (size_t)(rows ? rows : 1), sizeof(struct board_entry));
	if (out->entries == NULL)
		return RP_ENOMEM;
	for (int i = 0; i < rows; i++) {
		decode(a, r, i, &out->entries[i]);
		out->entries[i].rank = first_rank + i;
	}
	out->count = rows;
	return RP_OK;
}

static enum rp_err pg_rows(struct app *app, enum stmt_id id, const char *const *params,
			   struct arena *a, long first_rank, struct board_page *out)
{
	enum rp_err err;
	PGresult *r = db_query(app->db, id, params, &err);
	if (r == NULL)
		return err;
	err = rows_to_page(a, r, first_rank, out);
	PQclear(r);
	return err;
}

static long long pg_count(struct app *app, const struct board_id *b, enum rp_err *err)
{
	const char *cc = b->country[0] ? b->country : NULL;
	PGresult *r;
	if (is_window(b)) {
		const char *params[] = {b->window_start, cc};
		r = db_query(app->db, STMT_WINDOW_COUNT, params, err);
	} else if (cc != NULL) {
		const char *params[] = {b->season, cc};
		r = db_query(app->db, STMT_BOARD_COUNT_CC, params, err);
	} else {
		const char *params[] = {b->season};
		r = db_query(app->db, STMT_BOARD_COUNT, params, err);
	}
	if (r == NULL)
		return -1;
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* --------------------------------------------------------------- window rows */

static enum rp_err window_page_pg(struct app *app, struct arena *a, const struct board_id *b,
				  long offset, int limit, struct board_page *out)
{
	char off[24], lim[16];
	snprintf(off, sizeof(off), "%ld", offset);
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *params[] = {b->window_start, b->country[0] ? b->country : NULL, off, lim};
	return pg_rows(app, STMT_WINDOW_PAGE, params, a, offset + 1, out);
}

/* ---------------------------------------------------------------------- API */

/*
 * From this offset on, a PostgreSQL page starts from the entry found by the
 * board counts (STMT_BOARD_LOCATE) instead of skipping `offset` index rows:
 * below it the OFFSET (which joins every skipped row to its player) is
 * cheaper than summing the counts.
 */
#define BOARD_LOCATE_FROM 200

static enum rp_err near_rows(struct app *app, struct arena *a, const struct board_id *b,
			     const struct board_entry *me, bool ahead, long n, struct board_page *out);

/* the page of `limit` entries from 0-based position offset >= 1 */
static enum rp_err page_after_position(struct app *app, struct arena *a, const struct board_id *b,
				       long offset, int limit, struct board_page *out)
{
	char pos[24];
	snprintf(pos, sizeof(pos), "%ld", offset - 1);
	const char *params[] = {b->season, pos, b->country};
	enum rp_err err;
	PGresult *r = db_query(app->db, b->country[0] ? STMT_BOARD_LOCATE_CC : STMT_BOARD_LOCATE,
			       params, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) { /* past the end */
		PQclear(r);
		return RP_OK;
	}
	struct board_entry before = {
		.elo = atoi(PQgetvalue(r, 0, 0)),
		.reached_ms = atoll(PQgetvalue(r, 0, 1)),
		.player_id = arena_strdup(a, PQgetvalue(r, 0, 2)),
	};
	PQclear(r);
	if (before.player_id == NULL)
		return RP_ENOMEM;
	struct board_page rows;
	if ((err = near_rows(app, a, b, &before, false, limit, &rows)) != RP_OK)
		return err;
	out->entries = rows.entries;
	out->count = rows.count;
	for (int i = 0; i < out->count; i++)
		out->entries[i].rank = offset + 1 + i;
	return RP_OK;
}

enum rp_err board_page_offset(struct app *app, struct arena *a, const struct board_id *b,
			      long offset, int limit, struct board_page *out)
{
	memset(out, 0, sizeof(*out));
	out->seq = -1;
	if (!is_window(b)) {
		enum rp_err e = ranks_read_page(app, a, b, offset, limit, out);
		if (e == RP_OK)
			return RP_OK;
		if (e != RP_EUNAVAIL && e != RP_ECONFLICT)
			return e;
		/* Redis cannot answer, or lost an entry (a race with a deactivation) */
		memset(out, 0, sizeof(*out));
		out->seq = -1;
	}
	enum rp_err err;
	out->total = pg_count(app, b, &err);
	if (out->total < 0)
		return err;
	if (is_window(b)) {
		if ((err = window_page_pg(app, a, b, offset, limit, out)) != RP_OK)
			return err;
	} else if (offset >= BOARD_LOCATE_FROM) {
		if ((err = page_after_position(app, a, b, offset, limit, out)) != RP_OK)
			return err;
	} else {
		char off[24], lim[16];
		snprintf(off, sizeof(off), "%ld", offset);
		snprintf(lim, sizeof(lim), "%d", limit);
		if (b->country[0]) {
			const char *params[] = {b->season, off, lim, b->country};
			err = pg_rows(app, STMT_BOARD_PAGE_CC, params, a, offset + 1, out);
		} else {
			const char *params[] = {b->season, off, lim};
			err = pg_rows(app, STMT_BOARD_PAGE, params, a, offset + 1, out);
		}
		if (err != RP_OK)
			return err;
	}
	if (out->seq < 0) {
		char chan[120];
		out->seq = ranks_seq(app, board_channel(b, chan, sizeof(chan)));
	}
	return RP_OK;
}

/* cursor text: "<value>.<ms>.<id>.<rank>" base64url-encoded */
const char *board_cursor_encode(struct arena *a, const struct board_id *b, const struct board_entry *e)
{
	int value = is_window(b) ? e->change : e->elo;
	const char *raw = arena_printf(a, "%d.%lld.%s.%ld", value, e->reached_ms, e->player_id, e->rank);
	if (raw == NULL)
		return NULL;
	char *out = arena_alloc(a, base64url_encoded_len(strlen(raw)) + 1);
	if (out != NULL)
		base64url_encode(out, (const unsigned char *)raw, strlen(raw));
	return out;
}

static bool cursor_decode(const char *cursor, int *value, long long *ms, char id[37], long *rank)
{
	unsigned char raw[128];
	long n = base64url_decode(raw, sizeof(raw) - 1, cursor, strlen(cursor));
	if (n <= 0)
		return false;
	raw[n] = '\0';
	char idbuf[64];
	int consumed = 0;
	if (sscanf((const char *)raw, "%d.%lld.%36[0-9a-f-].%ld%n", value, ms, idbuf, rank, &consumed) != 4 ||
	    consumed != n || strlen(idbuf) != 36 || *rank < 1 || *rank > BOARD_RANK_MAX || *ms < 0 ||
	    *ms > BOARD_MS_MAX || *value < -100000 || *value > 100000)
		return false;
	memcpy(id, idbuf, 37);
	return true;
}

enum rp_err board_page_after(struct app *app, struct arena *a, const struct board_id *b,
			     const char *cursor, int limit, struct board_page *out)
{
	int value;
	long long ms;
	char id[37];
	long rank;
	if (!cursor_decode(cursor, &value, &ms, id, &rank))
		return RP_EINVAL;
	long pos;
	if (!is_window(b) && ranks_position_after(app, b, value, ms, id, &pos) == RP_OK)
		return board_page_offset(app, a, b, pos, limit, out);
	if (is_window(b))
		return board_page_offset(app, a, b, rank, limit, out); /* windows page by position */
	memset(out, 0, sizeof(*out));
	out->seq = -1;
	enum rp_err err;
	out->total = pg_count(app, b, &err);
	if (out->total < 0)
		return err;
	char v[16], m[24], lim[16];
	snprintf(v, sizeof(v), "%d", value);
	snprintf(m, sizeof(m), "%lld", ms);
	snprintf(lim, sizeof(lim), "%d", limit);
	if (b->country[0]) {
		const char *params[] = {b->season, v, m, id, lim, b->country};
		err = pg_rows(app, STMT_BOARD_AFTER_CC, params, a, rank + 1, out);
	} else {
		const char *params[] = {b->season, v, m, id, lim};
		err = pg_rows(app, STMT_BOARD_AFTER, params, a, rank + 1, out);
	}
	if (err == RP_OK) {
		char chan[120];
		out->seq = ranks_seq(app, board_channel(b, chan, sizeof(chan)));
	}
	return err;
}

enum rp_err board_rank_of(struct app *app, struct arena *a, const struct board_id *b,
			  const char *player_id, struct board_entry *out)
{
	enum rp_err err;
	const char *cc = b->country[0] ? b->country : NULL;
	if (is_window(b)) {
		const char *params[] = {b->window_start, cc, player_id};
		PGresult *r = db_query(app->db, STMT_WINDOW_RANK_OF, params, &err);
		if (r == NULL)
			return err;
		bool found = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
		long rank = found ? atol(PQgetvalue(r, 0, 1)) : 0;
		PQclear(r);
		if (!found)
			return RP_ENOTFOUND;
		struct board_page page;
		if ((err = window_page_pg(app, a, b, rank - 1, 1, &page)) != RP_OK)
			return err;
		if (page.count != 1)
			return RP_ENOTFOUND;
		*out = page.entries[0];
		return RP_OK;
	}
	/* Redis knows the rank: the entry alone; else the entry with its rank */
	long pos;
	bool cached = ranks_position_of(app, b, player_id, &pos) == RP_OK;
	const char *params[] = {b->season, player_id, cc};
	PGresult *r = db_query(app->db, cached ? STMT_BOARD_ENTRY_OF
					  : cc != NULL ? STMT_BOARD_ENTRY_RANK_CC : STMT_BOARD_ENTRY_RANK,
			       params, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1 || (cc != NULL && (PQgetisnull(r, 0, E_COUNTRY) ||
						 strcmp(PQgetvalue(r, 0, E_COUNTRY), cc) != 0))) {
		PQclear(r);
		return RP_ENOTFOUND;
	}
	decode(a, r, 0, out);
	out->rank = cached ? pos + 1 : atol(PQgetvalue(r, 0, E_COUNT));
	PQclear(r);
	return RP_OK;
}

/* n rows nearest to me on one side (keyset, no OFFSET), nearest first. */
static enum rp_err near_rows(struct app *app, struct arena *a, const struct board_id *b,
			     const struct board_entry *me, bool ahead, long n, struct board_page *out)
{
	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return RP_OK;
	char e[16], m[24], lim[24];
	snprintf(e, sizeof(e), "%d", me->elo);
	snprintf(m, sizeof(m), "%lld", me->reached_ms);
	snprintf(lim, sizeof(lim), "%ld", n);
	const char *params[] = {b->season, e, m, me->player_id, lim, b->country};
	enum stmt_id id = ahead ? (b->country[0] ? STMT_BOARD_NEAR_AHEAD_CC : STMT_BOARD_NEAR_AHEAD)
				: (b->country[0] ? STMT_BOARD_NEAR_BEHIND_CC : STMT_BOARD_NEAR_BEHIND);
	return pg_rows(app, id, params, a, 0, out);
}

/*
 * Around-me from PostgreSQL: the same window as the Redis answer (2·radius+1
 * entries from rank−radius, or from the top), built from the rows nearest
 * to the player on each side instead of an OFFSET of rank rows.
 */
static enum rp_err around_pg(struct app *app, struct arena *a, const struct board_id *b,
			     const struct board_entry *me, int radius, struct board_page *out)
{
	long n_ahead = me->rank - 1 < radius ? me->rank - 1 : radius;
	struct board_page ahead, behind;
	enum rp_err err = near_rows(app, a, b, me, true, n_ahead, &ahead);
	if (err == RP_OK)
		err = near_rows(app, a, b, me, false, 2L * radius - n_ahead, &behind);
	if (err != RP_OK)
		return err;
	memset(out, 0, sizeof(*out));
	out->total = pg_count(app, b, &err);
	if (out->total < 0)
		return err;
	out->entries = arena_calloc(a, (size_t)(ahead.count + behind.count + 1), sizeof(*out->entries));
	if (out->entries == NULL)
		return RP_ENOMEM;
	long first = me->rank - ahead.count;
	for (int i = ahead.count - 1; i >= 0; i--)
		out->entries[out->count++] = ahead.entries[i];
	out->entries[out->count++] = *me;
	for (int i = 0; i < behind.count; i++)
		out->entries[out->count++] = behind.entries[i];
	for (int i = 0; i < out->count; i++)
		out->entries[i].rank = first + i;
	char chan[120];
	out->seq = ranks_seq(app, board_channel(b, chan, sizeof(chan)));
	return RP_OK;
}

enum rp_err board_around(struct app *app, struct arena *a, const struct board_id *b,
			 const char *player_id, int radius, struct board_page *out,
			 struct board_entry *me)
{
	enum rp_err err;
	if (!is_window(b)) {
		memset(out, 0, sizeof(*out));
		err = ranks_read_around(app, a, b, player_id, radius, out, me);
		if (err == RP_OK || err == RP_ENOTFOUND)
			return err;
		if (err != RP_EUNAVAIL && err != RP_ECONFLICT)
			return err;
	}
	if ((err = board_rank_of(app, a, b, player_id, me)) != RP_OK)
		return err;
	if (is_window(b)) {
		long first = me->rank - 1 - radius;
		return board_page_offset(app, a, b, first < 0 ? 0 : first, 2 * radius + 1, out);
	}
	return around_pg(app, a, b, me, radius, out);
}

void board_win_rate(char *txt, size_t n, int wins, int games)
{
	/* 4 decimals, rounded half away from zero, trailing zeros dropped:
	 * the same text as "%.4g" of the rounded value, without printf */
	long bp = games > 0 ? (long)round((double)wins / games * 10000.0) : 0;
	if (n < 7)
		return;
	if (bp <= 0 || bp >= 10000) {
		snprintf(txt, n, "%s", bp <= 0 ? "0" : "1");
		return;
	}
	char *p = txt;
	*p++ = '0';
	*p++ = '.';
	for (long div = 1000; div > 0 && bp > 0; div /= 10) {
		*p++ = (char)('0' + bp / div);
		bp %= div;
	}
	*p = '\0';
}

void board_entry_write(struct buf *b, const struct board_entry *e)
{
	char rate[16];
	board_win_rate(rate, sizeof(rate), e->wins, e->games);
	buf_json_field_int(b, "{\"rank\":", e->rank);
	buf_puts(b, ",\"playerId\":");
	buf_json_string(b, e->player_id);
	buf_puts(b, ",\"username\":");
	buf_json_string(b, e->username);
	buf_puts(b, ",\"displayName\":");
	buf_json_string_or_null(b, e->display_name);
	buf_puts(b, ",\"countryCode\":");
	buf_json_string_or_null(b, e->country_code);
	buf_json_field_int(b, ",\"elo\":", e->elo);
	buf_json_field_int(b, ",\"gamesPlayed\":", e->games);
	buf_json_field_int(b, ",\"wins\":", e->wins);
	buf_json_field_int(b, ",\"losses\":", e->losses);
	buf_json_field_int(b, ",\"draws\":", e->draws);
	buf_puts(b, ",\"winRate\":");
	buf_puts(b, rate);
	buf_json_field_int(b, ",\"change\":", e->change);
	buf_puts(b, "}");
}
