-- wrk script: the same page as recipients.lua, but each request asks a different page of the
-- campaign (a random cursor from BENCH_CURSORS, one per line), so no answer is asked twice in a
-- row and the kept-answer cache rarely helps: the figure of the list itself.
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

local errors = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end
