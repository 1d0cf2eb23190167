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
	ISO("last_active_at") ", password_hash, "                                             \
	"(extract(epoch FROM date_trunc('milliseconds', created_at)) * 1000)::bigint"


#define MATCH_COLS                                                                            \
	"m.id, m.player1_id, m.player2_id, m.match_type, m.status, m.best_of, m.season_id, "  \
	ISO("m.scheduled_at") ", " ISO("m.started_at") ", " ISO("m.completed_at") ", "        \
	"m.created_by, m.notes, " ISO("m.created_at") ", " ISO("m.updated_at") ", "           \
	"r.player1_score, r.player2_score, r.winner_id, r.result_type, r.verification_status, " \
	"r.reported_by, r.verified_by, r.player1_elo_before, r.player1_elo_after, "           \
	"r.player2_elo_before, r.player2_elo_after, r.player1_k, r.player2_k, r.season_id, "  \
	"r.season_changes::text, r.match_id IS NOT NULL, "                                    \
	"(extract(epoch FROM m.created_at) * 1000000)::bigint"

#define ENTRY_COLS                                                                         \
	"le.player_id, p.username, p.display_name, le.country_code, le.elo, le.games_played, " \
	"le.wins, le.losses, le.draws, le.last_delta, "                                        \
	"(extract(epoch FROM le.reached_at) * 1000)::bigint"

/* after ENTRY_COLS: what player stats need besides the entry */
#define ENTRY_RECORD_COLS \
	", p.version, p.peak_elo, p.lowest_elo, p.current_streak, p.best_win_streak"

#define BOARD_FROM                                                                  \
	" FROM leaderboard_entries le JOIN players p ON p.id = le.player_id "         \
	"WHERE le.season_id = $1 AND le.is_active "

#define BOARD_ORDER " ORDER BY le.elo DESC, le.reached_at, le.player_id "

/* among rows of the same elo, those ahead of (reached_at ms $R, id $I): index order */
#define SAME_ELO_AHEAD(R, I)                                                                   \
	"(le.reached_at, le.player_id) < (timestamptz 'epoch' + " R                              \
	"::bigint * interval '1 millisecond', " I "::uuid)"
/* among rows of the same elo, those behind (reached_at ms $R, id $I) */
#define SAME_ELO_BEHIND(R, I)                                                                  \
	"(le.reached_at, le.player_id) > (timestamptz 'epoch' + " R                              \
	"::bigint * interval '1 millisecond', " I "::uuid)"
/*
 * The $5 nearest rows ahead of / behind (elo $2, ms $3, id $4), nearest
 * first, as two index range scans each (same elo; then higher / lower elo):
 * the around-me page with Redis down, without OFFSET. CC: "AND le.country_code = $6 ".
 */
#define NEAR_AHEAD(CC)                                                                         \
	"SELECT * FROM ((SELECT " ENTRY_COLS BOARD_FROM CC "AND le.elo = $2::int AND "           \
	SAME_ELO_AHEAD("$3", "$4") " ORDER BY le.reached_at DESC, le.player_id DESC LIMIT $5) "  \
	"UNION ALL (SELECT " ENTRY_COLS BOARD_FROM CC "AND le.elo > $2::int "                    \
	"ORDER BY le.elo, le.reached_at DESC, le.player_id DESC LIMIT $5)) x "                     \
	"ORDER BY 5, 11 DESC, 1 DESC LIMIT $5"
#define NEAR_BEHIND(CC)                                                                        \
	"SELECT * FROM ((SELECT " ENTRY_COLS BOARD_FROM CC "AND le.elo = $2::int AND "           \
	SAME_ELO_BEHIND("$3", "$4") " ORDER BY le.reached_at, le.player_id LIMIT $5) "           \
	"UNION ALL (SELECT " ENTRY_COLS BOARD_FROM CC "AND le.elo < $2::int "                    \
	"ORDER BY le.elo DESC, le.reached_at, le.player_id LIMIT $5)) x "                          \
	"ORDER BY 5 DESC, 11, 1 LIMIT $5"
/* rows that rank behind it */
#define BEHIND(E, R, I)                                                                       \
	"le.elo <= " E " AND (le.elo < " E " OR le.reached_at > timestamptz 'epoch' + " R          \
	"::bigint * interval '1 millisecond' OR (le.reached_at = timestamptz 'epoch' + " R          \
	"::bigint * interval '1 millisecond' AND le.player_id > " I "::uuid))"

/* the unfolded moves of board_moves m as count changes mc (migration 0005) */
#define MOVE_CELLS                                                                           \
	"board_moves m, board_move_cells(m.old_cc, m.old_elo, m.old_day, m.new_cc, m.new_elo, " \
	"m.new_day) mc"

/*
 * The rank of entry le on its board (migration 0005): 1 + the entries ahead
 * of it, counted as (a) higher elo from board_elo_counts, (b) same elo,
 * earlier UTC day from board_tie_counts, both corrected by the moves not
 * folded yet, and (c) same elo, same day, earlier (reached_at, id) by an
 * index range. O(distinct elos + one day's arrivals at one elo), not
 * O(rank). CC: the board's country_code in the counts ('' global); X_CC:
 * the entry filter for a country board ("" global).
 */
#define RANK_OF(CC, X_CC)                                                                     \
	"1 + coalesce((SELECT sum(c.n) FROM board_elo_counts c WHERE c.season_id = le.season_id " \
	"AND c.country_code = " CC " AND c.elo > le.elo), 0) "                                   \
	"+ coalesce((SELECT sum(t.n) FROM board_tie_counts t WHERE t.season_id = le.season_id "  \
	"AND t.country_code = " CC " AND t.elo = le.elo AND t.day < board_day(le.reached_at)), 0) " \
	"+ coalesce((SELECT sum(mc.n) FROM " MOVE_CELLS " WHERE m.season_id = le.season_id "     \
	"AND mc.country_code = " CC " AND (mc.elo > le.elo OR (mc.elo = le.elo "                 \
	"AND mc.day < board_day(le.reached_at)))), 0) "                                           \
	"+ (SELECT count(*) FROM leaderboard_entries x WHERE x.season_id = le.season_id "        \
	"AND x.is_active " X_CC "AND x.elo = le.elo "                                           \
	"AND x.reached_at >= board_day(le.reached_at)::timestamp AT TIME ZONE 'UTC' "              \
	"AND (x.reached_at, x.player_id) < (le.reached_at, le.player_id))"

/*
 * The entry at 0-based position $2 of a board, found from the same counts
 * (migration 0005): the elo whose entries cover the position (a running
 * sum over board_elo_counts + moves), then the UTC day within that elo
 * (board_tie_counts + moves), then an OFFSET within that day's arrivals at
 * that elo. Returns elo, reached_at ms, player id; no row past the end.
 * The deep pages of the PostgreSQL fallback start after it (NEAR_BEHIND).
 */
#define LOCATE(CC, X_CC)                                                                      \
	"WITH u AS (SELECT c.elo, c.n FROM board_elo_counts c "                                  \
	"WHERE c.season_id = $1 AND c.country_code = " CC " "                                    \
	"UNION ALL SELECT mc.elo, mc.n FROM " MOVE_CELLS " WHERE m.season_id = $1 "              \
	"AND mc.country_code = " CC "), "                                                         \
	"e AS (SELECT elo, sum(n) AS n FROM u GROUP BY elo HAVING sum(n) > 0), "                 \
	"ea AS (SELECT elo, n, sum(n) OVER (ORDER BY elo DESC) - n AS ahead FROM e), "           \
	"pe AS (SELECT elo, ahead FROM ea WHERE ahead <= $2::bigint AND ahead + n > $2::bigint), " \
	"v AS (SELECT t.day, t.n FROM board_tie_counts t, pe WHERE t.season_id = $1 "            \
	"AND t.country_code = " CC " AND t.elo = pe.elo "                                        \
	"UNION ALL SELECT mc.day, mc.n FROM " MOVE_CELLS ", pe WHERE m.season_id = $1 "          \
	"AND mc.country_code = " CC " AND mc.elo = pe.elo), "                                    \
	"d AS (SELECT day, sum(n) AS n FROM v GROUP BY day HAVING sum(n) > 0), "                 \
	"da AS (SELECT day, n, (SELECT ahead FROM pe) + sum(n) OVER (ORDER BY day) - n AS ahead " \
	"FROM d), "                                                                               \
	"pd AS (SELECT day, ahead FROM da WHERE ahead <= $2::bigint AND ahead + n > $2::bigint) " \
	"SELECT hit.elo, (extract(epoch FROM hit.reached_at) * 1000)::bigint, hit.player_id "    \
	"FROM pe, pd, LATERAL (SELECT x.elo, x.reached_at, x.player_id "                          \
	"FROM leaderboard_entries x WHERE x.season_id = $1 AND x.is_active " X_CC                 \
	"AND x.elo = pe.elo AND x.reached_at >= pd.day::timestamp AT TIME ZONE 'UTC' "            \
	"AND x.reached_at < (pd.day + 1)::timestamp AT TIME ZONE 'UTC' "                          \
	"ORDER BY x.reached_at, x.player_id OFFSET ($2::bigint - pd.ahead)::bigint LIMIT 1) hit"

#define WINDOW_FROM                                                                       \
	" FROM rating_events re JOIN players p ON p.id = re.player_id "                    \
	"WHERE re.season_id = 'all-time' AND re.created_at >= $1::timestamptz AND p.is_active " \
	"AND ($2::text IS NULL OR p.country_code = $2) "

/* the two player ids of match M, as an IN list */
#define MATCH_PLAYERS(M)                                                                \
	"((SELECT player1_id FROM matches WHERE id = " M "), "                             \
	"(SELECT player2_id FROM matches WHERE id = " M "))"

#define SEASON_COLS "id, name, " ISO("starts_at") ", " ISO("ends_at") ", is_active"

static const struct statement statements[STMT_MAX] = {
	[STMT_PING] = {"ping", "SELECT 1", 0},
	[STMT_MIGRATION_VERSION] = {"migration_version",
				    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0},

	[STMT_PLAYER_INSERT] =
		{"player_insert",
		 "WITH p AS (INSERT INTO players (username, email, password_hash, display_name, "
		 "country_code) VALUES ($1, $2, $3, $4, $5) RETURNING *), "
		 "e AS (INSERT INTO leaderboard_entries (season_id, player_id, elo, country_code, "
		 "reached_at) SELECT 'all-time', id, elo, country_code, "
		 "date_trunc('milliseconds', created_at) FROM p) "
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

	[STMT_MATCH_INSERT] =
		{"match_insert",
		 "WITH m AS (INSERT INTO matches (player1_id, player2_id, match_type, best_of, "
		 "scheduled_at, created_by, notes) SELECT $1, $2, $3, $4, $5::timestamptz, $6, $7 "
		 "WHERE (SELECT count(*) FROM players WHERE id IN ($1::uuid, $2::uuid) AND is_active) = 2 "
		 "RETURNING *) SELECT " MATCH_COLS " FROM m LEFT JOIN match_results r ON false",
		 7},
	[STMT_MATCH_GET] = {"match_get",
			    "SELECT " MATCH_COLS " FROM matches m "
			    "LEFT JOIN match_results r ON r.match_id = m.id WHERE m.id = $1",
			    1},
	[STMT_MATCH_LOCK] = {"match_lock",
			     "SELECT " MATCH_COLS " FROM matches m "
			     "LEFT JOIN match_results r ON r.match_id = m.id WHERE m.id = $1 "
			     "FOR UPDATE OF m",
			     1},
	[STMT_MATCH_SET_STATUS] =
		{"match_set_status",
		 "UPDATE matches SET status = $2, "
		 "started_at = CASE WHEN $2 = 'in_progress' THEN now() ELSE started_at END, "
		 "completed_at = CASE WHEN $2 IN ('completed', 'forfeit', 'no_show') THEN now() "
		 "ELSE completed_at END, season_id = coalesce($3, season_id), updated_at = now() "
		 "WHERE id = $1",
		 3},
	[STMT_MATCH_LIST] =
		{"match_list",
		 "SELECT " MATCH_COLS " FROM matches m LEFT JOIN match_results r ON r.match_id = m.id "
		 "WHERE ($1::uuid IS NULL OR m.player1_id = $1 OR m.player2_id = $1) "
		 "AND ($2::text IS NULL OR m.status = $2) AND ($3::text IS NULL OR m.match_type = $3) "
		 "AND ($4::bigint IS NULL OR (m.created_at, m.id) < "
		 "(timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid)) "
		 "ORDER BY m.created_at DESC, m.id DESC LIMIT $6",
		 6},
	[STMT_SEASON_CURRENT] = {"season_current",
				 "SELECT id FROM seasons WHERE is_active AND id <> 'all-time' "
				 "AND starts_at <= now() AND (ends_at IS NULL OR ends_at > now()) "
				 "ORDER BY starts_at DESC LIMIT 1",
				 0},
	/* the two players of match $1 (locked after the match row), in id order */
	[STMT_PLAYERS_LOCK_BY_MATCH] = {"players_lock_by_match",
					"SELECT id, elo, peak_elo, lowest_elo, games_played, wins, losses, "
					"draws, current_streak, best_win_streak, country_code, is_active, "
					"username, display_name FROM players WHERE id IN " MATCH_PLAYERS("$1")
					" ORDER BY id FOR UPDATE",
					1},
	/* the current season (no row: none) and its entries of match $1's players,
	 * locked in player id order; player_id is NULL when neither has an entry */
	[STMT_SEASON_ENTRIES_LOCK_BY_MATCH] =
		{"season_entries_lock_by_match",
		 "SELECT s.id, le.player_id, le.elo, le.games_played, le.wins, le.losses, le.draws "
		 "FROM (SELECT id FROM seasons WHERE is_active AND id <> 'all-time' "
		 "AND starts_at <= now() AND (ends_at IS NULL OR ends_at > now()) "
		 "ORDER BY starts_at DESC LIMIT 1) s LEFT JOIN LATERAL "
		 "(SELECT player_id, elo, games_played, wins, losses, draws FROM leaderboard_entries "
		 "WHERE season_id = s.id AND player_id IN " MATCH_PLAYERS("$1")
		 " ORDER BY player_id FOR UPDATE) le ON true",
		 1},
	/*
	 * A result's writes as one statement per table (rows as parallel arrays,
	 * in the order given): each statement costs PostgreSQL its executor
	 * start-up and a fresh parse of the table's CHECK constraints, whatever
	 * its row count.
	 */
	[STMT_PLAYERS_APPLY] =
		{"players_apply",
		 "UPDATE players p SET elo = v.elo, peak_elo = v.peak, lowest_elo = v.lowest, "
		 "games_played = v.games, wins = v.wins, losses = v.losses, draws = v.draws, "
		 "current_streak = v.streak, best_win_streak = v.best, version = p.version + 1, "
		 "last_active_at = now(), updated_at = now() "
		 "FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[], "
		 "$7::int[], $8::int[], $9::int[], $10::int[]) "
		 "AS v(id, elo, peak, lowest, games, wins, losses, draws, streak, best) "
		 "WHERE p.id = v.id RETURNING p.id, p.version",
		 10},
	[STMT_ENTRIES_APPLY] =
		{"entries_apply",
		 "INSERT INTO leaderboard_entries AS le (season_id, player_id, elo, games_played, wins, "
		 "losses, draws, country_code, reached_at, last_delta, updated_at) "
		 "SELECT v.s, v.p, v.elo, v.games, v.wins, v.losses, v.draws, v.cc, "
		 "date_trunc('milliseconds', now()), v.delta, now() "
		 "FROM unnest($1::text[], $2::uuid[], $3::int[], $4::int[], $5::int[], $6::int[], "
		 "$7::int[], $8::text[], $9::int[]) WITH ORDINALITY "
		 "AS v(s, p, elo, games, wins, losses, draws, cc, delta, n) ORDER BY v.n "
		 "ON CONFLICT (season_id, player_id) DO UPDATE SET elo = EXCLUDED.elo, "
		 "games_played = EXCLUDED.games_played, wins = EXCLUDED.wins, "
		 "losses = EXCLUDED.losses, draws = EXCLUDED.draws, "
		 "country_code = EXCLUDED.country_code, "
		 "reached_at = CASE WHEN le.elo <> EXCLUDED.elo THEN EXCLUDED.reached_at "
		 "ELSE le.reached_at END, last_delta = EXCLUDED.last_delta, updated_at = now() "
		 "RETURNING le.season_id, le.player_id, "
		 "(extract(epoch FROM le.reached_at) * 1000)::bigint",
		 9},
	/* rating_events ids follow the arrays' order (rating history pages by id) */
	[STMT_EVENTS_INSERT] =
		{"events_insert",
		 "INSERT INTO rating_events (player_id, match_id, season_id, elo_before, elo_after, delta) "
		 "SELECT v.p, $1, v.s, v.b, v.a, v.a - v.b "
		 "FROM unnest($2::uuid[], $3::text[], $4::int[], $5::int[]) WITH ORDINALITY "
		 "AS v(p, s, b, a, n) ORDER BY v.n",
		 5},
	/* $1..$16 as result_insert, $17 the match status: the match as it now stands */
	[STMT_RESULT_RECORD] =
		{"result_record",
		 "WITH r AS (INSERT INTO match_results (match_id, player1_score, player2_score, "
		 "winner_id, result_type, player1_elo_before, player1_elo_after, player2_elo_before, "
		 "player2_elo_after, player1_k, player2_k, verification_status, reported_by, "
		 "verified_by, season_id, season_changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
		 "$10, $11, $12, $13, $14, $15, $16::jsonb) RETURNING *), "
		 "m AS (UPDATE matches SET status = $17::text, "
		 "started_at = CASE WHEN $17::text = 'in_progress' THEN now() ELSE started_at END, "
		 "completed_at = CASE WHEN $17::text IN ('completed', 'forfeit', 'no_show') THEN now() "
		 "ELSE completed_at END, season_id = coalesce($15, season_id), updated_at = now() "
		 "WHERE id = $1 RETURNING *) "
		 "SELECT " MATCH_COLS " FROM m JOIN r ON r.match_id = m.id",
		 17},
	[STMT_RESULT_INSERT] =
		{"result_insert",
		 "INSERT INTO match_results (match_id, player1_score, player2_score, winner_id, "
		 "result_type, player1_elo_before, player1_elo_after, player2_elo_before, "
		 "player2_elo_after, player1_k, player2_k, verification_status, reported_by, "
		 "verified_by, season_id, season_changes) "
		 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb)",
		 16},
	[STMT_RESULT_SET_STATUS] = {"result_set_status",
				    "UPDATE match_results SET verification_status = $2, "
				    "verified_by = coalesce($3, verified_by), updated_at = now() "
				    "WHERE match_id = $1",
				    3},
	[STMT_RESULT_APPLY] =
		{"result_apply",
		 "UPDATE match_results SET player1_elo_before = $2, player1_elo_after = $3, "
		 "player2_elo_before = $4, player2_elo_after = $5, player1_k = $6, player2_k = $7, "
		 "verification_status = 'verified', verified_by = $8, season_id = $9, "
		 "season_changes = $10::jsonb, updated_at = now() WHERE match_id = $1",
		 10},
	[STMT_IDEM_CLAIM] =
		{"idem_claim",
		 "INSERT INTO idempotency_keys (player_id, key, route, request_hash) "
		 "VALUES ($1, $2, $3, $4) ON CONFLICT (player_id, key) DO UPDATE SET "
		 "route = EXCLUDED.route, request_hash = EXCLUDED.request_hash, status = NULL, "
		 "response = NULL, created_at = now() "
		 "WHERE idempotency_keys.created_at < now() - interval '24 hours' RETURNING 1",
		 4},
	[STMT_IDEM_GET] = {"idem_get",
			   "SELECT route, request_hash, status, response FROM idempotency_keys "
			   "WHERE player_id = $1 AND key = $2",
			   2},
	[STMT_IDEM_STORE] = {"idem_store",
			     "UPDATE idempotency_keys SET status = $3, response = $4 "
			     "WHERE player_id = $1 AND key = $2",
			     4},
	[STMT_RATING_HISTORY] = {"rating_history",
				 "SELECT id, match_id, elo_before, elo_after, delta, " ISO("created_at")
				 " FROM rating_events WHERE player_id = $1 AND season_id = $2 "
				 "AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
				 4},

	[STMT_BOARD_PAGE] = {"board_page",
			     "SELECT " ENTRY_COLS BOARD_FROM BOARD_ORDER "OFFSET $2 LIMIT $3", 3},
	[STMT_BOARD_PAGE_CC] = {"board_page_cc",
				"SELECT " ENTRY_COLS BOARD_FROM "AND le.country_code = $4"
				BOARD_ORDER "OFFSET $2 LIMIT $3",
				4},
	[STMT_BOARD_AFTER] = {"board_after",
			      "SELECT " ENTRY_COLS BOARD_FROM "AND " BEHIND("$2::int", "$3", "$4")
			      BOARD_ORDER "LIMIT $5",
			      5},
	[STMT_BOARD_AFTER_CC] = {"board_after_cc",
				 "SELECT " ENTRY_COLS BOARD_FROM "AND le.country_code = $6 AND "
				 BEHIND("$2::int", "$3", "$4") BOARD_ORDER "LIMIT $5",
				 6},
	/* board sizes are kept by triggers (migration 0004): no count(*) over the board */
	[STMT_BOARD_COUNT] = {"board_count",
			      "SELECT greatest(coalesce((SELECT n FROM board_sizes WHERE season_id = $1 "
			      "AND country_code = ''), 0), 0)",
			      1},
	[STMT_BOARD_COUNT_CC] = {"board_count_cc",
				 "SELECT greatest(coalesce((SELECT n FROM board_sizes WHERE season_id = $1 "
				 "AND country_code = $2), 0), 0)",
				 2},
	[STMT_BOARD_NEAR_AHEAD] = {"board_near_ahead", NEAR_AHEAD(""), 5},
	[STMT_BOARD_NEAR_AHEAD_CC] = {"board_near_ahead_cc", NEAR_AHEAD("AND le.country_code = $6 "), 6},
	[STMT_BOARD_NEAR_BEHIND] = {"board_near_behind", NEAR_BEHIND(""), 5},
	[STMT_BOARD_NEAR_BEHIND_CC] = {"board_near_behind_cc", NEAR_BEHIND("AND le.country_code = $6 "), 6},
	/* the entry at position $2 (LOCATE, migration 0005) */
	[STMT_BOARD_LOCATE] = {"board_locate", LOCATE("''", ""), 2},
	[STMT_BOARD_LOCATE_CC] = {"board_locate_cc",
				  LOCATE("$3::bpchar", "AND x.country_code = $3::bpchar "), 3},
	/* the entry of player $2 and its rank (RANK_OF, migration 0005) */
	[STMT_BOARD_ENTRY_RANK] = {"board_entry_rank",
				   "SELECT " ENTRY_COLS ", " RANK_OF("''", "") BOARD_FROM
				   "AND le.player_id = $2",
				   2},
	[STMT_BOARD_ENTRY_RANK_CC] = {"board_entry_rank_cc",
				      "SELECT " ENTRY_COLS ", "
				      RANK_OF("$3::bpchar", "AND x.country_code = $3::bpchar ")
				      BOARD_FROM "AND le.player_id = $2 AND le.country_code = $3::bpchar",
				      3},
	[STMT_BOARD_ENTRY_OF] = {"board_entry_of",
				 "SELECT " ENTRY_COLS BOARD_FROM "AND le.player_id = $2", 2},
	/* rebuild: entries (ENTRY_COLS + the player's record) in player id order */
	[STMT_BOARD_ALL] = {"board_all",
			    "SELECT " ENTRY_COLS ENTRY_RECORD_COLS BOARD_FROM
			    /* p.id bounded too: a merge join must not scan players from the start */
			    "AND le.player_id > $2::uuid AND p.id > $2::uuid "
			    "ORDER BY le.player_id LIMIT $3",
			    3},
	/* one player's entries on every board (profile changes) */
	[STMT_PLAYER_ENTRIES] = {"player_entries",
				 "SELECT " ENTRY_COLS ENTRY_RECORD_COLS ", le.season_id "
				 "FROM leaderboard_entries le JOIN players p ON p.id = le.player_id "
				 "WHERE le.player_id = $1 AND le.is_active",
				 1},
	[STMT_WINDOW_PAGE] = {"window_page",
			      "SELECT re.player_id, p.username, p.display_name, p.country_code, p.elo, "
			      "p.games_played, p.wins, p.losses, p.draws, sum(re.delta)::int AS gained, "
			      "0::bigint" WINDOW_FROM "GROUP BY re.player_id, p.id "
			      "ORDER BY gained DESC, re.player_id OFFSET $3 LIMIT $4",
			      4},
	[STMT_WINDOW_COUNT] = {"window_count",
			       "SELECT count(DISTINCT re.player_id)" WINDOW_FROM, 2},
	[STMT_WINDOW_RANK_OF] = {"window_rank_of",
				 "WITH g AS (SELECT re.player_id, sum(re.delta) AS gained" WINDOW_FROM
				 "GROUP BY re.player_id) SELECT (SELECT gained FROM g WHERE player_id = $3), "
				 "1 + count(*) FILTER (WHERE gained > (SELECT gained FROM g WHERE player_id = $3) "
				 "OR (gained = (SELECT gained FROM g WHERE player_id = $3) AND player_id < $3)) FROM g",
				 3},
	[STMT_WINDOW_ALL] = {"window_all",
			     "SELECT re.player_id, sum(re.delta)::int, p.country_code" WINDOW_FROM
			     "GROUP BY re.player_id, p.country_code",
			     2},

	[STMT_SEASON_INSERT] = {"season_insert",
				"INSERT INTO seasons (id, name, starts_at, ends_at) VALUES ($1, $2, "
				"coalesce($3::timestamptz, now()), $4::timestamptz) RETURNING " SEASON_COLS,
				4},
	[STMT_SEASON_LIST] = {"season_list",
			      "SELECT " SEASON_COLS " FROM seasons ORDER BY starts_at DESC, id LIMIT 200", 0},
	[STMT_SEASON_CLOSE] = {"season_close",
			       "UPDATE seasons SET is_active = false, "
			       "ends_at = least(coalesce(ends_at, 'infinity'), "
			       "greatest(now(), starts_at + interval '1 millisecond')) "
			       "WHERE id = $1 AND is_active AND id <> 'all-time' RETURNING " SEASON_COLS,
			       1},
	[STMT_SEASON_EXISTS] = {"season_exists",
				"SELECT " SEASON_COLS " FROM seasons WHERE id = $1", 1},
};

const struct statement *statement_get(enum stmt_id id)
{
	return (unsigned)id < STMT_MAX ? &statements[id] : NULL;
}
