-- PUT of a fixed JSON body: `-- "<Authorization header>" '<json>'`.
dofile("bench/lua/common.lua")

function init(args)
  request = static_request(
    "PUT", {["Authorization"] = args[1], ["Content-Type"] = "application/json"}, args[2])
end
