-- wrk script: POST /token with a form body from the file BODIES_FILE (one per line),
-- for clients that authenticate in the body (client assertions), not in a header.
--   MODE=random      a line drawn at random per request (a federated token is reused)
--   MODE=sequential  each line once, in order (a client assertion's jti is spent once);
--                    past the last line it wraps, and done() reports how many did
-- Run it with one thread (-t1). done() prints one JSON line like token.lua's.
local bodies = {}
for line in io.lines(os.getenv("BODIES_FILE")) do bodies[#bodies + 1] = line end
local sequential = os.getenv("MODE") == "sequential"
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + index * 7919)
  count = 0
end

function request()
  local body
  count = count + 1
  if sequential then
    body = bodies[(count - 1) % #bodies + 1]
  else
    body = bodies[math.random(#bodies)]
  end
  return wrk.format("POST", "/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function done(summary, latency, requests)
  local wrappedTotal = 0
  if sequential then
    for _, thread in ipairs(threads) do wrappedTotal = wrappedTotal + math.max(0, (thread:get("count") or 0) - #bodies) end
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f,"socketErrors":%d,"non2xx":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status, wrappedTotal))
end
