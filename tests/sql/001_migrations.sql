-- Runs against a database that `guildhall-admin migrate` was applied to twice (scripts/test-all):
-- every migration is recorded once, the schema is complete, and the second run was a no-op.
BEGIN;
SELECT plan(23);

SELECT has_table('schema_migrations');
SELECT results_eq('SELECT version FROM schema_migrations ORDER BY version',
                  ARRAY[1, 2, 3, 4, 5, 6, 7], 'every migration in sql/ is recorded once, in order');
SELECT is((SELECT count(DISTINCT applied_at) FROM schema_migrations WHERE version = 1), 1::bigint,
          'migration 1 was applied once');
SELECT is((SELECT max(version) FROM schema_migrations), 7,
          'the highest migration equals GH_SCHEMA_VERSION in src/guildhall.h (/ready waits for it)');

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
