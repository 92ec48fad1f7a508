-- wrk script for a plain GET (the generator's ceiling): prints the same JSON line as token.lua.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f,"socketErrors":%d,"non2xx":%d,"wrapped":0}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
