-- wrk script: campaign(id){categories{...}} with a bearer token.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.body = '{"query":"query($id:ID!){campaign(id:$id){id name budget stage categories{id code name recipientKind plannedCount standardAmount verifiedCount servedCount}}}","variables":{"id":"' ..
  (os.getenv("BENCH_CAMPAIGN") or "1") .. '"}}'

local errors = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, "SERVICE_DEPT", 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end
