-- Shared by every bench script (loaded with dofile; wrk runs from the project root).

-- Each wrk thread learns its number (0, 1, ...), so that scripts handing out unique
-- values (lead ids, refresh tokens) never give two threads the same one.
local threads = {}
function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

-- Answers outside 2xx, counted per thread: wrk itself counts only those above 399,
-- and a redirect would pass for a fast success.
not_2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then not_2xx = not_2xx + 1 end
end

-- The result as one JSON line for bench/load.py: wrk's own text rounds latencies.
function done(summary, latency, requests)
  local e, rejected = summary.errors, 0
  for _, thread in ipairs(threads) do rejected = rejected + thread:get("not_2xx") end
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "socket_errors": %d, "timeouts": %d, "not_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write, e.timeout, rejected))
end

-- `headers` plus what every request carries: requests arrive as through the
-- TLS-terminating proxy production sits behind, from one client address, each on its
-- own connection, as nginx proxies by default. (Kept alive, the 32 connections opened
-- at once land unevenly on gunicorn's workers and stay there: up to all 32 on one of
-- three, which then caps the run at one core. See docs/speed.md.)
function with_proxy(headers)
  headers["X-Forwarded-Proto"] = "https"
  headers["X-Forwarded-For"] = "203.0.113.10"
  headers["Connection"] = "close"
  return headers
end

-- A request that never changes, formatted once per thread.
function static_request(method, headers, body)
  local formatted = wrk.format(method, nil, with_proxy(headers), body)
  return function() return formatted end
end
