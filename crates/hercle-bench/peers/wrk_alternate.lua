-- wrk: alternate the two documented GETs with the contract's headers.
local paths = { "/api/v1/pairs", "/api/v1/user/balances" }
local i = 0
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("HERCLE_API_KEY") or "k")
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % 2) + 1])
end
