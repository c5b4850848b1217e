-- bench/places: place_pixel() straight from pgbench (no HTTP, no FastCGI; the cooldown is checked in
-- place_pixel, but step p set the mode's cooldown_ms to 0, so there is none), one
-- placement per transaction by one of the first :nagents bench agents (pgbench -D nagents=N: the
-- agents with keys for the HTTP figure) at a random cell and colour. The agent's uuid is looked
-- up by its unique name in the same statement (an index probe).
\set n random(1, :nagents)
\set x random(0, 499)
\set y random(0, 499)
\set c random(0, 15)
SELECT place_pixel(NULL, (SELECT id FROM agents WHERE name = 'bench-agent-' || lpad(:n::text, 5, '0')), :x, :y, :c);
