-- wrk script: campaign(id){categories{...}} with a bearer token.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.body = '{"query":"query($id:ID!){campaign(id:$id){id name budget stage categories{id code name recipientKind plannedCount standardAmount verifiedCount servedCount}}}","variables":{"id":"' ..
  (os.getenv("BENCH_CAMPAIGN") or "1") .. '"}}'

must_contain = "SERVICE_DEPT"
dofile("bench/check.lua")
