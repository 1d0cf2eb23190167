/*
 * seed.c — demo data generator (see seed.h).
 */
#include "store/seed.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdlib.h>

static const char seed_sql[] =
	"WITH s AS (SELECT i,"
	" 1200 + ((i::bigint * 7919) % 801)::int - 400 AS elo,"
	" (i * 31) % 50 AS w, (i * 17) % 50 AS l, (i * 7) % 10 AS d"
	" FROM generate_series(1, $1::int) AS i)"
	" INSERT INTO players (id, username, email, password_hash, display_name, country_code,"
	"  elo, peak_elo, lowest_elo, games_played, wins, losses, draws, best_win_streak,"
	"  created_at, updated_at)"
	" SELECT md5('rankpulse-demo-' || i)::uuid, 'demo' || lpad(i::text, greatest(6, length(i::text)), '0'),"
	"  'demo' || lpad(i::text, greatest(6, length(i::text)), '0') || '@demo.rankpulse.invalid', $2,"
	"  'Demo Player ' || i,"
	"  (ARRAY['US','GB','DE','FR','SE','NO','JP','KR','BR','IN','CA','AU','ES','IT','PL','NL'])[1 + i % 16],"
	"  elo, elo + i % 50, elo - i % 40, w + l + d, w, l, d, least(w, 1 + i % 7),"
	"  timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',"
	"  timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second'"
	" FROM s ON CONFLICT DO NOTHING";

static const char entries_sql[] =
	"INSERT INTO leaderboard_entries (season_id, player_id, elo, games_played, wins, losses,"
	"  draws, country_code, reached_at)"
	" SELECT 'all-time', id, elo, games_played, wins, losses, draws, country_code,"
	" date_trunc('milliseconds', created_at)"
	" FROM players WHERE role <> 'admin' ON CONFLICT DO NOTHING";

static const char admin_sql[] =
	"INSERT INTO players (id, username, email, password_hash, display_name, role)"
	" VALUES (md5('rankpulse-demo-admin')::uuid, 'admin', 'admin@demo.rankpulse.invalid', $1,"
	"  'Administrator', 'admin') ON CONFLICT DO NOTHING";

static bool ok(PGresult *r, FILE *out)
{
	ExecStatusType s = PQresultStatus(r);
	bool good = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
	if (!good)
		fprintf(out, "seed: %s", PQresultErrorMessage(r));
	PQclear(r);
	return good;
}

enum rp_err seed_players(const char *conninfo, long n, bool if_empty, FILE *out)
{
	if (n < 0 || n > SEED_MAX_PLAYERS) {
		fprintf(out, "seed: --players must be between 0 and %ld\n", SEED_MAX_PLAYERS);
		return RP_EINVAL;
	}
	char hash[crypto_pwhash_STRBYTES];
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(hash, SEED_DEMO_PASSWORD, sizeof(SEED_DEMO_PASSWORD) - 1,
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(out, "seed: cannot hash the demo password (out of memory?)\n");
		return RP_ENOMEM;
	}
	static const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {conninfo, "10", "rankpulse-seed", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(out, "seed: cannot connect to DATABASE_URL: %s", PQerrorMessage(c));
		PQfinish(c);
		return RP_EUNAVAIL;
	}
	enum rp_err err = RP_EINTERNAL;
	if (!ok(PQexec(c, "BEGIN"), out))
		goto done;
	if (if_empty) {
		PGresult *r = PQexec(c, "SELECT EXISTS (SELECT 1 FROM players)");
		bool any = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		if (any) {
			fprintf(out, "seed: players exist already; nothing to do\n");
			err = RP_OK;
			goto done;
		}
	}
	char count[24];
	snprintf(count, sizeof(count), "%ld", n);
	const char *p1[] = {count, hash};
	const char *p2[] = {hash};
	if (!ok(PQexecParams(c, seed_sql, 2, NULL, p1, NULL, NULL, 0), out) ||
	    !ok(PQexecParams(c, admin_sql, 1, NULL, p2, NULL, NULL, 0), out) ||
	    !ok(PQexec(c, entries_sql), out) || !ok(PQexec(c, "COMMIT"), out) ||
	    !ok(PQexec(c, "VACUUM (ANALYZE) players, leaderboard_entries, board_moves"), out)) {
		err = RP_ECONFLICT;
		goto done;
	}
	fprintf(out, "seed: %ld demo players and the admin account created (password: %s)\n", n,
		SEED_DEMO_PASSWORD);
	err = RP_OK;
done:
	PQfinish(c);
	return err;
}
