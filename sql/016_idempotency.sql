-- 016_idempotency: the stored answers of Idempotency-Key requests (CONTRACT 4, src/idempotency.c).
-- A row is written in the transaction of the handler's writes, so it exists exactly when they
-- committed; it answers replays for 24 hours, and the built-in job below deletes it after.

CREATE TABLE idempotency_keys (
    scope         text NOT NULL,                 -- '<family>:<api key id>' or 'roblox:game:<id>'
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint   text NOT NULL,                 -- sha256 of method, path, query and body
    status        integer NOT NULL CHECK (status BETWEEN 200 AND 499 AND status <> 429),
    content_type  text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

INSERT INTO scheduler_jobs (name, description, bot_type, job_kind, schedule_type, schedule_config) VALUES
    ('idempotency keys: prune', 'Deletes the stored answers of Idempotency-Key requests after their 24 hours',
     'system', 'core.idempotency_prune', 'cron', '{"cron_expression": "17 * * * *"}');
