-- SPDX-License-Identifier: MIT
-- wrk script for the social-core scenarios (bench/social.sh). Arguments after `--` are
-- key=value pairs:
--   mode=get    path=P tokens=FILE        GET P, rotating the bearer tokens (feeds)
--   mode=post   ids=FILE [tokens=FILE]    GET /api/v1/posts/:id over random ids, anonymous
--                                         unless tokens are given
--   mode=react  ids=FILE tokens=FILE      like then unlike (POST, DELETE .../reactions), each
--                                         pair on a fresh random (user, post), so no single row
--                                         or counter takes all the writes
--   mode=follow users=N tokens=FILE       follow then unfollow (POST, DELETE
--                                         /users/:handle/follow) of a random user000001..N
-- Any mode also takes:
--   rate=R      send at most R requests/s (per wrk thread; run it with -t1): each request waits
--               for its slot on a fixed schedule, so the load is R whatever the latency, as long
--               as the server keeps up (a slot more than 100 ms late is dropped, not made up)
--   max=N       stop after sending N requests (-t1), for counting syscalls over a fixed amount of
--               work
-- Requests are built once in init where they do not change, so the client spends its share of
-- the two cores on sending rather than on Lua.

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  assert(#out > 0, "empty file: " .. path)
  return out
end

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } sh_timespec;
int clock_gettime(int clock, sh_timespec *ts);
]]
local ts = ffi.new("sh_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local opts = {}
local prebuilt = nil
local tokens, ids = nil, nil
local n = 0
local pair_token, pair_id
local interval_ms, next_at
local max_requests

-- Installed by init only when asked for: wrk holds each request back when a script has delay().
local function paced_delay()
  local now = now_ms()
  if not next_at or next_at < now - 100 then next_at = now end
  local wait = next_at - now
  next_at = next_at + interval_ms
  return wait > 0 and math.floor(wait) or 0
end


function init(args)
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then opts[k] = v end
  end
  math.randomseed(os.time())
  if opts.tokens then tokens = lines(opts.tokens) end
  if opts.ids then ids = lines(opts.ids) end
  if opts.rate then
    interval_ms = 1000 / tonumber(opts.rate)
    delay = paced_delay
  end
  if opts.max then max_requests = tonumber(opts.max) end
  if opts.mode == "get" then
    prebuilt = {}
    for i, t in ipairs(tokens) do
      prebuilt[i] = wrk.format("GET", opts.path, { Authorization = "Bearer " .. t })
    end
  elseif opts.mode == "post" and not tokens then
    prebuilt = {}
    for i, id in ipairs(ids) do
      prebuilt[i] = wrk.format("GET", "/api/v1/posts/" .. id)
    end
  end
end

function request()
  n = n + 1
  -- stopping from request() rather than response(): wrk parses every response of a script that
  -- has response(), and decides that before init sees the arguments
  if max_requests and n > max_requests then wrk.thread:stop() end
  local mode = opts.mode
  if mode == "get" then
    return prebuilt[(n % #prebuilt) + 1]
  elseif mode == "post" then
    if prebuilt then return prebuilt[math.random(#prebuilt)] end
    return wrk.format("GET", "/api/v1/posts/" .. ids[math.random(#ids)],
      { Authorization = "Bearer " .. tokens[(n % #tokens) + 1] })
  elseif mode == "react" then
    local path
    if n % 2 == 1 then
      pair_token = tokens[math.random(#tokens)]
      pair_id = ids[math.random(#ids)]
      path = "/api/v1/posts/" .. pair_id .. "/reactions"
      return wrk.format("POST", path, { Authorization = "Bearer " .. pair_token,
        ["Content-Type"] = "application/json" }, '{"type":"like"}')
    end
    path = "/api/v1/posts/" .. pair_id .. "/reactions"
    return wrk.format("DELETE", path, { Authorization = "Bearer " .. pair_token })
  elseif mode == "follow" then
    if n % 2 == 1 then
      pair_token = tokens[math.random(#tokens)]
      pair_id = string.format("user%06d", math.random(tonumber(opts.users)))
      return wrk.format("POST", "/api/v1/users/" .. pair_id .. "/follow",
        { Authorization = "Bearer " .. pair_token })
    end
    return wrk.format("DELETE", "/api/v1/users/" .. pair_id .. "/follow",
      { Authorization = "Bearer " .. pair_token })
  end
  error("unknown mode " .. tostring(mode))
end
