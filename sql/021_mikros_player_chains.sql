-- 021_mikros_player_chains: distinct players per genre, gameplay type and overall, for any window
-- exact to the second, without counting players one by one (issue 9: at 10M sessions the figures of
-- sql/011 grouped millions of (app, player) rows and ran past the statement timeout).
--
-- A "key" is one value of one dimension (mikros_keys); an app's sessions count under its three
-- values and under 'all'. For every key whose players are asked for (all but content genres), every
-- player and every UTC day with a session there is one row of
-- mikros_key_days: the first and last session start of that day, and the day and last start of the
-- player's previous day under that key (the chain). A player is active in [a, b) exactly once at
-- their first row inside it, and a row is that first row exactly when its previous row ended before a.
-- So, with dA and dB the UTC days of a and b (dA < dB: every window here is 7 days or longer):
--   players(a, b) = rows of day dA whose last start >= a                       (index on last_at)
--                 + rows of days (dA, dB] whose previous day < dA              (mikros_key_day_prev)
--                 + rows of days (dA, dB] whose previous day is dA, ended < a  (index on prev_last_at)
--                 − rows of day dB that start at or after b and would count    (the feed's 5-minute skew)
-- mikros_key_day_prev counts the rows per (key, day, previous day): a few thousand rows a key.
-- Sessions per key are kept per hour (mikros_key_hours), the two partial hours read raw; session
-- lengths per (genre or all, day, length) (mikros_key_durations) for the exact median.
--
-- The rows are written in the batch's transaction (mikros_ingest_sessions), so the figures never lag
-- acknowledged data. Concurrent batches that share a player serialise on that player's mikros_users
-- row, which guards every chain of the player. An app whose genre, content genre or gameplay type
-- changes moves its sessions to its new keys (mikros_move_app).

CREATE TABLE mikros_keys (
    key    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dim    text NOT NULL CHECK (dim IN ('genre', 'content_genre', 'gameplay_type', 'all')),
    value  text NOT NULL,
    -- what the analytics ask of a key: content genres are asked for sessions only, session lengths
    -- per genre and overall
    with_players  boolean GENERATED ALWAYS AS (dim <> 'content_genre') STORED,
    with_lengths  boolean GENERATED ALWAYS AS (dim IN ('genre', 'all')) STORED,
    UNIQUE (dim, value)
);
INSERT INTO mikros_keys (dim, value) VALUES ('all', '');

CREATE TABLE mikros_app_keys (
    app_id  text NOT NULL REFERENCES mikros_apps ON DELETE CASCADE,
    key     integer NOT NULL REFERENCES mikros_keys,
    PRIMARY KEY (app_id, key)
);
CREATE INDEX mikros_app_keys_key ON mikros_app_keys (key);

-- A dense number per player: the chains are keyed by it, not by the feed's text user_id.
-- first_seen and last_seen gave way to the 'all' key's chain (total-users).
DROP INDEX mikros_users_last_seen;
ALTER TABLE mikros_users DROP COLUMN first_seen, DROP COLUMN last_seen,
    ADD COLUMN uid integer GENERATED ALWAYS AS IDENTITY UNIQUE;

CREATE TABLE mikros_key_days (
    key           integer NOT NULL,
    uid           integer NOT NULL,
    day           date NOT NULL,
    first_at      timestamptz NOT NULL,
    last_at       timestamptz NOT NULL,
    prev_day      date NOT NULL,   -- '-infinity' on the player's first day under the key
    prev_last_at  timestamptz,     -- NULL then
    PRIMARY KEY (uid, key, day)    -- a player's chains side by side: a batch reads them together
);
CREATE INDEX mikros_key_days_last ON mikros_key_days (key, last_at);
CREATE INDEX mikros_key_days_prev_last ON mikros_key_days (key, prev_last_at) INCLUDE (day)
    WHERE prev_last_at IS NOT NULL;

CREATE TABLE mikros_key_day_prev (
    key       integer NOT NULL,
    day       date NOT NULL,
    prev_day  date NOT NULL,
    players   bigint NOT NULL,
    PRIMARY KEY (key, day, prev_day)
);

CREATE TABLE mikros_key_hours (
    key       integer NOT NULL,
    hour      timestamptz NOT NULL,
    sessions  bigint NOT NULL,
    PRIMARY KEY (key, hour)
);

CREATE TABLE mikros_key_durations (
    key               integer NOT NULL,
    day               date NOT NULL,
    duration_seconds  integer NOT NULL,
    sessions          bigint NOT NULL,
    PRIMARY KEY (key, day, duration_seconds)
);

CREATE FUNCTION mikros_utc_day(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT (t AT TIME ZONE 'UTC')::date
$$;
CREATE FUNCTION mikros_day_start(d date) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT d::timestamp AT TIME ZONE 'UTC'
$$;
CREATE FUNCTION mikros_hour(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('hour', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;

-- The chains of these keys, of these players (NULL: all), recomputed from the raw sessions, and
-- mikros_key_day_prev by the rows that went and came. The caller holds mikros_key_days' lock.
CREATE FUNCTION mikros_rebuild_chains(keys integer[], uids integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH gone AS (
        DELETE FROM mikros_key_days WHERE key = ANY (keys) AND (uids IS NULL OR uid = ANY (uids))
        RETURNING key, day, prev_day
    )
    INSERT INTO mikros_key_day_prev AS t (key, day, prev_day, players)
    SELECT key, day, prev_day, -count(*) FROM gone GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (key, day, prev_day) DO UPDATE SET players = t.players + EXCLUDED.players;

    WITH made AS (
        INSERT INTO mikros_key_days (key, uid, day, first_at, last_at, prev_day, prev_last_at)
        SELECT key, uid, day, first_at, last_at, COALESCE(lag(day) OVER w, '-infinity'), lag(last_at) OVER w
          FROM (SELECT ak.key, u.uid, mikros_utc_day(s.started_at) AS day,
                       min(s.started_at) AS first_at, max(s.started_at) AS last_at
                  FROM mikros_sessions s
                  JOIN mikros_app_keys ak ON ak.app_id = s.app_id AND ak.key = ANY (keys)
                  JOIN mikros_keys k ON k.key = ak.key AND k.with_players
                  JOIN mikros_users u ON u.user_id = s.user_id AND (uids IS NULL OR u.uid = ANY (uids))
                 GROUP BY 1, 2, 3) d
        WINDOW w AS (PARTITION BY key, uid ORDER BY day)
        RETURNING key, day, prev_day
    )
    INSERT INTO mikros_key_day_prev AS t (key, day, prev_day, players)
    SELECT key, day, prev_day, count(*) FROM made GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (key, day, prev_day) DO UPDATE SET players = t.players + EXCLUDED.players;
    DELETE FROM mikros_key_day_prev WHERE key = ANY (keys) AND players = 0;
END
$$;

-- Every rollup of these keys, recomputed from the raw sessions. Takes mikros_key_days' lock first, so
-- no batch writes a chain meanwhile and the statements after it see every committed batch.
CREATE FUNCTION mikros_rebuild_keys(keys integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE mikros_key_days IN EXCLUSIVE MODE;
    PERFORM mikros_rebuild_chains(keys, NULL);
    DELETE FROM mikros_key_hours WHERE key = ANY (keys);
    DELETE FROM mikros_key_durations WHERE key = ANY (keys);
    INSERT INTO mikros_key_hours (key, hour, sessions)
    SELECT ak.key, mikros_hour(s.started_at), count(*)
      FROM mikros_sessions s JOIN mikros_app_keys ak ON ak.app_id = s.app_id AND ak.key = ANY (keys)
     GROUP BY 1, 2;
    INSERT INTO mikros_key_durations (key, day, duration_seconds, sessions)
    SELECT ak.key, mikros_utc_day(s.started_at), s.duration_seconds, count(*)
      FROM mikros_sessions s
      JOIN mikros_app_keys ak ON ak.app_id = s.app_id AND ak.key = ANY (keys)
      JOIN mikros_keys k ON k.key = ak.key AND k.with_lengths
     GROUP BY 1, 2, 3;
END
$$;

-- An app that leaves keys and joins others takes its sessions along: the hours and lengths by its
-- own sessions, the chains of its players under those keys recomputed from their sessions. The cost
-- is the app's share of the data (two scans of mikros_sessions at most), not the keys'.
CREATE FUNCTION mikros_move_app(app text, left_keys integer[], joined_keys integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    players integer[];
BEGIN
    LOCK TABLE mikros_key_days IN EXCLUSIVE MODE;
    WITH moving AS MATERIALIZED (
        SELECT s.started_at, s.duration_seconds, s.user_id FROM mikros_sessions s WHERE s.app_id = app
    ), signed AS (
        SELECT k.key, k.with_lengths, m.started_at, m.duration_seconds,
               CASE WHEN k.key = ANY (joined_keys) THEN 1 ELSE -1 END AS n
          FROM moving m, mikros_keys k WHERE k.key = ANY (left_keys || joined_keys)
    ), hours AS (
        INSERT INTO mikros_key_hours AS t (key, hour, sessions)
        SELECT key, mikros_hour(started_at), sum(n) FROM signed GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (key, hour) DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions
    ), lengths AS (
        INSERT INTO mikros_key_durations AS t (key, day, duration_seconds, sessions)
        SELECT key, mikros_utc_day(started_at), duration_seconds, sum(n) FROM signed WHERE with_lengths
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (key, day, duration_seconds) DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions
    )
    SELECT array_agg(DISTINCT u.uid) INTO players FROM moving m JOIN mikros_users u USING (user_id);
    DELETE FROM mikros_key_hours WHERE key = ANY (left_keys) AND sessions = 0;
    DELETE FROM mikros_key_durations WHERE key = ANY (left_keys) AND sessions = 0;
    IF players IS NOT NULL THEN
        PERFORM mikros_rebuild_chains(left_keys || joined_keys, players);
    END IF;
END
$$;

-- An app's keys follow its three dimension values; when they change, it moves (mikros_move_app), so
-- every figure stays what a computation over the raw rows and today's apps gives.
CREATE FUNCTION mikros_apps_keys_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before integer[];
    after integer[];
BEGIN
    INSERT INTO mikros_keys (dim, value)
    VALUES ('genre', NEW.genre), ('content_genre', NEW.content_genre), ('gameplay_type', NEW.gameplay_type)
    ON CONFLICT (dim, value) DO NOTHING;
    SELECT array_agg(key ORDER BY key) INTO after FROM mikros_keys
     WHERE (dim, value) IN (('genre', NEW.genre), ('content_genre', NEW.content_genre),
                            ('gameplay_type', NEW.gameplay_type), ('all', ''));
    SELECT array_agg(key ORDER BY key) INTO before FROM mikros_app_keys WHERE app_id = NEW.app_id;
    IF before IS NOT DISTINCT FROM after THEN
        RETURN NULL;
    END IF;
    DELETE FROM mikros_app_keys WHERE app_id = NEW.app_id;
    INSERT INTO mikros_app_keys (app_id, key) SELECT NEW.app_id, unnest(after);
    IF before IS NOT NULL THEN
        PERFORM mikros_move_app(NEW.app_id, ARRAY(SELECT unnest(before) EXCEPT SELECT unnest(after)),
                                ARRAY(SELECT unnest(after) EXCEPT SELECT unnest(before)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER mikros_apps_keys AFTER INSERT OR UPDATE OF genre, content_genre, gameplay_type ON mikros_apps
    FOR EACH ROW EXECUTE FUNCTION mikros_apps_keys_trigger();

-- What this database held before: every app's keys, then every key's rollups from the raw rows.
INSERT INTO mikros_keys (dim, value)
SELECT DISTINCT d.dim, d.value FROM mikros_apps a
 CROSS JOIN LATERAL (VALUES ('genre', a.genre), ('content_genre', a.content_genre),
                            ('gameplay_type', a.gameplay_type)) d(dim, value)
ON CONFLICT DO NOTHING;
INSERT INTO mikros_app_keys (app_id, key)
SELECT a.app_id, k.key FROM mikros_apps a JOIN mikros_keys k
    ON (k.dim, k.value) IN (('genre', a.genre), ('content_genre', a.content_genre),
                            ('gameplay_type', a.gameplay_type), ('all', ''));
SELECT mikros_rebuild_keys(ARRAY(SELECT key FROM mikros_keys));

-- The chain rows a batch's sessions add or change, and the counts that follow from them. ids are the
-- batch's mikros_sessions rows, already inserted, users its players. Their mikros_users rows are locked
-- first (in uid order), so a concurrent batch sharing a player waits and then sees this one's rows.
CREATE FUNCTION mikros_chain_sessions(ids bigint[], users text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM mikros_users WHERE user_id = ANY (users) ORDER BY uid FOR UPDATE;

    WITH batch AS MATERIALIZED (
        SELECT ak.key, k.with_players, k.with_lengths, u.uid, s.started_at, s.duration_seconds,
               mikros_utc_day(s.started_at) AS day
          FROM mikros_sessions s
          JOIN mikros_users u ON u.user_id = s.user_id AND u.user_id = ANY (users)
          JOIN mikros_app_keys ak ON ak.app_id = s.app_id
          JOIN mikros_keys k ON k.key = ak.key
         WHERE s.id = ANY (ids)
    ), touched AS MATERIALIZED (
        SELECT key, uid, day, min(started_at) AS first_at, max(started_at) AS last_at
          FROM batch WHERE with_players GROUP BY key, uid, day
    ), earliest AS (
        SELECT key, uid, min(day) AS day FROM touched GROUP BY key, uid
    ), old AS MATERIALIZED (
        -- each touched chain from the row before its earliest touched day on
        SELECT c.* FROM earliest e
         CROSS JOIN LATERAL (
               SELECT c.* FROM mikros_key_days c
                WHERE c.key = e.key AND c.uid = e.uid
                  AND c.day >= COALESCE((SELECT p.day FROM mikros_key_days p
                                          WHERE p.key = e.key AND p.uid = e.uid AND p.day < e.day
                                          ORDER BY p.day DESC LIMIT 1), e.day)) c
    ), merged AS (
        SELECT key, uid, day, min(first_at) AS first_at, max(last_at) AS last_at
          FROM (SELECT key, uid, day, first_at, last_at FROM old
                UNION ALL SELECT key, uid, day, first_at, last_at FROM touched) r
         GROUP BY key, uid, day
    ), chained AS (
        -- the first row of each stretch keeps the previous day it had (or has none: a new player)
        SELECT m.key, m.uid, m.day, m.first_at, m.last_at,
               CASE WHEN lag(m.day) OVER w IS NULL THEN COALESCE(o.prev_day, '-infinity') ELSE lag(m.day) OVER w END
                   AS prev_day,
               CASE WHEN lag(m.day) OVER w IS NULL THEN o.prev_last_at ELSE lag(m.last_at) OVER w END AS prev_last_at,
               o.key IS NOT NULL AS existed, o.prev_day AS old_prev_day,
               (o.first_at, o.last_at, o.prev_last_at) AS old_times
          FROM merged m LEFT JOIN old o USING (key, uid, day)
        WINDOW w AS (PARTITION BY m.key, m.uid ORDER BY m.day)
    ), changed AS MATERIALIZED (
        SELECT * FROM chained
         WHERE NOT existed OR prev_day <> old_prev_day
            OR (first_at, last_at, prev_last_at) IS DISTINCT FROM old_times
    ), chains AS (
        INSERT INTO mikros_key_days AS t (key, uid, day, first_at, last_at, prev_day, prev_last_at)
        SELECT key, uid, day, first_at, last_at, prev_day, prev_last_at FROM changed ORDER BY uid, key, day
        ON CONFLICT (uid, key, day) DO UPDATE
           SET first_at = EXCLUDED.first_at, last_at = EXCLUDED.last_at,
               prev_day = EXCLUDED.prev_day, prev_last_at = EXCLUDED.prev_last_at
    ), day_prev AS (
        INSERT INTO mikros_key_day_prev AS t (key, day, prev_day, players)
        SELECT key, day, prev_day, sum(delta) FROM (
            SELECT key, day, prev_day, 1 AS delta FROM changed WHERE NOT existed OR prev_day <> old_prev_day
            UNION ALL
            SELECT key, day, old_prev_day, -1 FROM changed WHERE existed AND prev_day <> old_prev_day) d
         GROUP BY key, day, prev_day HAVING sum(delta) <> 0 ORDER BY key, day, prev_day
        ON CONFLICT (key, day, prev_day) DO UPDATE SET players = t.players + EXCLUDED.players
    ), hours AS (
        INSERT INTO mikros_key_hours AS t (key, hour, sessions)
        SELECT key, mikros_hour(started_at), count(*) FROM batch GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (key, hour) DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions
    )
    INSERT INTO mikros_key_durations AS t (key, day, duration_seconds, sessions)
    SELECT b.key, b.day, b.duration_seconds, count(*)
      FROM batch b WHERE b.with_lengths
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (key, day, duration_seconds) DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions;
END
$$;

-- Distinct players per key in [a, b), from the chains (see the top of this file). a and b must lie on
-- different UTC days; every analytics window is 7 days or longer. Each term is one scan for all keys.
-- PL/pgSQL here and below: each call is planned for its own bounds (a generic plan would take the
-- sessions after b for a third of the table).
CREATE FUNCTION mikros_key_players(keys integer[], a timestamptz, b timestamptz)
RETURNS TABLE (key integer, players bigint) LANGUAGE plpgsql STABLE AS $$
DECLARE
    da date := mikros_utc_day(a);
    db date := mikros_utc_day(b - interval '1 microsecond');
BEGIN
    RETURN QUERY
    WITH head AS (
        SELECT r.key, count(*) AS n FROM mikros_key_days r
         WHERE r.key = ANY (keys) AND r.last_at >= a AND r.last_at < mikros_day_start(da + 1)
         GROUP BY r.key
    ), returning_before AS (
        SELECT p.key, sum(p.players) AS n FROM mikros_key_day_prev p
         WHERE p.key = ANY (keys) AND p.day > da AND p.day <= db AND p.prev_day < da
         GROUP BY p.key
    ), returning_head_day AS (
        SELECT r.key, count(*) AS n FROM mikros_key_days r
         WHERE r.key = ANY (keys) AND r.prev_last_at >= mikros_day_start(da) AND r.prev_last_at < a AND r.day <= db
         GROUP BY r.key
    ), not_yet AS (
        SELECT r.key, count(*) AS n FROM mikros_key_days r
         WHERE r.key = ANY (keys) AND r.last_at >= b AND r.last_at < mikros_day_start(db + 1)
           AND r.first_at >= b AND (r.prev_last_at IS NULL OR r.prev_last_at < a)
         GROUP BY r.key
    )
    SELECT k.key, (COALESCE(h.n, 0) + COALESCE(rb.n, 0) + COALESCE(rh.n, 0) - COALESCE(ny.n, 0))::bigint
      FROM unnest(keys) AS k(key)
      LEFT JOIN head h USING (key) LEFT JOIN returning_before rb USING (key)
      LEFT JOIN returning_head_day rh USING (key) LEFT JOIN not_yet ny USING (key);
END
$$;

-- Sessions per key in [a, b): whole hours from mikros_key_hours, the two partial hours raw.
CREATE FUNCTION mikros_key_sessions(keys integer[], a timestamptz, b timestamptz)
RETURNS TABLE (key integer, sessions bigint) LANGUAGE plpgsql STABLE AS $$
DECLARE
    whole_from timestamptz := CASE WHEN mikros_hour(a) = a THEN a ELSE mikros_hour(a) + interval '1 hour' END;
    whole_to timestamptz := greatest(mikros_hour(b), whole_from);
BEGIN
    RETURN QUERY
    WITH hours AS (
        SELECT t.key, sum(t.sessions) AS n FROM mikros_key_hours t
         WHERE t.key = ANY (keys) AND t.hour >= whole_from AND t.hour < whole_to
         GROUP BY t.key
    ), partial AS (
        SELECT ak.key, count(*) AS n
          FROM mikros_sessions s JOIN mikros_app_keys ak ON ak.app_id = s.app_id AND ak.key = ANY (keys)
         WHERE (s.started_at >= a AND s.started_at < least(whole_from, b))
            OR (s.started_at >= greatest(whole_to, a) AND s.started_at < b)
         GROUP BY ak.key
    )
    SELECT k.key, (COALESCE(hours.n, 0) + COALESCE(partial.n, 0))::bigint
      FROM unnest(keys) AS k(key) LEFT JOIN hours USING (key) LEFT JOIN partial USING (key);
END
$$;

-- Per value of a dimension inside a window: distinct players and sessions (values with none left out).
-- PL/pgSQL, so that the callers' plans run it once rather than inline it into a join.
CREATE OR REPLACE FUNCTION mikros_dimension_figures(dim text, w_start timestamptz, whole_from timestamptz,
                                                    whole_to timestamptz, w_end timestamptz)
RETURNS TABLE (name text, players bigint, sessions bigint) LANGUAGE plpgsql STABLE AS $$
DECLARE
    keys integer[] := ARRAY(SELECT k.key FROM mikros_keys k WHERE k.dim = mikros_dimension_figures.dim);
    with_players integer[] := ARRAY(SELECT k.key FROM mikros_keys k WHERE k.key = ANY (keys) AND k.with_players);
BEGIN
    RETURN QUERY
    SELECT k.value, p.players, s.sessions
      FROM mikros_key_sessions(keys, w_start, w_end) s
      LEFT JOIN mikros_key_players(with_players, w_start, w_end) p USING (key)
      JOIN mikros_keys k USING (key)
     WHERE s.sessions > 0;
END
$$;

CREATE FUNCTION mikros_all_key() RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT key FROM mikros_keys WHERE dim = 'all'
$$;
-- The averages' key: one genre's, or 'all' without a genre (NULL for a genre no app has had).
CREATE FUNCTION mikros_genre_key(genre text) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT key FROM mikros_keys WHERE CASE WHEN genre IS NULL THEN dim = 'all' ELSE dim = 'genre' AND value = genre END
$$;

CREATE OR REPLACE FUNCTION mikros_popular_json(dim text, lim integer, value_key text, figure_key text,
                                               with_share boolean, w_start timestamptz, w_from timestamptz,
                                               w_to timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH figures AS (
        SELECT name, CASE figure_key WHEN 'total_engagement' THEN sessions ELSE players END AS n
          FROM mikros_dimension_figures(dim, w_start, w_from, w_to, w_end)
    ), everyone AS (
        SELECT players AS n FROM mikros_key_players(ARRAY[mikros_all_key()], w_start, w_end) WHERE with_share
    ), ranked AS (
        SELECT *, rank() OVER (ORDER BY n DESC) AS rk FROM figures ORDER BY rk, name LIMIT lim
    )
    SELECT COALESCE(json_agg(CASE WHEN with_share
                                  THEN json_build_object(value_key, name, figure_key, n,
                                                         'market_share', mikros_share(n, (SELECT n FROM everyone)),
                                                         'rank', rk)
                                  ELSE json_build_object(value_key, name, figure_key, n, 'rank', rk) END
                             ORDER BY rk, name), '[]')
      FROM ranked
$$;

-- Distinct players ever (each player's first day under 'all'), and those active in the 30 and 7 days
-- ending at as_of.
CREATE OR REPLACE FUNCTION mikros_total_users_json(as_of timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
               'total_users', (SELECT COALESCE(sum(players), 0) FROM mikros_key_day_prev
                                WHERE key = mikros_all_key() AND prev_day = '-infinity'),
               'active_last_30d', (SELECT players FROM mikros_key_players(ARRAY[mikros_all_key()],
                                                                          as_of - interval '30 days', as_of)),
               'active_last_7d', (SELECT players FROM mikros_key_players(ARRAY[mikros_all_key()],
                                                                         as_of - interval '7 days', as_of)),
               'timestamp', mikros_ts(as_of))
$$;

-- Average and exact median (the middle value, or the mean of the two middle ones) in minutes, one
-- decimal each, of lengths in seconds given as (length, how many) pairs; null when there are none.
CREATE FUNCTION mikros_lengths_json(lengths bigint[], counts bigint[], genre text, as_of timestamptz)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    WITH running AS (
        SELECT s, n, (sum(n) OVER (ORDER BY s))::bigint AS upto, (sum(n) OVER ())::bigint AS total
          FROM unnest(lengths, counts) AS l(s, n)
    ), figures AS (
        SELECT max(total) AS total, sum(s * n) AS seconds,
               min(s) FILTER (WHERE upto >= (total + 1) / 2) AS lower_mid,    -- integer division: floor
               min(s) FILTER (WHERE upto >= total / 2 + 1) AS upper_mid
          FROM running
    )
    SELECT json_build_object(
               'average_minutes', round(seconds / total / 60.0, 1),
               'median_minutes', round((lower_mid + upper_mid) / 120.0, 1),
               'genre', genre, 'sample_size', COALESCE(total, 0), 'timestamp', mikros_ts(as_of))
      FROM figures
$$;

-- avg-session-time: every session that started inside the window, optionally one genre; the whole
-- days from mikros_key_durations, the two edge days raw. Average and exact median in minutes.
CREATE OR REPLACE FUNCTION mikros_avg_session_json(genre text, as_of timestamptz, w_start timestamptz,
                                                   w_end timestamptz)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    k integer := mikros_genre_key(genre);
    whole_from date := mikros_utc_day(w_start)
                       + CASE WHEN mikros_day_start(mikros_utc_day(w_start)) = w_start THEN 0 ELSE 1 END;
    whole_to date := greatest(mikros_utc_day(w_end), whole_from);
    figures json;
BEGIN
    WITH lengths AS (
        SELECT h.duration_seconds::bigint AS s, sum(h.sessions)::bigint AS n FROM (
            SELECT t.duration_seconds, t.sessions FROM mikros_key_durations t
             WHERE t.key = k AND t.day >= whole_from AND t.day < whole_to
            UNION ALL
            SELECT s.duration_seconds, 1 FROM mikros_sessions s
              JOIN mikros_app_keys ak ON ak.app_id = s.app_id AND ak.key = k
             WHERE (s.started_at >= w_start AND s.started_at < least(mikros_day_start(whole_from), w_end))
                OR (s.started_at >= greatest(mikros_day_start(whole_to), w_start) AND s.started_at < w_end)
        ) h GROUP BY 1
    )
    SELECT mikros_lengths_json(array_agg(s), array_agg(n), genre, as_of) INTO figures FROM lengths;
    RETURN figures;
END
$$;
