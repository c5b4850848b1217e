-- 022_mikros_pair_window: avg-gameplay-time (CONTRACT 7.2) averages the minutes each (app, player)
-- pair played in the last 30 days and takes their exact median. A pair's total is a sum over a
-- sliding window, so no daily rollup holds it; the median needs the count of pairs at every total.
--
-- So the totals are kept for one window, [upto - 30 days, upto) over the sessions with id <= last_id,
-- with the number of pairs at each total per genre and overall (mikros_pair_lengths). The built-in
-- job mikros.pair_window moves that window to now every minute. A GET reads it and corrects it by
-- the sessions that differ between it and the window ending now: the ones that started since upto,
-- the ones that left since, and the ones ingested since last_id — a minute's worth, so the answer is
-- exact to the second and costs about the number of distinct totals.

CREATE TABLE mikros_pair_window (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    upto     timestamptz NOT NULL,
    last_id  bigint NOT NULL
);
INSERT INTO mikros_pair_window (upto, last_id) VALUES (now(), 0);

CREATE TABLE mikros_pair_seconds (
    app_id   text NOT NULL,
    user_id  text NOT NULL,
    seconds  bigint NOT NULL CHECK (seconds > 0),
    PRIMARY KEY (app_id, user_id)
);

CREATE TABLE mikros_pair_lengths (
    key      integer NOT NULL,   -- a genre's mikros_keys row, or 'all'
    seconds  bigint NOT NULL,
    pairs    bigint NOT NULL,
    PRIMARY KEY (key, seconds)
);

CREATE FUNCTION mikros_pair_length() RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '30 days'
$$;

-- How each pair's total in the kept window differs from its total in the 30 days ending at b among the
-- sessions with id <= newest: the pair's kept total (0: none) and the change.
CREATE FUNCTION mikros_pair_changes(b timestamptz, newest bigint)
RETURNS TABLE (app_id text, user_id text, kept bigint, change bigint) LANGUAGE plpgsql STABLE AS $$
DECLARE
    -- kept: [since, upto) among ids <= last_id; asked: [a, b) among ids <= newest. PL/pgSQL so that each
    -- call is planned for its own bounds, which select a minute of sessions, not a generic third.
    upto timestamptz;
    since timestamptz;
    last_id bigint;
    a timestamptz := b - mikros_pair_length();
BEGIN
    SELECT w.upto, w.upto - mikros_pair_length(), w.last_id INTO upto, since, last_id FROM mikros_pair_window w;
    RETURN QUERY
    WITH differing AS (
        SELECT s.id, s.app_id, s.user_id, s.duration_seconds, s.started_at FROM mikros_sessions s
         WHERE s.started_at >= least(since, a) AND s.started_at < greatest(since, a)
        UNION
        SELECT s.id, s.app_id, s.user_id, s.duration_seconds, s.started_at FROM mikros_sessions s
         WHERE s.started_at >= least(upto, b) AND s.started_at < greatest(upto, b)
        UNION
        SELECT s.id, s.app_id, s.user_id, s.duration_seconds, s.started_at FROM mikros_sessions s
         WHERE s.id > last_id AND s.id <= newest
    ), changes AS (
        SELECT d.app_id, d.user_id,
               sum(CASE WHEN d.id <= newest AND d.started_at >= a AND d.started_at < b
                        THEN d.duration_seconds ELSE 0 END)
             - sum(CASE WHEN d.id <= last_id AND d.started_at >= since AND d.started_at < upto
                        THEN d.duration_seconds ELSE 0 END) AS change
          FROM differing d GROUP BY 1, 2
    )
    SELECT c.app_id, c.user_id, COALESCE(p.seconds, 0), c.change::bigint
      FROM changes c LEFT JOIN mikros_pair_seconds p ON p.app_id = c.app_id AND p.user_id = c.user_id
     WHERE c.change <> 0;
END
$$;

-- The pairs at each total of the 30 days ending at b, for one key (a genre or 'all').
CREATE FUNCTION mikros_pair_lengths_at(k integer, b timestamptz)
RETURNS TABLE (seconds bigint, pairs bigint) LANGUAGE sql STABLE AS $$
    WITH changes AS (
        SELECT c.* FROM mikros_pair_changes(b, 9223372036854775807) c
          JOIN mikros_app_keys ak ON ak.app_id = c.app_id AND ak.key = k
    )
    SELECT seconds, sum(pairs)::bigint FROM (
        SELECT l.seconds, l.pairs FROM mikros_pair_lengths l WHERE l.key = k
        UNION ALL SELECT kept, -1 FROM changes WHERE kept > 0
        UNION ALL SELECT kept + change, 1 FROM changes WHERE kept + change > 0
    ) x GROUP BY seconds HAVING sum(pairs) <> 0
$$;

-- Moves the kept window to end at b. Locks mikros_sessions against writers and other moves: every
-- batch that began writing has committed, and none writes until this commits, so last_id leaves no
-- session behind. Batches queue behind a lock that waits, so it waits 200 ms at most and otherwise
-- leaves the window where it is (-1): reads correct any kept window, a minute later it tries again.
-- More than catch_up sessions behind (a bulk load), it takes in only the next catch_up of them and
-- keeps its end, so that every move stays well inside a statement timeout.
CREATE FUNCTION mikros_pair_refresh(b timestamptz, catch_up bigint DEFAULT 200000) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    moved integer;
    kept_upto timestamptz;
    kept_last bigint;
    newest bigint;
BEGIN
    SET LOCAL lock_timeout = '200ms';
    BEGIN
        LOCK TABLE mikros_sessions IN SHARE ROW EXCLUSIVE MODE;
    EXCEPTION WHEN lock_not_available THEN
        RETURN -1;
    END;
    SET LOCAL lock_timeout TO DEFAULT;
    SELECT upto, last_id INTO kept_upto, kept_last FROM mikros_pair_window;
    newest := COALESCE((SELECT max(id) FROM mikros_sessions), 0);
    IF newest - kept_last > catch_up THEN
        b := kept_upto;
        newest := kept_last + catch_up;
    END IF;
    WITH changes AS MATERIALIZED (
        SELECT * FROM mikros_pair_changes(b, newest)
    ), per_key AS (
        SELECT ak.key, c.kept, c.kept + c.change AS total
          FROM changes c JOIN mikros_app_keys ak ON ak.app_id = c.app_id
          JOIN mikros_keys mk ON mk.key = ak.key AND mk.with_lengths
    ), lengths AS (
        INSERT INTO mikros_pair_lengths AS t (key, seconds, pairs)
        SELECT key, seconds, sum(pairs) FROM (
            SELECT key, kept AS seconds, -1 AS pairs FROM per_key WHERE kept > 0
            UNION ALL SELECT key, total, 1 FROM per_key WHERE total > 0
        ) x GROUP BY 1, 2 HAVING sum(pairs) <> 0 ORDER BY 1, 2
        ON CONFLICT (key, seconds) DO UPDATE SET pairs = t.pairs + EXCLUDED.pairs
    ), gone AS (
        DELETE FROM mikros_pair_seconds p USING changes c
         WHERE p.app_id = c.app_id AND p.user_id = c.user_id AND c.kept + c.change = 0
    ), totals AS (
        INSERT INTO mikros_pair_seconds AS t (app_id, user_id, seconds)
        SELECT app_id, user_id, kept + change FROM changes WHERE kept + change > 0
        ON CONFLICT (app_id, user_id) DO UPDATE SET seconds = EXCLUDED.seconds
    )
    SELECT count(*) INTO moved FROM changes;
    DELETE FROM mikros_pair_lengths WHERE pairs = 0;

    UPDATE mikros_pair_window SET upto = b, last_id = newest;
    RETURN moved;
END
$$;

-- An app that changes genre takes its pairs from the old genre's counts to the new one's (the
-- mikros_apps_keys trigger, which runs first, has made the new genre's key).
CREATE FUNCTION mikros_apps_pairs_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mikros_pair_lengths AS t (key, seconds, pairs)
    SELECT key, seconds, sum(pairs) FROM (
        SELECT mikros_genre_key(OLD.genre) AS key, seconds, -1 AS pairs
          FROM mikros_pair_seconds WHERE app_id = NEW.app_id
        UNION ALL
        SELECT mikros_genre_key(NEW.genre), seconds, 1 FROM mikros_pair_seconds WHERE app_id = NEW.app_id
    ) x GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (key, seconds) DO UPDATE SET pairs = t.pairs + EXCLUDED.pairs;
    DELETE FROM mikros_pair_lengths WHERE pairs = 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER mikros_apps_pairs AFTER UPDATE OF genre ON mikros_apps
    FOR EACH ROW WHEN (OLD.genre IS DISTINCT FROM NEW.genre) EXECUTE FUNCTION mikros_apps_pairs_trigger();

CREATE OR REPLACE FUNCTION mikros_avg_gameplay_json(genre text, as_of timestamptz, w_start timestamptz,
                                                    w_from timestamptz, w_to timestamptz, w_end timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH k AS (SELECT mikros_genre_key(mikros_avg_gameplay_json.genre) AS key)
    SELECT mikros_lengths_json(array_agg(l.seconds), array_agg(l.pairs), mikros_avg_gameplay_json.genre, as_of)
      FROM k, mikros_pair_lengths_at(k.key, w_end) l
$$;

SELECT mikros_pair_refresh(now(), catch_up => 9223372036854775807);   -- what this database held

INSERT INTO scheduler_jobs (name, description, bot_type, job_kind, schedule_type, schedule_config) VALUES
    ('mikros: avg-gameplay-time window', 'Moves the kept 30-day (app, player) totals of avg-gameplay-time to now',
     'system', 'mikros.pair_window', 'cron', '{"cron_expression": "* * * * *"}');
