-- wrk script: POST /token, each request with one line of the file LINES_FILE, as
--   LINE=header  the Authorization header of one keypair (secret keypairs), or
--   LINE=body    the whole form body (clients that authenticate in it: client assertions)
--   MODE=random      a line drawn at random per request
--   MODE=sequential  each line once, in order (first use of each keypair, or each
--                    assertion's jti spent once); past the last line it wraps, and
--                    done() reports how many requests did
-- Run it with one thread (-t1): with more, each thread walks the same lines.
-- done() prints one JSON line (latencies in ms) for bench/load.ts to read.
local headers = {}
for line in io.lines(os.getenv("LINES_FILE")) do headers[#headers + 1] = line end
local sequential = os.getenv("MODE") == "sequential"
local asBody = os.getenv("LINE") == "body"
local body = "grant_type=client_credentials"
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
  local header
  count = count + 1
  if sequential then
    header = headers[(count - 1) % #headers + 1]
  else
    header = headers[math.random(#headers)]
  end
  if asBody then
    return wrk.format("POST", "/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, header)
  end
  return wrk.format("POST", "/token", { ["Authorization"] = header, ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function done(summary, latency, requests)
  local wrappedTotal = 0
  if sequential then
    for _, thread in ipairs(threads) do wrappedTotal = wrappedTotal + math.max(0, (thread:get("count") or 0) - #headers) end
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f,"socketErrors":%d,"non2xx":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status, wrappedTotal))
end
