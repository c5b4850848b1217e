-- bench/places: the data set, loaded set-based (not through the API), consistent with what
-- place_pixel() would have left behind. psql variables: agents, placements, block.
--
--   agents      agents to create (10 000)
--   placements  rows of pixel_placements in the open week (2 000 000)
--   block       the side of the seed lattice's blocks, in cells (5: one seed per 25 cells)
--
-- The canvas: a jittered seed lattice (one seed per block), every cell owned by the seed nearest to
-- it, weighted at random (a power diagram: blobs of uneven size with ragged borders); along each
-- lattice row a seed keeps its left neighbour's owner with probability 0.3, so some owners hold
-- larger merged blobs; the runs get distinct owners (a random permutation of the agents) as long as
-- there are agents enough, so about 7 000 agents own cells. Every cell is owned: with 8 placements per cell on average, a cell nobody
-- painted is rare (about e^-8).
--
-- The placements: one final placement per cell by its owner (the cell's colour and time); the rest
-- are earlier placements on random cells (each strictly before that cell's final one, so the last
-- write is the canvas), by agents drawn with a skew (agent n ~ A * u^2: a few heavy placers, a long
-- tail; every agent places something in practice). Inserted in placed_at order, as place_pixel
-- would have. week_placer_stats is aggregated from the placements; territory_snapshot stays empty
-- (the leaderboard computes it). The open week's started_at is moved back 2 days (week_number and
-- year follow it) so that every placement lies inside the week.
\set ON_ERROR_STOP 1
\timing off
SET client_min_messages = warning;
SELECT setseed(0.42);

BEGIN;
-- Loader settings, this transaction only: the foreign-key triggers are skipped (every id below comes
-- from b_agent, whose rows are inserted into agents first), and the placements' index is rebuilt
-- after the load (the same definition as in sql/003_places.sql) instead of being grown row by row.
SET LOCAL session_replication_role = replica;
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';

CREATE TEMP TABLE b_settings ON COMMIT DROP AS
SELECT s.width AS w, s.height AS h, (s.width * s.height) AS ncells, :block AS blk,
       (s.width + :block - 1) / :block AS nbx, (s.height + :block - 1) / :block AS nby,
       :agents AS agents, :placements AS placements,
       now() - interval '2 days' AS t0, now() - interval '1 second' AS t1
FROM places_settings s;

UPDATE weeks w SET started_at = b.t0,
       week_number = extract(week FROM b.t0 AT TIME ZONE 'UTC')::int,
       year = extract(isoyear FROM b.t0 AT TIME ZONE 'UTC')::int
FROM b_settings b WHERE w.closed_at IS NULL;

-- agents: numbered 1..A for the generators below
CREATE TEMP TABLE b_agent ON COMMIT DROP AS
SELECT n, gen_random_uuid() AS id FROM generate_series(1, :agents) n;
ALTER TABLE b_agent ADD PRIMARY KEY (n);
INSERT INTO agents (id, name, display_name, avatar_url, faction_id)
SELECT id, 'bench-agent-' || lpad(n::text, 5, '0'), 'Bench Agent ' || n,
       'https://example.invalid/avatars/' || n || '.png', (ARRAY['red', 'blue', 'green', NULL])[1 + n % 4]
FROM b_agent ORDER BY n;

-- seeds: one per block, jittered inside it, with a random weight; runs along x share an owner
CREATE TEMP TABLE b_seed ON COMMIT DROP AS
WITH s AS (
    SELECT bx, by, bx * b.blk + floor(random() * b.blk)::int AS sx, by * b.blk + floor(random() * b.blk)::int AS sy,
           random() * 2.0 * b.blk AS weight, (bx = 0 OR random() >= 0.3) AS new_run
    FROM b_settings b, generate_series(0, b.nbx - 1) bx, generate_series(0, b.nby - 1) by),
r AS (
    SELECT *, sum(new_run::int) OVER (PARTITION BY by ORDER BY bx) AS run FROM s),
o AS (
    SELECT by, run, 1 + ((row_number() OVER (ORDER BY random()) - 1) % b.agents)::int AS owner
    FROM (SELECT DISTINCT by, run FROM r) d, b_settings b)
SELECT r.bx, r.by, r.sx, r.sy, r.weight, o.owner FROM r JOIN o USING (by, run);
ALTER TABLE b_seed ADD PRIMARY KEY (bx, by);

-- each cell's owner: the nearest seed among the 3x3 blocks around it, by squared distance minus weight^2
CREATE TEMP TABLE b_final ON COMMIT DROP AS
SELECT DISTINCT ON (g.cell) g.cell, s.owner,
       (s.owner % 15 + 1)::smallint AS color
FROM (SELECT y * b.w + x AS cell, x, y, x / b.blk AS bx, y / b.blk AS by
      FROM b_settings b, generate_series(0, b.w - 1) x, generate_series(0, b.h - 1) y) g
CROSS JOIN (VALUES (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)) d(dx, dy)
JOIN b_seed s ON s.bx = g.bx + d.dx AND s.by = g.by + d.dy
ORDER BY g.cell, (s.sx - g.x) ^ 2 + (s.sy - g.y) ^ 2 - s.weight ^ 2, s.bx, s.by;
ALTER TABLE b_final ADD COLUMN placed_at timestamptz;
UPDATE b_final f SET placed_at = b.t0 + random() * (b.t1 - b.t0) FROM b_settings b;
ALTER TABLE b_final ADD PRIMARY KEY (cell);

-- every placement, final ones included, in time order
CREATE TEMP TABLE b_place ON COMMIT DROP AS
WITH hist AS MATERIALIZED (
    SELECT floor(random() * b.ncells)::int AS cell, 1 + floor(b.agents * random() ^ 2)::int AS owner,
           floor(random() * 16)::smallint AS color, random() AS u
    FROM b_settings b, generate_series(1, (SELECT placements - ncells FROM b_settings)))
SELECT h.cell, h.owner, h.color, b.t0 + h.u * (f.placed_at - b.t0) AS placed_at
FROM hist h JOIN b_final f USING (cell), b_settings b
UNION ALL
SELECT cell, owner, color, placed_at FROM b_final;

DROP INDEX pixel_placements_week;
INSERT INTO pixel_placements (week_id, user_id, agent_id, x, y, color, placed_at)
SELECT w.id, NULL, a.id, p.cell % b.w, p.cell / b.w, p.color, p.placed_at
FROM b_place p JOIN b_agent a ON a.n = p.owner, b_settings b, weeks w
WHERE w.closed_at IS NULL
ORDER BY p.placed_at;

CREATE INDEX pixel_placements_week ON pixel_placements (week_id, agent_id);

INSERT INTO canvas_cells (cell, color, user_id, agent_id, placed_at)
SELECT f.cell, f.color, NULL, a.id, f.placed_at FROM b_final f JOIN b_agent a ON a.n = f.owner ORDER BY f.cell;

INSERT INTO week_placer_stats (week_id, placer_type, placer_id, pixels_placed, last_pixel_at)
SELECT w.id, 'agent', a.id, p.n, p.last
FROM (SELECT owner, count(*) AS n, max(placed_at) AS last FROM b_place GROUP BY owner) p
JOIN b_agent a ON a.n = p.owner, weeks w
WHERE w.closed_at IS NULL;

COMMIT;
