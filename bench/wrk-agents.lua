-- bench/wrk-agents.lua: what bench's wrk scripts that place pixels share, loaded with
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-agents.lua")
-- setup() numbers the threads (tid, 1-based; `threads` lists them for done()), read_keys() reads the
-- KEYS_FILE of places_agent keys, one a line.
threads = {}
local next_id = 0

function setup(thread)
    next_id = next_id + 1
    thread:set("tid", next_id)
    table.insert(threads, thread)
end

function read_keys(path, who)
    local keys = {}
    for line in assert(io.open(path)):lines() do
        if line ~= "" then keys[#keys + 1] = line end
    end
    assert(#keys > 0, who .. ": no keys in " .. path)
    return keys
end
