-- 020_places_owned_cells: the ownership grid for the territory computation, one row per owner with
-- the cells it owns, grouped by a hash aggregate. places_ownership() (004) numbered all 250,000
-- cells with a window over a sort that spilled to disk (about 600 ms at 2M placements); this reads
-- the table once and ships each owner's cells as one array: the owner's number is its row's place.
CREATE FUNCTION places_owned_cells() RETURNS TABLE (kind text, placer uuid, cells int[])
LANGUAGE sql STABLE SET work_mem = '64MB' AS $$
    SELECT CASE WHEN user_id IS NOT NULL THEN 'user' ELSE 'agent' END, coalesce(user_id, agent_id), array_agg(cell)
      FROM canvas_cells
     GROUP BY 1, 2
$$;
