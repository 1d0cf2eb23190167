-- 0002_matches: what result reporting, idempotent retries and the
-- leaderboards need beyond the base schema.

-- no_show is a result type of its own (the absent player loses)
ALTER TABLE match_results DROP CONSTRAINT match_results_result_type_check;
ALTER TABLE match_results ADD CONSTRAINT match_results_result_type_check
    CHECK (result_type IN ('win', 'draw', 'forfeit', 'no_show', 'no_contest'));
ALTER TABLE match_results ADD COLUMN season_id text REFERENCES seasons (id);
ALTER TABLE match_results ADD COLUMN season_changes jsonb;

-- the rating change of the player's last rated match on this board ("change")
ALTER TABLE leaderboard_entries ADD COLUMN last_delta integer NOT NULL DEFAULT 0;

-- Ranks tie-break on reached_at; Redis sorted sets keep it in milliseconds,
-- so PostgreSQL keeps exactly the same precision.
UPDATE leaderboard_entries SET reached_at = date_trunc('milliseconds', reached_at);

-- Idempotency-Key: the first response to (caller, key) is kept 24 h and
-- replayed byte for byte.
CREATE TABLE idempotency_keys (
    player_id     uuid NOT NULL REFERENCES players (id),
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    route         text NOT NULL,
    request_hash  text NOT NULL,
    status        integer,
    response      text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (player_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- rating history of a player, newest first, by keyset on id
CREATE INDEX rating_events_player_season_idx ON rating_events (player_id, season_id, id DESC);
-- windowed boards (day/week/month) aggregate all-time events by time
CREATE INDEX rating_events_season_time_idx ON rating_events (season_id, created_at) INCLUDE (player_id, delta);
