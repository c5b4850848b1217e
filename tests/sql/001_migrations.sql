-- Runs against a database that `guildhall-admin migrate` was applied to twice (scripts/test-all):
-- every migration file is recorded once, the schema is complete, and the second run was a no-op.
-- scripts/test-all sets, on the database (ALTER DATABASE … SET), what these tests compare against:
--   guildhall.test_migration_files  the names of sql/NNN_*.sql, comma-separated, listed at run time
--   guildhall.test_schema_version   GH_SCHEMA_VERSION as the build wrote it (schema_version.h)
--   guildhall.test_remigrated_at    the database's clock just before the second migrate
BEGIN;
SELECT plan(25);

CREATE TEMP TABLE migration_files AS
SELECT f AS name, substring(f FROM '^[0-9]+')::int AS version
FROM unnest(string_to_array(current_setting('guildhall.test_migration_files', true), ',')) AS f;

SELECT ok(coalesce(current_setting('guildhall.test_migration_files', true), '') <> ''
          AND current_setting('guildhall.test_schema_version', true) ~ '^[0-9]+$'
          AND coalesce(current_setting('guildhall.test_remigrated_at', true), '') <> '',
          'scripts/test-all set guildhall.test_migration_files, test_schema_version and test_remigrated_at');
SELECT has_table('schema_migrations');
SELECT is((SELECT count(DISTINCT version) FROM migration_files), (SELECT count(*) FROM migration_files),
          'no two files in sql/ share a number (the migrator would skip all but the first)');
SELECT bag_eq('SELECT version, name FROM schema_migrations', 'SELECT version, name FROM migration_files',
              'each file in sql/ is recorded exactly once, under its own number, and nothing else is');
SELECT is((SELECT count(*) FROM schema_migrations
           WHERE applied_at >= current_setting('guildhall.test_remigrated_at', true)::timestamptz), 0::bigint,
          'the second migrate applied nothing: every migration was recorded before it started');
SELECT is(current_setting('guildhall.test_schema_version', true)::int, (SELECT max(version) FROM migration_files),
          'GH_SCHEMA_VERSION as built is the highest number in sql/ (/ready waits for it)');

SELECT has_table('api_keys');
SELECT col_type_is('api_keys', 'secret_hash', 'bytea', 'keys are stored as a hash');
SELECT hasnt_column('api_keys', 'secret', 'no plaintext secret column');
SELECT has_table('outbox');
SELECT has_trigger('outbox', 'outbox_notify');

SELECT has_table(t) FROM unnest(ARRAY['guilds', 'users', 'guild_members', 'giveaways', 'tickets',
                                      'audit_logs', 'user_permissions']) AS t;
SELECT col_is_pk('guild_members', ARRAY['guild_id', 'user_id']);
SELECT col_is_pk('user_permissions', ARRAY['guild_id', 'user_id', 'permission']);
SELECT col_type_is('audit_logs', 'id', 'uuid');
SELECT has_index('audit_logs', 'audit_logs_created');
SELECT has_function('audit_record');

-- audit_record writes the entry and queues its webhook in the same transaction.
SELECT lives_ok($$SELECT audit_record('tester', '0', 'test.pgtap', 'admin', '{"k":1}', NULL, NULL)$$);
SELECT is((SELECT count(*) FROM outbox WHERE kind = 'audit_webhook'
           AND payload #>> '{embeds,0,fields,0,value}' = 'test.pgtap'), 1::bigint,
          'the audit webhook is queued with the entry');

SELECT * FROM finish();
ROLLBACK;
