-- bench/places: POST /api/canvas/pixels with wrk, every request a random pixel by the next agent key.
--
--   wrk -tT ... -s bench/places-pixels.lua URL -- KEYS_FILE T [WIDTH] [HEIGHT]
--
-- KEYS_FILE: one API key per line (places_agent keys bound to distinct agents); T: wrk's thread
-- count. Thread t uses keys t, t+T, t+2T, ... in turn, so no two threads share an agent; x, y and
-- color are random (uniform over the canvas and the 16 colours). Counts responses by status; done()
-- prints one line "statuses 201=N 503=M ..." (wrk's own "Non-2xx" count cannot tell 201 from 200).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-agents.lua")

function init(args)
    local path = args[1] or error("places-pixels.lua: KEYS_FILE argument missing")
    step = tonumber(args[2] or "1")
    width = tonumber(args[3] or "500")
    height = tonumber(args[4] or "500")
    keys = read_keys(path, "places-pixels.lua")
    idx = tid
    counts = {}
    math.randomseed(os.time() * 131 + tid)
    headers = {["Content-Type"] = "application/json"}
end

function request()
    headers["Authorization"] = "Bearer " .. keys[((idx - 1) % #keys) + 1]
    idx = idx + step
    local body = string.format('{"x":%d,"y":%d,"color":%d}', math.random(0, width - 1),
        math.random(0, height - 1), math.random(0, 15))
    return wrk.format("POST", "/api/canvas/pixels", headers, body)
end

function response(status, hdrs, body)
    counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
    end
    local parts = {}
    for status, n in pairs(total) do parts[#parts + 1] = status .. "=" .. n end
    table.sort(parts)
    io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
