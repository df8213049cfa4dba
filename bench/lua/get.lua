-- GET, optionally with an Authorization header: `-- "Bearer <token>"`.
dofile("bench/lua/common.lua")

function init(args)
  local headers = {}
  if args[1] then headers["Authorization"] = args[1] end
  request = static_request("GET", headers, nil)
end
