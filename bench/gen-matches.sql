-- gen-matches.sql — M completed ranked matches between random demo players,
-- with their match_results and rating_events, set-based (for benchmarks).
--
--   psql -X -v ON_ERROR_STOP=1 -v matches=5000000 [-v days=90] [-v chunk=250000] \
--        -f bench/gen-matches.sql
--
-- Needs the demo players of `rankpulse seed --players N` (or
-- bench/gen-players.sql): ids md5('rankpulse-demo-' || k)::uuid, k = 1..N,
-- and the admin account (who creates and reports every generated match).
--
-- What the rows look like:
--   matches        match_type 'ranked', status 'completed', best_of 1, no
--                  season; created_at spread evenly over the last `days`
--                  days (oldest first), completed 10 minutes after creation,
--                  so the day / week / month boards all have data.
--   match_results  1-0 (player 1 or 2 wins, 45 % each) or 0-0 (draw, 10 %),
--                  result_type win / draw, verified, reported by admin; the
--                  rating fields follow SPEC §5 (expected score, K = 40
--                  below 30 games else 24, rounded half away from zero)...
--   rating_events  ...two rows per match (all-time board), created at the
--                  match's completion, delta = after - before.
--
-- NOT an ELO replay: every match starts from the two players' *seeded*
-- ratings and games (the seed's formulas), and players / leaderboard_entries
-- are not touched.  So a player's rating_events do not chain (one event's
-- elo_after is not the next one's elo_before) and sum(delta) is not
-- elo - 1200.  Window boards (sum of deltas in the window), rating history
-- and match lists get realistic volume and shape, which is what the
-- benchmarks need; the all-time board keeps the seeded ratings.
--
-- Deterministic: match i always gets the same players, outcome and a
-- UUIDv7-style id (48-bit creation time in ms, then md5 bits), so ids grow
-- with i and the primary / unique indexes are appended to rather than hit
-- at random.  Runs again as a top-up: matches already present are skipped
-- (ON CONFLICT on the primary key).  `-v first=K -v last=L` generates only
-- matches K..L of the M (ids, players and times do not depend on the range),
-- so several sessions can split the work: first=1 last=M/2 and
-- first=M/2+1 last=M in parallel give the same rows as one session.
-- Foreign keys: run by a superuser (the local stack's role is one), the
-- session sets session_replication_role = replica, which skips the
-- foreign-key triggers (they were ~90 % of the time: each match locked its
-- two players and the admin FOR KEY SHARE, dirtying random players pages).
-- In their place the script checks the references itself before writing:
-- the admin and season 'all-time' once, both players of every match per
-- chunk; match_results / rating_events point at the chunk's own matches.
-- The stored rows are the same either way; CHECK constraints, unique and
-- primary keys and every index stay live. Run by another role, the
-- foreign keys are checked by PostgreSQL as usual (slower).
-- Chunks of `chunk` matches, one transaction each, a NOTICE per chunk.

\set ON_ERROR_STOP 1
\if :{?days}
\else
\set days 90
\endif
\if :{?chunk}
\else
\set chunk 250000
\endif
\if :{?first}
\else
\set first 1
\endif
\if :{?last}
\else
\set last :matches
\endif
SET synchronous_commit = off;  -- a crash loses the tail of the run, nothing else
SET work_mem = '64MB';
-- full-page images dominate the WAL of a bulk load into indexed tables;
-- compressing them is invisible to everything but the WAL volume
SET wal_compression = on;
SELECT rolsuper AS gen_superuser FROM pg_roles WHERE rolname = current_user \gset
\if :gen_superuser
SET session_replication_role = replica;  -- no FK triggers: see the header
\endif

SELECT set_config('bench.matches', :'matches', false),
       set_config('bench.days', :'days', false),
       set_config('bench.chunk', :'chunk', false),
       set_config('bench.first', :'first', false),
       set_config('bench.last', :'last', false) \gset

DO $$
DECLARE
    m       bigint := current_setting('bench.matches')::bigint;
    days    int    := current_setting('bench.days')::int;
    chunk   bigint := current_setting('bench.chunk')::bigint;
    lo      bigint := current_setting('bench.first')::bigint;
    last    bigint := least(current_setting('bench.last')::bigint,
                            current_setting('bench.matches')::bigint);
    n       bigint;
    admin   uuid;
    t_end   timestamptz := date_trunc('second', now());
    step    interval;
    hi      bigint;
    added   bigint;
    t0      timestamptz := clock_timestamp();
BEGIN
    SELECT id INTO admin FROM players WHERE username = 'admin';
    IF admin IS NULL THEN
        RAISE EXCEPTION 'gen-matches: no admin account (run rankpulse seed first)';
    END IF;
    SELECT count(*) INTO n FROM players WHERE username LIKE 'demo%' AND role = 'player';
    IF n < 2 OR NOT EXISTS (SELECT 1 FROM players WHERE id = md5('rankpulse-demo-' || n)::uuid) THEN
        RAISE EXCEPTION 'gen-matches: % demo players, but demo player % is missing (ids must be the seed''s)', n, n;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM seasons WHERE id = 'all-time') THEN
        RAISE EXCEPTION 'gen-matches: season all-time is missing (run rankpulse migrate)';
    END IF;
    step := (days * interval '1 day') / greatest(m, 1);
    RAISE NOTICE 'gen-matches: matches % .. % of % between % demo players over % days',
        lo, last, m, n, days;

    WHILE lo <= last LOOP
        hi := least(lo + chunk - 1, last);

        DROP TABLE IF EXISTS pg_temp.g;
        CREATE TEMP TABLE g ON COMMIT DROP AS
        WITH pick AS (
            SELECT i,
                   t_end - (m - i) * step AS t,
                   1 + (abs(hashint8(i)::bigint) % n) AS a,
                   abs(hashint8(-i)::bigint) % (n - 1) AS off,
                   abs(hashint8(i * 3 + 1)::bigint) % 20 AS o,
                   md5('rankpulse-bench-match-' || i) AS h
            FROM generate_series(lo, hi) AS i),
        pp AS (
            SELECT i, t, a, 1 + ((a + off) % n) AS b, o, h FROM pick),
        rated AS (
            SELECT i, t, a, b, h,
                   CASE WHEN o < 2 THEN 0.5 WHEN o % 2 = 0 THEN 1.0 ELSE 0.0 END AS s1,
                   1200 + ((a * 7919) % 801) - 400 AS r1,
                   1200 + ((b * 7919) % 801) - 400 AS r2,
                   CASE WHEN (a * 31) % 50 + (a * 17) % 50 + (a * 7) % 10 < 30 THEN 40 ELSE 24 END AS k1,
                   CASE WHEN (b * 31) % 50 + (b * 17) % 50 + (b * 7) % 10 < 30 THEN 40 ELSE 24 END AS k2
            FROM pp)
        SELECT i, t, h, s1, r1, r2, k1, k2,
               (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7'
                || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid AS match_id,
               md5('rankpulse-demo-' || a)::uuid AS p1,
               md5('rankpulse-demo-' || b)::uuid AS p2,
               -- SPEC §5: E = 1 / (1 + 10^((Rb - Ra) / 400)); rounded half away from zero
               r1 + round((k1 * (s1 - 1.0 / (1.0 + power(10.0, (r2 - r1) / 400.0))))::numeric)::int AS a1,
               r2 + round((k2 * ((1.0 - s1) - 1.0 / (1.0 + power(10.0, (r1 - r2) / 400.0))))::numeric)::int AS a2
        FROM rated;

        -- the players the skipped foreign-key triggers would have checked
        -- (the admin and season 'all-time' are checked once, above)
        IF EXISTS (SELECT 1 FROM g WHERE NOT EXISTS (SELECT 1 FROM players p WHERE p.id = g.p1)
                                      OR NOT EXISTS (SELECT 1 FROM players p WHERE p.id = g.p2)) THEN
            RAISE EXCEPTION 'gen-matches: a generated match names a missing player';
        END IF;

        INSERT INTO matches (id, player1_id, player2_id, match_type, status, best_of,
                             started_at, completed_at, created_by, created_at, updated_at)
        SELECT match_id, p1, p2, 'ranked', 'completed', 1,
               t - interval '10 minutes', t, admin, t - interval '10 minutes', t
        FROM g
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        IF added < hi - lo + 1 THEN
            -- a top-up over matches that exist already: keep only the new ones
            DELETE FROM g WHERE EXISTS (SELECT 1 FROM match_results r WHERE r.match_id = g.match_id);
        END IF;

        INSERT INTO match_results (id, match_id, player1_score, player2_score, winner_id,
                                   result_type, player1_elo_before, player1_elo_after,
                                   player2_elo_before, player2_elo_after, player1_k, player2_k,
                                   verification_status, reported_by, created_at, updated_at)
        SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7'
                || substr(h, 18, 3) || '9' || substr(h, 21, 12) || substr(h, 1, 3))::uuid,
               match_id,
               CASE WHEN s1 = 1.0 THEN 1 ELSE 0 END,
               CASE WHEN s1 = 0.0 THEN 1 ELSE 0 END,
               CASE WHEN s1 = 1.0 THEN p1 WHEN s1 = 0.0 THEN p2 END,
               CASE WHEN s1 = 0.5 THEN 'draw' ELSE 'win' END,
               r1, a1, r2, a2, k1, k2, 'verified', admin, t, t
        FROM g;

        INSERT INTO rating_events (player_id, match_id, season_id, elo_before, elo_after, delta,
                                   created_at)
        SELECT e.player_id, g.match_id, 'all-time', e.before, e.after, e.after - e.before, g.t
        FROM g CROSS JOIN LATERAL (VALUES (g.p1, g.r1, g.a1), (g.p2, g.r2, g.a2))
             AS e(player_id, before, after)
        ORDER BY g.i;

        COMMIT;
        RAISE NOTICE 'gen-matches: % .. % (% new) after % s', lo, hi, added,
            round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
        lo := hi + 1;
    END LOOP;
END
$$;

ANALYZE matches;
ANALYZE match_results;
ANALYZE rating_events;
