-- 0001_schema: the Love Rank Pulse data model (SPEC §4).
-- Every list query in a request path is served by an index below, by keyset.

CREATE TABLE players (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username        text NOT NULL
                    CHECK (username ~ '^[A-Za-z0-9_-]{3,32}$'),
    email           text NOT NULL
                    CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    password_hash   text NOT NULL CHECK (length(password_hash) <= 256),
    display_name    text CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 64),
    country_code    char(2) CHECK (country_code IS NULL OR country_code ~ '^[A-Z]{2}$'),
    avatar_url      text CHECK (avatar_url IS NULL OR (length(avatar_url) <= 2048 AND avatar_url LIKE 'https://%')),
    bio             text CHECK (bio IS NULL OR length(bio) <= 500),
    role            text NOT NULL DEFAULT 'player' CHECK (role IN ('player', 'admin')),
    elo             integer NOT NULL DEFAULT 1200,
    peak_elo        integer NOT NULL DEFAULT 1200,
    lowest_elo      integer NOT NULL DEFAULT 1200,
    games_played    integer NOT NULL DEFAULT 0 CHECK (games_played >= 0),
    wins            integer NOT NULL DEFAULT 0 CHECK (wins >= 0),
    losses          integer NOT NULL DEFAULT 0 CHECK (losses >= 0),
    draws           integer NOT NULL DEFAULT 0 CHECK (draws >= 0),
    current_streak  integer NOT NULL DEFAULT 0,
    best_win_streak integer NOT NULL DEFAULT 0 CHECK (best_win_streak >= 0),
    is_active       boolean NOT NULL DEFAULT true,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_active_at  timestamptz,
    CHECK (games_played = wins + losses + draws),
    CHECK (lowest_elo <= elo AND elo <= peak_elo)
);
CREATE UNIQUE INDEX players_username_lower_key ON players (lower(username));
CREATE UNIQUE INDEX players_email_lower_key ON players (lower(email));
-- username prefix search (keyset on lower(username))
CREATE INDEX players_username_prefix_idx ON players (lower(username) text_pattern_ops, id);

CREATE TABLE seasons (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    starts_at   timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
INSERT INTO seasons (id, name, starts_at) VALUES ('all-time', 'All time', '1970-01-01T00:00:00Z');
-- at most one open competitive season besides all-time
CREATE UNIQUE INDEX seasons_one_current_idx ON seasons ((true))
    WHERE is_active AND id <> 'all-time';

CREATE TABLE matches (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    player1_id    uuid NOT NULL REFERENCES players (id),
    player2_id    uuid NOT NULL REFERENCES players (id),
    match_type    text NOT NULL DEFAULT 'ranked'
                  CHECK (match_type IN ('ranked', 'unranked', 'friendly', 'tournament', 'practice')),
    status        text NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled', 'in_progress', 'completed', 'cancelled', 'forfeit', 'no_show')),
    best_of       integer NOT NULL DEFAULT 1 CHECK (best_of BETWEEN 1 AND 99 AND best_of % 2 = 1),
    season_id     text REFERENCES seasons (id),
    scheduled_at  timestamptz,
    started_at    timestamptz,
    completed_at  timestamptz,
    created_by    uuid REFERENCES players (id),
    notes         text CHECK (notes IS NULL OR length(notes) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (player1_id <> player2_id)
);
CREATE INDEX matches_created_idx ON matches (created_at DESC, id DESC);
CREATE INDEX matches_player1_idx ON matches (player1_id, created_at DESC, id DESC);
CREATE INDEX matches_player2_idx ON matches (player2_id, created_at DESC, id DESC);
CREATE INDEX matches_status_idx ON matches (status, created_at DESC, id DESC);

CREATE TABLE match_results (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    match_id             uuid NOT NULL UNIQUE REFERENCES matches (id),
    player1_score        integer NOT NULL CHECK (player1_score BETWEEN 0 AND 1000),
    player2_score        integer NOT NULL CHECK (player2_score BETWEEN 0 AND 1000),
    winner_id            uuid REFERENCES players (id),
    result_type          text NOT NULL CHECK (result_type IN ('win', 'draw', 'forfeit', 'no_contest')),
    player1_elo_before   integer NOT NULL,
    player1_elo_after    integer NOT NULL,
    player2_elo_before   integer NOT NULL,
    player2_elo_after    integer NOT NULL,
    player1_k            integer NOT NULL,
    player2_k            integer NOT NULL,
    verification_status  text NOT NULL DEFAULT 'verified'
                         CHECK (verification_status IN ('pending', 'verified', 'disputed', 'rejected')),
    reported_by          uuid REFERENCES players (id),
    verified_by          uuid REFERENCES players (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX match_results_pending_idx ON match_results (verification_status, created_at)
    WHERE verification_status IN ('pending', 'disputed');

CREATE TABLE leaderboard_entries (
    season_id     text NOT NULL REFERENCES seasons (id),
    player_id     uuid NOT NULL REFERENCES players (id),
    elo           integer NOT NULL DEFAULT 1200,
    games_played  integer NOT NULL DEFAULT 0 CHECK (games_played >= 0),
    wins          integer NOT NULL DEFAULT 0 CHECK (wins >= 0),
    losses        integer NOT NULL DEFAULT 0 CHECK (losses >= 0),
    draws         integer NOT NULL DEFAULT 0 CHECK (draws >= 0),
    country_code  char(2),
    is_active     boolean NOT NULL DEFAULT true,
    reached_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (season_id, player_id)
);
-- the total order of a board: elo desc, reached_at asc, player id asc
CREATE INDEX leaderboard_order_idx ON leaderboard_entries
    (season_id, elo DESC, reached_at, player_id) WHERE is_active;
CREATE INDEX leaderboard_country_order_idx ON leaderboard_entries
    (season_id, country_code, elo DESC, reached_at, player_id) WHERE is_active;

CREATE TABLE rating_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    player_id   uuid NOT NULL REFERENCES players (id),
    match_id    uuid NOT NULL REFERENCES matches (id),
    season_id   text NOT NULL REFERENCES seasons (id),
    elo_before  integer NOT NULL,
    elo_after   integer NOT NULL,
    delta       integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (delta = elo_after - elo_before),
    UNIQUE (match_id, player_id, season_id)
);
CREATE INDEX rating_events_player_idx ON rating_events (player_id, created_at DESC, id DESC);
CREATE INDEX rating_events_window_idx ON rating_events (created_at, player_id) INCLUDE (delta);

CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    player_id    uuid NOT NULL REFERENCES players (id),
    family_id    uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    replaced_by  uuid REFERENCES refresh_tokens (id),
    user_agent   text CHECK (user_agent IS NULL OR length(user_agent) <= 256),
    CHECK (expires_at > created_at)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_player_idx ON refresh_tokens (player_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);
