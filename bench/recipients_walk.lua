-- wrk script: the same page as recipients.lua, but each request asks a different page of the
-- campaign (a random cursor from BENCH_CURSORS, one per line): many distinct answers, each kept
-- after its first visit (the figure of the list itself is the cache-off run in scale.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")

local campaign = os.getenv("BENCH_CAMPAIGN") or "1"
local cursors = {}
for line in io.lines(os.getenv("BENCH_CURSORS")) do
  if #line > 0 then cursors[#cursors + 1] = line end
end
local query = 'query($c:ID!,$a:String){recipients(campaignId:$c,first:50,after:$a){totalCount edges{node{id name idNumberMasked status category{code name} nominatedBy{name} disbursements{id amount status}}}}}'

math.randomseed(os.time())
function request()
  local body = '{"query":"' .. query .. '","variables":{"c":"' .. campaign .. '","a":"' ..
    cursors[math.random(#cursors)] .. '"}}'
  return wrk.format(nil, nil, nil, body)
end

dofile("bench/check.lua")
