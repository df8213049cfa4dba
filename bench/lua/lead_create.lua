-- POST a new lead, each with its own id: `-- "<Authorization header>" <16 hex run prefix>`.
-- An id is the run's prefix, this thread's number and a counter: unique within the run,
-- and across runs thanks to the prefix (a repeated id would be a 409).
dofile("bench/lua/common.lua")

local headers, prefix, counter = nil, nil, 0

function init(args)
  headers = with_proxy({["Authorization"] = args[1], ["Content-Type"] = "application/json"})
  prefix = args[2] .. string.format("%04x", thread_number)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id": "%s%012x", "source": "bench", "first_name": "Ann", "last_name": "Lee", '
      .. '"email": "ann@example.com", "phone": "808-555-0100", "role": "Buyer"}',
    prefix, counter)
  return wrk.format("POST", nil, headers, body)
end
