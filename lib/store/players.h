/*
 * players.h — the players table, as the API sees it.
 *
 * Rows are decoded into struct player with every string copied into the
 * request arena. Functions return RP_ENOTFOUND for a missing or
 * deactivated player; RP_ECONFLICT from player_insert names the
 * conflicting field through *conflict_field ("username" or "email").
 */
#ifndef RP_STORE_PLAYERS_H
#define RP_STORE_PLAYERS_H

#include <stdbool.h>

#include "core/err.h"

struct arena;
struct db;
struct json_object;

struct player {
	const char *id;
	const char *username;
	const char *email;
	const char *display_name;  /* NULL when unset */
	const char *country_code;  /* NULL when unset */
	const char *avatar_url;    /* NULL when unset */
	const char *bio;           /* NULL when unset */
	const char *role;          /* "player" | "admin" */
	int elo, peak_elo, lowest_elo;
	int games_played, wins, losses, draws;
	int current_streak, best_win_streak;
	bool is_active;
	long long version;
	const char *created_at, *updated_at, *last_active_at; /* ISO-8601; last may be NULL */
	const char *password_hash;
	long long created_ms; /* created_at in ms: a new player's reached_at */
};

struct player_new {
	const char *username, *email, *password_hash;
	const char *display_name, *country_code; /* may be NULL */
};

/* Optional updates: set_x says whether x is written (x may be NULL = clear). */
struct player_patch {
	bool set_display_name, set_country_code, set_bio, set_avatar_url;
	const char *display_name, *country_code, *bio, *avatar_url;
};

enum rp_err player_insert(struct db *db, struct arena *a, const struct player_new *n,
			  struct player *out, const char **conflict_field) RP_MUSTCHECK;
enum rp_err player_by_id(struct db *db, struct arena *a, const char *id, struct player *out) RP_MUSTCHECK;
/* login: an email when it contains '@', else a username; case-insensitive. */
enum rp_err player_by_login(struct db *db, struct arena *a, const char *login,
			    struct player *out) RP_MUSTCHECK;
enum rp_err player_set_password(struct db *db, const char *id, const char *hash) RP_MUSTCHECK;
enum rp_err player_touch(struct db *db, const char *id) RP_MUSTCHECK;
enum rp_err player_update(struct db *db, struct arena *a, const char *id,
			  const struct player_patch *p, struct player *out) RP_MUSTCHECK;
enum rp_err player_deactivate(struct db *db, const char *id) RP_MUSTCHECK;
/*
 * Active players whose lower-cased username starts with prefix (lower-case,
 * [a-z0-9_-]*), after cursor (a lower-cased username, "" for the first
 * page), at most limit. *out is an arena array of *count players.
 */
enum rp_err player_search(struct db *db, struct arena *a, const char *prefix, const char *cursor,
			  int limit, struct player **out, int *count) RP_MUSTCHECK;

/* JSON views. Public profile; with_private adds email and lastActiveAt. */
struct json_object *player_profile_json(const struct player *p, bool with_private);
/* The "user" object of auth responses (always includes email). */
struct json_object *player_user_json(const struct player *p);

#endif
