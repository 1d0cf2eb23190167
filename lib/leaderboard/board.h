/*
 * board.h — leaderboards: which board, its entries, a player's rank.
 *
 * A board is (period, season, scope): period all (season "all-time"),
 * season (a season id), or a window day/week/month (UTC calendar periods,
 * ranked by rating gained in the window); scope global or one country.
 *
 * Total order of elo boards: elo desc, reached_at asc (ms), player id asc —
 * rank is the 1-based position. Window boards: gained desc, player id asc.
 *
 * Elo boards are read from Redis sorted sets (ranks.c) and fall back to
 * PostgreSQL keyset/offset queries when Redis is down or a board is being
 * rebuilt; the answers are the same either way (tests assert it). Window
 * boards are aggregates of rating_events and always come from PostgreSQL.
 */
#ifndef RP_LEADERBOARD_BOARD_H
#define RP_LEADERBOARD_BOARD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct app;
struct arena;

enum board_period { PERIOD_ALL, PERIOD_SEASON, PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH, PERIOD_MAX };

struct board_id {
	enum board_period period;
	char season[72];       /* "all-time" or a season id; "" for windows */
	char country[3];       /* "" = global */
	char window_start[40]; /* windows: ISO-8601 start of the window (UTC) */
	char window_key[24];   /* windows: YYYYMMDD of the window start */
};

struct board_entry {
	long rank;
	const char *player_id, *username, *display_name, *country_code;
	int elo, games, wins, losses, draws;
	int change;         /* elo boards: last rated delta; windows: rating gained */
	long long reached_ms;
	/* all-time entries only (player stats): the player's record */
	int peak_elo, lowest_elo, current_streak, best_win_streak;
	long long version; /* players.version the entry was made from */
};

struct board_page {
	struct board_entry *entries;
	int count;
	long long total;
	long long seq;   /* board sequence (realtime); -1 when unknown */
	bool cached;     /* served from Redis */
};

const char *board_period_name(enum board_period p);
bool board_period_parse(const char *s, enum board_period *p);
/* Fill the window fields for windows, or season for all; season periods need season set. */
void board_id_init(struct board_id *b, enum board_period p, const char *season, const char *country);
/* Realtime channel / seq name of the board ("leaderboard", "leaderboard/US", "leaderboard/season/s1"...). */
const char *board_channel(const struct board_id *b, char *buf, size_t len);

enum rp_err board_page_offset(struct app *app, struct arena *a, const struct board_id *b,
			      long offset, int limit, struct board_page *out) RP_MUSTCHECK;
/* Keyset page after the entry described by cursor (see board_cursor_encode). */
enum rp_err board_page_after(struct app *app, struct arena *a, const struct board_id *b,
			     const char *cursor, int limit, struct board_page *out) RP_MUSTCHECK;
/* Rank (1-based) and entry of player on the board; RP_ENOTFOUND when absent. */
enum rp_err board_rank_of(struct app *app, struct arena *a, const struct board_id *b,
			  const char *player_id, struct board_entry *out) RP_MUSTCHECK;
/* The entries within radius of player_id (a page) and the player's own entry. */
enum rp_err board_around(struct app *app, struct arena *a, const struct board_id *b,
			 const char *player_id, int radius, struct board_page *out,
			 struct board_entry *me) RP_MUSTCHECK;
/* Opaque cursor after entry e. Arena string. */
const char *board_cursor_encode(struct arena *a, const struct board_id *b, const struct board_entry *e);

/* An entry as a JSON object (the API's field order). */
struct buf;
void board_entry_write(struct buf *b, const struct board_entry *e);
/* wins / games rounded to 4 decimals as JSON number text (0 without games). */
void board_win_rate(char *txt, size_t n, int wins, int games);
/* An entry from a row of ENTRY_COLS [+ ENTRY_RECORD_COLS] (lib/store/statements.c). */
struct pg_result;
void board_entry_from_row(struct arena *a, struct pg_result *r, int row, struct board_entry *e);

#endif
