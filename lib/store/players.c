/*
 * players.c — players table access and JSON views (see players.h).
 */
#include "store/players.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/db.h"

enum {
	C_ID, C_USERNAME, C_EMAIL, C_DISPLAY, C_COUNTRY, C_AVATAR, C_BIO, C_ROLE, C_ELO,
	C_PEAK, C_LOWEST, C_GAMES, C_WINS, C_LOSSES, C_DRAWS, C_STREAK, C_BEST, C_ACTIVE,
	C_VERSION, C_CREATED, C_UPDATED, C_LAST_ACTIVE, C_HASH, C_CREATED_MS, C_COUNT
};

static int col_int(PGresult *r, int row, int c)
{
	return atoi(PQgetvalue(r, row, c));
}

static enum rp_err decode(struct arena *a, PGresult *r, int row, void *element)
{
	struct player *p = element;
	if (PQnfields(r) != C_COUNT)
		return RP_EINTERNAL;
	p->id = db_text(a, r, row, C_ID);
	p->username = db_text(a, r, row, C_USERNAME);
	p->email = db_text(a, r, row, C_EMAIL);
	p->display_name = db_text(a, r, row, C_DISPLAY);
	p->country_code = db_text(a, r, row, C_COUNTRY);
	p->avatar_url = db_text(a, r, row, C_AVATAR);
	p->bio = db_text(a, r, row, C_BIO);
	p->role = db_text(a, r, row, C_ROLE);
	p->elo = col_int(r, row, C_ELO);
	p->peak_elo = col_int(r, row, C_PEAK);
	p->lowest_elo = col_int(r, row, C_LOWEST);
	p->games_played = col_int(r, row, C_GAMES);
	p->wins = col_int(r, row, C_WINS);
	p->losses = col_int(r, row, C_LOSSES);
	p->draws = col_int(r, row, C_DRAWS);
	p->current_streak = col_int(r, row, C_STREAK);
	p->best_win_streak = col_int(r, row, C_BEST);
	p->is_active = PQgetvalue(r, row, C_ACTIVE)[0] == 't';
	p->version = atoll(PQgetvalue(r, row, C_VERSION));
	p->created_at = db_text(a, r, row, C_CREATED);
	p->updated_at = db_text(a, r, row, C_UPDATED);
	p->last_active_at = db_text(a, r, row, C_LAST_ACTIVE);
	p->password_hash = db_text(a, r, row, C_HASH);
	p->created_ms = atoll(PQgetvalue(r, row, C_CREATED_MS));
	if (p->id == NULL || p->username == NULL || p->email == NULL || p->role == NULL ||
	    p->created_at == NULL || p->password_hash == NULL)
		return RP_ENOMEM;
	return RP_OK;
}

/* Run a statement expected to return zero or one player row. */
static enum rp_err one_player(struct db *db, struct arena *a, enum stmt_id id,
			      const char *const *params, struct player *out)
{
	enum rp_err err;
	PGresult *r = db_query(db, id, params, &err);
	if (r == NULL)
		return err;
	err = PQntuples(r) == 1 ? decode(a, r, 0, out) : RP_ENOTFOUND;
	PQclear(r);
	return err;
}

enum rp_err player_insert(struct db *db, struct arena *a, const struct player_new *n,
			  struct player *out, const char **conflict_field)
{
	const char *params[] = {n->username, n->email, n->password_hash, n->display_name,
				n->country_code};
	*conflict_field = NULL;
	enum rp_err err = one_player(db, a, STMT_PLAYER_INSERT, params, out);
	if (err == RP_ECONFLICT) {
		const char *c = db_constraint(db);
		*conflict_field = strstr(c, "email") ? "email" : "username";
	}
	return err;
}

enum rp_err player_by_id(struct db *db, struct arena *a, const char *id, struct player *out)
{
	const char *params[] = {id};
	return one_player(db, a, STMT_PLAYER_BY_ID, params, out);
}

enum rp_err player_by_login(struct db *db, struct arena *a, const char *login, struct player *out)
{
	const char *params[] = {login};
	return one_player(db, a, strchr(login, '@') ? STMT_PLAYER_BY_EMAIL : STMT_PLAYER_BY_USERNAME,
			  params, out);
}

enum rp_err player_set_password(struct db *db, const char *id, const char *hash)
{
	const char *params[] = {id, hash};
	return db_command(db, STMT_PLAYER_SET_PASSWORD, params);
}

enum rp_err player_touch(struct db *db, const char *id)
{
	const char *params[] = {id};
	return db_command(db, STMT_PLAYER_TOUCH, params);
}

enum rp_err player_update(struct db *db, struct arena *a, const char *id,
			  const struct player_patch *p, struct player *out)
{
	const char *params[] = {id,
				p->set_display_name ? "t" : "f", p->display_name,
				p->set_country_code ? "t" : "f", p->country_code,
				p->set_bio ? "t" : "f", p->bio,
				p->set_avatar_url ? "t" : "f", p->avatar_url};
	return one_player(db, a, STMT_PLAYER_UPDATE, params, out);
}

enum rp_err player_deactivate(struct db *db, const char *id)
{
	const char *params[] = {id};
	enum rp_err err;
	PGresult *r = db_query(db, STMT_PLAYER_DEACTIVATE, params, &err);
	if (r == NULL)
		return err;
	err = PQntuples(r) == 1 ? RP_OK : RP_ENOTFOUND;
	PQclear(r);
	return err;
}

enum rp_err player_search(struct db *db, struct arena *a, const char *prefix, const char *cursor,
			  int limit, struct player **out, int *count)
{
	size_t n = strlen(prefix);
	char *upper = arena_alloc(a, n + 2);
	if (upper == NULL)
		return RP_ENOMEM;
	if (n == 0) {
		upper[0] = '\x7f'; /* above every username byte */
		upper[1] = '\0';
	} else {
		memcpy(upper, prefix, n + 1);
		upper[n - 1] = (char)(upper[n - 1] + 1); /* [a-z0-9_-] + 1 stays ASCII */
	}
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *params[] = {prefix, upper, cursor, lim};
	return db_rows(db, a, STMT_PLAYER_SEARCH, params, sizeof(struct player), decode,
		       (void **)out, count);
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *player_user_json(const struct player *p)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "username", json_object_new_string(p->username));
	json_object_object_add(o, "displayName", str_or_null(p->display_name));
	json_object_object_add(o, "email", json_object_new_string(p->email));
	json_object_object_add(o, "countryCode", str_or_null(p->country_code));
	json_object_object_add(o, "elo", json_object_new_int(p->elo));
	json_object_object_add(o, "role", json_object_new_string(p->role));
	json_object_object_add(o, "createdAt", json_object_new_string(p->created_at));
	return o;
}

struct json_object *player_profile_json(const struct player *p, bool with_private)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "username", json_object_new_string(p->username));
	json_object_object_add(o, "displayName", str_or_null(p->display_name));
	if (with_private)
		json_object_object_add(o, "email", json_object_new_string(p->email));
	json_object_object_add(o, "countryCode", str_or_null(p->country_code));
	json_object_object_add(o, "avatarUrl", str_or_null(p->avatar_url));
	json_object_object_add(o, "bio", str_or_null(p->bio));
	json_object_object_add(o, "role", json_object_new_string(p->role));
	json_object_object_add(o, "elo", json_object_new_int(p->elo));
	json_object_object_add(o, "peakElo", json_object_new_int(p->peak_elo));
	json_object_object_add(o, "gamesPlayed", json_object_new_int(p->games_played));
	json_object_object_add(o, "wins", json_object_new_int(p->wins));
	json_object_object_add(o, "losses", json_object_new_int(p->losses));
	json_object_object_add(o, "draws", json_object_new_int(p->draws));
	json_object_object_add(o, "createdAt", json_object_new_string(p->created_at));
	if (with_private)
		json_object_object_add(o, "lastActiveAt", str_or_null(p->last_active_at));
	return o;
}
