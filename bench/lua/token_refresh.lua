-- The refresh grant, a different refresh token on every request:
-- `-- "<Basic header>" <token file> <thread count>`.
-- Refresh tokens rotate, and presenting a retired one revokes its whole family
-- (RFC 9700 §4.14.2), so each token in the file is sent once: thread k of n takes the
-- lines k, k + n, k + 2n, ... When a thread runs out it stops; bench/load.py checks
-- that the file held enough tokens for the whole run.
dofile("bench/lua/common.lua")

local headers, tokens, next_token = nil, {}, 1

function init(args)
  headers = with_proxy({
    ["Authorization"] = args[1],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  })
  local threads, line_number = tonumber(args[3]), 0
  for line in io.lines(args[2]) do
    if line_number % threads == thread_number then tokens[#tokens + 1] = line end
    line_number = line_number + 1
  end
end

function request()
  local token = tokens[next_token]
  if token == nil then
    wrk.thread:stop()
    token = "exhausted"
  end
  next_token = next_token + 1
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end
