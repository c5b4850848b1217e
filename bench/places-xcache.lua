-- bench/places: counts the X-Cache header of every response (the cached leaderboard figure must be
-- all HIT). done() prints one line "x-cache HIT=N MISS=M none=K status200=S".
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    counts = {}
end

function response(status, headers, body)
    local v = headers["X-Cache"] or headers["x-cache"] or "none"
    counts[v] = (counts[v] or 0) + 1
    if status == 200 then counts["status200"] = (counts["status200"] or 0) + 1 end
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        for k, n in pairs(t:get("counts")) do total[k] = (total[k] or 0) + n end
    end
    local parts = {}
    for k, n in pairs(total) do parts[#parts + 1] = k .. "=" .. n end
    table.sort(parts)
    io.write("x-cache " .. table.concat(parts, " ") .. "\n")
end
