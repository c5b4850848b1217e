-- bench/run --pgbench: one single-row INSERT per transaction into the scratch table
-- bench_insert, which bench/run creates before and drops after the pgbench run.
INSERT INTO bench_insert (client, payload) VALUES (:client_id, 'bench');
