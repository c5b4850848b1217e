-- Constraints that keep bad rows out whatever code writes them.
BEGIN;
SELECT plan(4);

SELECT throws_ok($$INSERT INTO api_keys (id, secret_hash, scopes) VALUES ('NOT-HEX', '\x00', '{mikros}')$$,
                 '23514', NULL, 'key ids are 12 lowercase hex characters');
SELECT throws_ok($$INSERT INTO api_keys (id, secret_hash, scopes) VALUES ('0123456789ab', '\x00', '{mikros}')$$,
                 '23514', NULL, 'secret hashes are 32 bytes');
SELECT throws_ok($$INSERT INTO api_keys (id, secret_hash, scopes)
                   VALUES ('0123456789ab', decode(repeat('00', 32), 'hex'), '{}')$$,
                 '23514', NULL, 'a key has at least one scope');
SELECT lives_ok($$INSERT INTO api_keys (id, secret_hash, scopes)
                  VALUES ('0123456789ab', decode(repeat('00', 32), 'hex'), '{mikros}')$$);

SELECT * FROM finish();
ROLLBACK;
