-- The demo data (sql/demo/, loaded by scripts/dev-up) follows the contract: audit actions are
-- named family.verb (CONTRACT 7.5). Loaded here inside a transaction that is rolled back.
BEGIN;
SELECT plan(3);

\ir ../../sql/demo/001_ops.sql

SELECT cmp_ok((SELECT count(*) FROM audit_logs)::int, '>', 0, 'the ops demo data writes audit entries');
SELECT is_empty($$SELECT DISTINCT action FROM audit_logs WHERE action !~ '^[a-z]+\.[a-z_]+$'$$,
                'every demo audit action is named family.verb');
SELECT is_empty($$SELECT DISTINCT category FROM audit_logs
                  WHERE category NOT IN ('admin', 'security', 'user_action')$$,
                'every demo audit category is one of the contract''s');

SELECT * FROM finish();
ROLLBACK;
