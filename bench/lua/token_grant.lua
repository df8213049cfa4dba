-- A grant at the token endpoint with a single-use credential (a refresh token, an
-- authorization code), a different one on every request:
-- `-- "<Basic header>" "<form body before the credential>" <file> <thread count>`,
-- the body being the prefix followed by the credential, e.g.
-- "grant_type=refresh_token&refresh_token=" .. token.
-- Refresh tokens rotate, and presenting a retired one revokes its whole family
-- (RFC 9700 §4.14.2); a code used twice revokes the tokens issued from it (RFC 6749
-- §4.1.2). So each line of the file is sent once: thread k of n takes the lines k,
-- k + n, k + 2n, ... When a thread runs out it stops; bench/api.py checks that the
-- file held enough for the whole run.
dofile("bench/lua/common.lua")

local headers, prefix, credentials, next_credential = nil, nil, {}, 1

function init(args)
  headers = with_proxy({
    ["Authorization"] = args[1],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  })
  prefix = args[2]
  local threads, line_number = tonumber(args[4]), 0
  for line in io.lines(args[3]) do
    if line_number % threads == thread_number then credentials[#credentials + 1] = line end
    line_number = line_number + 1
  end
end

function request()
  local credential = credentials[next_credential]
  if credential == nil then
    wrk.thread:stop()
    credential = "exhausted"
  end
  next_credential = next_credential + 1
  return wrk.format("POST", nil, headers, prefix .. credential)
end

-- The token endpoint answers a grant with 200 or an error: anything else counts too.
function response(status, headers, body)
  if status ~= 200 then not_2xx = not_2xx + 1 end
end
