-- bench/soak: a mix of the families' routes for wrk, paced or not.
--
--   SOAK_RATE=R wrk -tT -cC ... -s bench/soak-mix.lua URL -- KEYS_FILE MIKROS_KEY T [WIDTH] [HEIGHT]
--
-- KEYS_FILE: places_agent keys, one a line (bound to distinct agents); MIKROS_KEY: a key with the
-- mikros scope; T: wrk's thread count (thread t uses keys t, t+T, ... so no two threads share an
-- agent). Each thread cycles through MIX (10 slots, 2 of them POST /api/canvas/pixels: writes are
-- 1 in 5), starting at a different slot per thread. GETs ask for gzip, as browsers and CDNs do.
--
-- Pacing: with SOAK_RATE (total requests per second, all threads) in the environment, delay() gives
-- each thread an absolute schedule of one request every T/SOAK_RATE seconds: a connection whose
-- response is complete takes the next free slot and waits for it (wrk waits delay() ms before each
-- request). Slots missed while every connection was busy (a stall: a killed worker, a slow MISS, a
-- scheduling hiccup) are made up for up to CATCH_UP_MS behind: short stalls cost nothing, a longer
-- one is followed by a burst of at most CATCH_UP_MS worth of requests and the rest is lost. The
-- achieved rate is at most the target, and equals it while some connection is free often enough.
-- Without SOAK_RATE there is no delay() (the peak run).
--
-- done() prints three lines:
--   statuses 200=N 201=M 502=K ...      every response, by status
--   sent pixels=N modes=M ...           requests issued, by class
--   ok pixels=N modes=M ...             2xx responses, by class, told apart by their headers
--                                       (wrk gives response() no way to know its request): 201 is a
--                                       placement; Cache-Control names the cached places GETs;
--                                       X-RateLimit-Limit is mikros; no-store without it is /health
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
int clock_gettime(int clk, soak_timespec *ts);
]]
local ts = ffi.new("soak_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local MIX = {"pixels", "modes", "current", "board", "health", "pixels", "canvas", "archives", "mikros", "board"}
local PATHS = {
    modes = "/api/game-modes",
    current = "/api/game-modes/current",
    board = "/api/leaderboard/current?limit=20",
    canvas = "/api/canvas",
    archives = "/api/archives",
    health = "/health",
    mikros = "/api/rpg/leaderboard?server_id=123456789012345678",
}
local BY_CACHE = {
    ["public, s-maxage=3600"] = "modes",
    ["public, s-maxage=60, stale-while-revalidate=120"] = "current",
    ["public, s-maxage=30, stale-while-revalidate=60"] = "board",
    ["public, s-maxage=5"] = "canvas",
    ["public, s-maxage=86400"] = "archives",
}

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-agents.lua")
local rate = tonumber(os.getenv("SOAK_RATE") or "")
local CATCH_UP_MS = 250

function init(args)
    local path = args[1] or error("soak-mix.lua: KEYS_FILE argument missing")
    local mikros_key = args[2] or error("soak-mix.lua: MIKROS_KEY argument missing")
    step = tonumber(args[3] or "1")
    width = tonumber(args[4] or "500")
    height = tonumber(args[5] or "500")
    keys = read_keys(path, "soak-mix.lua")
    key_idx = tid
    slot = tid
    counts, sent, ok = {}, {}, {}
    math.randomseed(os.time() * 131 + tid)
    post_headers = {["Content-Type"] = "application/json"}
    get_headers = {["Accept-Encoding"] = "gzip"}
    mikros_headers = {["Accept-Encoding"] = "gzip", ["Authorization"] = "Bearer " .. mikros_key}
    if rate and rate > 0 then
        interval = step * 1000.0 / rate -- ms between this thread's requests
        next_at = now_ms()
    end
end

if rate and rate > 0 then
    function delay()
        local now = now_ms()
        if next_at < now - CATCH_UP_MS then next_at = now - CATCH_UP_MS end
        local d = next_at - now
        next_at = next_at + interval
        if d < 0 then return 0 end
        return d
    end
end

function request()
    local class = MIX[((slot - 1) % #MIX) + 1]
    slot = slot + 1
    sent[class] = (sent[class] or 0) + 1
    if class == "pixels" then
        post_headers["Authorization"] = "Bearer " .. keys[((key_idx - 1) % #keys) + 1]
        key_idx = key_idx + step
        local body = string.format('{"x":%d,"y":%d,"color":%d}', math.random(0, width - 1),
            math.random(0, height - 1), math.random(0, 15))
        return wrk.format("POST", "/api/canvas/pixels", post_headers, body)
    end
    return wrk.format("GET", PATHS[class], class == "mikros" and mikros_headers or get_headers)
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    if status < 200 or status > 299 then return end
    local class
    if status == 201 then
        class = "pixels"
    else
        local cc = headers["Cache-Control"] or headers["cache-control"]
        class = BY_CACHE[cc]
        if not class then
            if headers["X-RateLimit-Limit"] or headers["x-ratelimit-limit"] then
                class = "mikros"
            elseif cc == "no-store" then
                class = "health"
            else
                class = "other"
            end
        end
    end
    ok[class] = (ok[class] or 0) + 1
end

local function line(name, field)
    local total = {}
    for _, t in ipairs(threads) do
        for k, n in pairs(t:get(field)) do total[k] = (total[k] or 0) + n end
    end
    local parts = {}
    for k, n in pairs(total) do parts[#parts + 1] = k .. "=" .. n end
    table.sort(parts)
    io.write(name .. " " .. table.concat(parts, " ") .. "\n")
end

function done(summary, latency, requests)
    line("statuses", "counts")
    line("sent", "sent")
    line("ok", "ok")
end
