-- wrk script: one page of 50 recipients with category, nominating organisation and disbursements.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.body = '{"query":"query($c:ID!){recipients(campaignId:$c,first:50){totalCount edges{node{id name idNumberMasked status category{code name} nominatedBy{name} disbursements{id amount status}}}}}","variables":{"c":"' ..
  (os.getenv("BENCH_CAMPAIGN") or "1") .. '"}}'

local errors = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end
