-- 0005_board_ranks: exact ranks from PostgreSQL in O(distinct elos), not
-- O(rank), for when Redis is down or a board group is not built yet.
--
-- A player's rank on a board is 1 + the active entries ahead of it in the
-- total order (elo desc, reached_at asc, player id asc):
--   (a) entries with a higher elo,
--   (b) entries with the same elo that reached it on an earlier UTC day,
--   (c) entries with the same elo, the same day, earlier (reached_at, id).
-- (a) is a sum over board_elo_counts (one row per elo), (b) over
-- board_tie_counts (one row per elo and day), (c) an index range count
-- over at most one day's arrivals at one elo.
--
-- Writers never update the count rows: every change of a board membership
-- (insert, elo, reached_at, country, activity) appends one row to
-- board_moves, so concurrent results at the same elo do not queue on a
-- shared counter. board_moves_fold() moves the appended rows into the
-- counts; the triggers call it for about one statement in 256 and at once
-- after a bulk statement. Readers add both in one snapshot.
--
-- Country code '' is the season's global board, as in board_sizes.

CREATE TABLE board_elo_counts (
    season_id     text NOT NULL,
    country_code  text NOT NULL,
    elo           integer NOT NULL,
    n             bigint NOT NULL,
    PRIMARY KEY (season_id, country_code, elo)
);

CREATE TABLE board_tie_counts (
    season_id     text NOT NULL,
    country_code  text NOT NULL,
    elo           integer NOT NULL,
    day           date NOT NULL,
    n             bigint NOT NULL,
    PRIMARY KEY (season_id, country_code, elo, day)
);

-- one membership change of one entry: the place it left (old_elo NULL: it
-- was not on the board) and the place it took (new_elo NULL: it left)
CREATE TABLE board_moves (
    season_id  text NOT NULL,
    old_cc     text,
    old_elo    integer,
    old_day    date,
    new_cc     text,
    new_elo    integer,
    new_day    date
);
-- kept small by the fold; vacuum it by row count, not by a share of a
-- table that is nearly empty between folds
ALTER TABLE board_moves SET (autovacuum_vacuum_scale_factor = 0,
                             autovacuum_vacuum_threshold = 20000,
                             autovacuum_vacuum_cost_delay = 0);
-- no key (a key index would cost every result an index insert): a logical
-- replication publication that includes it (FOR ALL TABLES) must still be
-- able to replicate the fold's DELETE, or the fold, and the result that
-- runs it, would fail
ALTER TABLE board_moves REPLICA IDENTITY FULL;

CREATE FUNCTION board_day(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (t AT TIME ZONE 'UTC')::date $$;

-- What one move changes in the counts: -1 at the place it left and +1 at the
-- place it took, each on the global board ('') and, with a country, on the
-- country's board. The fold and every reader of unfolded moves
-- (statements.c) expand moves with it.
CREATE FUNCTION board_move_cells(old_cc text, old_elo integer, old_day date,
                                 new_cc text, new_elo integer, new_day date)
RETURNS TABLE (country_code text, elo integer, day date, n integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT v.cc, v.elo, v.day, v.n
    FROM (VALUES ('', new_elo, new_day, 1), (new_cc, new_elo, new_day, 1),
                 ('', old_elo, old_day, -1), (old_cc, old_elo, old_day, -1)) AS v (cc, elo, day, n)
    WHERE v.elo IS NOT NULL AND v.cc IS NOT NULL
$$;

-- Fold the committed moves into the counts. One folder at a time: another
-- caller returns at once (wait = false) or queues behind it (wait = true).
CREATE FUNCTION board_moves_fold(wait boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF wait THEN
        PERFORM pg_advisory_xact_lock(hashtext('rankpulse.board_moves_fold'));
    ELSIF NOT pg_try_advisory_xact_lock(hashtext('rankpulse.board_moves_fold')) THEN
        RETURN;
    END IF;
    WITH m AS (DELETE FROM board_moves RETURNING *),
    d AS (SELECT m.season_id, c.country_code AS cc, c.elo, c.day, c.n
              FROM m, board_move_cells(m.old_cc, m.old_elo, m.old_day,
                                       m.new_cc, m.new_elo, m.new_day) c),
    t AS (INSERT INTO board_tie_counts AS c (season_id, country_code, elo, day, n)
              SELECT season_id, cc, elo, day, sum(n) FROM d GROUP BY 1, 2, 3, 4
              HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
              ON CONFLICT (season_id, country_code, elo, day) DO UPDATE SET n = c.n + EXCLUDED.n)
    INSERT INTO board_elo_counts AS c (season_id, country_code, elo, n)
        SELECT season_id, cc, elo, sum(n) FROM d GROUP BY 1, 2, 3
        HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (season_id, country_code, elo) DO UPDATE SET n = c.n + EXCLUDED.n;
END
$$;

-- after appending n moves: fold now after a bulk statement, else now and then
CREATE FUNCTION board_moves_added(n bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF n > 256 THEN
        PERFORM board_moves_fold(true);
    ELSIF n > 0 AND random() < 1.0 / 256 THEN
        PERFORM board_moves_fold(false);
    END IF;
END
$$;

-- Inserts: board sizes (as in 0004) and moves, once per statement. An
-- INSERT .. ON CONFLICT DO UPDATE that updated every row (most results)
-- inserted nothing, so it returns before running any statement.
CREATE OR REPLACE FUNCTION board_sizes_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
        RETURN NULL;
    END IF;
    INSERT INTO board_sizes AS b (season_id, country_code, n)
        SELECT season_id, '', count(*) FROM new_rows WHERE is_active GROUP BY season_id
            ORDER BY season_id
        ON CONFLICT (season_id, country_code) DO UPDATE SET n = b.n + EXCLUDED.n;
    INSERT INTO board_sizes AS b (season_id, country_code, n)
        SELECT season_id, country_code, count(*) FROM new_rows
            WHERE is_active AND country_code IS NOT NULL GROUP BY season_id, country_code
            ORDER BY season_id, country_code
        ON CONFLICT (season_id, country_code) DO UPDATE SET n = b.n + EXCLUDED.n;
    INSERT INTO board_moves (season_id, new_cc, new_elo, new_day)
        SELECT season_id, country_code, elo, board_day(reached_at) FROM new_rows WHERE is_active;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM board_moves_added(n);
    RETURN NULL;
END
$$;

CREATE FUNCTION board_moves_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO board_moves (season_id, old_cc, old_elo, old_day, new_cc, new_elo, new_day)
        SELECT o.season_id,
               o.country_code, CASE WHEN o.is_active THEN o.elo END, board_day(o.reached_at),
               w.country_code, CASE WHEN w.is_active THEN w.elo END, board_day(w.reached_at)
        FROM old_rows o JOIN new_rows w USING (season_id, player_id)
        WHERE (o.is_active OR w.is_active)
          AND (o.is_active, o.elo, o.reached_at, o.country_code)
              IS DISTINCT FROM (w.is_active, w.elo, w.reached_at, w.country_code);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM board_moves_added(n);
    RETURN NULL;
END
$$;

CREATE FUNCTION board_moves_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO board_moves (season_id, old_cc, old_elo, old_day)
        SELECT season_id, country_code, elo, board_day(reached_at) FROM old_rows WHERE is_active;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM board_moves_added(n);
    RETURN NULL;
END
$$;

CREATE TRIGGER board_moves_update AFTER UPDATE ON leaderboard_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION board_moves_updated();
CREATE TRIGGER board_moves_delete AFTER DELETE ON leaderboard_entries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION board_moves_deleted();

-- Count every board again from the entries (the rank counts and, from
-- them, board_sizes of 0004): after DML that bypassed the triggers (session_replication_role = replica, a data-only restore with
-- triggers disabled). Writers of entries wait for it; readers do not.
CREATE FUNCTION board_counts_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE leaderboard_entries IN SHARE MODE;
    PERFORM pg_advisory_xact_lock(hashtext('rankpulse.board_moves_fold'));
    DELETE FROM board_moves;
    DELETE FROM board_elo_counts;
    DELETE FROM board_tie_counts;
    DELETE FROM board_sizes;
    INSERT INTO board_tie_counts (season_id, country_code, elo, day, n)
        SELECT season_id, '', elo, board_day(reached_at), count(*) FROM leaderboard_entries
            WHERE is_active GROUP BY season_id, elo, board_day(reached_at)
        UNION ALL
        SELECT season_id, country_code, elo, board_day(reached_at), count(*)
            FROM leaderboard_entries WHERE is_active AND country_code IS NOT NULL
            GROUP BY season_id, country_code, elo, board_day(reached_at);
    INSERT INTO board_elo_counts (season_id, country_code, elo, n)
        SELECT season_id, country_code, elo, sum(n) FROM board_tie_counts
            GROUP BY season_id, country_code, elo;
    INSERT INTO board_sizes (season_id, country_code, n)
        SELECT season_id, country_code, sum(n) FROM board_elo_counts
            GROUP BY season_id, country_code;
END
$$;

-- the boards as they are now
SELECT board_counts_rebuild();
