/*
 * ranks.h — leaderboard ranks in Redis sorted sets.
 *
 * Keys (N = the epoch in "lb:epoch"):
 *   lb:N:z:<season>:global | lb:N:z:<season>:cc:<CC>      elo boards
 *   lb:N:ready:<season>  the season's group of boards is complete
 *   lb:N:build:<group>   rebuild lock;  lb:N:boards:<group>  its zset keys
 *   lb:N:ver:<season>    player → players.version last applied (ordering)
 *   seq:<channel>        board sequence numbers (realtime, ETags)
 *
 * Scores make Redis order equal PostgreSQL's total order: for elo boards
 * (8191 − (elo+1000)) · 2^40 + (reached_ms − 2024-01-01), ascending, ties
 * by member (the uuid text, which sorts like PostgreSQL's uuid). All
 * integers stay below 2^53, so doubles are exact.
 *
 * A group without its ready marker is rebuilt from PostgreSQL by the first
 * worker that takes the lock, after it has answered the request that found
 * the group missing; readers meanwhile answer from PostgreSQL. Bumping the epoch (rankpulse rebuild-cache, or a worker that
 * failed to apply an update) makes every group missing at once.
 */
#ifndef RP_LEADERBOARD_RANKS_H
#define RP_LEADERBOARD_RANKS_H

#include <stdio.h>

#include "core/err.h"
#include "leaderboard/board.h"
#include "rating/elo.h"

struct app;
struct arena;

struct rank_update {
	const char *player_id;
	const char *country; /* NULL when the player has none */
	int elo;
	long long reached_ms;
	long long version; /* players.version after the change */
	/* the board entry after the change (kept in Redis next to the rank) */
	const char *username, *display_name; /* display_name NULL when unset */
	struct rating_record rec; /* season boards: elo, games, wins, losses, draws */
	int change;               /* the last rated delta on this board */
};

/* What a result did to the boards, for realtime publishing (-1 = unknown). */
enum { RANK_BOARD_GLOBAL, RANK_BOARD_COUNTRY, RANK_BOARD_SEASON, RANK_BOARDS };
struct rank_seqs {
	long rank_before[RANK_BOARDS][2]; /* 1-based ranks of player i; -1 = unknown */
	long rank_after[RANK_BOARDS][2];
};

/* After a committed rated result. season / season_ups may be NULL. Never fails the
 * caller: a Redis failure marks the cache dirty and boards are rebuilt later. */
void ranks_after_result(struct app *app, const struct rank_update ups[2],
			const char *season, const struct rank_update season_ups[2],
			struct rank_seqs *seqs);
/* A new player joins the all-time boards (global and country) at once. */
void ranks_player_added(struct app *app, const struct rank_update *u);
/* A deactivated player leaves every board. */
void ranks_player_removed(struct app *app, const char *player_id, const char *country);
/* A player's profile (name, country) changed: rewrite their entries from PostgreSQL. */
void ranks_player_changed(struct app *app, const char *player_id);

/*
 * Reads answered by Redis alone (one round trip each). RP_EUNAVAIL when
 * Redis cannot answer or the board's group is not built (its build is
 * scheduled), RP_ECONFLICT when an entry is missing: the caller then
 * answers from PostgreSQL.
 */
/* Entries at positions [offset, offset+limit), the board's total and seq. */
enum rp_err ranks_read_page(struct app *app, struct arena *a, const struct board_id *b,
			    long offset, int limit, struct board_page *out) RP_MUSTCHECK;
/* The entries within radius of player, and the player's own (*me). RP_ENOTFOUND: not on it. */
enum rp_err ranks_read_around(struct app *app, struct arena *a, const struct board_id *b,
			      const char *player_id, int radius, struct board_page *out,
			      struct board_entry *me) RP_MUSTCHECK;
/* A player's all-time entry (with the stats extras), global and country rank
 * (-1 = none) and the global board's seq. RP_ENOTFOUND: not on the board. */
enum rp_err ranks_read_player(struct app *app, struct arena *a, const char *player_id,
			      struct board_entry *e, long *global_rank, long *country_rank,
			      long long *seq) RP_MUSTCHECK;
/* Position (0-based) of the first member ranking after (elo, ms, id). */
enum rp_err ranks_position_after(struct app *app, const struct board_id *b, int value,
				 long long ms, const char *id, long *pos) RP_MUSTCHECK;
/* 0-based position of player; RP_ENOTFOUND when absent. */
enum rp_err ranks_position_of(struct app *app, const struct board_id *b, const char *player_id,
			      long *pos) RP_MUSTCHECK;
/* Work deferred until the response is written (building a missing board group). */
void ranks_after_response(struct app *app);
/* Current seq of a channel; -1 when unknown. */
long long ranks_seq(struct app *app, const char *channel);
/* Bump every board sequence touched by a profile change (ETags). */
void ranks_touch(struct app *app, const char *country);
/* rankpulse rebuild-cache: new epoch, build all-time + current season boards, drop old keys. */
enum rp_err ranks_rebuild_all(struct app *app, FILE *out) RP_MUSTCHECK;

#endif
