-- gen-players.sql — the demo players of `rankpulse seed --players N`, set-based,
-- for N where the seed itself cannot go (see docs/benchmarks.md).
--
--   psql -X -v ON_ERROR_STOP=1 -v players=1000000 -f bench/gen-players.sql
--
-- Same rows as lib/store/seed.c (same ids md5('rankpulse-demo-' || i)::uuid,
-- same elo / games / country formulas, same password hash, same all-time
-- leaderboard_entries), with two differences that only matter above the
-- seed's working range:
--   * the arithmetic is bigint: the seed computes (i * 7919) in int4, which
--     overflows for i > 271,182 ("integer out of range", nothing is seeded);
--   * usernames of players >= 1,000,000 are 'demo' || i: the seed's
--     lpad(i::text, 6, '0') truncates them to six digits (demo1000000 ->
--     demo100000, a duplicate that ON CONFLICT DO NOTHING silently drops).
-- The password hash is copied from the admin account that the seed creates
-- (the seed hashes `rankpulse-demo` once and uses it for every account), so
-- run `rankpulse seed --players K` (any K >= 0) first.  Idempotent: existing
-- players are kept (ON CONFLICT DO NOTHING), so it also tops up a smaller seed.
-- Works in chunks of 250,000 players, one transaction each, with a progress
-- NOTICE per chunk.

\set ON_ERROR_STOP 1
SET synchronous_commit = off;  -- a crash loses the tail of the run, nothing else

SELECT password_hash AS demo_hash FROM players WHERE username = 'admin' \gset
SELECT :'demo_hash' LIKE '$argon2id$%' AS hash_ok \gset
\if :hash_ok
\else
\echo 'gen-players: no admin account with an argon2id hash: run `rankpulse seed --players 0` first'
\quit
\endif

SELECT set_config('bench.demo_hash', :'demo_hash', false);
SELECT set_config('bench.players', :'players', false);

DO $$
DECLARE
    n      bigint := current_setting('bench.players')::bigint;
    hash   text   := current_setting('bench.demo_hash');
    chunk  bigint := 250000;
    lo     bigint := 1;
    hi     bigint;
    added  bigint;
    t0     timestamptz := clock_timestamp();
BEGIN
    WHILE lo <= n LOOP
        hi := least(lo + chunk - 1, n);
        WITH s AS (
            SELECT i,
                   1200 + ((i * 7919) % 801) - 400 AS elo,
                   (i * 31) % 50 AS w, (i * 17) % 50 AS l, (i * 7) % 10 AS d
            FROM generate_series(lo, hi) AS i),
        p AS (
            INSERT INTO players (id, username, email, password_hash, display_name, country_code,
                                 elo, peak_elo, lowest_elo, games_played, wins, losses, draws,
                                 created_at, updated_at)
            SELECT md5('rankpulse-demo-' || i)::uuid,
                   'demo' || CASE WHEN i < 1000000 THEN lpad(i::text, 6, '0') ELSE i::text END,
                   'demo' || CASE WHEN i < 1000000 THEN lpad(i::text, 6, '0') ELSE i::text END
                          || '@demo.rankpulse.invalid',
                   hash, 'Demo Player ' || i,
                   (ARRAY['US','GB','DE','FR','SE','NO','JP','KR','BR','IN','CA','AU','ES','IT','PL','NL'])[1 + i % 16],
                   elo, elo + i % 50, elo - i % 40, w + l + d, w, l, d,
                   timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',
                   timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second'
            FROM s
            ON CONFLICT DO NOTHING
            RETURNING id, elo, games_played, wins, losses, draws, country_code, created_at)
        -- the seed's all-time entries, for the players inserted just now
        INSERT INTO leaderboard_entries (season_id, player_id, elo, games_played, wins, losses,
                                         draws, country_code, reached_at)
        SELECT 'all-time', id, elo, games_played, wins, losses, draws, country_code,
               date_trunc('milliseconds', created_at)
        FROM p
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;

        COMMIT;
        RAISE NOTICE 'gen-players: % .. % (% new) after % s', lo, hi, added,
            round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
        lo := hi + 1;
    END LOOP;
END
$$;

VACUUM (ANALYZE) players;
VACUUM (ANALYZE) leaderboard_entries;
