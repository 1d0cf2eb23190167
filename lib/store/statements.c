/*
 * statements.c — the SQL text of every statement, next to its id.
 *
 * Players are always read through PLAYER_COLS so the column order matches
 * struct player's decoder in players.c. Timestamps are formatted by the
 * database as ISO-8601 UTC with milliseconds. Every WHERE clause is served
 * by an index from migrations/ (keyset, no scans).
 */
#include "store/statements.h"

#include <stddef.h>

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define PLAYER_COLS                                                                          \
	"id, username, email, display_name, country_code, avatar_url, bio, role, elo, "      \
	"peak_elo, lowest_elo, games_played, wins, losses, draws, current_streak, "          \
	"best_win_streak, is_active, version, " ISO("created_at") ", " ISO("updated_at") ", " \
	ISO("last_active_at") ", password_hash"

static const struct statement statements[STMT_MAX] = {
	[STMT_PING] = {"ping", "SELECT 1", 0},
	[STMT_MIGRATION_VERSION] = {"migration_version",
				    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0},

	[STMT_PLAYER_INSERT] =
		{"player_insert",
		 "WITH p AS (INSERT INTO players (username, email, password_hash, display_name, "
		 "country_code) VALUES ($1, $2, $3, $4, $5) RETURNING *), "
		 "e AS (INSERT INTO leaderboard_entries (season_id, player_id, elo, country_code, "
		 "reached_at) SELECT 'all-time', id, elo, country_code, created_at FROM p) "
		 "SELECT " PLAYER_COLS " FROM p",
		 5},
	[STMT_PLAYER_BY_ID] = {"player_by_id",
			       "SELECT " PLAYER_COLS " FROM players WHERE id = $1 AND is_active", 1},
	[STMT_PLAYER_BY_USERNAME] = {"player_by_username",
				     "SELECT " PLAYER_COLS " FROM players "
				     "WHERE lower(username) = lower($1) AND is_active",
				     1},
	[STMT_PLAYER_BY_EMAIL] = {"player_by_email",
				  "SELECT " PLAYER_COLS " FROM players "
				  "WHERE lower(email) = lower($1) AND is_active",
				  1},
	[STMT_PLAYER_SET_PASSWORD] = {"player_set_password",
				      "UPDATE players SET password_hash = $2 WHERE id = $1", 2},
	[STMT_PLAYER_TOUCH] = {"player_touch",
			       "UPDATE players SET last_active_at = now() WHERE id = $1", 1},
	[STMT_PLAYER_UPDATE] =
		{"player_update",
		 "WITH p AS (UPDATE players SET "
		 "display_name = CASE WHEN $2::bool THEN $3 ELSE display_name END, "
		 "country_code = CASE WHEN $4::bool THEN $5 ELSE country_code END, "
		 "bio = CASE WHEN $6::bool THEN $7 ELSE bio END, "
		 "avatar_url = CASE WHEN $8::bool THEN $9 ELSE avatar_url END, "
		 "version = version + 1, updated_at = now() "
		 "WHERE id = $1 AND is_active RETURNING *), "
		 "e AS (UPDATE leaderboard_entries le SET country_code = p.country_code, "
		 "updated_at = now() FROM p WHERE le.player_id = p.id AND $4::bool) "
		 "SELECT " PLAYER_COLS " FROM p",
		 9},
	[STMT_PLAYER_DEACTIVATE] =
		{"player_deactivate",
		 "WITH p AS (UPDATE players SET is_active = false, version = version + 1, "
		 "updated_at = now() WHERE id = $1 AND is_active RETURNING id), "
		 "e AS (UPDATE leaderboard_entries SET is_active = false, updated_at = now() "
		 "WHERE player_id IN (SELECT id FROM p)), "
		 "t AS (UPDATE refresh_tokens SET revoked_at = now() "
		 "WHERE player_id IN (SELECT id FROM p) AND revoked_at IS NULL) "
		 "SELECT id FROM p",
		 1},
	/* $1 prefix (lower), $2 upper bound (prefix with last byte + 1), $3 cursor, $4 limit */
	[STMT_PLAYER_SEARCH] = {"player_search",
				"SELECT " PLAYER_COLS " FROM players "
				"WHERE lower(username) ~>=~ $1 AND lower(username) ~<~ $2 "
				"AND lower(username) ~>~ $3 AND is_active "
				"ORDER BY lower(username) USING ~<~ LIMIT $4",
				4},

	[STMT_TOKEN_INSERT] = {"token_insert",
			       "INSERT INTO refresh_tokens (player_id, family_id, token_hash, "
			       "expires_at, user_agent) VALUES ($1, coalesce($2::uuid, "
			       "gen_random_uuid()), decode($3, 'hex'), "
			       "now() + make_interval(secs => $4::int), $5) RETURNING id, family_id",
			       5},
	[STMT_TOKEN_LOOKUP_FOR_UPDATE] = {"token_lookup",
					  "SELECT t.id, t.player_id, t.family_id, "
					  "t.rotated_at IS NOT NULL, t.revoked_at IS NOT NULL, "
					  "t.expires_at <= now(), p.is_active "
					  "FROM refresh_tokens t JOIN players p ON p.id = t.player_id "
					  "WHERE t.token_hash = decode($1, 'hex') FOR UPDATE OF t",
					  1},
	[STMT_TOKEN_ROTATE] = {"token_rotate",
			       "UPDATE refresh_tokens SET rotated_at = now(), replaced_by = $2 "
			       "WHERE id = $1",
			       2},
	[STMT_TOKEN_REVOKE_FAMILY] = {"token_revoke_family",
				      "UPDATE refresh_tokens SET revoked_at = now() "
				      "WHERE family_id = $1 AND revoked_at IS NULL",
				      1},
	[STMT_TOKEN_REVOKE_BY_HASH] = {"token_revoke_by_hash",
				       "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = "
				       "(SELECT family_id FROM refresh_tokens "
				       "WHERE token_hash = decode($1, 'hex') AND player_id = $2) "
				       "AND revoked_at IS NULL",
				       2},
};

const struct statement *statement_get(enum stmt_id id)
{
	return (unsigned)id < STMT_MAX ? &statements[id] : NULL;
}
