-- wrk script: one page of 50 recipients with category, nominating organisation and disbursements.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.body = '{"query":"query($c:ID!){recipients(campaignId:$c,first:50){totalCount edges{node{id name idNumberMasked status category{code name} nominatedBy{name} disbursements{id amount status}}}}}","variables":{"c":"' ..
  (os.getenv("BENCH_CAMPAIGN") or "1") .. '"}}'

dofile("bench/check.lua")
